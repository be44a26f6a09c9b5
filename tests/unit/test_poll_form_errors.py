"""The poll and survey forms' error mail: every error said in words, in every language."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mailer.config import LANGUAGES, project_root
from mailer.handlers.polls import validate
from mailer.parsing.forms import POLL_FIELDS, SURVEY_FIELDS
from mailer.templates import Templates

TEMPLATES = Templates(project_root() / "templates", ZoneInfo("Europe/Helsinki"), "fi")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
NETWORK = SimpleNamespace(name="Pienet joukot, iso merkitys", address="verkosto@example.test")


def _validation_codes() -> set[str]:
    """Every code ``validate`` gives, over questions, option counts, limits and deadlines."""
    codes: set[str] = set()
    for question, count, limit, closes, kind in itertools.product(
        ("", "Mikä aihe?"),
        (0, 1, 2, 27),
        (0, 1, 3),
        (None, NOW - timedelta(days=1), NOW + timedelta(days=1)),
        ("poll", "survey"),
    ):
        options = [f"Vaihtoehto {n}" for n in range(count)]
        codes.update(validate(question, options, limit, closes, NOW, kind))
    return codes


CODES = sorted(
    _validation_codes()
    | {"no-form", "nothing-to-send"}
    | {
        f"{what}:{name}"
        for what in ("duplicate", "empty")
        for name in (*POLL_FIELDS, *SURVEY_FIELDS)
    }
)
# What the templates say for a code they do not know: never wanted.
FALLBACKS = (
    "lomaketta ei voitu lukea", "sama kenttä", "kenttä on tyhjä", "formuläret kunde inte läsas",
    "samma fält", "fältet är tomt", "the form could not be read", "the same field", "a field is",
)  # fmt: skip
POLL_WORDS = {"fi": "äänestys", "sv": "omröstning", "en": "poll"}


def _render(language: str, survey: bool, errors: list[str]) -> tuple[str, str]:
    rendered = TEMPLATES.render(
        language, "polls/form_errors", network=NETWORK, survey=survey, errors=errors, unknown=[]
    )
    return rendered.subject, rendered.text


def test_the_codes_cover_validation() -> None:
    """The table below holds every code the validation gives."""
    assert {"no-question", "too-few-options", "no-survey-questions", "bad-closing-time"} <= set(
        CODES
    )


@pytest.mark.parametrize("survey", [False, True], ids=["poll", "survey"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", CODES)
def test_every_error_is_said_in_words(code: str, language: str, survey: bool) -> None:
    """No internal code and no catch-all sentence reaches the coordinator."""
    _, text = _render(language, survey, [code])
    assert code not in text
    assert not any(fallback in text for fallback in FALLBACKS), text
    assert "\n- " in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_survey_is_called_a_survey(language: str) -> None:
    """The survey's error mail never says poll, and shows a survey's example."""
    subject, text = _render(language, True, ["no-survey-questions", "bad-closing-time"])
    assert POLL_WORDS[language] not in f"{subject}\n{text}".casefold()
    example = text.rsplit("\n\n", 1)[-1].splitlines()
    asked = [line for line in example if line.split(":")[0].casefold() in SURVEY_FIELDS["question"]]
    assert len(asked) >= 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_poll_is_called_a_poll(language: str) -> None:
    """The poll's error mail says poll and shows numbered options."""
    subject, text = _render(language, False, ["too-few-options"])
    assert POLL_WORDS[language] in f"{subject}\n{text}".casefold()
    assert "\n1. " in text and "\n2. " in text
