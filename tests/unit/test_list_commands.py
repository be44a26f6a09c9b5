"""The list's one-line commands in fi, sv and en, in subjects and first lines."""

from __future__ import annotations

import pytest

from mailer.config import project_root
from mailer.matchers import MATCHERS
from mailer.parsing.list_commands import Command, parse_command
from mailer.routing.rules import load_rules

RULES = load_rules(project_root() / "rules", "verkosto", "example.test", set(MATCHERS))


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("liity", "", Command("join")),
        ("Tilaa", "", Command("join")),
        ("", "Subscribe\n\nBest regards\nJohn", Command("join")),
        ("Prenumerera", "", Command("join")),
        ("eroa", "", Command("leave")),
        ("Peru tilaus", "", Command("leave")),
        ("", "avsluta\n\nMvh Anders", Command("leave")),
        ("UNSUBSCRIBE", "", Command("leave")),
        ("päivittäin", "", Command("delivery", "daily")),
        ("", "Viikoittain\n--\nLiisa", Command("delivery", "weekly")),
        ("Jokainen viesti", "", Command("delivery", "each")),
        ("ei viestejä", "", Command("delivery", "none")),
        ("veckovis", "", Command("delivery", "weekly")),
        ("daily digest", "", Command("delivery", "daily")),
        ("kieli sv", "", Command("language", "sv")),
        ("", "kieli ruotsi", Command("language", "sv")),
        ("språk finska", "", Command("language", "fi")),
        ("Language: English", "", Command("language", "en")),
        ("language english", "", Command("language", "en")),
        ("kieli klingon", "", Command("language", "")),
        ("ohje", "", Command("help")),
        ("hjälp", "", Command("help")),
        ("Help!", "", Command("help")),
        ("tietoni", "", Command("export")),
        ("mina uppgifter", "", Command("export")),
        ("poista tietoni", "", Command("erase")),
        ("Delete my data", "", Command("erase")),
        ("Viikoittain, kiitos", "", Command("delivery", "weekly")),
        ("Eroa listalta kiitos", "", Command("leave")),
        ("unsubscribe please", "", Command("leave")),
        ("Please unsubscribe", "", Command("leave")),
        ("", "Kiitos, tilaa lista!\n\nTerveisin\nPaula", Command("join")),
        ("Veckovis tack", "", Command("delivery", "weekly")),
        ("kieli sv, kiitti", "", Command("language", "sv")),
        ("Daily digest, thank you", "", Command("delivery", "daily")),
    ],
)
def test_commands(subject: str, text: str, expected: Command) -> None:
    """A subject or first line holding only a command word is that command."""
    assert parse_command(subject, text, RULES) == expected


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Onko teillä ohje kutsutaksin tilaamiseen?", "Hei, ..."),
        ("Koulukuljetukset", "Hei,\nmiten tilaatte koulukuljetukset?"),
        ("Kysymys", "Haluaisin liittyä verkostoon, miten se onnistuu?"),
        ("", "Please help me with the statistics"),
        ("Kiitos", ""),
        ("Kiitos viikoittaisesta koosteesta", ""),
        ("Tack för hjälpen", ""),
    ],
)
def test_sentences_are_not_commands(subject: str, text: str) -> None:
    """A command word inside a sentence is not a command."""
    assert parse_command(subject, text, RULES) is None


@pytest.mark.parametrize(
    ("subject", "language"),
    [
        ("liity", "fi"),
        ("prenumerera", "sv"),
        ("subscribe", "en"),
        ("avsluta", "sv"),
        ("Avsluta, tack", "sv"),
        ("unsubscribe please", "en"),
    ],
)
def test_command_knows_the_language_it_was_written_in(subject: str, language: str) -> None:
    """A one-word mail is answered in the language of that word."""
    command = parse_command(subject, "", RULES)
    assert command is not None and command.language == language
