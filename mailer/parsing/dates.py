"""Dates, times and durations as coordinators type them in an event or poll form.

Coordinators write the way Finnish, Swedish and English mail is written —
``ti 11.2.2027 klo 13.00``, ``11.2. klo 13``, ``11 februari 2027 kl. 13``,
``February 11, 2027 1 pm`` — never ISO timestamps, so the forms have to read
those. The rule throughout is that a form value is read whole or not at all:
anything left over, a day or an hour that does not exist, makes the result
``None`` so the handler asks instead of scheduling an event at a time nobody
meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Month names and their short forms; Finnish months are written with a
# ``-kuuta``/``-kuun`` ending after the stem, which the pattern adds.
_MONTHS: dict[str, int] = {
    # Swedish
    "januari": 1, "februari": 2, "mars": 3, "april": 4, "maj": 5, "juni": 6, "juli": 7,
    "augusti": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
    "okt": 10,
    # English
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "october": 10, "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_FI_MONTH_STEMS: dict[str, int] = {
    "tammi": 1, "helmi": 2, "maalis": 3, "huhti": 4, "touko": 5, "kesä": 6, "heinä": 7,
    "elo": 8, "syys": 9, "loka": 10, "marras": 11, "joulu": 12,
}  # fmt: skip
# Weekday words before a date, 0 for Monday: Finnish short forms and the essive
# "tiistaina", Swedish with the definite "-en", English short and long forms. A
# wrong weekday is a common slip, and which half of "ti 15.1." is wrong cannot be
# known, so the date is read as written and ``named_weekday`` lets the caller ask.
_WEEKDAYS: dict[str, int] = {
    "ma": 0, "ti": 1, "ke": 2, "to": 3, "pe": 4, "la": 5, "su": 6, "maanantai": 0,
    "tiistai": 1, "keskiviikko": 2, "torstai": 3, "perjantai": 4, "lauantai": 5, "sunnuntai": 6,
    "mån": 0, "tis": 1, "ons": 2, "tor": 3, "tors": 3, "fre": 4, "lör": 5, "sön": 6,
    "måndag": 0, "tisdag": 1, "onsdag": 2, "torsdag": 3, "fredag": 4, "lördag": 5, "söndag": 6,
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4,
    "sat": 5, "sun": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH = (
    rf"(?P<fimon>{_alternation(list(_FI_MONTH_STEMS))})(?:kuuta|kuun|kuu)\b"
    rf"|(?P<mon>{_alternation(list(_MONTHS))})\b\.?"
)
_MONTH_FIRST = _MONTH.replace("fimon", "fimon2").replace("P<mon>", "P<mon2>")
_WEEKDAY = (
    rf"(?:(?P<wd>(?:{_alternation(list(_WEEKDAYS))})(?:na|en)?)\.?,?\s+)?(?:den\s+|the\s+|on\s+)?"
)
_DATE = (
    r"(?:(?P<d1>\d{1,2})\.(?P<m1>\d{1,2})\.?(?P<y1>\d{4}|\d{2})?"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    rf"|(?P<d3>\d{{1,2}})(?:\.|st|nd|rd|th)?\s*(?:{_MONTH}),?\s*(?P<y3>\d{{4}})?"
    rf"|(?:{_MONTH_FIRST})\s*(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?,?\s*(?P<y4>\d{{4}})?)"
)
_CLOCK = (
    r"(?P<{h}>\d{{1,2}})(?:[.:](?P<{mi}>\d{{2}}))?"
    r"(?:\s*(?P<{ap}>a\.?m\.?|p\.?m\.?)(?![a-z]))?"
)
_START = _CLOCK.format(h="h", mi="mi", ap="ap")
_END = _CLOCK.format(h="h2", mi="mi2", ap="ap2")
_TIME_WORD = r"(?:klo|kl|kello|at|@)\.?"
_RANGE_SEPARATOR = r"\s*(?:-|to|till|until)\s*(?:klo\.?\s*|kl\.?\s*)?"
_TIME = rf"(?:{_TIME_WORD}\s*)?{_START}(?:{_RANGE_SEPARATOR}{_END})?"
_DATETIME = re.compile(
    rf"{_WEEKDAY}{_DATE}(?:(?:\s*,?\s*|t){_TIME})?",
    re.IGNORECASE,
)
_TIME_ONLY = re.compile(rf"{_TIME}", re.IGNORECASE)

# Durations: a number and a unit, or an hour-and-minutes pair ("1 h 30 min").
_HOUR_UNITS = r"h|t|tunti|tuntia|tunnin|tuntii|timme|timmar|tim|hour|hours|hr|hrs"
_MINUTE_UNITS = (
    r"min|mins|minuutti|minuuttia|minuutin|minuutit|minuter|minut|minuten|minute|minutes|m"
)
_DURATION = re.compile(
    rf"(?:(?P<hours>\d+(?:[.,]\d+)?)\s*(?:{_HOUR_UNITS})\.?)?"
    rf"\s*(?:(?:ja|och|and)\s*)?(?:(?P<minutes>\d+)\s*(?:(?:{_MINUTE_UNITS})\.?)?)?",
    re.IGNORECASE,
)
# Durations people write in words instead of digits, in minutes.
_DURATION_WORDS: dict[str, int] = {
    "tunti": 60, "yksi tunti": 60, "tunnin": 60, "puoli tuntia": 30, "puolitoista tuntia": 90,
    "kaksi tuntia": 120, "timme": 60, "en timme": 60, "halvtimme": 30, "en halvtimme": 30,
    "en halv timme": 30, "en och en halv timme": 90, "två timmar": 120, "an hour": 60,
    "one hour": 60, "half an hour": 30, "an hour and a half": 90,
    "one and a half hours": 90, "two hours": 120,
}  # fmt: skip
# A bare number is minutes ("Kesto: 60"), but "Kesto: 2" may well mean two hours:
# below this the unit has to be written out.
_BARE_MINUTES_MIN = 15
_DURATION_MAX = timedelta(hours=24)
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})


def _normalise(text: str) -> str:
    """One line, dashes as ``-``, spaces collapsed, trailing full stop gone."""
    return " ".join(text.translate(_DASHES).split()).strip().rstrip(".").strip()


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int


def _clock(hour: str | None, minute: str | None, ampm: str | None) -> _Clock | None:
    if hour is None:
        return None
    h, m = int(hour), int(minute or 0)
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm.lower().startswith("p") else 0)
    if h > 23 or m > 59:
        return None
    return _Clock(h, m)


def _clocks(match: re.Match[str]) -> tuple[_Clock, _Clock | None] | None:
    """Start and optional end of a time or time range; "1-2 pm" puts both in the afternoon."""
    end_ampm = match.group("ap2")
    start_ampm = match.group("ap") or end_ampm
    start = _clock(match.group("h"), match.group("mi"), start_ampm)
    if start is None:
        return None
    if match.group("h2") is None:
        return start, None
    end = _clock(match.group("h2"), match.group("mi2"), end_ampm)
    if end is None:
        return None
    if end_ampm and not match.group("ap") and (start.hour, start.minute) > (end.hour, end.minute):
        # "11-1 pm": the start is in the morning.
        start = _Clock(start.hour - 12, start.minute)
    if (end.hour, end.minute) <= (start.hour, start.minute):
        return None
    return start, end


def _month(match: re.Match[str]) -> int | None:
    for group in ("m1", "m2"):
        if match.group(group):
            return int(match.group(group))
    for group in ("fimon", "fimon2"):
        if match.group(group):
            return _FI_MONTH_STEMS[match.group(group).lower()]
    for group in ("mon", "mon2"):
        if match.group(group):
            return _MONTHS[match.group(group).lower()]
    return None


def _first(match: re.Match[str], *groups: str) -> str | None:
    return next((match.group(g) for g in groups if match.group(g)), None)


def _local(day: date, clock: _Clock, tz: ZoneInfo) -> datetime | None:
    """The wall-clock time in ``tz``; None when the clock skips it (spring forward)."""
    naive = datetime.combine(day, time(clock.hour, clock.minute))
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def _day(month: int, day: int, year: int | None, clock: _Clock, now: datetime) -> date | None:
    """The date; without a year, the next such date at or after ``now``."""
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            return None
    # 29.2. comes round only in leap years: look up to eight years ahead.
    for candidate_year in range(now.year, now.year + 9):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        at = datetime.combine(candidate, time(clock.hour, clock.minute), tzinfo=now.tzinfo)
        if at >= now:
            return candidate
    return None


def _parse(
    text: str, tz: ZoneInfo, now: datetime, default_time: time | None
) -> tuple[datetime, timedelta | None] | None:
    match = _DATETIME.fullmatch(_normalise(text))
    if match is None:
        return None
    clocks = _clocks(match)
    if clocks is None:
        if match.group("h") is not None or default_time is None:
            return None
        clocks = (_Clock(default_time.hour, default_time.minute), None)
    start, end = clocks
    month = _month(match)
    day_text = _first(match, "d1", "d2", "d3", "d4")
    year_text = _first(match, "y1", "y2", "y3", "y4")
    if month is None or day_text is None:
        return None
    year = None if year_text is None else int(year_text)
    if year is not None and year < 100:
        year += 2000
    day = _day(month, int(day_text), year, start, now.astimezone(tz))
    if day is None:
        return None
    begins = _local(day, start, tz)
    if begins is None:
        return None
    if end is None:
        return begins, None
    ends = _local(day, end, tz)
    if ends is None:
        return None
    return begins, ends - begins


def parse_datetime(
    text: str, tz: ZoneInfo, now: datetime, *, default_time: time | None = None
) -> datetime | None:
    """One point in time, aware in ``tz``; None if unreadable, contradictory or a range.

    ``default_time`` is used when only a date is written (a poll that closes on
    "28.2."); without it a time is required, since an event without one cannot
    be scheduled.
    """
    parsed = _parse(text, tz, now, default_time)
    if parsed is None or parsed[1] is not None:
        return None
    return parsed[0]


def parse_time_range(
    text: str, tz: ZoneInfo, now: datetime
) -> tuple[datetime, timedelta | None] | None:
    """An event's "Aika": its start, and its length when written as a range ("klo 13-14")."""
    return _parse(text, tz, now, None)


