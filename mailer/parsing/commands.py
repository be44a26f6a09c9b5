"""One-word command lines in a reply (``SULJE``, ``STÄNG``, ``CLOSE`` ...).

A line counts as a command only when it is nothing but the word (case and
trailing punctuation aside), so a sentence that happens to contain "close" is
never taken for one. Command lines are removed from the text that is relayed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

_PUNCTUATION = ".!:;,-\u2013*_ \t"


def normalise_word(line: str) -> str:
    """Case, surrounding space and punctuation aside, and inner spaces collapsed."""
    return " ".join(line.replace(":", " ").split()).strip(_PUNCTUATION).casefold()


@lru_cache(maxsize=8)
def _courtesy(words: frozenset[str]) -> re.Pattern[str]:
    either = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(
        rf"^(?:(?:{either})[\s,.!]+)*(?P<core>.*?)(?:[\s,.!]+(?:{either}))*$", re.DOTALL
    )


@lru_cache(maxsize=16)
def phrase_pattern(words: frozenset[str]) -> re.Pattern[str]:
    """Any of the phrases as whole words inside a casefolded sentence."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])")


def without_courtesy(word: str, courtesy: frozenset[str]) -> str:
    """A normalised command line without a leading or trailing "kiitos" / "please".

    People write "Viikoittain, kiitos" or "unsubscribe please"; the courtesy is
    no part of the command, but a line holding nothing else stays as it was.
    """
    core = _courtesy(courtesy).match(word)
    return core.group("core").strip(_PUNCTUATION) if core and core.group("core") else word


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
