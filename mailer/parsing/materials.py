"""The material bank's two things to read: "lähetä 3" and a ``Tapahtuma:`` line.

A fetch request is the whole subject or the whole first line, the word and
nothing but item numbers ("lähetä 3", "skicka #3 och 5", "send 3, 4"), so a
sentence that starts with "Lähetä" ("Lähetä 3 esitettä Akaaseen") stays a
question. The words come from ``rules/keywords.toml`` (``material.send``), the
event label too (``material.event``): adding a language never touches code.
The message helpers here import nothing from the handlers, so the routing
rules (``mailer/matchers``) can use them.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from mailer.config import Settings
from mailer.inbound.message import Attachment, InboundMessage
from mailer.parsing.commands import normalise_word, without_courtesy
from mailer.reply_tokens import ReplyTokens

MAX_ITEMS = 10  # one request; more is a mistake or a scrape, and the flood limit agrees
_NUMBERS = re.compile(r"^#?\d{1,9}(?:\s*(?:,|&|\+|\s|\bja\b|\boch\b|\band\b)\s*#?\d{1,9})*$")
_NUMBER = re.compile(r"\d{1,9}")
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def fetch_numbers(
    subject: str, new_text: str, send_words: Collection[str], courtesy: frozenset[str]
) -> list[int] | None:
    """The item numbers asked for, in order and each once; None if this is no request.

    A "kiitos" / "please" around the request ("Lähetä 3, kiitos") is no part of it.
    """
    for candidate in (subject, _first_line(new_text)):
        line = without_courtesy(" ".join(candidate.split()).casefold().strip(".!"), courtesy)
        head, _, rest = line.partition(" ")
        if normalise_word(head) not in send_words:
            continue
        rest = rest.strip().rstrip(".!")
        if _NUMBERS.match(rest.casefold()):
            numbers = list(dict.fromkeys(int(n) for n in _NUMBER.findall(rest)))
            return numbers[:MAX_ITEMS]
    return None


def event_reference(text: str, labels: Collection[str]) -> str | None:
    """The value of the first ``Tapahtuma: …`` line (label in any language), or None.

    Outlook's bold markers and bullets around the label are ignored, as in the
    event form, since the coordinator writes both the same way.
    """
    for line in text.splitlines():
        label, colon, value = line.partition(":")
        if colon and normalise_word(label.replace("*", " ")) in labels and value.strip():
            return value.strip().strip("*").strip()
    return None


def files(msg: InboundMessage) -> list[Attachment]:
    """What the sender attached as files: not signature logos, not calendar answers."""
    return [a for a in msg.attachments if not a.inline and a.content_type not in _CALENDAR_TYPES]


def reply_token(
    msg: InboundMessage, settings: Settings, tokens: ReplyTokens, kind: str
) -> int | None:
    """The id in a valid reply token of ``kind`` among the addresses the mail went to."""
    network = settings.network
    prefix = f"{network.local_part}+r-".lower()
    for address in dict.fromkeys([*msg.delivered_to, *msg.to]):
        local, _, domain = address.lower().partition("@")
        if domain == network.domain.lower() and local.startswith(prefix):
            verified = tokens.verify(local.removeprefix(prefix))
            if verified is not None and verified[0] == kind:
                return verified[1]
    return None
