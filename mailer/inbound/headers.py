"""Reading header values and text bytes the way real mail needs, fast and without raising.

The stdlib's ``policy.default`` header objects cost several hundred microseconds
per message to build, which alone would halve the ingest rate, and they raise or
give up on the charsets real mail carries (``x-unknown``, raw 8-bit UTF-8 or Latin-1
in headers). So headers are read raw (``Message.raw_items``, identical under every
policy) and decoded here: RFC 2047 words, 8-bit bytes sniffed as UTF-8 with
Windows-1252 as the fallback, and control characters removed so that nothing read
from a header can carry a line break into a header we write.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Sequence
from email.message import Message
from email.utils import getaddresses
from functools import lru_cache
from typing import Any

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_SURROGATE = re.compile("[\udc80-\udcff]")
# One entry of a plain address list: "Name" <a@b>, Name <a@b>, <a@b> or a@b. Anything
# else (comments, groups, escapes) goes to the stdlib's full parser. Each piece is
# bounded by a character the previous one cannot contain, so matching is linear.
_SIMPLE_ADDRESS = re.compile(
    r'\s*(?:(?:"(?P<quoted>[^"\\]*)"\s*|(?P<name>[^",<>()\\;:@\s][^",<>()\\;:@]*)?)'
    r'<(?P<angle>[^<>\s,"()]+)>|(?P<bare>[^\s<>,"()\\;:]+))\s*(?:,|$)'
)

_FULL_PARSE_MAX = 8 * 1024

# Declared charsets that lie in practice: Latin-1 labels are written by clients
# that actually emit Windows-1252 (the euro sign, typographic quotes), as every
# browser assumes too.
_CHARSET_SUBSTITUTES = {"iso8859-1": "cp1252", "ascii": ""}
# Text codecs that would interpret the bytes rather than decode them.
_UNSAFE_CODECS = frozenset({"unicode-escape", "raw-unicode-escape", "punycode", "idna"})


@lru_cache(maxsize=256)
def _codec(charset: str) -> str:
    """Python text codec for a declared charset; "" when missing, unknown, ASCII or unsafe.

    ``codecs.lookup`` also finds byte transforms (``base64``, ``zlib``) and codecs
    that refuse ``errors="replace"`` (``idna``): a charset label is attacker input,
    so only codecs that decode arbitrary bytes without raising are accepted.
    """
    label = charset.strip().strip("\"'").lower().split("*", 1)[0]
    if not label:
        return ""
    try:
        name = codecs.lookup(label).name
        b"\xff\xfe\x00\\x".decode(name, errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return ""
    if name in _UNSAFE_CODECS:
        return ""
    return _CHARSET_SUBSTITUTES.get(name, name)


def known_charset(charset: str | None) -> bool:
    """True when ``charset`` is missing or names a codec Python has."""
    if not charset:
        return True
    label = charset.strip().strip("\"'").lower()
    return bool(_codec(label)) or label in ("us-ascii", "ascii")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text of ``data`` in its declared charset; never raises.

    Without a usable declaration (none, ``us-ascii`` that carries 8-bit bytes,
    ``x-unknown``) the bytes are tried as UTF-8 and read as Windows-1252 if they
    are not, which is what unlabelled Finnish and Swedish mail turns out to be.
    """
    codec = _codec(charset or "")
    if codec:
        try:
            return data.decode(codec, errors="replace")
        except (UnicodeError, ValueError):
            pass  # a stateful codec choking on this input: fall back to sniffing
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _undo_surrogates(value: str) -> str:
    """Raw 8-bit header bytes arrive as lone surrogates; decode them as text."""
    if value.isascii() or not _SURROGATE.search(value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"))


def unfold(value: Any) -> str:
    """One logical line: folds removed, any other CR/LF turned into a space."""
    text = str(value)
    if "\n" not in text and "\r" not in text:
        return text.strip()
    text = _FOLD.sub("", text)
    return text.replace("\r", " ").replace("\n", " ").strip()


def clean(text: str) -> str:
    """Control characters (CR, LF, NUL, U+2028 …) removed and whitespace collapsed."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def _decode_word(charset: str, encoding: str, payload: str) -> str | None:
    data = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "bB":
            raw = base64.b64decode(data + b"=" * (-len(data) % 4))
        else:
            raw = binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None
    return decode_bytes(raw, charset)


def decode_rfc2047(value: str) -> str:
    """Decode encoded words; whitespace between two adjacent words is dropped (RFC 2047 §6.2).

    A word that cannot be decoded stays as written rather than losing the rest.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if not (after_word and (gap == "" or gap.isspace())):
            out.append(gap)
        decoded = _decode_word(match.group(1), match.group(2), match.group(3))
        out.append(match.group(0) if decoded is None else decoded)
        pos = match.end()
        after_word = True
    out.append(value[pos:])
    return "".join(out)


def decode_header(value: Any) -> str:
    """A raw header value as clean display text: unfolded, decoded, single-line."""
    return clean(decode_rfc2047(_undo_surrogates(unfold(value))))


def raw_headers(msg: Message) -> list[tuple[str, str]]:
    """(lower-cased name, unfolded raw value) pairs in message order, for any policy."""
    return [(name.lower(), unfold(value)) for name, value in msg.raw_items()]


def first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first raw value of ``name`` (lower-case), or None."""
    return next((value for key, value in headers if key == name), None)


def all_values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Every raw value of ``name`` (lower-case), top first."""
    return [value for key, value in headers if key == name]


def valid_address(address: str) -> bool:
    """An addr-spec we can act on: local@domain with no spaces, brackets or controls."""
    return bool(_ADDR_SPEC.fullmatch(address))


def _full_parse(value: str) -> list[tuple[str, str]]:
    """The stdlib's address parser, kept to inputs it handles in bounded time.

    It is quadratic on some inputs (``<<<<…``) and recurses once per group
    (``Re: Re: …``), so a hostile header could stall or crash it: only the first
    ``_FULL_PARSE_MAX`` characters, cut at a comma, are given to it.
    """
    if len(value) > _FULL_PARSE_MAX:
        cut = value.rfind(",", 0, _FULL_PARSE_MAX)
        value = value[: cut if cut > 0 else _FULL_PARSE_MAX]
    try:
        return getaddresses([value])
    except RecursionError:
        return []


def _split_addresses(values: list[str]) -> list[tuple[str, str]]:
    """``getaddresses`` with a fast path for the plain lists nearly all mail carries."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        pos = 0
        simple: list[tuple[str, str]] = []
        while pos < len(value):
            match = _SIMPLE_ADDRESS.match(value, pos)
            if match is None or match.end() == pos:
                simple = _full_parse(value)
                break
            name = match.group("quoted") or match.group("name") or ""
            simple.append((name.strip(), match.group("angle") or match.group("bare")))
            pos = match.end()
        pairs.extend(simple)
    return pairs


def parse_addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) for every readable address, in order.

    Names are decoded after the address list is split, so an encoded comma in a
    name cannot split it; entries without a usable addr-spec (groups, bare
    words) are left out.
    """
    found: list[tuple[str, str]] = []
    for name, address in _split_addresses([_undo_surrogates(v) for v in values]):
        address = address.strip().lower()
        if valid_address(address):
            found.append((clean(decode_rfc2047(name)).strip("\"' "), address))
    return found


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a Message-ID / In-Reply-To / References value, in order."""
    if not value:
        return []
    return _MESSAGE_ID.findall(value)


def return_path(value: str | None) -> str | None:
    """The envelope sender from a Return-Path value: "" for ``<>``, None when absent."""
    if value is None:
        return None
    inner = value.strip().strip("<>").strip()
    if not inner:
        return ""
    addresses = parse_addresses([value])
    return addresses[0][1] if addresses else clean(inner).lower()


def subparts(part: Message) -> list[Message]:
    """The parsed children of a multipart or message/* part; [] for a leaf.

    A multipart whose boundary is missing has a string payload instead, and
    typeshed allows strings in the list too, so the type is checked here once.
    """
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    return [child for child in payload if isinstance(child, Message)]
