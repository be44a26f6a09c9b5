"""Is a message from a robot? Auto-replies, bulk and list mail, loops and bounces.

Answering a robot starts a mail loop, so anything that says it is automatic is
believed. The one exception is deliberate: ``X-Auto-Response-Suppress: RN, NRN``
only asks not to send *read receipts*, which ordinary senders' clients may ask
for, so on its own it does not make a mail automatic — a person's question
filed as a robot's would never be answered.

Out-of-office replies are told apart from bounces first: Exchange sends them
with an empty Return-Path, like a bounce, and counting one as a bounce would
disable a member who is merely on holiday.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import Message

from mailer.inbound.headers import (
    all_values,
    decode_bytes,
    decode_header,
    first,
    parse_addresses,
    raw_headers,
)

_SUPPRESS_VALUES = frozenset({"all", "oof", "autoreply", "dr", "ndr"})
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Responders' subjects. The phrases naming an automatic reply are unambiguous at
# the start; the ones naming an absence ("Out of office", Swedish "Frånvaro") are
# also what a person writes about missing a meeting, so they count only as the
# whole subject, before a colon, or in brackets, the way responders write them.
_OOF_SUBJECT = re.compile(
    r"(?:automatic reply|auto(?:matic)?[- ]?reply|autoreply|automaattinen vastaus|"
    r"automatiskt svar)\b"
    r"|(?:out of (?:the )?office|poissa toimistolta|poissaolo|frånvaro(?:meddelande)?|"
    r"frånvarande|autosvar|lomavastaaja|abwesenheitsnotiz)\s*(?::|$)",
    re.IGNORECASE,
)
_OOF_SUBJECT_BRACKETED = re.compile(r"[(\[]\s*out of (?:the )?office\s*[)\]]", re.IGNORECASE)
# The opening of an automatic text, looked for in the first lines only.
_AUTOMATIC_TEXT = re.compile(
    r"\b(?:this is an automatic reply|this is an automated (?:message|reply|response)|"
    r"tämä on automaattinen (?:vastaus|viesti)|detta är ett automatiskt (?:svar|meddelande))\b",
    re.IGNORECASE,
)
_AUTOMATIC_TEXT_WINDOW = 400
_NDR_SUBJECT = re.compile(
    r"(?:undeliverable|undelivered mail|toimittamaton|olevererbart|ej levererat|"
    r"delivery status notification|mail delivery failed|returned mail|delivery failure|"
    r"failure notice|mail delivery failure|non[- ]?delivery|nondeliverable|"
    r"delivery has failed|warning: message .* delayed|delayed mail|delivery delayed|"
    r"mail system error|unzustellbar|message not delivered)",
    re.IGNORECASE,
)
# Sentences that only mail servers write, looked for in a bounce's first lines.
_DSN_TEXT = re.compile(
    r"(?:final-recipient:|diagnostic-code:|this is the mail system at|"
    r"created automatically by mail delivery software|delivery to the following recipient|"
    r"your message (?:couldn't|could not|wasn't|was not) (?:be )?delivered|"
    r"could not be delivered to one or more|the following address(?:es)? failed|"
    r"viestiäsi ei voitu toimittaa|meddelandet kunde inte levereras|"
    r"delivery has failed to these recipients|message delivery to .* failed|"
    r"i'm sorry to have to inform you|unable to deliver your message)",
    re.IGNORECASE,
)
_DSN_TEXT_WINDOW = 4000
_DAEMON_LOCALS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "maildaemon"})
_NOREPLY_LOCALS = frozenset(
    {"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply"}
)
_DAEMON_NAMES = re.compile(
    r"mailer-daemon|mail delivery (?:subsystem|system)|microsoft outlook|postmaster",
    re.IGNORECASE,
)


def _report_type(msg: Message) -> str | None:
    """``report-type`` of a top-level multipart/report, lower-cased; None otherwise."""
    if msg.get_content_type() != "multipart/report":
        return None
    value = msg.get_param("report-type")
    return value.lower() if isinstance(value, str) else ""


def _sender_local(headers: Sequence[tuple[str, str]]) -> str:
    raw_from = first(headers, "from") or ""
    addresses = parse_addresses([raw_from])
    if addresses:
        return addresses[0][1].partition("@")[0]
    # "From: MAILER-DAEMON" carries no domain, so it is no address to parse.
    return raw_from.strip().strip("<>").lower()


def looks_out_of_office(headers: Sequence[tuple[str, str]], subject: str) -> bool:
    """An out-of-office or vacation reply, by its subject or its responder's headers."""
    if any(first(headers, name) is not None for name in ("x-autoreply", "x-autorespond")):
        return True
    stripped = subject.strip()
    return bool(_OOF_SUBJECT.match(stripped) or _OOF_SUBJECT_BRACKETED.search(stripped))


