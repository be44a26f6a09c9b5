"""Which addresses failed, and for good or for now, from a bounce of any common shape.

RFC 3464 delivery-status parts are read directly: they name each recipient with
an Action and a Status, which is all the list's bounce processing needs, and
Postfix, Exim, Gmail and Microsoft 365 all send them. Only a bounce without one
goes to flufl.bounce, whose per-MTA heuristics recognise the older free-text
formats. Our own list mail goes out with a VERP return path
(``verkosto+bounce-<token>@…``), so a bounce delivered there names the member
through the token even when nothing in the bounce text can be parsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

from mailer.inbound.headers import (
    all_values,
    clean,
    decode_bytes,
    decode_header,
    first,
    parse_addresses,
    raw_headers,
    return_path,
    subparts,
    valid_address,
)
from mailer.inbound.verdicts import is_bounce, looks_out_of_office

_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_VERP = re.compile(r"^[^@+\s]+\+bounce-([a-z0-9][a-z0-9._=-]*)@", re.IGNORECASE)
# A line of a free-text bounce that carries the server's verdict.
_SMTP_REPLY_LINE = re.compile(r"^.*(?:\b[45]\d\d[ -]|\b[45]\.\d{1,3}\.\d{1,3}\b).*$", re.M)
_DELAY_WORDS = re.compile(
    r"\b(?:delay(?:ed)?|will (?:be )?retr(?:y|ied)|still trying|not yet been delivered|"
    r"viivästy\w*|försenad\w*|fördröjd\w*)\b",
    re.IGNORECASE,
)
_REASON_MAX = 300
_TEXT_WINDOW = 20_000
_VERDICT_WINDOW = 3_000


@dataclass(frozen=True)
class BounceInfo:
    """One bounce: the failed recipients, whether for good, and why."""

    recipients: tuple[str, ...]  # failed addresses (lower-cased), may be empty
    permanent: bool  # 5.x.x: True; 4.x.x / delayed: False
    reason: str  # short diagnostic
    verp_token: str | None  # from "<local>+bounce-<token>@…" when delivered there


def verp_token(addresses: Sequence[str]) -> str | None:
    """The token of the first ``<local>+bounce-<token>@…`` address, lower-cased."""
    for address in addresses:
        match = _VERP.match(address.strip().strip("<>"))
        if match:
            return match.group(1).lower()
    return None


def _fields_from_text(text: str) -> list[dict[str, str]]:
    """``Name: value`` blocks separated by blank lines, continuation lines unfolded."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    name = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, name = {}, ""
        elif line[0] in " \t" and name:
            current[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            current.setdefault(name, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _dsn_blocks(msg: Message) -> list[dict[str, str]]:
    """Every per-message and per-recipient field block of the delivery-status parts.

    The parser already splits ``message/delivery-status`` into header blocks; a
    ``message/global-delivery-status`` or a hand-built part arrives as one block
    with the rest as text, which is split here the same way.
    """
    blocks: list[dict[str, str]] = []
    for part in msg.walk():
        if part.get_content_type() not in _DSN_TYPES:
            continue
        if part.is_multipart():
            for block in subparts(part):
                fields: dict[str, str] = {}
                for name, value in block.raw_items():
                    fields.setdefault(name.lower(), decode_header(value))
                blocks.append(fields)
                rest = block.get_payload()
                if isinstance(rest, str) and rest.strip():
                    blocks.extend(_fields_from_text(rest))
        else:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                blocks.extend(_fields_from_text(decode_bytes(data, part.get_content_charset())))
    return blocks


def _recipient(fields: dict[str, str]) -> str | None:
    for name in ("final-recipient", "original-recipient", "x-actual-recipient"):
        value = fields.get(name, "")
        address = value.rpartition(";")[2].strip().strip("<>").lower()
        if valid_address(address):
            return address
    return None


def _reason(status: str, diagnostic: str, action: str) -> str:
    diagnostic = clean(diagnostic)
    if diagnostic.lower().startswith(("smtp;", "x-postfix;", "x-local;")):
        diagnostic = diagnostic.partition(";")[2].strip()
    if status and status not in diagnostic:
        diagnostic = f"{status} {diagnostic}".strip()
    return (diagnostic or f"Action: {action or 'unknown'}")[:_REASON_MAX]


def _from_dsn(blocks: list[dict[str, str]]) -> tuple[list[str], list[str], str, str]:
    """(permanent failures, temporary failures, first permanent reason, first temporary one)."""
    permanent: list[str] = []
    temporary: list[str] = []
    permanent_reason = temporary_reason = ""
    for fields in blocks:
        address = _recipient(fields)
        if address is None:
            continue
        action = (fields.get("action", "").split() or [""])[0].lower()
        status_match = _STATUS.search(fields.get("status", ""))
        status = status_match.group(0) if status_match else ""
        if action.startswith(("delivered", "relayed", "expanded")) or status.startswith("2"):
            continue
        reason = _reason(status, fields.get("diagnostic-code", ""), action)
        failed_for_good = status.startswith("5") or (
            not status and action.startswith(("failed", "error"))
        )
        if failed_for_good:
            permanent.append(address)
            permanent_reason = permanent_reason or reason
        else:
            temporary.append(address)
            temporary_reason = temporary_reason or reason
    return permanent, temporary, permanent_reason, temporary_reason


def _first_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return decode_bytes(payload[:_TEXT_WINDOW], part.get_content_charset())
    return ""


def _flufl_failures(msg: Message) -> tuple[list[str], list[str]]:
    """flufl.bounce's (permanent, temporary) addresses; nothing if its heuristics crash.

    Its detectors are third-party heuristics run over hostile input and re-raise
    whatever goes wrong inside them; a crash there must not lose the message.
    """
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - see docstring: any detector failure means "no answer"
        return [], []

    def readable(found: frozenset[bytes]) -> list[str]:
        addresses = (a.decode("ascii", "replace").strip().strip("<>").lower() for a in found)
        return sorted(a for a in addresses if valid_address(a))

    return readable(permanent), readable(temporary)


def _unique(addresses: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))


def _text_verdict(subject: str, text: str) -> tuple[bool, str]:
    """(permanent, reason) read from a free-text bounce's wording.

    Only the opening is read: the server's verdict comes first, and a copy of
    the bounced message (with dates and numbers of its own) follows it.
    """
    head = text[:_VERDICT_WINDOW]
    statuses = {m.group(1) for m in _STATUS.finditer(head)}
    temporary_words = _DELAY_WORDS.search(subject) or _DELAY_WORDS.search(head)
    permanent = "5" in statuses or not ("4" in statuses or temporary_words)
    line = _SMTP_REPLY_LINE.search(head)
    reason = clean(line.group(0)) if line else subject
    return permanent, (reason or "delivery failure")[:_REASON_MAX]


def parse_bounce(
    msg: Message,
    delivered_to: Sequence[str],
    *,
    headers: Sequence[tuple[str, str]] | None = None,
) -> BounceInfo | None:
    """The bounce ``msg`` reports, or None when it is no bounce.

    A message that ``is_bounce`` does not recognise still counts when it was
    delivered to a VERP bounce address and flufl.bounce finds failed recipients
    in it; an out-of-office reply sent there is never a bounce. ``headers`` is
    ``raw_headers(msg)`` when the caller already has it.
    """
    if headers is None:
        headers = raw_headers(msg)
    subject = decode_header(first(headers, "subject") or "")
    to_cc = [a for _, a in parse_addresses(all_values(headers, "to") + all_values(headers, "cc"))]
    token = verp_token([*delivered_to, *to_cc])
    recognised = is_bounce(msg, return_path(first(headers, "return-path")), headers=headers)
    if not recognised and (token is None or looks_out_of_office(headers, subject)):
        return None

    permanent, temporary, permanent_reason, temporary_reason = _from_dsn(_dsn_blocks(msg))
    if permanent:
        return BounceInfo(_unique(permanent), True, permanent_reason, token)
    if temporary:
        return BounceInfo(_unique(temporary), False, temporary_reason, token)

    flufl_permanent, flufl_temporary = _flufl_failures(msg)
    if not recognised and not (flufl_permanent or flufl_temporary):
        return None
    exim_failed = [a for _, a in parse_addresses(all_values(headers, "x-failed-recipients"))]
    text = _first_text(msg)
    guessed_permanent, reason = _text_verdict(subject, text)
    if exim_failed:  # Exim names only addresses that failed for good
        return BounceInfo(_unique([*exim_failed, *flufl_permanent]), True, reason, token)
    if flufl_permanent:
        # Several of flufl's detectors cannot tell a delay from a failure and
        # call everything permanent; the bounce's own wording decides.
        return BounceInfo(_unique(flufl_permanent), guessed_permanent, reason, token)
    if flufl_temporary:
        return BounceInfo(_unique(flufl_temporary), False, reason, token)
    return BounceInfo((), guessed_permanent, reason, token)
