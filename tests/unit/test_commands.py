"""One-word command lines in coordinators' replies."""

from __future__ import annotations

import pytest

from mailer.parsing.commands import command_lines

WORDS = {
    "close": frozenset({"sulje", "stäng", "close"}),
    "reopen": frozenset({"avaa", "öppna", "reopen"}),
}


@pytest.mark.parametrize("line", ["SULJE", "sulje", "Sulje.", "  STÄNG  ", "Close!", "*CLOSE*"])
def test_close_words(line: str) -> None:
    """A line holding only a close word, in any case and with punctuation, is a command."""
    found, text = command_lines(f"Kiitos vastauksesta.\n{line}\n", WORDS)
    assert found == {"close"}
    assert text == "Kiitos vastauksesta."


def test_word_inside_a_sentence_is_not_a_command() -> None:
    """'Please close the door' is text, not a command."""
    found, text = command_lines("Please close the door.\nAvaa ikkuna.", WORDS)
    assert found == set()
    assert text == "Please close the door.\nAvaa ikkuna."


def test_reopen_in_swedish() -> None:
    """ÖPPNA reopens."""
    assert command_lines("ÖPPNA", WORDS) == ({"reopen"}, "")
