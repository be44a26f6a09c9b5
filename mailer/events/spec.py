"""An event as the coordinator describes it, checked before anything is created.

The email form (``Otsikko:``, ``Aika:`` …) and ``mailer events create``
options both become a mapping of field names to the text typed; ``read_spec``
checks it whole and returns either a complete ``EventSpec`` or every problem
found, so the coordinator fixes them all at once. Problems are codes: the
templates say them in the reader's language.

Given the event it changes (``base``), the same reading takes only the fields
written and keeps the rest: that is how a reply with ``Aika: 12.2.2027 klo 13``
becomes an update.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mailer.config import Settings
from mailer.db.events import Event
from mailer.parsing.dates import named_weekday, parse_duration, parse_time_range
from mailer.parsing.forms import FormResult

KINDS = ("webinar", "seminar")
_LINK = re.compile(r"^https?://\S+$", re.IGNORECASE)
_TITLE_MAX = 300


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a form: ``code`` says what, ``field`` where."""

    # missing | unreadable | past | not_a_link | duplicate | empty | too_long | kind | weekday
    code: str
    field: str  # title | time | duration | place | link | capacity | …
    value: str = ""
    day: date | None = None  # weekday: the date read, which falls on another weekday


@dataclass(frozen=True)
class EventSpec:
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    link: str
    description: str
    capacity: int | None
    question: str

    @classmethod
    def of(cls, event: Event) -> EventSpec:
        return cls(
            kind=event.kind,
            title=event.title,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            place=event.place,
            link=event.link,
            description=event.description,
            capacity=event.capacity,
            question=event.question,
        )

    def changed(self, event: Event) -> list[str]:
        """The names of the fields that differ from ``event``."""
        current = EventSpec.of(event)
        return [
            name
            for name in self.__dataclass_fields__
            if getattr(self, name) != getattr(current, name)
        ]


def form_problems(form: FormResult) -> list[Problem]:
    """The form reader's own findings: a key twice, a key with nothing after it."""
    out: list[Problem] = []
    for error in form.errors:
        code, _, field = error.partition(":")
        out.append(Problem(code, field))
    return out


def _capacity(text: str, problems: list[Problem]) -> int | None:
    digits = text.strip().rstrip(".")
    if not digits or digits.lower() in ("-", "ei rajaa", "obegränsat", "unlimited"):
        return None
    if not digits.isdigit() or int(digits) < 1:
        problems.append(Problem("unreadable", "capacity", text))
        return None
    return int(digits)


def read_spec(
    values: Mapping[str, str],
    settings: Settings,
    now: datetime,
    *,
    kind: str | None = None,
    base: Event | None = None,
) -> tuple[EventSpec | None, list[Problem]]:
    """Check every field; a spec only when nothing is wrong.

    ``kind`` is the CLI's ``--kind``; the form has none, and an online link
    makes a webinar, a place without one a seminar. A webinar may leave out
    its length (``[events] webinar_length``); a seminar must say it, as a
    duration or as a time range ("klo 9-16").
    """
    problems: list[Problem] = []
    old = EventSpec.of(base) if base is not None else None
    title = values.get("title", old.title if old else "").strip()
    if not title:
        problems.append(Problem("missing", "title"))
    elif len(title) > _TITLE_MAX:
        problems.append(Problem("too_long", "title"))

    link = values.get("link", old.link if old else "").strip()
    place = values.get("place", old.place if old else "").strip()
    if link and not _LINK.match(link):
        problems.append(Problem("not_a_link", "link", link))
    if not link and not place:
        problems.append(Problem("missing", "place"))
    if kind is None:
        kind = old.kind if old else ("webinar" if link else "seminar")
    if kind not in KINDS:
        problems.append(Problem("kind", "kind", kind))

    starts_at: datetime | None = old.starts_at if old else None
    length: timedelta | None = old.ends_at - old.starts_at if old else None
    if "time" in values:
        parsed = parse_time_range(values["time"], settings.network.tz, now)
        if parsed is None:
            problems.append(Problem("unreadable", "time", values["time"]))
            starts_at = None
        else:
            starts_at = parsed[0]
            if parsed[1] is not None:  # "klo 13-14" says the length too
                length = parsed[1]
    elif base is None:
        problems.append(Problem("missing", "time"))
    if "duration" in values:
        length = parse_duration(values["duration"])
        if length is None:
            problems.append(Problem("unreadable", "duration", values["duration"]))
    if length is None and kind == "webinar":
        length = timedelta(minutes=settings.events.webinar_minutes)
    if (
        length is None
        and (link or place)
        and not any(p.field in ("time", "duration") for p in problems)
    ):
        problems.append(Problem("missing", "duration"))  # a seminar's length is never guessed
    if starts_at is not None and starts_at <= now:
        problems.append(Problem("past", "time", values.get("time", "")))

    capacity = (
        _capacity(values["capacity"], problems)
        if "capacity" in values
        else (old.capacity if old else None)
    )
    if problems or starts_at is None or length is None:
        return None, problems
    spec = EventSpec(
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + length,
        place=place,
        link=link,
        description=values.get("description", old.description if old else "").strip(),
        capacity=capacity,
        question=values.get("question", old.question if old else "").strip(),
    )
    return spec, []


def weekday_slips(values: Mapping[str, str], settings: Settings, now: datetime) -> list[Problem]:
    """A weekday written beside a date that falls on another ("ti 15.1." when the 15th is a
    Friday). Either half may be the slip, so it is never settled silently: the form's
    preview points it out before anything is sent, and the CLI, which sends at once,
    refuses."""
    text = values.get("time", "")
    named = named_weekday(text)
    parsed = parse_time_range(text, settings.network.tz, now) if named else None
    if named is None or parsed is None:
        return []
    day = parsed[0].astimezone(settings.network.tz).date()
    if day.weekday() == named[1]:
        return []
    return [Problem("weekday", "time", named[0], day)]
