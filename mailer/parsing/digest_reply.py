"""The coordinator's answer to the daily digest: lines that pair references with a word.

Outlook puts the cursor above the quoted digest, so the coordinator types
lines such as ``#12 SULJE``, ``sulje #12 ja #15`` or ``#12, #15: CLOSE``; the
order, commas and "ja"/"och"/"and" do not matter. A line is a command only
when everything in it besides the references is one command word, so a
sentence mentioning "#12" is never taken for one; such lines are returned
separately, so the answer can say they were not understood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mailer.parsing.commands import normalise_word

_REFERENCE = re.compile(r"^#?(\d{1,9})[,.;:]?$")
_MENTION = re.compile(r"#\d{1,9}\b")
_JOINERS = frozenset({"ja", "och", "and", "&", "+", ","})


def ticket_commands(
    text: str, commands: Mapping[str, frozenset[str]]
) -> tuple[list[tuple[str, int]], list[str]]:
    """(command name, ticket number) in the order written, and the lines naming a
    reference that were not understood."""
    found: list[tuple[str, int]] = []
    unclear: list[str] = []
    for line in text.splitlines():
        numbers: list[int] = []
        words: list[str] = []
        for token in line.replace(",", " , ").split():
            reference = _REFERENCE.match(token)
            if reference:
                numbers.append(int(reference.group(1)))
            elif token.casefold() not in _JOINERS:
                words.append(token)
        word = normalise_word(" ".join(words))
        name = next((n for n, known in commands.items() if word and word in known), None)
        if numbers and name:
            found += [(name, n) for n in dict.fromkeys(numbers)]
        elif _MENTION.search(line):
            unclear.append(line.strip())
    return found, unclear
