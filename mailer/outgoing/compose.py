"""Turn a handler's draft into the exact bytes the outbox will send.

The header pipeline lives here, in one place: From is always the network address,
every message carries ``X-Mailer-Loop`` so our own mail is recognised when it
comes back, automatic replies carry ``Auto-Submitted: auto-replied`` (RFC 3834)
so other robots do not answer them, and no text a sender supplied (names,
subjects) can inject a header line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, formataddr, make_msgid

from mailer.config import NetworkSettings

LOOP_HEADER = "X-Mailer-Loop"


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Draft:
    """What a handler wants sent; the outbox fixes its bytes and Message-ID."""

    to: Sequence[str]
    subject: str
    text: str
    kind: str
    related: str = ""
    automatic: bool = False
    to_name: str = ""
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    attachments: Sequence[OutgoingAttachment] = ()
    language: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace (CR/LF included) so user text cannot start a header."""
    return " ".join(text.split())[:limit]


def compose(draft: Draft, network: NetworkSettings, now: datetime) -> tuple[str, bytes]:
    """Return (Message-ID, wire bytes with CRLF line ends)."""
    msg = EmailMessage()
    message_id = make_msgid(domain=network.domain)
    msg["From"] = formataddr((one_line(network.name), network.address))
    if len(draft.to) == 1 and draft.to_name:
        msg["To"] = formataddr((one_line(draft.to_name), draft.to[0]))
    elif draft.to:
        msg["To"] = ", ".join(draft.to)
    # no recipients: each copy gets its own To line spliced in at send (fanout.Copy)
    msg["Subject"] = one_line(draft.subject, 900)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if draft.reply_to:
        msg["Reply-To"] = draft.reply_to
    if draft.in_reply_to:
        msg["In-Reply-To"] = draft.in_reply_to
    refs = [r for r in draft.references if r]
    if draft.in_reply_to and draft.in_reply_to not in refs:
        refs.append(draft.in_reply_to)
    if refs:
        msg["References"] = " ".join(refs[-20:])
    if draft.automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = network.address
    if draft.language:
        msg["Content-Language"] = draft.language
    for name, value in draft.headers.items():
        msg[name] = one_line(value, 2000)
    msg.set_content(draft.text, charset="utf-8", cte="quoted-printable")
    for att in draft.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        if maintype == "message":
            # RFC 2046 forbids base64 for message/*: attach the parsed message.
            inner = message_from_bytes(att.data, policy=default)
            msg.add_attachment(inner, filename=one_line(att.filename, 200) or "message.eml")
            continue
        msg.add_attachment(
            att.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=one_line(att.filename, 200) or "attachment",
        )
    return message_id, msg.as_bytes(policy=SMTP)
