"""What the writer wrote in a reply: quoted history, attribution lines and client footers removed.

The PyPI reply parsers miss Finnish and Swedish clients, so these are in-house
rules over plain text (HTML arrives here already converted, with its quote
containers turned into ``> `` lines by ``html_text``). Two kinds of history:

* *Quotes*: ``>`` lines, usually introduced by an attribution line ("On … wrote:",
  "… kirjoitti:", "Den … skrev …:"). An attribution line is removed only when
  quoted lines (or nothing) follow it — a sentence that merely ends in
  "kirjoitti:" stays.
* *Header blocks*: Outlook does not quote; it writes a separator
  ("-----Alkuperäinen viesti-----", a line of underscores) or a bare block of
  "Lähettäjä: / Lähetetty: / Vastaanottaja: / Aihe:" lines and puts the old
  message below, unquoted. Everything from such a block down is history.

Inline answers: when the writer's own lines sit *between* quoted blocks, every
unquoted line is kept (an inline reply). Otherwise, text above the first quote
is the answer and anything after the quote (a list footer, the quoted mail's
trailing lines a client failed to prefix) is dropped; text below a quote with
nothing above it is a bottom-posted answer and kept.
"""

from __future__ import annotations

import re

# "-----Original Message-----", "-------- Alkuperäinen viesti --------", Gmail forwards.
_SEPARATOR = re.compile(
    r"-{2,}\s*(?:original message|alkuperäinen viesti|ursprungligt meddelande|"
    r"originalmeddelande|ursprüngliche nachricht|message d'origine|oorspronkelijk bericht|"
    r"opprinnelig melding|oprindelig meddelelse|forwarded message|välitetty viesti|"
    r"vidarebefordrat (?:meddelande|brev|mejl)|weitergeleitete nachricht)\s*-{2,}",
    re.IGNORECASE,
)
# Apple Mail's forward introducer.
_FORWARD_INTRO = re.compile(
    r"(?:begin forwarded message|välitetty viesti alkaa|"
    r"(?:början av )?vidarebefordrat (?:mejl|brev|meddelande))\s*:",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"_{8,}")
# Header-block keys by meaning; "*From:*" is what some clients make of Outlook's bold.
_HEADER_KEYS = {
    "from": ("from", "lähettäjä", "från", "von", "de", "van", "fra", "afsender"),
    "date": (
        "sent", "date", "lähetetty", "päivämäärä", "päiväys", "skickat", "datum", "gesendet",
        "envoyé", "verzonden", "sendt",
    ),
    "to": ("to", "vastaanottaja", "till", "an", "à", "aan", "til"),
    "cc": ("cc", "kopio", "kopia", "kopie"),
    "subject": ("subject", "aihe", "ämne", "betreff", "objet", "onderwerp", "emne"),
}  # fmt: skip
_KEY_GROUP = {key: group for group, keys in _HEADER_KEYS.items() for key in keys}
_HEADER_LINE = re.compile(r"\*{0,2}([^\W\d_]+)\*{0,2}\s?:")
_HEADER_BLOCK_SPAN = 10
_ATTRIBUTION_VERB = re.compile(
    r"\b(?:wrote|writes|kirjoitti|skrev|schrieb|a écrit|escribió|ha scritto|schreef)\b",
    re.IGNORECASE,
)
# How an attribution that a client wrapped over two lines begins.
_ATTRIBUTION_START = re.compile(
    r"(?:(?:on|den|am|le|el|op)\s|\d|(?:ma|ti|ke|to|pe|la|su|mån|tis|ons|tors|fre|lör|sön|"
    r"mon|tue|wed|thu|fri|sat|sun)\w*[.,]?\s)",
    re.IGNORECASE,
)
_ATTRIBUTION_MAX = 300
_ATTRIBUTION_TAIL = 120
_SIGNATURE_DELIMITERS = ("-- ", "--")
# Footers mail clients append; matched at the start of a line, case-insensitively.
_FOOTERS = (
    "sent from my ", "sent from outlook", "sent from mail for windows", "sent from yahoo mail",
    "sent from samsung", "sent via the samsung", "get outlook for ", "hanki outlook for ",
    "hanki outlook-sovellus", "skaffa outlook för ", "lähetetty iphonesta", "lähetetty ipadista",
    "lähetetty android", "lähetetty samsung", "lähetetty mobiili", "lähetetty puhelimesta",
    "lähetetty outlook", "lähetetty windows", "lähetetty sähköposti", "skickat från min ",
    "skickat från outlook", "skickat från e-post", "skickades från min ",
    "skickades från e-post", "von meinem iphone gesendet", "gesendet von meinem ",
    "envoyé de mon ",
)  # fmt: skip
# A footer is the end of the mail: one followed by a long text is a sentence, not a footer.
_FOOTER_MAX_LEN = 120
_FOOTER_MAX_LINES_AFTER = 6


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _header_group(line: str) -> str | None:
    match = _HEADER_LINE.match(line.strip())
    return _KEY_GROUP.get(match.group(1).lower()) if match else None


