"""The calendar entry of an invitation, an update or a cancellation (iTIP, RFC 5546).

Outlook, Gmail and Apple Calendar show a mail as a meeting with Accept/Decline
when it carries ``METHOD:REQUEST`` with the recipient among the ATTENDEEs
(``RSVP=TRUE``), an ORGANIZER, a UID that stays the same for the life of the
event and a SEQUENCE that grows with every change. Times are written in the
network's zone with a VTIMEZONE, as Outlook itself writes them: a yearly rule
(``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``) rather than a list of dates, so
the zone reads the same in every client.

Everything but the ATTENDEE line is the same for every invitee, so the text is
built once per event with a marker line that ``personal`` swaps for each
recipient's own ATTENDEE line.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress
from icalendar import Event as VEvent

from mailer.config import NetworkSettings
from mailer.db.events import Event

PRODID = "-//Pienet joukot iso merkitys//mailer//FI"
_MARKER_NAME = "X-MAILER-ATTENDEE"
MARKER = f"{_MARKER_NAME}:1\r\n".encode()
_LINE_OCTETS = 75
_NOT_IN_PARAMETER = re.compile(r'[\x00-\x1f\x7f"]')


@dataclass(frozen=True)
class _Transition:
    """One change of a zone's offset: the local time it happens at, before the change."""

    local: datetime  # naive wall-clock time in the old offset
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool


def _offset(tz: ZoneInfo, moment: datetime) -> timedelta:
    return moment.astimezone(tz).utcoffset() or timedelta(0)


def _transitions(tz: ZoneInfo, year: int) -> list[_Transition]:
    """The offset changes in ``year``: day steps, then a search to the second."""
    found: list[_Transition] = []
    day = datetime(year, 1, 1, tzinfo=UTC) - timedelta(days=1)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=1)
    while day < end:
        after = day + timedelta(days=1)
        before_offset = _offset(tz, day)
        if _offset(tz, after) != before_offset:
            low, high = day, after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (
                    (middle, high) if _offset(tz, middle) == before_offset else (low, middle)
                )
            local = (high + before_offset).replace(tzinfo=None, microsecond=0)
            if local.year == year:
                changed = high.astimezone(tz)
                found.append(
                    _Transition(
                        local,
                        before_offset,
                        _offset(tz, high),
                        changed.tzname() or "",
                        bool(changed.dst()),
                    )
                )
        day = after
    return found


def _rule_date(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` (1-4, or -1 for the last) ``weekday`` of a month."""
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year, month, monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _yearly_rule(tz: ZoneInfo, year: int, change: _Transition) -> tuple[int, int, int] | None:
    """(month, weekday, nth) when the change falls on that weekday rule in the years around."""
    day = change.local.date()
    last = day.day + 7 > monthrange(day.year, day.month)[1]
    nth = -1 if last else (day.day - 1) // 7 + 1
    for other in (year - 1, year + 1):
        expected = _rule_date(other, day.month, day.weekday(), nth)
        if not any(
            t.local.date() == expected and t.local.time() == change.local.time()
            for t in _transitions(tz, other)
        ):
            return None
    return day.month, day.weekday(), nth


def vtimezone(tz: ZoneInfo, around: datetime) -> Timezone:
    """The zone as Outlook writes it: yearly rules when the zone follows some, else dates."""
    year = around.astimezone(tz).year
    changes = _transitions(tz, year)
    rules = [_yearly_rule(tz, year, change) for change in changes]
    if changes and None in rules:
        return Timezone.from_tzinfo(
            tz, tzid=tz.key, first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1)
        )
    zone = Timezone()
    zone.add("tzid", tz.key)
    if not changes:
        standard = TimezoneStandard()
        offset = _offset(tz, around)
        standard.add("dtstart", datetime(1970, 1, 1))
        standard.add("tzoffsetfrom", offset)
        standard.add("tzoffsetto", offset)
        standard.add("tzname", around.astimezone(tz).tzname() or tz.key)
        zone.add_component(standard)
        return zone
    for change, rule in zip(changes, rules, strict=True):
        assert rule is not None
        month, weekday, nth = rule
        part = TimezoneDaylight() if change.daylight else TimezoneStandard()
        start = _rule_date(1970, month, weekday, nth)
        part.add("dtstart", datetime.combine(start, change.local.time()))
        part.add("tzoffsetfrom", change.offset_from)
        part.add("tzoffsetto", change.offset_to)
        part.add("tzname", change.name)
        part.add("rrule", {"freq": "yearly", "bymonth": month, "byday": f"{nth}{_BYDAY[weekday]}"})
        zone.add_component(part)
    return zone


def calendar(
    event: Event,
    network: NetworkSettings,
    *,
    method: str,
    alarm_minutes: int,
    stamp: datetime,
) -> bytes:
    """The whole calendar text (CRLF lines) with ``MARKER`` where the ATTENDEE goes.

    ``method`` is ``REQUEST`` (an invitation or an update: same UID, the event's
    current SEQUENCE) or ``CANCEL``.
    """
    tz = network.tz
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    entry = VEvent()
    entry.add("uid", event.uid)
    entry.add("sequence", event.sequence)
    entry.add("dtstamp", stamp.astimezone(UTC))
    entry.add("dtstart", event.starts_at.astimezone(tz))
    entry.add("dtend", event.ends_at.astimezone(tz))
    entry.add("summary", event.title)
    description = "\n\n".join(part for part in (event.description, event.link) if part)
    if description:
        entry.add("description", description)
    location = event.place or event.link
    if location:
        entry.add("location", location)
    if event.link:
        entry.add("url", event.link)
    organizer = vCalAddress(f"mailto:{network.address}")
    organizer.params["CN"] = _parameter(network.name)
    entry.add("organizer", organizer)
    entry.add(_MARKER_NAME, "1")
    entry.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    entry.add("transp", "OPAQUE")
    if method == "REQUEST" and alarm_minutes:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.title)
        alarm.add("trigger", timedelta(minutes=-alarm_minutes))
        entry.add_component(alarm)
    cal.add_component(vtimezone(tz, event.starts_at))
    cal.add_component(entry)
    text: bytes = cal.to_ical()
    assert MARKER in text
    return text


def _parameter(value: str) -> str:
    """A parameter value (a CN): no quotes or control characters, one line."""
    return " ".join(_NOT_IN_PARAMETER.sub(" ", value).split())


def fold(line: str) -> bytes:
    """One content line folded at 75 octets (RFC 5545 3.1), never inside a character."""
    data = line.encode()
    out: list[bytes] = []
    limit = _LINE_OCTETS
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # a UTF-8 continuation byte
            cut -= 1
        out.append(data[:cut])
        data = data[cut:]
        limit = _LINE_OCTETS - 1  # continuation lines start with a space
    out.append(data)
    return b"\r\n ".join(out) + b"\r\n"


def attendee_line(address: str, name: str) -> bytes:
    """The invitee as an ATTENDEE who is asked to answer (``RSVP=TRUE``)."""
    params = ["CUTYPE=INDIVIDUAL", "ROLE=REQ-PARTICIPANT", "PARTSTAT=NEEDS-ACTION", "RSVP=TRUE"]
    cn = _parameter(name)
    if cn:
        params.insert(0, f'CN="{cn}"')
    return fold(f"ATTENDEE;{';'.join(params)}:mailto:{address}")


def personal(text: bytes, address: str, name: str) -> bytes:
    """The calendar ``text`` with the marker replaced by this invitee's ATTENDEE line."""
    return text.replace(MARKER, attendee_line(address, name), 1)