def named_weekday(text: str) -> tuple[str, int] | None:
    """The weekday written before the date ("ti 15.1.", "tisdagen den 15 januari"), as typed
    and as a number (0 for Monday); None when there is none or the text is no date."""
    match = _DATETIME.fullmatch(_normalise(text))
    if match is None or match.group("wd") is None:
        return None
    word = match.group("wd")
    number = _WEEKDAYS.get(word.lower())
    return word, _WEEKDAYS[word.lower()[:-2]] if number is None else number


def parse_duration(text: str) -> timedelta | None:
    """An event's length: "60", "60 min", "1,5 h", "1 h 30 min", "2 timmar", "klo 13-14"."""
    norm = _normalise(text).lower()
    if not norm:
        return None
    if norm in _DURATION_WORDS:
        return timedelta(minutes=_DURATION_WORDS[norm])
    span = _TIME_ONLY.fullmatch(norm)
    # "klo 13-14" and "13.00-14.30" are clock times; "1-2" is no length at all.
    if span is not None and span.group("h2") is not None and re.search(r"[a-z.:]", norm):
        clocks = _clocks(span)
        if clocks is None or clocks[1] is None:
            return None
        start, end = clocks[0], clocks[1]
        return timedelta(hours=end.hour - start.hour, minutes=end.minute - start.minute)
    match = _DURATION.fullmatch(norm)
    if match is None or not (match.group("hours") or match.group("minutes")):
        return None
    if norm.isdigit() and int(norm) < _BARE_MINUTES_MIN:
        return None
    hours = float(match.group("hours").replace(",", ".")) if match.group("hours") else 0.0
    minutes = int(match.group("minutes") or 0)
    length = timedelta(hours=hours, minutes=minutes)
    if length <= timedelta(0) or length > _DURATION_MAX:
        return None
    return length
