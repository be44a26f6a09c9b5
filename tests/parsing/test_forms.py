"""The coordinator's event and poll forms: the sample table, then the rules."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mailer.inbound.html_text import html_to_text
from mailer.parsing.forms import (
    EVENT_FIELDS,
    POLL_FIELDS,
    REPEATED,
    SURVEY_FIELDS,
    SURVEY_REPEATED,
    parse_form,
    survey_questions,
)

SAMPLES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parent / "samples" / "forms.toml").read_text(encoding="utf-8")
)["sample"]
TABLES: dict[str, tuple[Mapping[str, tuple[str, ...]], tuple[str, ...]]] = {
    "event": (EVENT_FIELDS, REPEATED),
    "poll": (POLL_FIELDS, REPEATED),
    "survey": (SURVEY_FIELDS, SURVEY_REPEATED),
}


@pytest.mark.parametrize("sample", [pytest.param(s, id=s["name"]) for s in SAMPLES])
def test_sample(sample: dict[str, Any]) -> None:
    """Each form gives exactly the expected values, lists, stray lines and errors."""
    text = sample["text"] if "text" in sample else html_to_text(sample["html"])
    fields, repeated = TABLES[sample["form"]]
    result = parse_form(text, fields, repeated=repeated)
    assert result.values == sample.get("values", {})
    assert result.lists == sample.get("lists", {})
    assert result.unknown_lines == sample.get("unknown_lines", [])
    assert result.errors == sample.get("errors", [])


def test_every_language_has_samples() -> None:
    """Forms in Finnish, Swedish and English, for events, polls and surveys."""
    kinds = {(s["name"][:2], s["form"]) for s in SAMPLES}
    assert kinds >= {(lang, form) for lang in ("fi", "sv", "en") for form in TABLES}


ALL_TABLES = [EVENT_FIELDS, POLL_FIELDS, SURVEY_FIELDS]


@pytest.mark.parametrize("table", ALL_TABLES, ids=list(TABLES))
def test_no_key_means_two_fields(table: Mapping[str, tuple[str, ...]]) -> None:
    """Within one form a key word names one field only."""
    words = [word.casefold() for words in table.values() for word in words]
    assert len(words) == len(set(words))


@pytest.mark.parametrize("table", ALL_TABLES, ids=list(TABLES))
def test_every_field_has_keys_in_three_languages(table: Mapping[str, tuple[str, ...]]) -> None:
    """Each field has at least a Finnish, a Swedish and an English key."""
    for words in table.values():
        assert len(words) >= 3


@pytest.mark.parametrize(
    ("text", "heading", "questions"),
    [
        (
            "Kysymys: Mitä kysyisit?\nKysymys: Mikä on haasteesi?",
            "",
            ["Mitä kysyisit?", "Mikä on haasteesi?"],
        ),
        (
            "Kysymys: Ennakkokysely\n1. Mitä kysyisit?\n2. Haasteesi?",
            "Ennakkokysely",
            ["Mitä kysyisit?", "Haasteesi?"],
        ),
        ("Frågor:\n1. Vad?\n2. Varför?", "", ["Vad?", "Varför?"]),
        ("Question: What would you ask?", "", ["What would you ask?"]),
        ("Otsikko: Kysely", "", []),
    ],
)
def test_survey_questions(text: str, heading: str, questions: list[str]) -> None:
    """Several "Kysymys:" lines are the questions; one above a list is their heading."""
    form = parse_form(text, SURVEY_FIELDS, repeated=SURVEY_REPEATED)
    assert survey_questions(form) == (heading, questions)


def test_numbered_lines_in_an_event_description_stay_in_it() -> None:
    """An agenda in the description is text, not poll options."""
    result = parse_form(
        "Otsikko: Seminaari\nKuvaus: Ohjelma:\n1. Avaus\n2. Esitykset", EVENT_FIELDS
    )
    assert result.values["description"] == "Ohjelma:\n1. Avaus\n2. Esitykset"
    assert result.lists == {}


def test_a_caller_table() -> None:
    """Any table works: the canonical names are the caller's."""
    result = parse_form("NIMI : Matti\nEmail: m@x.example", {"name": ("nimi",)})
    assert result.values == {"name": "Matti"}
    assert result.unknown_lines == ["Email: m@x.example"]


def test_link_line_is_not_a_key() -> None:
    """A bare URL line has a colon but no key; it is reported, not taken as a field."""
    result = parse_form("https://teams.example/l/1", EVENT_FIELDS)
    assert result.values == {} and result.unknown_lines == ["https://teams.example/l/1"]