def _header_block_at(lines: list[str], i: int) -> bool:
    """A From line followed by Subject and a Sent/Date or To line, without a blank between.

    Requiring the Subject keeps "From: Turku / To: Pori / Date: 5.2." (a trip,
    written by a person) from being taken for a quoted header.
    """
    if _header_group(lines[i]) != "from":
        return False
    groups: set[str] = set()
    for line in lines[i + 1 : i + 1 + _HEADER_BLOCK_SPAN]:
        if not line.strip():
            break
        group = _header_group(line)
        if group:
            groups.add(group)
    return "subject" in groups and bool(groups & {"date", "to"})


def _history_start(lines: list[str]) -> int:
    """Index of the first unquoted Outlook-style separator or header block, else ``len``."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if ":" not in stripped and not stripped.startswith(("-", "_")):
            continue  # every marker has a colon or is a rule of dashes or underscores
        if stripped.startswith(">"):
            continue
        if _SEPARATOR.fullmatch(stripped) or _FORWARD_INTRO.fullmatch(stripped):
            return i
        if _UNDERSCORES.fullmatch(stripped):
            following = [n for n in lines[i + 1 : i + 4] if n.strip()]
            if following and _header_group(following[0]) == "from":
                return i
        if _header_block_at(lines, i):
            return i
    return len(lines)


def _is_attribution(text: str) -> bool:
    if len(text) > _ATTRIBUTION_MAX or not text.endswith(":"):
        return False
    match = _ATTRIBUTION_VERB.search(text)
    return match is not None and len(text) - match.end() <= _ATTRIBUTION_TAIL


def _attribution_at(lines: list[str], i: int) -> int:
    """Number of lines (0, 1 or 2) of an attribution starting at line ``i``.

    Clients wrap long attributions ("… Matti Meikäläinen <matti@" / "example.fi>
    kirjoitti:"); two lines are joined only when the first one begins the way an
    attribution does, so the writer's last sentence is never taken along.
    """
    line = lines[i].strip()
    if not line or line.startswith(">"):
        return 0
    if _is_attribution(line):
        return 1
    if i + 1 >= len(lines):
        return 0
    following = lines[i + 1].strip()
    if not following or following.startswith(">") or line.endswith((".", "!", "?")):
        return 0
    if not _is_attribution(f"{line} {following}"):
        return 0
    if _is_attribution(following) and _ATTRIBUTION_START.match(following):
        return 0  # a whole attribution of its own: the line above is the writer's
    if _ATTRIBUTION_START.match(line) or _ATTRIBUTION_VERB.search(line):
        return 2
    return 0


def _quoted_or_end_after(lines: list[str], quoted: list[bool], j: int) -> bool:
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j == len(lines) or quoted[j]


def _squeeze(lines: list[str]) -> str:
    """Join lines with trailing spaces and runs of blank lines removed."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def strip_quoted(text: str) -> str:
    """The reply without quoted history, attribution lines and client header blocks."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _history_start(lines)]
    quoted = [_is_quoted(line) for line in lines]
    # Every attribution ends in a colon, on its own line or the next one.
    colon = [line.rstrip().endswith(":") for line in lines] + [False]
    history = list(quoted)  # quoted lines and the attributions that introduce them
    i = 0
    while i < len(lines):
        candidate = not quoted[i] and (colon[i] or colon[i + 1])
        span = _attribution_at(lines, i) if candidate else 0
        if span and _quoted_or_end_after(lines, quoted, i + span):
            for k in range(i, i + span):
                history[k] = True
            i += span
        else:
            i += 1
    if not any(history):
        return _squeeze(lines)
    first = history.index(True)
    last_quote = max((k for k, q in enumerate(quoted) if q), default=first)
    written_above = any(line.strip() for line in lines[:first])
    answered_between = any(
        lines[k].strip() and not history[k] for k in range(first + 1, last_quote)
    )
    if written_above and not answered_between:
        return _squeeze(lines[:first])
    return _squeeze([line for line, h in zip(lines, history, strict=True) if not h])


def _is_footer(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) <= _FOOTER_MAX_LEN and stripped.lower().startswith(_FOOTERS)


def strip_signature(text: str) -> str:
    """The reply without a ``-- `` signature or a mail client's footer ("Lähetetty iPhonesta").

    Closings ("Terveisin, Matti") are left alone: telling them from the message
    needs context only the caller has.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = next((i for i, line in enumerate(lines) if line in _SIGNATURE_DELIMITERS), len(lines))
    # A footer ends the mail, so only the last few written lines can be one.
    tail: list[int] = []
    for i in range(end - 1, -1, -1):
        if lines[i].strip():
            tail.append(i)
            if len(tail) > _FOOTER_MAX_LINES_AFTER:
                break
    for i in reversed(tail):
        if _is_footer(lines[i]):
            end = i
            break
    return _squeeze(lines[:end])
