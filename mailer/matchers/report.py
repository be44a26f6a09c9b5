"""``raportti 2026`` from a coordinator: the yearly report by mail.

Only a coordinator's request matches; from anyone else the same words fall
through to the question queue, so the coordinator sees who asked and can send
the report on by hand (the report names members, it is not for everyone).
"""

from __future__ import annotations

import re

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext
from mailer.matchers.coordinator import is_coordinator
from mailer.parsing.commands import normalise_word, without_courtesy

_YEAR = re.compile(r"^(?:19|20|21)\d\d$")


def report_year(msg: InboundMessage, words: frozenset[str], courtesy: frozenset[str]) -> str | None:
    """The year asked for ("2026"), "" when the word stands alone, None for no request.

    The subject or the first line must be the word and at most a year (a
    "kiitos" around it aside), so a question that starts with "Raportti" stays
    a question.
    """
    first = next((line for line in msg.new_text.splitlines() if line.strip()), "")
    for candidate in (msg.clean_subject, first):
        text = without_courtesy(normalise_word(candidate), courtesy)
        if text in words:
            return ""
        head, _, year = text.rpartition(" ")
        if head in words and _YEAR.match(year):
            return year
    return None


def report_request(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if not is_coordinator(msg, ctx.settings):
        return None
    year = report_year(msg, ctx.rules.words("report.request"), ctx.rules.words("command.courtesy"))
    return None if year is None else f"yearly report {year or 'this year'} for a coordinator"
