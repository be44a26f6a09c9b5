"""One-word command lines in a reply (``SULJE``, ``STÄNG``, ``CLOSE`` ...).

A line counts as a command only when it is nothing but the word (case and
trailing punctuation aside), so a sentence that happens to contain "close" is
never taken for one. Command lines are removed from the text that is relayed.
"""

from __future__ import annotations

from collections.abc import Mapping

_PUNCTUATION = ".!:;,-\u2013*_ \t"


def normalise_word(line: str) -> str:
    """Case, surrounding space and punctuation aside, and inner spaces collapsed."""
    return " ".join(line.replace(":", " ").split()).strip(_PUNCTUATION).casefold()


def command_lines(text: str, commands: Mapping[str, frozenset[str]]) -> tuple[set[str], str]:
    """Return (names of the commands found, the text without those lines)."""
    found: set[str] = set()
    kept: list[str] = []
    for line in text.splitlines():
        word = normalise_word(line)
        name = next((n for n, words in commands.items() if word and word in words), None)
        if name is None:
            kept.append(line)
        else:
            found.add(name)
    return found, "\n".join(kept).strip("\n").rstrip()
