"""Turn a handler's draft into the exact bytes the outbox will send.

The header pipeline lives here, in one place: From is always the network address,
every message carries ``X-Mailer-Loop`` so our own mail is recognised when it
comes back, automatic replies carry ``Auto-Submitted: auto-replied`` (RFC 3834)
so other robots do not answer them, and no text a sender supplied (names,
subjects) can inject a header line.
"""

from __future__ import annotations

import base64
import binascii
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


def _text_charset(maintype: str, data: bytes) -> dict[str, str]:
    """``charset="utf-8"`` for a text attachment that is UTF-8 (all we write is).

    Without it a reader falls back to its default charset and shows "Mist�� haluaisit
    kuulla?"; text in another charset (a member's file passed on) stays unlabelled
    rather than mislabelled.
    """
    if maintype != "text":
        return {}
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {"charset": "utf-8"}


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


def _encoded_words(value: str) -> list[str]:
    """RFC 2047 base64 words of at most 45 UTF-8 bytes each, never splitting a character."""
    words, chunk = [], b""
    for char in value:
        data = char.encode()
        if len(chunk) + len(data) > 45:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode()}?=" for w in words if w]


def _fold(name: str, pieces: list[str]) -> bytes:
    """``Name: piece piece ...`` folded before 78 characters where the pieces allow."""
    lines, line = [], f"{name}:"
    for piece in pieces:
        if len(line) + 1 + len(piece) > 78 and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {piece}"
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def header_line(name: str, value: str) -> bytes:
    """Folded by hand: the email package breaks a long header right after its name, and
    clients then show a subject that starts with a space."""
    if value.isascii():
        return _fold(name, value.split(" "))
    return _fold(name, _encoded_words(value))


def _address(name: str, address: str) -> str:
    return formataddr((one_line(name), address), charset="utf-8")


def _headers(
    draft: Draft, network: NetworkSettings, now: datetime, message_id: str
) -> list[tuple[str, str]]:
    headers = [("From", _address(network.name, network.address))]
    if len(draft.to) == 1 and draft.to_name:
        headers.append(("To", _address(draft.to_name, draft.to[0])))
    elif draft.to:
        headers.append(("To", ", ".join(draft.to)))
    # no recipients: each copy gets its own To line spliced in at send (fanout.Copy)
    headers += [
        ("Subject", one_line(draft.subject, 900)),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
    ]
    if draft.reply_to:
        headers.append(("Reply-To", draft.reply_to))
    if draft.in_reply_to:
        headers.append(("In-Reply-To", draft.in_reply_to))
    refs = [r for r in draft.references if r]
    if draft.in_reply_to and draft.in_reply_to not in refs:
        refs.append(draft.in_reply_to)
    if refs:
        headers.append(("References", " ".join(refs[-20:])))
    if draft.automatic:
        headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    headers.append((LOOP_HEADER, network.address))
    if draft.language:
        headers.append(("Content-Language", draft.language))
    headers += [(name, one_line(value, 2000)) for name, value in draft.headers.items()]
    return headers


def compose(draft: Draft, network: NetworkSettings, now: datetime) -> tuple[str, bytes]:
    """Return (Message-ID, wire bytes with CRLF line ends).

    A plain-text message (nearly every automatic reply) is written directly:
    building it through ``EmailMessage`` with ``policy.default`` cost milliseconds a
    message on the ingest path (a header class built per header). Messages with
    attachments go through the email package, which knows MIME best.
    """
    message_id = make_msgid(domain=network.domain)
    headers = _headers(draft, network, now, message_id)
    if not draft.attachments:
        text = draft.text.replace("\r\n", "\n").replace("\r", "\n")
        body = binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", b"\r\n")
        head = b"".join(header_line(name, value) for name, value in headers)
        return message_id, (
            head + b"MIME-Version: 1.0\r\n"
            b'Content-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + body
        )
    msg = EmailMessage()
    for name, value in headers:
        msg[name] = value
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
            params=_text_charset(maintype, att.data),
        )
    return message_id, msg.as_bytes(policy=SMTP)
