"""One inbound message as an immutable, typed view: everything a handler reads, parsed once.

Parsing is on the ingest hot path and faces whatever the internet sends, so:

* The MIME tree is parsed with ``compat32`` header semantics into an
  ``EmailMessage``: the tree and its methods are the same, but headers stay
  plain strings, read and decoded by ``headers`` (``policy.default`` builds
  header objects that make parsing several times slower, and raises on
  charsets real mail carries).
* Nothing here raises on bad input except for input with nothing in it:
  unknown charsets, bad base64, missing boundaries and 8-bit headers are read
  as well as they can be, and what went wrong is listed in ``defects``.
* Text comes from the ``text/plain`` alternative where there is one — every
  client's plain alternative carries the quote structure the reply rules
  read — and from HTML converted by ``html_text`` otherwise.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

from mailer.errors import UnparseableMessage
from mailer.inbound.bounces import BounceInfo, parse_bounce
from mailer.inbound.headers import (
    all_values,
    clean,
    decode_bytes,
    decode_header,
    first,
    known_charset,
    message_ids,
    parse_addresses,
    raw_headers,
    return_path,
    subparts,
)
from mailer.inbound.html_text import html_to_text
from mailer.inbound.reply_text import strip_quoted, strip_signature
from mailer.inbound.verdicts import auto_reply_reason

_PARSE_POLICY = compat32.clone(message_factory=EmailMessage)
# Embedded messages are written back out as they came: no refolding of headers.
_EML_POLICY = compat32.clone(max_line_length=None, linesep="\r\n")
_REPLY_PREFIXES = re.compile(
    r"^(?:\s*(?:re|aw|sv|vs|vl|vb|fwd?|antw|tr|wg|rv)\s*(?:\[\d+\]|\(\d+\))?\s*:)+\s*",
    re.IGNORECASE,
)
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "text/rfc822-headers": ".txt",
    "text/calendar": ".ics",
    "text/plain": ".txt",
    "image/jpeg": ".jpg",
    "application/octet-stream": ".bin",
}
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})
# Reply rules run line by line; nobody writes a reply longer than this, and a
# multi-megabyte text must not hold up the mailbox.
_REPLY_WINDOW = 512 * 1024
# HTML converts at about a megabyte a second; past this it is a newsletter or a
# generated report, and its opening is all anyone reads.
_HTML_WINDOW = 2 * 1024 * 1024
_FILENAME_MAX = 255
# Outlook writes an inline image into the plain alternative as a line of its own
# ("[cid:image001.png@01DC…]"): a signature logo, not words anyone wrote.
_CID_PLACEHOLDER = re.compile(r"^[ \t]*\[cid:[^\]\n]*\][ \t]*(?:\n|$)", re.MULTILINE)
_BODY_TYPES = frozenset({"text/plain", "text/html"})


@dataclass(frozen=True)
class Attachment:
    """A non-body part: a file, an inline image, a forwarded mail (``.eml``), an invitation."""

    filename: str  # decoded; "attachment-N.ext" when missing
    content_type: str  # e.g. "application/pdf"
    data: bytes
    inline: bool  # Content-Disposition inline with a Content-ID (e.g. signature logos)


@dataclass(frozen=True)
class InboundMessage:
    """The parsed view of one received message; see ``parse_message``."""

    raw: bytes = field(repr=False)
    message_id: str | None  # with angle brackets; None if missing
    sender: str  # From addr-spec, lower-cased; "" if none can be read
    sender_name: str  # display name, decoded ("" if none)
    reply_to: tuple[str, ...]
    to: tuple[str, ...]  # To + Cc addr-specs, lower-cased
    delivered_to: tuple[str, ...]  # Delivered-To, X-Original-To (all, top first), lower-cased
    return_path: str | None  # "" for Return-Path: <>, None if absent
    subject: str  # decoded, whitespace-collapsed, single line
    clean_subject: str  # subject without Re:/VS:/SV:/Fwd:/… prefixes
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None  # aware
    text: str  # the whole body as text
    reply_text: str  # text without quoted history and header blocks; signature kept
    new_text: str  # reply_text without signature and mobile footers
    attachments: tuple[Attachment, ...]
    calendar: bytes | None  # the raw text/calendar part, if any
    auto_reply: str | None  # why this is automatic mail; None for a person's mail
    bounce: BounceInfo | None
    loop_ids: tuple[str, ...]  # values of X-Mailer-Loop headers
    authentication_results: tuple[str, ...]  # raw header values, unfolded
    defects: tuple[str, ...]  # parse defects worth logging
    headers: tuple[tuple[str, str], ...] = field(repr=False)  # (lower-case name, raw value)

    @property
    def subject_is_reply(self) -> bool:
        """The subject carries a reply or forward prefix ("VS:", "Re:", "SV:", "Fwd:" …):
        it was inherited from the mail answered, not chosen by the writer."""
        return self.clean_subject != self.subject.strip()

    def header(self, name: str) -> str | None:
        """The first ``name`` header, decoded to one clean line; None if absent."""
        value = first(self.headers, name.lower())
        return None if value is None else decode_header(value)


def clean_subject(subject: str) -> str:
    """``subject`` without any run of reply and forward prefixes in any of our languages."""
    return _REPLY_PREFIXES.sub("", subject, count=1).strip()


def _unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 format=flowed: soft-broken lines of one quote depth become one line."""
    out: list[str] = []
    buf = ""
    buf_depth = 0
    open_paragraph = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        if open_paragraph and depth == buf_depth:
            buf += body
        else:
            if open_paragraph:
                out.append("> " * buf_depth + buf)
            buf, buf_depth = body, depth
        if body.endswith(" ") and body != "-- ":
            if delsp:
                buf = buf[:-1]
            open_paragraph = True
        else:
            out.append("> " * buf_depth + buf)
            open_paragraph = False
    if open_paragraph:
        out.append("> " * buf_depth + buf)
    return "\n".join(out)


