"""The one clock every scheduled thing reads.

``--now`` shifts it: the service then acts as if the wall clock read that time,
and time keeps moving from there, so a daemon started with ``--now`` behaves like
one started at that moment. Tests set it the same way; nothing waits for real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    @classmethod
    def starting_at(cls, moment: datetime) -> Clock:
        return cls(moment - datetime.now(UTC))

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (tests move time this way)."""
        self._offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


def parse_now(text: str, tz: ZoneInfo) -> datetime:
    """``YYYY-MM-DD HH:MM`` in the network's time zone, as SPEC.md fixes it."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(f"--now must look like 'YYYY-MM-DD HH:MM', not {text!r}")
