"""Dates, times and durations from the coordinator's forms: the table, then edge cases."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailer.parsing.dates import named_weekday, parse_datetime, parse_duration, parse_time_range

TZ = ZoneInfo("Europe/Helsinki")
TABLE: dict[str, Any] = tomllib.loads(
    (Path(__file__).parent / "samples" / "dates.toml").read_text(encoding="utf-8")
)
NOW = datetime.strptime(TABLE["now"], "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def _iso(value: datetime | None) -> str:
    return "none" if value is None else value.isoformat(timespec="minutes")


def _minutes(value: timedelta | None) -> int | str:
    return "none" if value is None else int(value.total_seconds() // 60)


@pytest.mark.parametrize("row", [pytest.param(r, id=r["text"]) for r in TABLE["datetime"]])
def test_datetime(row: dict[str, str]) -> None:
    """Each written time gives the expected local time, or None."""
    assert _iso(parse_datetime(row["text"], TZ, NOW)) == row["expected"]


@pytest.mark.parametrize("row", [pytest.param(r, id=r["text"]) for r in TABLE["range"]])
def test_time_range(row: dict[str, Any]) -> None:
    """An "Aika" value gives its start and, for a range, its length."""
    parsed = parse_time_range(row["text"], TZ, NOW)
    if row["start"] == "none":
        assert parsed is None
        return
    assert parsed is not None
    assert _iso(parsed[0]) == row["start"]
    assert (None if parsed[1] is None else _minutes(parsed[1])) == row.get("minutes")


@pytest.mark.parametrize("row", [pytest.param(r, id=r["text"]) for r in TABLE["duration"]])
def test_duration(row: dict[str, Any]) -> None:
    """Each written length gives the expected minutes, or None."""
    assert _minutes(parse_duration(row["text"])) == row["minutes"]


@pytest.mark.parametrize("row", [pytest.param(r, id=r["text"]) for r in TABLE["weekday"]])
def test_named_weekday(row: dict[str, Any]) -> None:
    """The weekday written before a date is found as typed, whatever the date's own is."""
    named = named_weekday(row["text"])
    if row["written"] == "none":
        assert named is None
        return
    assert named == (row["written"], row["number"])


def test_result_is_aware_in_the_network_zone() -> None:
    """Times are the network's wall clock, whatever zone "now" is given in."""
    parsed = parse_datetime("11.2. klo 13", TZ, NOW.astimezone(UTC))
    assert parsed is not None and parsed.tzinfo is TZ
    assert parsed.astimezone(UTC) == datetime(2027, 2, 11, 11, 0, tzinfo=UTC)


def test_year_inferred_from_now_in_the_network_zone() -> None:
    """At 23.30 UTC on 31 Dec it is already 1 Jan in Helsinki: "1.1. klo 9" is that morning."""
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert _iso(parse_datetime("1.1. klo 9", TZ, now)) == "2027-01-01T09:00+02:00"


def test_default_time_for_a_date_only() -> None:
    """A poll that closes on a day takes the caller's time of day; without one it is unread."""
    closes = parse_datetime("28.2.2027", TZ, NOW, default_time=time(23, 59))
    assert _iso(closes) == "2027-02-28T23:59+02:00"
    assert parse_datetime("28.2.2027", TZ, NOW) is None


def test_autumn_ambiguous_hour_is_the_first() -> None:
    """3.30 on the night the clocks go back exists twice; the earlier (summer) one is meant."""
    assert _iso(parse_datetime("31.10.2027 klo 3.30", TZ, NOW)) == "2027-10-31T03:30+03:00"