def _part_text(part: Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset()
    if not known_charset(charset):
        notes.append(f"unknown charset {charset!r}")
    text = decode_bytes(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    fmt = part.get_param("format")
    if part.get_content_type() == "text/plain" and isinstance(fmt, str) and fmt.lower() == "flowed":
        delsp = part.get_param("delsp")
        text = _unflow(text, isinstance(delsp, str) and delsp.lower() == "yes")
    return text


def _is_body(part: Message) -> bool:
    if part.get_content_disposition() == "attachment" or part.get_filename():
        return False
    # A multipart whose boundary is missing arrives as one text payload.
    return part.get_content_type() in _BODY_TYPES or part.get_content_maintype() == "multipart"


def _leaves(part: Message) -> Iterable[Message]:
    children = subparts(part) if part.get_content_maintype() == "multipart" else []
    if not children:
        yield part
    for child in children:
        yield from _leaves(child)


class _Walk:
    """Sorts the MIME tree into body texts and other parts, in document order."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []  # ("plain" | "html", decoded text)
        self.others: list[Message] = []
        self.notes: list[str] = []

    def visit(self, part: Message, bodies: list[tuple[str, str]]) -> None:
        maintype = part.get_content_maintype()
        children = subparts(part) if maintype == "multipart" else []
        if maintype == "message":
            self.others.append(part)
        elif children:
            subtype = part.get_content_subtype()
            if subtype == "alternative":
                self._alternative(children, bodies)
            elif subtype == "related":
                self.visit(children[0], bodies)
                for resource in children[1:]:
                    self.others.extend(_leaves(resource))
            else:
                for child in children:
                    self.visit(child, bodies)
        elif _is_body(part):
            kind = "html" if part.get_content_type() == "text/html" else "plain"
            bodies.append((kind, _part_text(part, self.notes)))
        else:
            self.others.append(part)

    def _alternative(self, children: list[Message], bodies: list[tuple[str, str]]) -> None:
        """Keep one alternative's text: the first plain one with text, else the last HTML one."""
        options: list[list[tuple[str, str]]] = []
        for child in children:
            found: list[tuple[str, str]] = []
            self.visit(child, found)
            options.append(found)
        with_plain = [o for o in options if any(k == "plain" and t.strip() for k, t in o)]
        with_html = [o for o in options if any(k == "html" for k, _ in o)]
        with_any = [o for o in options if o]
        for candidates, pick in ((with_plain, 0), (with_html, -1), (with_any, -1)):
            if candidates:
                bodies.extend(candidates[pick])
                return


def _extension(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"


def _filename(part: Message) -> str:
    name = decode_header(part.get_filename() or "")
    name = name.replace("\\", "/").rpartition("/")[2].strip()
    return "" if name in ("", ".", "..") else name[-_FILENAME_MAX:]


def _as_written(msg: Message) -> bytes:
    """Headers and body joined by hand, for a message the generator refuses to write."""
    lines = [f"{name}: {value}" for name, value in msg.raw_items()]
    payload = msg.get_payload()
    body = payload if isinstance(payload, str) else ""
    return "\r\n".join([*lines, "", body]).encode("utf-8", "surrogateescape")


def _part_bytes(part: Message) -> bytes:
    """Transfer-decoded content; an embedded message (or DSN block list) re-serialised."""
    if part.is_multipart():
        chunks: list[bytes] = []
        for sub in subparts(part):
            try:
                chunks.append(sub.as_bytes(policy=_EML_POLICY))
            except (MessageError, LookupError, UnicodeError, ValueError, TypeError):
                chunks.append(_as_written(sub))
        return b"".join(chunks)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _attachments(parts: list[Message]) -> tuple[tuple[Attachment, ...], bytes | None]:
    attachments: list[Attachment] = []
    calendar: bytes | None = None
    for index, part in enumerate(parts, start=1):
        content_type = part.get_content_type()
        filename = _filename(part) or f"attachment-{index}{_extension(content_type)}"
        data = _part_bytes(part)
        inline = part.get("content-id") is not None and (
            part.get_content_disposition() != "attachment"
        )
        attachments.append(Attachment(filename, content_type, data, inline))
        if calendar is None and (
            content_type in _CALENDAR_TYPES or filename.lower().endswith(".ics")
        ):
            calendar = data
    return tuple(attachments), calendar


def _defects(msg: Message, notes: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for part in msg.walk():
        for defect in part.defects:
            detail = str(defect)
            found.append(f"{type(defect).__name__}: {detail}" if detail else type(defect).__name__)
    return tuple(dict.fromkeys([*found, *notes]))


def _date(value: str | None, notes: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(clean(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.append(f"unreadable Date {clean(value)[:80]!r}")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = clean(value or "").strip("<>")
    return f"<{bare}>" if "@" in bare and " " not in bare else None


def _addresses(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(address for _, address in parse_addresses(values)))


def parse_message(raw: bytes) -> InboundMessage:
    """Parse raw message bytes; raises ``UnparseableMessage`` only for empty input."""
    raw = bytes(raw)
    if not raw.strip():
        raise UnparseableMessage("empty message")
    parser = BytesParser(policy=_PARSE_POLICY)
    try:
        return _view(raw, parser.parsebytes(raw), [])
    except RecursionError:
        # The stdlib parser and generator recurse once per nesting level, so a
        # few hundred nested parts exhaust the stack. Such a message is hostile
        # or broken; its headers are still worth reading and its body is kept
        # as text.
        shallow = parser.parsebytes(raw, headersonly=True)
        return _view(raw, shallow, ["MIME nesting too deep: body read as plain text"])


def _view(raw: bytes, msg: Message, notes: list[str]) -> InboundMessage:
    headers = raw_headers(msg)
    senders = parse_addresses(all_values(headers, "from"))
    if first(headers, "from") is None:
        notes.append("no From header")
    elif len(senders) != 1:
        # Several From addresses are a spoofing trick as often as they are real.
        notes.append(f"From has {len(senders)} readable addresses")
    sender_name, sender = senders[0] if len(senders) == 1 else ("", "")

    walk = _Walk()
    walk.visit(msg, walk.bodies)
    notes.extend(walk.notes)
    pieces: list[str] = []
    for kind, body in walk.bodies:
        if kind == "html" and len(body) > _HTML_WINDOW:
            notes.append(f"HTML body of {len(body)} characters cut to {_HTML_WINDOW}")
            body = body[:_HTML_WINDOW]
        pieces.append(_CID_PLACEHOLDER.sub("", body) if kind == "plain" else html_to_text(body))
    text = "\n\n".join(p.strip("\n").rstrip() for p in pieces if p.strip())
    reply_text = strip_quoted(text[:_REPLY_WINDOW])
    attachments, calendar = _attachments(walk.others)

    subject = decode_header(first(headers, "subject") or "")
    delivered_to = _addresses(
        [value for name, value in headers if name in ("delivered-to", "x-original-to")]
    )
    auto_reply = auto_reply_reason(msg, text, subject, headers=headers)
    bounce = parse_bounce(msg, delivered_to, headers=headers)
    if bounce is not None and auto_reply is None:
        auto_reply = "delivery status notification"

    return InboundMessage(
        raw=raw,
        message_id=_message_id(first(headers, "message-id")),
        sender=sender,
        sender_name=sender_name,
        reply_to=_addresses(all_values(headers, "reply-to")),
        to=_addresses(all_values(headers, "to") + all_values(headers, "cc")),
        delivered_to=delivered_to,
        return_path=return_path(first(headers, "return-path")),
        subject=subject,
        clean_subject=clean_subject(subject),
        in_reply_to=tuple(message_ids(first(headers, "in-reply-to"))),
        references=tuple(message_ids(" ".join(all_values(headers, "references")))),
        date=_date(first(headers, "date"), notes),
        text=text,
        reply_text=reply_text,
        new_text=strip_signature(reply_text),
        attachments=attachments,
        calendar=calendar,
        auto_reply=auto_reply,
        bounce=bounce,
        loop_ids=tuple(clean(v) for v in all_values(headers, "x-mailer-loop")),
        authentication_results=tuple(
            clean(v) for v in all_values(headers, "authentication-results")
        ),
        defects=_defects(msg, notes),
        headers=tuple(headers),
    )
