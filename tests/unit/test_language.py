"""Guessing the language of a stranger's mail."""

from __future__ import annotations

import pytest

from mailer.parsing.language import guess_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hei, onko teillä kokemusta kutsutaksista? Kiitos", "fi"),
        ("Hej, har ni erfarenhet av anropsstyrd trafik? Tack och hälsningar", "sv"),
        ("Hello, do you have any experience with demand responsive transport? Thanks", "en"),
        ("", "fi"),
        ("12345", "sv"),
    ],
)
def test_guess(text: str, expected: str) -> None:
    """Function words decide; nothing to go on gives the default."""
    default = "sv" if text == "12345" else "fi"
    assert guess_language(text, default) == expected
