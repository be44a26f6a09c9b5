"""The calendar text of invitations: zone rules, folding, the per-recipient ATTENDEE line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from mailer.config import NetworkSettings
from mailer.events import ical
from mailer.events.invitations import Spliced, calendar_base64

NETWORK = NetworkSettings(
    "Pienet joukot, iso merkitys",
    "verkosto@example.test",
    ("koordinaattori@example.test",),
    "fi",
    "Europe/Helsinki",
)
START = datetime(2027, 2, 11, 11, 0, tzinfo=UTC)


def _event(**changes: Any) -> Any:
    values: dict[str, Any] = {
        "uid": "u1@example.test",
        "sequence": 0,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "title": "Kilpailutus; osa 2, Akaa",
        "description": "Ohjelma:\n1. Akaa",
        "link": "https://teams.example/l/1",
        "place": "",
    }
    values.update(changes)
    return SimpleNamespace(**values)


def _parse(text: bytes) -> Calendar:
    return Calendar.from_ical(text)


def test_helsinki_zone_is_written_as_yearly_rules() -> None:
    """Europe/Helsinki: EEST from the last Sunday of March 03:00, EET from October's 04:00."""
    zone = ical.vtimezone(ZoneInfo("Europe/Helsinki"), START).to_ical().decode()
    assert "TZID:Europe/Helsinki" in zone
    assert "DTSTART:19700329T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in zone
    assert "DTSTART:19701025T040000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in zone
    assert "RDATE" not in zone


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/New_York", "BYDAY=2SU;BYMONTH=3"),
        ("Australia/Sydney", "BYDAY=1SU;BYMONTH=10"),
        ("Asia/Kolkata", "TZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530"),
    ],
)
def test_other_zones(zone: str, expected: str) -> None:
    """Zones with other rules, or none, come out right too."""
    text = ical.vtimezone(ZoneInfo(zone), START).to_ical().decode()
    assert expected in text


def test_request_parses_with_every_part() -> None:
    """REQUEST: UID, SEQUENCE, local DTSTART with its zone, ORGANIZER, VALARM, the link."""
    text = ical.personal(
        ical.calendar(_event(), NETWORK, method="REQUEST", alarm_minutes=15, stamp=START),
        "anna@example.test",
        "Anna Laine",
    )
    calendar = _parse(text)
    assert str(calendar["METHOD"]) == "REQUEST"
    (entry,) = calendar.walk("VEVENT")
    assert entry["DTSTART"].dt == datetime(2027, 2, 11, 13, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert entry["DTSTART"].params["TZID"] == "Europe/Helsinki"
    assert str(entry["SUMMARY"]) == "Kilpailutus; osa 2, Akaa"
    assert str(entry["DESCRIPTION"]) == "Ohjelma:\n1. Akaa\n\nhttps://teams.example/l/1"
    assert str(entry["ORGANIZER"]) == "mailto:verkosto@example.test"
    assert entry["ORGANIZER"].params["CN"] == "Pienet joukot, iso merkitys"
    assert str(entry["ATTENDEE"]) == "mailto:anna@example.test"
    assert entry["ATTENDEE"].params["CN"] == "Anna Laine"
    (alarm,) = entry.walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(minutes=-15)
    assert ical.MARKER not in text


def test_cancel_has_status_and_no_alarm() -> None:
    """CANCEL: STATUS:CANCELLED with the same UID; no alarm for an event that is off."""
    calendar = _parse(
        ical.personal(
            ical.calendar(
                _event(sequence=2), NETWORK, method="CANCEL", alarm_minutes=15, stamp=START
            ),
            "anna@example.test",
            "",
        )
    )
    (entry,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(entry["STATUS"]) == "CANCELLED" and int(entry["SEQUENCE"]) == 2
    assert not list(entry.walk("VALARM"))


def test_fold_never_splits_a_character() -> None:
    """Lines are at most 75 octets, continuation lines start with a space, UTF-8 stays whole."""
    line = "ATTENDEE;CN=" + "Äijälä Öhman " * 12 + ":mailto:x@example.test"
    folded = ical.fold(line)
    parts = folded.rstrip(b"\r\n").split(b"\r\n")
    assert all(len(p) <= 75 for p in parts)
    assert all(p.startswith(b" ") for p in parts[1:])
    for part in parts:
        part.decode()  # raises if a character was cut
    assert b"".join(p[1:] if i else p for i, p in enumerate(parts)).decode() == line


def test_attendee_name_cannot_break_the_line() -> None:
    """Quotes, semicolons and line breaks in a name stay inside the CN parameter."""
    line = ical.attendee_line("a@example.test", 'Anna "A"; ROLE=CHAIR\r\nX:1')
    calendar = _parse(
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + line + b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (entry,) = calendar.walk("VEVENT")
    assert entry["ATTENDEE"].params["ROLE"] == "REQ-PARTICIPANT"
    assert entry["ATTENDEE"].params["CN"] == "Anna A ; ROLE=CHAIR X:1"


def test_splice_fills_every_marker() -> None:
    """Pre-rendered bytes with markers: each copy gets its own values, the rest shared."""
    spliced = Spliced(b"To: @@TO@@\r\nMessage-ID: @@MID@@\r\n\r\n@@ICS@@--@@ICS@@@@REPLYTO@@")
    copy = spliced.fill(
        {b"@@TO@@": b"a@x", b"@@MID@@": b"<1@x>", b"@@ICS@@": b"QUJD", b"@@REPLYTO@@": b"r"}
    )
    assert copy == b"To: a@x\r\nMessage-ID: <1@x>\r\n\r\nQUJD--QUJDr"
    assert calendar_base64(b"x" * 100).count(b"\r\n") == 1
