"""Invitations to N addresses, each with its own calendar entry: time to queue all, peak memory.

Each run is a fresh child process on a fresh SQLite database holding N members
(languages fi/sv/en in turn, 300 organisations; written by another process
beforehand). The child times what ``mailer events send`` / the coordinator's
``LÄHETÄ`` does, in one transaction: ``manage.create`` + ``manage.open_event``
(invitation rows for every member by INSERT … SELECT, then per recipient the
pre-rendered message spliced around their To, Message-ID, Reply-To token and
base64 calendar with their own ATTENDEE line, bulk-inserted a chunk at a time),
and the commit. It reports the wall time, CPU time, the peak RSS (``ru_maxrss``)
and the RSS before the work (imports, ``App.build``, the roster), then checks
outside the timing that there are N outbox messages and that sampled copies
parse with ``icalendar`` as a REQUEST for their own recipient.

The baseline, in the same run, is the straightforward way: one ``EmailMessage``
per recipient through ``mailer.outgoing.compose`` (the calendar text already
personalised, attached twice as the splice does), timed over ``--baseline``
recipients without any database work and given per message; the ratio says
what the splicing buys.

Targets: 10,000 invitations queued in ≤ 60 s with peak RSS ≤ 200 MB.

Usage (no mail servers needed; ~1 minute by default):

    /work/venv/bin/python bench/invitations.py
    /work/venv/bin/python bench/invitations.py --members 2000 10000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULT = "RESULT "
NETWORK = "verkosto@example.test"
ORGANISATIONS = 300
LANGUAGES = ("fi", "sv", "en")
NOW = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app(work: Path) -> Any:
    from mailer.app import App
    from mailer.clock import Clock
    from mailer.config import settings_from_dict

    work.mkdir(parents=True, exist_ok=True)
    raw = {
        "network": {"address": NETWORK, "coordinators": ["koordinaattori@example.test"]},
        "maildir": {"path": str(work / "mail")},
        "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"},
        "database": {"url": f"sqlite:///{work / 'mailer.db'}"},
    }
    return App.build(settings_from_dict(raw, {}, base=work), Clock.starting_at(NOW))


def _roster(app: Any, members: int) -> None:
    from sqlalchemy import insert

    from mailer.db.models import Member, Organisation

    with app.db.transaction() as session:
        session.execute(
            insert(Organisation),
            [
                {"name": f"Kunta {n}", "status": "member", "created_at": NOW}
                for n in range(ORGANISATIONS)
            ],
        )
        session.execute(
            insert(Member),
            [
                {
                    "email": f"jasen{n}@kunta{n % ORGANISATIONS}.example.test",
                    "name": f"Jäsen Äijälä {n}",
                    "organisation_id": n % ORGANISATIONS + 1,
                    "language": LANGUAGES[n % len(LANGUAGES)],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for n in range(members)
            ],
        )


def _spec(app: Any) -> Any:
    from mailer.events.spec import read_spec

    values = {
        "title": "Kilpailutuksen kokemuksia",
        "time": "11.2.2027 klo 13-14",
        "link": "https://teams.example/l/meetup-join/19%3ameeting_abc",
        "description": "Kolmen kunnan kokemukset koulukuljetusten kilpailutuksesta.\n" * 3,
        "question": "Mistä kunnasta olet?",
    }
    spec, problems = read_spec(values, app.settings, NOW)
    assert spec is not None and not problems, problems
    return spec


def prepare(work: Path, members: int) -> None:
    """The database with its roster, in a process of its own so the timed one's peak
    RSS is the service's, not the roster import's."""
    app = _app(work)
    _roster(app, members)
    app.close()
    print(RESULT + json.dumps({"members": members}), flush=True)


def child(work: Path, members: int) -> None:
    """One timed run on a prepared database; prints a RESULT line."""
    from icalendar import Calendar
    from sqlalchemy import func, select

    from mailer.db.models import OutboxMessage
    from mailer.events import manage
    from mailer.jobs import job_context

    app = _app(work)
    spec = _spec(app)
    rss_before = _rss_mb()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with app.db.transaction() as session:
        ctx = job_context(app, session)
        event = manage.create(ctx, spec)
        queued = manage.open_event(ctx, event)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak = _rss_mb()
    with app.db.transaction() as session:
        count = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "event-invitation")
        )
        size = session.scalar(
            select(func.sum(func.length(OutboxMessage.raw))).where(
                OutboxMessage.kind == "event-invitation"
            )
        )
        samples = session.scalars(
            select(OutboxMessage.raw)
            .where(OutboxMessage.kind == "event-invitation")
            .order_by(OutboxMessage.id)
            .limit(3)
        ).all()
    assert count == queued == members, (count, queued, members)
    for raw in samples:
        msg = message_from_bytes(raw, policy=default)
        (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        calendar = Calendar.from_ical(part.get_payload(decode=True))
        (entry,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(entry["ATTENDEE"]) == f"mailto:{msg['To'].addresses[0].addr_spec}"
    app.close()
    result = {
        "members": members,
        "seconds": wall,
        "cpu": cpu,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "bytes_per_message": (size or 0) / max(count or 1, 1),
    }
    print(RESULT + json.dumps(result), flush=True)


def baseline(work: Path, recipients: int) -> None:
    """One EmailMessage per recipient through compose(), no database."""
    from mailer.db.events import Event
    from mailer.events import ical
    from mailer.outgoing.compose import Draft, OutgoingAttachment, compose

    app = _app(work)
    spec = _spec(app)
    event = Event(
        uid="bench@example.test",
        sequence=0,
        **{name: getattr(spec, name) for name in spec.__dataclass_fields__},
    )
    network = app.settings.network
    rendered = app.templates.render("fi", "events/invitation", network=network, event=event)
    template = ical.calendar(event, network, method="REQUEST", alarm_minutes=15, stamp=NOW)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for n in range(recipients):
        address = f"jasen{n}@kunta{n % ORGANISATIONS}.example.test"
        data = ical.personal(template, address, f"Jäsen {n}")
        compose(
            Draft(
                to=[address],
                to_name=f"Jäsen {n}",
                subject=rendered.subject,
                text=rendered.text,
                kind="event-invitation",
                reply_to=app.settings.network.sub_address(f"r-i{n}-abcdefghij"),
                attachments=[
                    OutgoingAttachment("kutsu.ics", "text/calendar", data),
                    OutgoingAttachment("kutsu.ics", "application/ics", data),
                ],
            ),
            network,
            NOW + timedelta(seconds=n),
        )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    app.close()
    print(
        RESULT + json.dumps({"recipients": recipients, "seconds": seconds, "cpu": cpu}), flush=True
    )


def _run(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stdout}\n{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith(RESULT))
    result: dict[str, Any] = json.loads(line[len(RESULT) :])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=1000, help="recipients for the baseline")
    parser.add_argument("--child", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(Path(args.prepare[0]), int(args.prepare[1]))
        return
    if args.child:
        child(Path(args.child[0]), int(args.child[1]))
        return
    if args.baseline_child:
        baseline(Path(args.baseline_child[0]), int(args.baseline_child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-invitations-") as tmp:
        base = _run("--baseline-child", str(Path(tmp, "baseline")), str(args.baseline))
        base_ms = 1000 * base["seconds"] / base["recipients"]
        base_cpu_ms = 1000 * base["cpu"] / base["recipients"]
        print(
            f"baseline: an EmailMessage per recipient: {base_ms:.2f} ms/message, "
            f"CPU {base_cpu_ms:.2f} ms/message ({base['recipients']} recipients, no database)"
        )
        for members in args.members:
            runs = []
            for n in range(args.repeat):
                work = Path(tmp, f"run-{members}-{n}")
                _run("--prepare", str(work), str(members))
                result = _run("--child", str(work), str(members))
                runs.append(result)
                print(
                    f"  {members} invitations: {result['seconds']:.2f} s "
                    f"({members / result['seconds']:.0f}/s, CPU {result['cpu']:.2f} s), "
                    f"peak RSS {result['peak_rss_mb']:.0f} MB "
                    f"(before {result['rss_before_mb']:.0f} MB), "
                    f"{result['bytes_per_message'] / 1024:.1f} KB per message"
                )
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = statistics.median(r["peak_rss_mb"] for r in runs)
            per, cpu_per = 1000 * seconds / members, 1000 * cpu / members
            print(
                f"{members} invitations: median {seconds:.2f} s to queue all "
                f"({per:.2f} ms/message, CPU {cpu_per:.2f} ms/message with the database: "
                f"{base_cpu_ms / cpu_per:.1f}x less CPU than the baseline), "
                f"peak RSS {peak:.0f} MB; targets ≤ 60 s, ≤ 200 MB: "
                + ("met" if seconds <= 60 and peak <= 200 else "NOT MET")
            )


if __name__ == "__main__":
    main()