def auto_reply_reason(
    msg: Message,
    text: str,
    subject: str,
    *,
    headers: Sequence[tuple[str, str]] | None = None,
) -> str | None:
    """Why ``msg`` must not be answered automatically, or None for a person's mail.

    ``headers`` is ``raw_headers(msg)`` when the caller already has it.
    """
    if headers is None:
        headers = raw_headers(msg)
    auto_submitted = first(headers, "auto-submitted")
    if auto_submitted is not None:
        value = auto_submitted.split(";", 1)[0].strip().lower()
        if value and value != "no":
            return f"Auto-Submitted: {value}"
    for suppress in all_values(headers, "x-auto-response-suppress"):
        values = {v.strip().lower() for v in suppress.split(",")}
        if values & _SUPPRESS_VALUES:
            return f"X-Auto-Response-Suppress: {decode_header(suppress)}"
    precedence = (first(headers, "precedence") or "").strip().lower()
    if precedence in _PRECEDENCE:
        return f"Precedence: {precedence}"
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        if first(headers, name) is not None:
            return label
    list_id = first(headers, "list-id")
    if list_id is not None:
        return f"List-Id: {decode_header(list_id)}"
    if first(headers, "list-unsubscribe") is not None:
        return "List-Unsubscribe: mail from a list"
    x_loop = first(headers, "x-loop")
    if x_loop is not None:
        return f"X-Loop: {decode_header(x_loop)}"
    if first(headers, "x-ms-exchange-inbox-rules-loop") is not None:
        return "X-MS-Exchange-Inbox-Rules-Loop: sent by an Exchange inbox rule"
    if first(headers, "x-failed-recipients") is not None:
        return "X-Failed-Recipients: a delivery failure report"
    report_type = _report_type(msg)
    if report_type is not None:
        return f"multipart/report: {report_type or 'a report'}"
    if looks_out_of_office(headers, subject):
        return "out-of-office subject"
    local = _sender_local(headers)
    if local in _DAEMON_LOCALS:
        return f"sent by {local}"
    if local in _NOREPLY_LOCALS:
        return "sent from a no-reply address"
    if _AUTOMATIC_TEXT.search(text[:_AUTOMATIC_TEXT_WINDOW]):
        return "text says it is an automatic reply"
    return None


def _from_daemon(headers: Sequence[tuple[str, str]]) -> bool:
    if _sender_local(headers) in _DAEMON_LOCALS:
        return True
    raw_from = first(headers, "from") or ""
    return bool(_DAEMON_NAMES.search(raw_from))


def _dsn_text(msg: Message) -> bool:
    """A server's failure wording in the first text part (without decoding the whole mail)."""
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            head = decode_bytes(payload[:_DSN_TEXT_WINDOW], part.get_content_charset())
            return bool(_DSN_TEXT.search(head))
        return False
    return False


def is_bounce(
    msg: Message,
    return_path: str | None,
    *,
    headers: Sequence[tuple[str, str]] | None = None,
) -> bool:
    """A delivery failure or delay report (never an out-of-office reply).

    A real DSN (``multipart/report; report-type=delivery-status``) always counts.
    Otherwise the message must come from a mail server — an empty Return-Path or
    a MAILER-DAEMON / postmaster sender — and say so in its subject or text;
    a server's sender *and* the null Return-Path are enough on their own.
    ``headers`` is ``raw_headers(msg)`` when the caller already has it.
    """
    report_type = _report_type(msg)
    if report_type is not None and "delivery-status" in report_type:
        return True
    if headers is None:
        headers = raw_headers(msg)
    subject = decode_header(first(headers, "subject") or "")
    if looks_out_of_office(headers, subject):
        return False
    from_daemon = _from_daemon(headers)
    if return_path == "" and from_daemon:
        return True  # a mail server writing with the null sender: a report of some kind
    if return_path != "" and not from_daemon:
        return False
    if first(headers, "x-failed-recipients") is not None or _NDR_SUBJECT.match(subject):
        return True
    return _dsn_text(msg)
