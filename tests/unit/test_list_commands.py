"""The list's one-line commands in fi, sv and en, in subjects and first lines."""

from __future__ import annotations

import pytest

from mailer.config import project_root
from mailer.matchers import MATCHERS
from mailer.parsing.list_commands import Command, leave_request, list_command, parse_command
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


LONG_POST = (
    "Hei kaikki,\n\nmeillä kuntalaiset kirjoittavat usein 'poistakaa minut tiedotelistalta', "
    "kun kutsutaksin aikataulutiedotteita tulee liian usein. Miten te olette rajanneet "
    "tiedotteiden määrää, ja kerrotteko muutoksista tekstiviestillä vai sähköpostilla? "
    "Kaikki kokemukset kiinnostavat.\n\nLiisa"
)


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("Poistakaa minut listalta", "", "poistakaa minut"),
        (
            "VS: [Verkosto] Talviaikataulut",
            "Poistakaa minut tältä listalta, kiitos.\n\nJäsen 2",
            "poistakaa minut",
        ),
        (
            "Re: Winter",
            "Hi,\n\nPlease unsubscribe me from this list.\n\nThanks,\nJohn",
            "please unsubscribe",
        ),
        ("SV: Vinter", "Ta bort mig från listan, tack.\n\nAnders\nJakobstad", "ta bort mig"),
        ("VS: Winter", "En halua enää näitä viestejä.", "en halua enää"),
        ("Re: Winter", "I don\u2019t want these emails anymore", "i don't want these"),
        ("VS: Winter", "Eroa\n\n" + LONG_POST, "Eroa"),
    ],
)
def test_request_to_leave(subject: str, text: str, expected: str) -> None:
    """A short mail asking to be taken off the list, in any language; a leave word on top."""
    assert leave_request(subject, text, RULES) == expected


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("VS: Tiedotteet", LONG_POST),
        ("Uutiskirje", "Tiedoksi: uutiskirjeen voi nyt tilata ja perua kunnan sivuilla."),
        ("Re: Winter", "Can someone remind me when the ELY funding round opens?"),
    ],
)
def test_post_about_leaving_is_not_a_request(subject: str, text: str) -> None:
    assert leave_request(subject, text, RULES) is None


def test_command_to_the_list_only_when_the_mail_is_short() -> None:
    """'Ohje' over a whole guide is a post; 'Ohje' over a signature asks for help."""
    guide = "Ohje\n\n" + " ".join(["Soita palvelunumeroon edellisenä arkipäivänä."] * 8)
    assert list_command("VS: Winter", guide, RULES) is None
    assert list_command("VS: Winter", "Ohje\n\nLiisa Laine\nUusikaupunki", RULES) == Command("help")
