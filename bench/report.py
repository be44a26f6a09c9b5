"""The yearly report for a busy year: time for ``mailer report --year 2026`` to build.

A fresh SQLite database is seeded once (not timed) with a year the size of a
big network: 10,000 members in 300 organisations (2,000 of them joined during
the year, 300 left), 30 events with 100 registrations and 60 ratings with
feedback each, 5,000 questions (90 % answered), 12 closed polls with 400
ballots each and 2,000 list posts. Each run is then the real command as a user
runs it, in a new process: ``mailer --config F --now … report --year 2026
--format html --format txt --out DIR`` (interpreter start, imports, the
figures, 36 charts, both files). The baseline in the same run is ``mailer
--help`` in a new process (interpreter and import cost), so the ratio says
what the report itself costs on this machine.

Target: ≤ 10 s. Usage (no mail servers needed; ~1 minute):

    /work/venv/bin/python bench/report.py
    /work/venv/bin/python bench/report.py --repeat 5
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NETWORK = "verkosto@example.test"
TZ = ZoneInfo("Europe/Helsinki")
START = datetime(2026, 1, 1, tzinfo=TZ)
NOW = datetime(2027, 1, 10, 8, 0, tzinfo=TZ)
MEMBERS, JOINED, LEFT, ORGANISATIONS = 10_000, 2_000, 300, 300
EVENTS, REGISTRATIONS, RATINGS = 30, 100, 60
QUESTIONS, POLLS, BALLOTS, POSTS = 5_000, 12, 400, 2_000
MAILER = Path(sys.executable).with_name("mailer")


def _config(work: Path) -> Path:
    path = work / "mailer.toml"
    path.write_text(
        f'[network]\naddress = "{NETWORK}"\ncoordinators = ["koordinaattori@example.test"]\n'
        f'[maildir]\npath = "{work / "mail"}"\n'
        '[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
        f'[database]\nurl = "sqlite:///{work / "mailer.db"}"\n'
    )
    return path


def _moment(n: int, of: int) -> datetime:
    """The n-th of ``of`` moments spread over 2026."""
    return START + timedelta(minutes=int(n * 525_000 / of) + 7)


def seed(work: Path) -> None:
    """The busy year, written with bulk inserts (the report reads, it does not care how)."""
    from sqlalchemy import insert

    from mailer.app import App
    from mailer.config import load_settings
    from mailer.db.events import Event, Feedback, Invitation, Registration
    from mailer.db.models import ListPost, Member, Organisation, Ticket
    from mailer.db.polls import Ballot, Poll, PollOption

    app = App.build(load_settings(_config(work)))
    before = START - timedelta(days=400)
    with app.db.transaction() as s:
        s.execute(
            insert(Organisation),
            [{"name": f"Kunta {n}", "created_at": before} for n in range(ORGANISATIONS)],
        )
        s.execute(
            insert(Member),
            [
                {
                    "email": f"jasen{n}@kunta{n % ORGANISATIONS}.example.test",
                    "name": f"Jäsen Äijälä {n}",
                    "organisation_id": n % ORGANISATIONS + 1,
                    "subscribed": n % (MEMBERS // LEFT) != 0,
                    "created_at": before if n < MEMBERS - JOINED else _moment(n, MEMBERS),
                    "updated_at": _moment(n, MEMBERS),
                }
                for n in range(MEMBERS)
            ],
        )
        for e in range(EVENTS):
            starts = _moment(e, EVENTS)
            event = Event(
                uid=f"e{e}@bench",
                kind="webinar",
                title=f"Webinaari {e}: kutsutaksit ja asiointiliikenne",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                feedback_at=starts + timedelta(hours=2),
                feedback_closes_at=starts + timedelta(days=14),
                state="open",
                created_at=starts - timedelta(days=30),
                updated_at=starts,
            )
            s.add(event)
            s.flush()
            people = [f"jasen{e * REGISTRATIONS + n}@example.test" for n in range(REGISTRATIONS)]
            s.execute(
                insert(Invitation),
                [
                    {"event_id": event.id, "address": a, "language": "fi", "created_at": starts}
                    for a in people
                ],
            )
            first = s.query(Invitation.id).filter_by(event_id=event.id).order_by("id").first()
            assert first is not None
            s.execute(
                insert(Registration),
                [
                    {
                        "event_id": event.id,
                        "invitation_id": first[0] + n,
                        "email": a,
                        "language": "fi",
                        "state": "registered",
                        "created_at": starts,
                        "updated_at": starts,
                    }
                    for n, a in enumerate(people)
                ],
            )
            reg = s.query(Registration.id).filter_by(event_id=event.id).order_by("id").first()
            assert reg is not None
            s.execute(
                insert(Feedback),
                [
                    {
                        "event_id": event.id,
                        "registration_id": reg[0] + n,
                        "rating_halves": 6 + n % 5,
                        "status": "ok",
                        "best": f"Esimerkit {n % 7}",
                        "improve": f"Enemmän aikaa keskustelulle {n % 5}",
                        "created_at": starts + timedelta(days=1),
                    }
                    for n in range(RATINGS)
                ],
            )
        s.execute(
            insert(Ticket),
            [
                {
                    "requester_email": f"jasen{n}@example.test",
                    "language": "fi",
                    "subject": f"Kysymys {n}",
                    "state": "answered",
                    "created_at": _moment(n, QUESTIONS),
                    "updated_at": _moment(n, QUESTIONS),
                    "first_answered_at": _moment(n, QUESTIONS) + timedelta(minutes=17 * (n % 50))
                    if n % 10
                    else None,
                }
                for n in range(QUESTIONS)
            ],
        )
        for p in range(POLLS):
            poll = Poll(
                question=f"Äänestys {p}: seuraavan webinaarin aihe?",
                closes_at=_moment(p, POLLS),
                state="closed",
                invited=MEMBERS,
                created_at=_moment(p, POLLS) - timedelta(days=14),
                options=[PollOption(position=k, text=f"Aihe {k}") for k in range(1, 6)],
            )
            s.add(poll)
            s.flush()
            s.execute(
                insert(Ballot),
                [
                    {
                        "poll_id": poll.id,
                        "voter": f"jasen{b}@example.test",
                        "choices": f"{b % 5 + 1}",
                        "created_at": poll.created_at,
                        "updated_at": poll.created_at,
                    }
                    for b in range(BALLOTS)
                ],
            )
        s.execute(
            insert(ListPost),
            [
                {
                    "author_email": f"jasen{n % 500}@example.test",
                    "subject": "Aihe",
                    "raw": b"",
                    "state": "accepted",
                    "created_at": _moment(n, POSTS),
                }
                for n in range(POSTS)
            ],
        )
    app.close()


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and the child's CPU seconds (user + system): on a shared, loaded
    machine the wall time mostly measures the neighbours, the CPU time does not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        seed(work)
        print(f"seeded in {time.perf_counter() - started:.1f} s ({work})")
        config = str(_config(work))
        command = [str(MAILER), "--config", config, "--now", NOW.strftime("%Y-%m-%d %H:%M")]
        report = [*command, "report", "--year", "2026", "--format", "html", "--format", "txt"]
        runs: list[dict[str, Any]] = []
        for n in range(args.repeat):
            out = work / f"out{n}"
            seconds, cpu = _timed([*report, "--out", str(out)])
            base, base_cpu = _timed([*command, "--help"])
            html = (out / "vuosiraportti-2026.html").read_text()
            charts = html.count("data:image/png")
            runs.append({"wall": seconds, "cpu": cpu, "base": base, "base_cpu": base_cpu})
            print(
                f"run {n + 1}: report {seconds:.2f} s wall / {cpu:.2f} s CPU ({charts} charts), "
                f"baseline {base:.2f} s wall / {base_cpu:.2f} s CPU"
            )
        wall, cpu = (statistics.median(r[k] for r in runs) for k in ("wall", "cpu"))
        base, base_cpu = (statistics.median(r[k] for r in runs) for k in ("base", "base_cpu"))
        print(
            "median: mailer report --year 2026 (30 events, 5,000 questions, 10,000 members): "
            f"{wall:.2f} s wall, {cpu:.2f} s CPU; baseline mailer --help {base:.2f} s wall, "
            f"{base_cpu:.2f} s CPU; CPU ratio {cpu / base_cpu:.1f}; "
            f"target <= 10 s: {'met' if wall <= 10 else 'MISSED'} (wall), "
            f"{'met' if cpu <= 10 else 'MISSED'} (CPU)"
        )


if __name__ == "__main__":
    main()
