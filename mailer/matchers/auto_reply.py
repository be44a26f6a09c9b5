"""Robots: auto-replies, bulk mail, other lists and other services' automatic mail.

Many out-of-office replies carry no Auto-Submitted or X-Auto-Response-Suppress
header at all (older Exchange, hosted mail, phones), and answering one ("Did you
mean to register?") starts a loop. Their subject gives them away: the responder
puts its own prefix in front of the subject it answers ("Poissa: Kutsu: …",
"Automatic reply: …"), where a person's reply would start with "VS:" or "Re:".

Prefixes that only responders write count on their own. Words that merely say
someone is away ("Poissa:", "Frånvarande:", "Abwesend:") could start a person's
own new mail, so they count only on a mail that answers another one (it carries
thread headers, yet no "Re:" of a person's client) or that says it is an absence
in its first lines. An absence sentence alone never counts: people write "olen
lomalla 7.1. asti" in their questions.
"""

from __future__ import annotations

import re

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext

_RESPONDER_PREFIX = re.compile(
    r"^\s*(?:"
    # en (Outlook, Exchange, Apple, hosting panels)
    r"automatic reply|auto[- ]?reply|automatic response|auto[- ]?response|autoresponse"
    r"|out of (?:the )?office(?: auto[- ]?reply| reply)?|vacation reply|away message"
    # fi
    r"|automaattinen vastaus|automaattivastaus|poissaoloviesti|lomavastaaja|poissa toimistolta"
    r"|automaattinen poissaoloviesti"
    # sv
    r"|autosvar|automatiskt svar|frånvaromeddelande|semestersvar"
    # de, and the neighbours' Outlooks
    r"|abwesenheitsnotiz|automatische antwort|automatische abwesenheitsnotiz"
    r"|réponse automatique|automatisch antwoord|automatisk svar"
    r")\s*:",
    re.IGNORECASE,
)
_AWAY_PREFIX = re.compile(
    r"^\s*(?:poissa|poissaolo|frånvarande|frånvaro|abwesend|absent|away"
    r"|afwezig|fraværende)\s*:\s*\S",
    re.IGNORECASE,
)
_ABSENCE_TEXT = re.compile(
    r"(?<!\w)(?:olen (?:lomalla|poissa|vuosilomalla|koulutuksessa|virkavapaalla)"
    r"|poissa toimistolta|palaan (?:töihin|toimistolle)|tavoitettavissa"
    r"|jag är (?:ledig|på semester|borta|frånvarande|tillbaka)|frånvarande"
    r"|i am (?:out of|away|on leave|on vacation|on holiday)|i'm (?:out of|away|on leave)"
    r"|out of (?:the )?office|on annual leave|back in the office"
    r"|ich bin (?:bis|abwesend|nicht im büro)|abwesend)(?!\w)",
    re.IGNORECASE,
)
_ABSENCE_WINDOW = 400


def responder_subject(subject: str, text: str, is_reply: bool) -> str | None:
    """Why a subject (and, for a bare "away" word, the text) marks an out-of-office reply."""
    prefix = _RESPONDER_PREFIX.match(subject)
    if prefix:
        return f"an auto-reply's subject ({prefix.group(0).strip()})"
    away = _AWAY_PREFIX.match(subject)
    if away is None:
        return None
    word = away.group(0).partition(":")[0].strip()
    if is_reply:
        return f"an out-of-office reply's subject ({word}:) on a reply"
    if _ABSENCE_TEXT.search(text[:_ABSENCE_WINDOW]):
        return f"an out-of-office reply's subject ({word}:) and text"
    return None


def auto_reply(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if msg.auto_reply:
        return msg.auto_reply
    if msg.loop_ids:
        return "carries another service's X-Mailer-Loop"
    return responder_subject(msg.subject, msg.new_text, bool(msg.in_reply_to or msg.references))
