"""Queueing the members' weekly update for N members: time and peak memory.

The parent prepares one SQLite database (not timed): N members (languages
fi / sv / en 7:2:1; 10 % read the list weekly, 5 % pause with delivery
``none``, 5 % have opted out of the update), three upcoming events with
registrations for 30 %, 10 % and 5 % of the members in mixed states, two open
polls answered by every second and every fifth member, 20 items of material filed during the week
and 30 accepted list posts (~1.5 KB each). Every measured run is a fresh child
process on a copy of that database, with the clock at Monday 07:05 Helsinki
time (list digest hour 07:00, weekly day Monday), so every update is due. The
child times what the ``weekly-update`` job does (``mailer/digest_jobs.py``):

    with app.db.transaction() as session:
        send_weekly_digests(job_context(app, session))

including the commit, checks the outbox (one recipient row per member who got
mail, every due member stamped), and reports its peak RSS (``ru_maxrss``) and
its RSS just before the call. The parent prints each run and the medians.
Targets: <= 60 s and <= 200 MB for 10,000 members.

    /work/venv/bin/python bench/weekly_digest.py                 # 10,000 members, 3 runs
    /work/venv/bin/python bench/weekly_digest.py --members 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from mailer.app import App
from mailer.clock import Clock
from mailer.config import settings_from_dict
from mailer.db.events import Event, Invitation, Registration
from mailer.db.materials import Material
from mailer.db.models import JobRun, ListPost, Member, OutboxRecipient
from mailer.db.polls import Ballot, Poll, PollOption
from mailer.digests import STARTED
from mailer.jobs import job_context
from mailer.weekly_digest import send_weekly_digests

NOW = datetime(2027, 2, 8, 5, 5, tzinfo=UTC)  # Monday 07:05 in Helsinki
JOINED = NOW - timedelta(days=60)
FILED = NOW - timedelta(days=3)
TEXT = (
    "Hei kaikki,\n\nmeillä on kokeiltu kutsuliikennettä kahdella kylällä syksyn ajan. "
    "Kokemukset ovat olleet hyviä, mutta iltavuorojen käyttäjämäärät jäivät pieniksi.\n"
) * 6


def _settings(root: Path) -> Any:
    raw = {
        "network": {"address": "verkosto@example.test", "coordinators": ["k@example.test"]},
        "maildir": {"path": str(root / "maildir")},
        "smtp": {"host": "127.0.0.1", "port": 2525},
        "database": {"url": f"sqlite:///{root / 'bench.db'}"},
        "list": {"digest_hour": 7, "weekly_digest_day": "monday"},
        "security": {"secret": "bench"},
    }
    return settings_from_dict(raw, {}, base=root)


def _rows(count: int, make: Any) -> list[dict[str, Any]]:
    return [make(i) for i in range(count)]


def prepare(root: Path, members: int) -> None:
    """The database every run starts from."""
    app = App.build(_settings(root), Clock.starting_at(NOW))
    languages = ["fi"] * 7 + ["sv"] * 2 + ["en"]
    with app.db.transaction() as session:

        def member(i: int) -> dict[str, Any]:
            delivery = "weekly" if i % 10 == 0 else "none" if i % 20 == 1 else "each"
            return {
                "email": f"jasen{i}@kunta{i % 300}.example.test",
                "name": f"Jäsen {i}",
                "language": languages[i % 10],
                "role": "member",
                "subscribed": True,
                "delivery": delivery,
                "bounce_score": 0.0,
                "digest_cursor": 0,
                "weekly_digest": i % 20 != 2,
                "created_at": JOINED,
                "updated_at": JOINED,
            }

        session.execute(insert(Member), _rows(members, member))
        # A service in use since the members joined: the Monday update is due.
        session.add(JobRun(job=STARTED[0], due_key=STARTED[1], ran_at=JOINED))
        emails = [e for (e,) in session.execute(select(Member.email).order_by(Member.id))]
        for n, share in enumerate((0.30, 0.10, 0.05), 1):
            starts = NOW + timedelta(days=7 * n)
            event = Event(
                uid=f"bench{n}@example.test",
                kind="webinar",
                title=f"Webinaari {n}: kutsuliikenne",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                feedback_at=starts + timedelta(hours=2),
                feedback_closes_at=starts + timedelta(days=14),
                state="open",
                created_at=JOINED,
                updated_at=JOINED,
            )
            session.add(event)
            session.flush()
            chosen = emails[: int(members * share)]
            session.execute(
                insert(Invitation),
                [
                    {"event_id": event.id, "address": e, "language": "fi", "created_at": JOINED}
                    for e in chosen
                ],
            )
            ids = dict(
                session.execute(
                    select(Invitation.address, Invitation.id).where(Invitation.event_id == event.id)
                ).all()
            )
            states = ["registered"] * 8 + ["waitlisted", "cancelled"]
            session.execute(
                insert(Registration),
                [
                    {
                        "event_id": event.id,
                        "invitation_id": ids[e],
                        "email": e,
                        "language": "fi",
                        "state": states[i % 10],
                        "created_at": JOINED,
                        "updated_at": JOINED,
                    }
                    for i, e in enumerate(chosen)
                ],
            )
        for n, step in enumerate((2, 5), 1):
            poll = Poll(
                question=f"Kysymys {n}: mistä aiheesta seuraava webinaari?",
                closes_at=NOW + timedelta(days=4),
                state="open",
                created_at=JOINED,
                ballots_sent_at=JOINED,
                invited=members,
            )
            poll.options = [PollOption(position=p, text=f"Aihe {p}") for p in range(1, 5)]
            session.add(poll)
            session.flush()
            session.execute(
                insert(Ballot),
                [
                    {"poll_id": poll.id, "voter": e, "choices": "1", "created_at": JOINED}
                    | {"updated_at": JOINED}
                    for e in emails[::step]
                ],
            )
        session.execute(
            insert(Material),
            _rows(
                20,
                lambda i: {
                    "title": f"Aineisto {i}",
                    "filename": f"aineisto{i}.pdf",
                    "content_type": "application/pdf",
                    "size": 250_000,
                    "sha256": f"{i:064x}",
                    "sender": "k@example.test",
                    "filed_at": FILED,
                    "delivery": "none",
                },
            ),
        )
        session.execute(
            insert(ListPost),
            _rows(
                30,
                lambda i: {
                    "author_email": emails[i],
                    "author_name": f"Jäsen {i}",
                    "subject": f"Kokemuksia {i}",
                    "text": TEXT,
                    "raw": f"Subject: Kokemuksia {i}\r\n\r\n{TEXT}".encode(),
                    "state": "accepted",
                    "created_at": FILED,
                    "recipients": members,
                },
            ),
        )
    app.close()


def child(root: Path) -> None:
    """One measured run; prints a JSON line."""
    app = App.build(_settings(root), Clock.starting_at(NOW), migrate=False)
    rss_before = _rss_mb()
    started = time.perf_counter()
    with app.db.transaction() as session:
        stats = send_weekly_digests(job_context(app, session))
    seconds = time.perf_counter() - started
    with app.db.transaction() as session:
        rows = session.scalar(select(func.count(OutboxRecipient.id))) or 0
        stamped = session.scalar(
            select(func.count(Member.id)).where(Member.last_weekly_digest_at.is_not(None))
        )
    assert rows == stats.mails, (rows, stats)
    assert stamped == stats.members, (stamped, stats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "rss_before_mb": rss_before,
                "due": stats.members,
                "mails": stats.mails,
                "messages": stats.messages,
            }
        )
    )
    app.close()


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="weekly-bench-") as tmp:
        template = Path(tmp) / "template"
        template.mkdir()
        started = time.perf_counter()
        prepare(template, args.members)
        print(f"prepared {args.members} members in {time.perf_counter() - started:.1f} s")
        results = []
        for run in range(1, args.repeat + 1):
            root = Path(tmp) / f"run{run}"
            shutil.copytree(template, root)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(root)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            results.append(result)
            print(
                f"run {run}: {result['seconds']:.2f} s, peak RSS {result['peak_mb']:.0f} MB "
                f"(before the call {result['rss_before_mb']:.0f} MB), {result['due']} due, "
                f"{result['mails']} mails in {result['messages']} distinct messages"
            )
            shutil.rmtree(root)
        seconds = statistics.median(r["seconds"] for r in results)
        peak = statistics.median(r["peak_mb"] for r in results)
        growth = statistics.median(r["peak_mb"] - r["rss_before_mb"] for r in results)
        print(
            f"median of {len(results)}: {seconds:.2f} s to queue, peak RSS {peak:.0f} MB "
            f"(+{growth:.0f} MB during the call); targets <= 60 s, <= 200 MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
