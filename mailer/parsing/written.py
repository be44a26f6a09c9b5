"""The lines a person wrote in a short reply: no quoted lines, no greeting, no closing.

``InboundMessage.new_text`` has lost the quoted history and the ``-- ``
signature, but it keeps what a reply parser cannot tell from the message in
general: the greeting and the closing ("Ystävällisin terveisin / Matti Virtanen /
p. 040 123 4567"). For the short answers read here — a rating, a registration,
a form — the closing is certain to be a closing, and the phone number and
title under it must not be read as a rating or an answer. Stray ``>`` lines
are dropped too, so a caller that passes a whole reply still gets the writer's
lines only.
"""

from __future__ import annotations

import re

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\t": " "})
# A closing phrase, optionally after "kiitos ja"/"tack och"/"thanks and", with at
# most a name after it on the same line ("t. Matti", "Terveisin Matti Virtanen").
# Words that also open a sentence ("Best part was…") count only on their own.
_CLOSING = re.compile(
    r"^(?:(?:kiitos|tack|thanks)\s+(?:ja|och|and)\s+)?(?:"
    r"(?:(?:ystävällisin|parhain|lämpimin|aurinkoisin|yst\.?)\s*terveisin|terveisin|terveiset"
    r"|terv\.|yst\.?\s*terv\.?|t\.|t:|(?:med\s+)?vänlig(?:a)?\s+hälsning(?:ar)?"
    r"|bästa\s+hälsningar|hälsningar|hälsning|hälsn\.|mvh|vh|(?:best|kind|warm|warmest)\s+regards"
    r"|best\s+wishes|all\s+the\s+best)(?![\w])[,.!]*(?:\s+(?P<rest>[^:?]*))?"
    r"|(?:best|br|cheers|regards|kiittäen)[,.!]*)$",
    re.IGNORECASE,
)
_NAME_WORDS_MAX = 4
_GREETING = re.compile(
    r"^(?:hei|hej|hejsan|hi|hello|moi|moikka|terve|dear|huomenta|god\s+morgon"
    r"|hyvää\s+päivää|good\s+morning)(?![\w])[^.!?:\d]{0,40}[,!.]?$",
    re.IGNORECASE,
)


# "Thanks," / "Kiitos!" on its own line closes a mail when a name follows it;
# elsewhere it is part of the message ("Kiitos!" then a rating).
_THANKS = re.compile(
    r"^(?:kiitos|kiitoksia|tack|thanks|thank\s+you|many\s+thanks)[,.!]*$", re.IGNORECASE
)
_NAME = re.compile(r"^[A-ZÅÄÖ][\w\-']*(?:\s+[A-ZÅÄÖ][\w\-'.]*){0,2}$")
_SIGNATURE_LINES_MAX = 4


def is_quoted(line: str) -> bool:
    """A ``>`` line: the history, which a caller may pass by mistake."""
    return line.lstrip().startswith(">")


def is_closing(line: str) -> bool:
    """A closing line ("Terveisin", "t. Matti", "Med vänlig hälsning", "Best regards,")."""
    match = _CLOSING.match(line.strip())
    return match is not None and len((match.group("rest") or "").split()) <= _NAME_WORDS_MAX


def is_greeting(line: str) -> bool:
    """A greeting line on its own ("Hei,", "Hej Hanna!", "Hi all,")."""
    return _GREETING.match(line.strip()) is not None


def written_lines(text: str) -> list[str]:
    """The writer's lines up to the closing, quoted lines dropped, spaces normalised.

    Blank lines are kept (paragraphs matter to the callers); the lines are
    right-stripped.
    """
    lines: list[str] = []
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, raw in enumerate(raw_lines):
        line = raw.translate(_SPACES).rstrip()
        if is_quoted(line):
            continue
        if is_closing(line) or _thanks_closing(line, raw_lines[index + 1 :]):
            break
        lines.append(line)
    return lines


def _thanks_closing(line: str, after: list[str]) -> bool:
    if not _THANKS.match(line.strip()):
        return False
    rest = [other.strip() for other in after if other.strip() and not is_quoted(other)]
    return 0 < len(rest) <= _SIGNATURE_LINES_MAX and _NAME.match(rest[0]) is not None
