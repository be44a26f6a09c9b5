"""Reading an event's form or options: a complete spec, or every problem at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailer.config import settings_from_dict
from mailer.events.spec import EventSpec, Problem, form_problems, read_spec
from mailer.parsing.forms import EVENT_FIELDS, parse_form

HELSINKI = ZoneInfo("Europe/Helsinki")
NOW = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
SETTINGS = settings_from_dict(
    {
        "network": {"address": "verkosto@example.test", "coordinators": ["k@example.test"]},
        "maildir": {"path": "/tmp/unused"},
        "smtp": {"host": "127.0.0.1", "port": 25},
    },
    {},
)


def _read(text: str, **kw: Any) -> tuple[EventSpec | None, list[Problem]]:
    form = parse_form(text, EVENT_FIELDS)
    spec, problems = read_spec(form.values, SETTINGS, NOW, **kw)
    problems = form_problems(form) + problems
    return (None if problems else spec), problems


def test_a_webinar_form() -> None:
    """A link makes a webinar; a time range gives its length; capacity and question kept."""
    spec, problems = _read(
        "Otsikko: Kilpailutus\nAika: ti 11.2.2027 klo 13.00\u201314.30\n"
        "Linkki: https://teams.example/l/1\nPaikkoja: 100\nKysymys: Kunta?"
    )
    assert problems == [] and spec is not None
    assert spec.kind == "webinar"
    assert spec.starts_at == datetime(2027, 2, 11, 13, 0, tzinfo=HELSINKI)
    assert spec.ends_at - spec.starts_at == timedelta(minutes=90)
    assert (spec.capacity, spec.question) == (100, "Kunta?")


def test_webinar_length_defaults_seminar_needs_one() -> None:
    """A webinar without a length lasts [events] webinar_length; a seminar must say it."""
    spec, _ = _read("Otsikko: A\nAika: 11.2.2027 klo 13\nLinkki: https://x.example")
    assert spec is not None and spec.ends_at - spec.starts_at == timedelta(hours=1)
    spec, problems = _read("Otsikko: A\nAika: 26.11.2027 klo 9\nPaikka: Tampere-talo")
    assert spec is None and problems == [Problem("missing", "duration")]
    spec, _ = _read("Otsikko: A\nAika: 26.11.2027 klo 9\nKesto: 7 h\nPaikka: Tampere-talo")
    assert spec is not None and spec.kind == "seminar"
    assert spec.ends_at == datetime(2027, 11, 26, 16, 0, tzinfo=HELSINKI)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("Aika: 11.2.2027 klo 13\nLinkki: https://x.example", [Problem("missing", "title")]),
        ("Otsikko: A\nLinkki: https://x.example", [Problem("missing", "time")]),
        ("Otsikko: A\nAika: 11.2.2027 klo 13", [Problem("missing", "place")]),
        (
            "Otsikko: A\nAika: ensi viikolla\nLinkki: https://x.example",
            [Problem("unreadable", "time", "ensi viikolla")],
        ),
        (
            "Otsikko: A\nAika: 1.1.2027 klo 13\nLinkki: https://x.example",
            [Problem("past", "time", "1.1.2027 klo 13")],
        ),
        (
            "Otsikko: A\nAika: 11.2.2027 klo 13\nLinkki: teams.example/x",
            [Problem("not_a_link", "link", "teams.example/x")],
        ),
        (
            "Otsikko: A\nAika: 11.2.2027 klo 13\nLinkki: https://x.example\nPaikkoja: paljon",
            [Problem("unreadable", "capacity", "paljon")],
        ),
        (
            "Otsikko: A\nAika: 11.2.2027 klo 13\nAika: 12.2.2027 klo 13\nLinkki: https://x.example",
            [Problem("duplicate", "time")],
        ),
    ],
)
def test_each_problem(form: str, expected: list[Problem]) -> None:
    """Each kind of mistake is named with its field and what was written."""
    spec, problems = _read(form)
    assert spec is None and problems == expected


def test_every_problem_at_once() -> None:
    """A form with several mistakes lists them all, so one round of fixes is enough."""
    _, problems = _read("Aika: huomenna\nLinkki: www.example\nPaikkoja: 0")
    assert {(p.code, p.field) for p in problems} == {
        ("missing", "title"),
        ("unreadable", "time"),
        ("not_a_link", "link"),
        ("unreadable", "capacity"),
    }


def test_a_change_keeps_what_is_not_written() -> None:
    """Given the event, only the fields written change; the length stays with a new start."""
    start = datetime(2027, 2, 11, 13, 0, tzinfo=HELSINKI)
    base: Any = SimpleNamespace(
        kind="webinar",
        title="Kilpailutus",
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        place="",
        link="https://x.example",
        description="",
        capacity=40,
        question="",
    )
    spec, problems = read_spec({"time": "12.2.2027 klo 10"}, SETTINGS, NOW, base=base)
    assert problems == [] and spec is not None
    assert spec.ends_at - spec.starts_at == timedelta(minutes=90)
    assert (spec.title, spec.capacity, spec.kind) == ("Kilpailutus", 40, "webinar")
    assert spec.changed(base) == ["starts_at", "ends_at"]
