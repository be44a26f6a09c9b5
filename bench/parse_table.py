"""The parse table: every parsing sample, what it should give and what it gives.

Reads the sample tables in ``tests/parsing/samples`` (ratings, RSVP, iTIP,
dates, forms), runs the parsers and prints one row per sample, marking each
mismatch, then a summary per parser. The tests assert the same; this is the
view to read when adding samples or changing a rule. Exit code 1 when any
sample is off.

    python bench/parse_table.py              # every row
    python bench/parse_table.py --failures   # only the rows that are off
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mailer.inbound.html_text import html_to_text
from mailer.parsing.dates import parse_datetime, parse_duration, parse_time_range
from mailer.parsing.forms import EVENT_FIELDS, POLL_FIELDS, parse_form
from mailer.parsing.ratings import parse_rating
from mailer.parsing.rsvp import parse_itip_reply, parse_rsvp

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "parsing" / "samples"
TZ = ZoneInfo("Europe/Helsinki")

Row = tuple[str, str, str]  # sample, expected, got


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _ratings() -> Iterator[Row]:
    for s in _load("ratings.toml")["sample"]:
        if "rating" in s:
            expected = f"ok {Decimal(s['rating'])}"
        else:
            expected = f"clarify {s['clarify']}" if "clarify" in s else "none"
        r = parse_rating(s["text"])
        got = f"ok {r.rating}" if r.status == "ok" else r.status
        got += f" {r.reason}" if r.status == "clarify" else ""
        for key in ("best", "improve"):
            if key in s:
                expected += f" | {key}={s[key]!r}"
                got += f" | {key}={getattr(r, key)!r}"
        yield s["name"], expected, got


def _rsvp() -> Iterator[Row]:
    for s in _load("rsvp.toml")["sample"]:
        r = parse_rsvp(s["text"], s.get("subject", ""))
        expected, got = s["intent"], str(r.intent)
        for key in ("reason", "answer"):
            if key in s:
                expected += f" {key}={s[key]!r}"
                got += f" {key}={getattr(r, key)!r}"
        yield s["name"], expected, got


def _itip() -> Iterator[Row]:
    for s in _load("itip.toml")["sample"]:
        r = parse_itip_reply((SAMPLES / "itip" / s["file"]).read_bytes())
        if not s.get("reply", True):
            yield s["file"], "None", "None" if r is None else str(r)
            continue
        expected = f"{s['partstat']} {s['attendee']} {s['uid']} seq={s['sequence']}"
        got = "None" if r is None else f"{r.partstat} {r.attendee} {r.uid} seq={r.sequence}"
        yield s["file"], expected, got


def _iso(value: datetime | None) -> str:
    return "none" if value is None else value.isoformat(timespec="minutes")


def _minutes(value: timedelta | None) -> str:
    return "none" if value is None else str(int(value.total_seconds() // 60))


def _dates() -> Iterator[Row]:
    table = _load("dates.toml")
    now = datetime.strptime(table["now"], "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
    for s in table["datetime"]:
        yield f"datetime {s['text']!r}", s["expected"], _iso(parse_datetime(s["text"], TZ, now))
    for s in table["range"]:
        parsed = parse_time_range(s["text"], TZ, now)
        expected = f"{s['start']} {s.get('minutes', 'none')}"
        if s["start"] == "none":
            expected = "none"
        got = "none" if parsed is None else f"{_iso(parsed[0])} {_minutes(parsed[1])}"
        yield f"range {s['text']!r}", expected, got
    for s in table["duration"]:
        yield f"duration {s['text']!r}", str(s["minutes"]), _minutes(parse_duration(s["text"]))


def _forms() -> Iterator[Row]:
    tables = {"event": EVENT_FIELDS, "poll": POLL_FIELDS}
    for s in _load("forms.toml")["sample"]:
        text = s["text"] if "text" in s else html_to_text(s["html"])
        r = parse_form(text, tables[s["form"]])
        keys = ("values", "lists", "unknown_lines", "errors")
        expected = {key: s.get(key, {} if key in ("values", "lists") else []) for key in keys}
        got = {key: getattr(r, key) for key in keys}
        yield s["name"], repr(expected), repr(got)


PARSERS: dict[str, Callable[[], Iterator[Row]]] = {
    "ratings": _ratings,
    "rsvp": _rsvp,
    "itip": _itip,
    "dates": _dates,
    "forms": _forms,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="print only mismatched rows")
    args = parser.parse_args()
    summary: list[str] = []
    failed = 0
    for name, rows in PARSERS.items():
        total = off = 0
        print(f"== {name}")
        for sample, expected, got in rows():
            total += 1
            ok = expected == got
            off += not ok
            if not ok or not args.failures:
                mark = "  " if ok else "XX"
                print(f"{mark} {sample:<45} expected {expected}")
                if not ok:
                    print(f"{'':<48} got      {got}")
        failed += off
        summary.append(f"{name:<8} {total - off:>3}/{total} as expected")
    print("\n" + "\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
