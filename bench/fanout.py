"""One post to the members' list, fanned out to N members: post arriving -> last copy accepted.

The service runs embedded (SQLite, a Maildir inbox) and sends to Postfix's
``smtp-sink`` on loopback. Each fan-out runs in a fresh child process on a copy
of a prepared database holding N members (``delivery = "each"``, 300
organisations): the child delivers one ~4.5 KB post to ``verkosto+lista@`` into
the Maildir, then times ``Daemon(app).inbox_cycle()`` (parse, route, store the
post, queue one outbox message + N ``outbox_recipients`` rows with VERP return
paths and personal List-Unsubscribe headers) and
``app.outbox.drain(app.sender(), parallel=P, unrecorded=U, group=G)`` (one SMTP
transaction per copy, ``smtp.connections`` connections, outcomes committed in
groups of up to G with at most U transactions accepted but not yet committed).
"Last copy accepted" is stamped by a thin wrapper around the sender when the
sink's 250 for the last copy comes back.

Beside it, in the same run and against the same sink, a child process sends N
pre-rendered 5 KB messages with a plain aiosmtplib loop (``bench/smtp_rate.py``'s
``bare``: no rendering, no database, one recipient per transaction) with the same
numbers of connections, and 8. The ratio fan-out copies/s / bare msg/s is the
figure to watch (target >= 0.60); peak RSS (``ru_maxrss`` of the child, which
does nothing else) should stay <= 200 MB and flat from 2,000 to 10,000 members.

The crash test queues a post, starts the drain in a child, SIGKILLs it once the
sink has counted ~half the copies (``--kill-at 0.525``: 5,250 of 10,000, in the
middle of one of the drain's 500-copy leases rather than at its edge), then
restarts the drain twice: at once (sends every copy not leased by the dead
process) and with the clock 6 minutes ahead (the dead process's 5-minute leases
have run out: the rest goes). The sink's
total count minus N is the number of duplicates (copies the sink took whose
"sent" was not committed before the kill): at most U. The sink counts with ``-c`` (its
running counter, bumped when the final "." arrives).

The child logs as the daemon does (``mailer.logs.setup()``, JSON at INFO: one
"outbox batch done" line per leased batch, a line per copy only at DEBUG) into a
file in the work directory; ``--log-level warning`` measures without them.

Usage (as root: smtp-sink drops to the ``postfix`` user; ~10-15 minutes by default):

    /work/venv/bin/python bench/fanout.py
    /work/venv/bin/python bench/fanout.py --members 10000 --connections 8 --repeat 1 --no-crash
    /work/venv/bin/python bench/fanout.py --members 10000 --repeat 1 --profile py-spy
    /work/venv/bin/python bench/fanout.py --members 10000 --repeat 1 --profile cprofile
    /work/venv/bin/python bench/fanout.py --members 10000 --connections 8 --unrecorded 8 --group 8

``--unrecorded`` / ``--group`` (defaults: the daemon's) trade the most copies a
crash can resend against the cost of the commits.

``--profile py-spy`` samples every thread of one fan-out child (the outbox does its
database work in worker threads) and prints the top functions by own and by
inclusive samples within the timed work (``py-spy-gil``: only the thread holding
the GIL, i.e. where the Python CPU goes); ``cprofile`` sees the main thread only
(inbox_cycle and the event loop, not ``_lease``/``_record``). Reports stay in the
printed work directory with ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(BENCH), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from smtp_rate import HOST, SMTP_SINK, bare, free_port, render, wait_listening  # noqa: E402

from mailer.outgoing.outbox import GROUP, UNRECORDED  # noqa: E402

NETWORK = "verkosto@example.test"
LIST_ADDRESS = "verkosto+lista@example.test"
COORDINATOR = "koordinaattori@example.test"
BASE_URL = "https://verkosto.example.test"
ORGANISATIONS = 300
LANGUAGES = ("fi", "sv", "en")
RESULT = "RESULT "

_FIRST = ["Liisa", "Matti", "Anna", "Jukka", "Sari", "Pekka", "Tiina", "Ville", "Outi", "Eero"]
_LAST = ["Laine", "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Hämäläinen", "Koskinen"]
_SENTENCES = [
    "Meillä on kunnassa valmisteilla koulukuljetusten kilpailutus ensi keväälle.",
    "Onko jollakin kokemusta kutsuliikenteen yhdistämisestä asiointiliikenteeseen?",
    "Valtuusto pyysi selvitystä siitä, paljonko palvelulinjan käyttäjiä on vuodessa.",
    "Mietimme, kannattaako Kela-kyytien ja koulukuljetusten yhdistelyä kokeilla syksyllä.",
    "Liikennöitsijä ehdotti, että iltavuorot lopetettaisiin vähäisen käytön vuoksi.",
    "Miten olette hoitaneet esteettömyyden pienissä pysäkkikatoksissa?",
    "Hankintalaki tuntuu vaikealta, kun tarjouksia tulee vain yksi tai ei yhtään.",
    "Kyläyhdistys toivoo kesäksi vapaaehtoisvoimin ajettavaa kylä-autoa.",
    "ELY-keskuksen kanssa on sovittu tapaaminen, ja haluaisin kuulla muiden näkemyksiä.",
    "Seutulipun hinnoittelusta on tullut paljon palautetta, erityisesti opiskelijoilta.",
]


# ---- shared with bench/digest_build.py


def member_address(number: int) -> str:
    return f"jasen{number}@kunta{number % ORGANISATIONS}.example.test"


def member_name(number: int) -> str:
    return f"{_FIRST[number % len(_FIRST)]} {_LAST[number % len(_LAST)]}"


def finnish_text(size: int, seed: int = 0) -> str:
    """About ``size`` bytes (UTF-8) of Finnish sentences, a line each."""
    lines = ["Hei kaikki,", ""]
    n = seed
    while len("\n".join(lines).encode()) < size - 60:
        lines.append(_SENTENCES[n % len(_SENTENCES)])
        n += 7
    lines += ["", "Terveisin", member_name(seed)]
    return "\n".join(lines) + "\n"


def post_message(author: int, body_size: int, tag: str, when: datetime) -> bytes:
    """A member's post as it sits in the Maildir after delivery (LF line endings)."""
    msg = EmailMessage()
    msg["From"] = f"{member_name(author)} <{member_address(author)}>"
    msg["To"] = f"Verkosto <{LIST_ADDRESS}>"
    msg["Subject"] = "Koulukuljetusten kilpailutus: kokemuksia naapurikunnista?"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{tag}@kunta{author % ORGANISATIONS}.example.test>"
    msg["User-Agent"] = "Microsoft Outlook 16.0"
    msg.set_content(finnish_text(body_size, author), charset="utf-8", cte="8bit")
    return f"Delivered-To: {LIST_ADDRESS}\n".encode() + msg.as_bytes()


def raw_config(
    workdir: Path, db: Path, port: int, connections: int = 8, **sections: dict[str, Any]
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "network": {"address": NETWORK, "coordinators": [COORDINATOR], "language": "fi"},
        "maildir": {"path": str(workdir / "Maildir")},
        "smtp": {
            "host": HOST,
            "port": port,
            "security": "none",
            "connections": connections,
            "timeout": 30,
        },
        "database": {"url": f"sqlite:///{db}"},
        "security": {"secret": "bench-secret-0123456789abcdef"},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return raw


def populate(
    db: Path,
    members: int,
    delivery: Callable[[int], str],
    now: datetime,
    language: Callable[[int], str] = lambda i: LANGUAGES[i % 3] if i else "fi",
) -> None:
    """A migrated database with ``members`` members and 300 organisations (bulk insert)."""
    from sqlalchemy import insert, select

    from mailer.app import App
    from mailer.config import settings_from_dict
    from mailer.db.models import Member, Organisation

    settings = settings_from_dict(raw_config(db.parent, db, 25), {}, base=db.parent)
    app = App.build(settings)
    created = now - timedelta(days=30)
    try:
        with app.db.transaction() as session:
            session.execute(
                insert(Organisation),
                [
                    {
                        "name": f"Kunta {i}",
                        "status": "member",
                        "fee_paid_year": 2026,
                        "created_at": created,
                    }
                    for i in range(ORGANISATIONS)
                ],
            )
            orgs = {n: i for n, i in session.execute(select(Organisation.name, Organisation.id))}
            session.execute(
                insert(Member),
                [
                    {
                        "email": member_address(i),
                        "name": member_name(i),
                        "organisation_id": orgs[f"Kunta {i % ORGANISATIONS}"],
                        "language": language(i),
                        "role": "member",
                        "subscribed": True,
                        "delivery": delivery(i),
                        "disabled_at": None,
                        "bounce_score": 0.0,
                        "last_bounce_at": None,
                        "probe_sent_at": None,
                        "digest_cursor": 0,
                        "last_digest_at": None,
                        "created_at": created,
                        "updated_at": created,
                    }
                    for i in range(members)
                ],
            )
    finally:
        app.close()
    checkpoint(db)


def checkpoint(db: Path) -> None:
    """Fold the WAL into the main file so that copying the file copies everything."""
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_db(template: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def emit(result: dict[str, Any]) -> None:
    print(RESULT + json.dumps(result), flush=True)


def run_child(
    argv: Sequence[str], log: Path, limit: float, wrap: Sequence[str] = ()
) -> dict[str, Any]:
    """Run ``this script --child ...`` (or another script); return its RESULT line."""
    with open(log, "ab") as err:
        done = subprocess.run(
            [*wrap, sys.executable, *argv], stdout=subprocess.PIPE, stderr=err, timeout=limit
        )
    for line in done.stdout.decode().splitlines():
        if line.startswith(RESULT):
            result: dict[str, Any] = json.loads(line[len(RESULT) :])
            return result
    tail = log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"child {argv[:3]} exited {done.returncode} without a result:\n{tail}")


# Frames that mark the timed work: the inbox cycle, the drain's event loop and the
# outbox's worker threads (the children start no other threads).
TIMED_FRAMES = ("Daemon.inbox_cycle", "Runner.run", "Thread.run", "send_digests")


def summarize_pyspy(path: Path, top: int = 25, gil: bool = False) -> str:
    """Top functions by own and by inclusive samples from ``py-spy record -f raw``."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = skipped = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        if not any(f.startswith(TIMED_FRAMES) for f in frames):
            skipped += n  # start-up and teardown: imports, App.build, the result
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    which = "the thread holding the GIL" if gil else "all threads, idle excluded"
    out = [
        f"{total} samples in the timed work ({which}; {skipped} outside it left out)",
        "  top by own samples:",
    ]
    out += [f"    {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    out.append("  top by inclusive samples:")
    out += [f"    {n / total:6.1%}  {f}" for f, n in incl.most_common(top)]
    return "\n".join(out)


def _short(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py:12)``."""
    match = re.match(r"^(.*) \((.*)\)$", frame)
    if not match:
        return frame
    func, where = match.groups()
    for marker in ("site-packages/", "/work/main/", "python3.11/", "python3.12/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{func} ({where})"


def summarize_cprofile(path: Path, top: int = 30) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---- the sink


class Sink:
    """``smtp-sink -c`` on a free loopback port; ``count()`` is its message counter."""

    def __init__(self, workdir: Path) -> None:
        if not shutil.which(SMTP_SINK):
            raise SystemExit(f"{SMTP_SINK} is needed (Debian package postfix)")
        self.port = free_port()
        self.out = workdir / "sink.out"
        user = ["-u", "postfix"] if os.geteuid() == 0 else []
        with open(self.out, "wb") as out:
            self.process = subprocess.Popen(
                [SMTP_SINK, "-c", *user, f"{HOST}:{self.port}", "1000"],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        wait_listening(self.port, self.process)

    def count(self) -> int:
        with open(self.out, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 200))
            tail = f.read().decode(errors="replace")
        found = re.findall(r"mesg=(\d+)", tail)
        return int(found[-1]) if found else 0

    def settled(self, quiet: float = 0.3) -> int:
        """The count once it has stopped moving for ``quiet`` seconds."""
        last, since = self.count(), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(0.05)
            now = self.count()
            if now != last:
                last, since = now, time.monotonic()
        return last

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def sink(workdir: Path) -> Iterator[Sink]:
    s = Sink(workdir)
    try:
        yield s
    finally:
        s.stop()


# ---- the children (each a fresh process: its ru_maxrss is its own peak)


class StampingSender:
    """Wraps the real sender; remembers when the last accepted copy came back."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last_accepted = 0.0
        self.accepted = 0
        self.transactions = 0

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> Any:
        result = await self.inner.send(envelope_from, recipients, data)
        self.transactions += 1
        if result.accepted:
            self.accepted += len(result.accepted)
            self.last_accepted = time.perf_counter()
        return result


def _build(args: argparse.Namespace, clock_offset: float = 0.0) -> Any:
    import logging

    from mailer import logs
    from mailer.app import App
    from mailer.clock import Clock
    from mailer.config import settings_from_dict

    if args.log_level != "none":
        logs.setup(getattr(logging, args.log_level.upper()))
    workdir = Path(args.workdir)
    sections: dict[str, dict[str, Any]] = {}
    if args.base_url:
        sections["list"] = {"base_url": args.base_url}
    raw = raw_config(workdir, Path(args.db), args.port, args.connections, **sections)
    settings = settings_from_dict(raw, {}, base=workdir)
    return App.build(settings, clock=Clock(timedelta(seconds=clock_offset)))


def _deliver(args: argparse.Namespace) -> None:
    import mailbox

    box = mailbox.Maildir(Path(args.workdir) / "Maildir", create=True)
    box.add(post_message(0, args.body_size, f"post-{os.getpid()}-{time.time_ns()}", _utcnow()))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _db_figures(app: Any) -> dict[str, Any]:
    from sqlalchemy import func, select

    from mailer.db.models import OutboxMessage, OutboxRecipient

    with app.db.transaction() as session:
        states = {
            state: count
            for state, count in session.execute(
                select(OutboxRecipient.state, func.count()).group_by(OutboxRecipient.state)
            )
        }
        raw_len = session.scalar(select(func.max(func.length(OutboxMessage.raw)))) or 0
        head_len = session.scalar(select(func.avg(func.length(OutboxRecipient.headers)))) or 0
    return {"states": states, "copy_bytes": int(raw_len + head_len)}


def drain_options(args: argparse.Namespace) -> dict[str, int]:
    return {"parallel": args.parallel, "unrecorded": args.unrecorded, "group": args.group}


def child_fanout(args: argparse.Namespace) -> None:
    from mailer.daemon import Daemon

    app = _build(args)
    daemon = Daemon(app)
    rss_before = rss_mb()
    _deliver(args)
    profiler: Any = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, t0 = time.process_time(), time.perf_counter()
    handled = daemon.inbox_cycle()
    t1 = time.perf_counter()
    sender = app.sender()
    stamping = StampingSender(sender)

    async def drain() -> tuple[Any, float]:
        try:
            stats = await app.outbox.drain(stamping, **drain_options(args))
            return stats, time.perf_counter()
        finally:
            await sender.close()

    stats, t2 = asyncio.run(drain())
    cpu = time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    peak = peak_rss_mb()
    daemon.disconnect()
    figures = _db_figures(app)
    app.close()
    emit(
        {
            "handled": handled,
            "inbox_s": t1 - t0,
            "post_to_last_s": stamping.last_accepted - t0,
            "post_to_done_s": t2 - t0,
            "drain_first_to_last_s": stamping.last_accepted - t1,
            "accepted": stamping.accepted,
            "transactions": stamping.transactions,
            "sent": stats.sent,
            "retried": stats.retried,
            "failed": stats.failed,
            "cpu_s": cpu,
            "rss_before_mb": rss_before,
            "peak_rss_mb": peak,
            **figures,
        }
    )


def child_queue(args: argparse.Namespace) -> None:
    from mailer.daemon import Daemon

    app = _build(args)
    daemon = Daemon(app)
    _deliver(args)
    t0 = time.perf_counter()
    handled = daemon.inbox_cycle()
    seconds = time.perf_counter() - t0
    daemon.disconnect()
    figures = _db_figures(app)
    app.close()
    emit({"handled": handled, "inbox_s": seconds, **figures})


def child_drain(args: argparse.Namespace) -> None:
    app = _build(args, clock_offset=args.clock_offset)
    sender = app.sender()

    async def drain() -> Any:
        try:
            return await app.outbox.drain(sender, **drain_options(args))
        finally:
            await sender.close()

    t0 = time.perf_counter()
    stats = asyncio.run(drain())
    seconds = time.perf_counter() - t0
    figures = _db_figures(app)
    app.close()
    emit(
        {
            "sent": stats.sent,
            "retried": stats.retried,
            "failed": stats.failed,
            "s": seconds,
            **figures,
        }
    )


def child_bare(args: argparse.Namespace) -> None:
    data = render(args.size)
    cpu0, t0 = time.process_time(), time.perf_counter()
    failed = asyncio.run(bare(args.port, args.connections, args.messages, data))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    emit(
        {
            "s": wall,
            "rate": args.messages / wall,
            "cpu_s": cpu,
            "failed": failed,
            "bytes": len(data),
        }
    )


def child_setup(args: argparse.Namespace) -> None:
    populate(Path(args.db), args.members, lambda i: "each", _utcnow())
    emit({"db": args.db})


CHILDREN = {
    "fanout": child_fanout,
    "queue": child_queue,
    "drain": child_drain,
    "bare": child_bare,
    "setup": child_setup,
}


# ---- the parent


def db_states(db: Path) -> dict[str, int]:
    """Recipient rows by state, plus ``leased``: queued rows with a lease in the future."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    with sqlite3.connect(db, timeout=30) as con:
        out = dict(con.execute("SELECT state, count(*) FROM outbox_recipients GROUP BY state"))
        out["leased"] = con.execute(
            "SELECT count(*) FROM outbox_recipients WHERE state = 'queued' AND next_attempt_at > ?",
            (now,),
        ).fetchone()[0]
    return out


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, sink: Sink) -> None:
        self.args = args
        self.workdir = workdir
        self.sink = sink
        self.log = workdir / "children.log"
        self.templates: dict[int, Path] = {}
        self.runs = 0

    def template(self, members: int) -> Path:
        if members not in self.templates:
            db = self.workdir / f"template-{members}.db"
            t0 = time.perf_counter()
            run_child(
                [__file__, "--child", "setup", "--db", str(db), "--members", str(members)],
                self.log,
                self.args.limit,
            )
            print(f"  (prepared {members:,} members in {time.perf_counter() - t0:.1f} s)")
            self.templates[members] = db
        return self.templates[members]

    def rundir(self, members: int) -> tuple[Path, Path]:
        self.runs += 1
        rundir = self.workdir / f"run-{self.runs:03d}"
        db = copy_db(self.template(members), rundir / "mailer.db")
        return rundir, db

    def child_args(self, role: str, rundir: Path, db: Path, connections: int) -> list[str]:
        a = self.args
        out = [
            __file__,
            "--child",
            role,
            "--workdir",
            str(rundir),
            "--db",
            str(db),
            "--port",
            str(self.sink.port),
            "--connections",
            str(connections),
            "--parallel",
            str(a.parallel),
            "--log-level",
            a.log_level,
            "--body-size",
            str(a.body_size),
        ]
        out += ["--unrecorded", str(a.unrecorded), "--group", str(a.group)]
        return [*out, "--base-url", a.base_url]

    def bare(self, connections: int, messages: int) -> dict[str, Any]:
        before = self.sink.count()
        result = run_child(
            [
                __file__,
                "--child",
                "bare",
                "--port",
                str(self.sink.port),
                "--connections",
                str(connections),
                "--messages",
                str(messages),
                "--size",
                str(self.args.size),
            ],
            self.log,
            self.args.limit,
        )
        result["sink"] = self.sink.settled() - before
        return result

    def fanout(
        self, members: int, connections: int, wrap: Sequence[str] = (), cprofile: Path | None = None
    ) -> dict[str, Any]:
        rundir, db = self.rundir(members)
        argv = self.child_args("fanout", rundir, db, connections)
        if cprofile is not None:
            argv += ["--cprofile", str(cprofile)]
        before = self.sink.count()
        result = run_child(argv, rundir / "child.log", self.args.limit, wrap)
        result["sink"] = self.sink.settled() - before
        result["log_bytes"] = (rundir / "child.log").stat().st_size
        result["members"] = members
        if not self.args.keep:
            shutil.rmtree(rundir, ignore_errors=True)
        return result

    def crash(self, members: int, connections: int) -> dict[str, Any]:
        """Queue, drain in a child, SIGKILL it at half, drain again (now; after the lease)."""
        rundir, db = self.rundir(members)
        log = rundir / "child.log"
        queued = run_child(self.child_args("queue", rundir, db, connections), log, self.args.limit)
        start = self.sink.count()
        argv = [sys.executable, *self.child_args("drain", rundir, db, connections)]
        argv += ["--clock-offset", "0"]
        with open(log, "ab") as err:
            child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        half = int(members * self.args.kill_at)
        deadline = time.monotonic() + self.args.limit
        try:
            while self.sink.count() - start < half:
                if child.poll() is not None:
                    raise SystemExit(f"the drain finished before half the copies; see {log}")
                if time.monotonic() > deadline:
                    raise SystemExit("the drain did not reach half the copies in time")
                time.sleep(0.002)
            child.send_signal(signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
        at_kill = self.sink.settled() - start
        states_kill = db_states(db)
        # The restarts: at once (rows the dead process had not leased), then after
        # its leases ran out (the clock moved past LEASE = 5 minutes).
        now = run_child(self.child_args("drain", rundir, db, connections), log, self.args.limit)
        after_now = self.sink.settled() - start
        later_args = [*self.child_args("drain", rundir, db, connections), "--clock-offset", "360"]
        later = run_child(later_args, log, self.args.limit)
        total = self.sink.settled() - start
        final = db_states(db)
        if not self.args.keep:
            shutil.rmtree(rundir, ignore_errors=True)
        return {
            "members": members,
            "queued": queued["states"].get("queued", 0),
            "sink_at_kill": at_kill,
            "sent_at_kill": states_kill.get("sent", 0),
            "leased_at_kill": states_kill["leased"],
            "restart_sent": now["sent"],
            "restart_s": now["s"],
            "sink_after_restart": after_now,
            "after_lease_sent": later["sent"],
            "sink_total": total,
            "duplicates": total - members,
            "final_sent_rows": final.get("sent", 0),
            "final_other": {k: v for k, v in final.items() if k not in ("sent", "leased") and v},
        }


def med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def report_fanouts(
    results: dict[tuple[int, int], list[dict[str, Any]]], bares: dict[int, list[dict[str, Any]]]
) -> None:
    """Medians, and two ratios to bare: paired wall-clock rates and CPU per message.

    The wall ratio pairs each fan-out with the bare run of the same repeat (same
    number of connections, else the most); the CPU ratio (bare CPU per message /
    fan-out CPU per copy) is what the rate ratio tends to on an otherwise idle
    machine when both are CPU-bound, and moves much less with other load.
    """
    bare_rate = {c: med(rs, "rate") for c, rs in bares.items()}
    bare_cpu = {c: statistics.median(r["cpu_s"] / r["sink"] for r in rs) for c, rs in bares.items()}
    top = max(bare_rate)
    print("\nbare aiosmtplib -> smtp-sink (no rendering, no database), median msg/s:")
    for c, rs in sorted(bares.items()):
        rates = ", ".join(f"{r['rate']:,.0f}" for r in rs)
        print(
            f"  {c} conn  {bare_rate[c]:>7,.0f} msg/s  {bare_cpu[c] * 1e6:>4.0f} µs CPU/msg"
            f"  [{rates}]  sink counted {sorted({r['sink'] for r in rs})}"
        )
    print(
        "\nfan-out, median of runs: post arrives -> last copy accepted (inbox_cycle + drain),"
        " copies/s, ratio to bare (paired by run; CPU per message)"
    )
    for (members, conns), rs in sorted(results.items()):
        base = conns if conns in bares else top
        total = med(rs, "post_to_last_s")
        rate = members / total
        paired = statistics.median(
            members / r["post_to_last_s"] / bares[base][r["repeat"]]["rate"] for r in rs
        )
        cpu = med(rs, "cpu_s") / members
        sent_ok = all(r["states"].get("sent", 0) == members for r in rs)
        sent = "yes" if sent_ok else f"NO {[r['states'] for r in rs]}"
        runs = ", ".join(format(r["post_to_last_s"], ".2f") for r in rs)
        print(
            f"  {members:>6,} members {conns} conn: {total:6.2f} s [{runs}]"
            f"  (inbox {med(rs, 'inbox_s'):.2f} s + drain {med(rs, 'drain_first_to_last_s'):.2f} s)"
            f"  {rate:>5,.0f} copies/s  ratio to bare {base} conn: {paired:.2f} wall,"
            f" {bare_cpu[base] / cpu:.2f} CPU"
        )
        print(
            f"      CPU {cpu * 1e6:,.0f} µs/copy; peak RSS {med(rs, 'peak_rss_mb'):.0f} MB"
            f" (max {max(r['peak_rss_mb'] for r in rs):.0f}; {med(rs, 'rss_before_mb'):.0f} MB"
            f" before the post); outbox_recipients sent = {members:,}: {sent};"
            f" sink counted {sorted({r['sink'] for r in rs})}; copy {rs[0]['copy_bytes']:,} B;"
            f" log {med(rs, 'log_bytes') / 2**20:.1f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", help=argparse.SUPPRESS)
    parser.add_argument("--clock-offset", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 8])
    parser.add_argument(
        "--parallel", type=int, default=8, help="drain(parallel=...); the daemon uses 8"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration")
    parser.add_argument("--size", type=int, default=5 * 1024, help="bare message size in bytes")
    parser.add_argument(
        "--body-size", type=int, default=2950, help="post body bytes (the copy is ~5 KB)"
    )
    parser.add_argument(
        "--log-level", choices=["info", "warning", "none"], default="info", help="child logging"
    )
    parser.add_argument(
        "--base-url",
        default=BASE_URL,
        help="list.base_url: personal List-Unsubscribe per copy ('' for none)",
    )
    parser.add_argument(
        "--unrecorded",
        type=int,
        default=UNRECORDED,
        help="drain(unrecorded=...): transactions accepted but not yet committed, at most",
    )
    parser.add_argument(
        "--group", type=int, default=GROUP, help="drain(group=...): outcomes per commit"
    )
    parser.add_argument("--crash", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--crash-connections", type=int, default=8)
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.525,
        help="SIGKILL the drain when the sink has this share of the copies (0.525: mid-lease)",
    )
    parser.add_argument("--profile", choices=["py-spy", "py-spy-gil", "cprofile"])
    parser.add_argument("--limit", type=float, default=600.0, help="seconds allowed per child")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.child:
        if args.child in ("setup", "bare"):
            args.connections = args.connections[0]
            args.members = args.members[0]
        else:
            args.connections = args.connections[0]
        CHILDREN[args.child](args)
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    print(
        f"work directory {workdir}; {args.repeat} run(s) per configuration; child logging "
        f"{args.log_level}; drain parallel={args.parallel} unrecorded={args.unrecorded}"
        f" group={args.group}; base_url {args.base_url or 'none'}"
    )
    try:
        with sink(workdir) as s:
            bench = Bench(args, workdir, s)
            if args.profile:
                profile(bench, args, workdir)
                return
            results: dict[tuple[int, int], list[dict[str, Any]]] = {}
            bares: dict[int, list[dict[str, Any]]] = {}
            configs = [(m, c) for m in args.members for c in args.connections]
            bare_conns = sorted({*args.connections, 8})
            for members in args.members:
                bench.template(members)
            for repeat in range(args.repeat):
                order = configs if repeat % 2 == 0 else list(reversed(configs))
                for c in bare_conns:
                    r = bench.bare(c, max(args.members))
                    bares.setdefault(c, []).append(r)
                    print(f"  run {repeat + 1}: bare {c} conn {r['rate']:,.0f} msg/s", flush=True)
                for members, conns in order:
                    r = bench.fanout(members, conns)
                    r["repeat"] = repeat
                    results.setdefault((members, conns), []).append(r)
                    print(
                        f"  run {repeat + 1}: {members:,} members {conns} conn:"
                        f" {r['post_to_last_s']:.2f} s (inbox {r['inbox_s']:.2f} s),"
                        f" peak RSS {r['peak_rss_mb']:.0f} MB, sent rows {r['states']}",
                        flush=True,
                    )
            report_fanouts(results, bares)
            if args.crash:
                members = max(args.members)
                print(
                    f"\ncrash test: {members:,} members, {args.crash_connections} conn,"
                    f" drain SIGKILLed at {args.kill_at:.1%} of the copies, restarted at once"
                    " and after the 5-min lease"
                )
                crashes = []
                for repeat in range(args.repeat):
                    c = bench.crash(members, args.crash_connections)
                    crashes.append(c)
                    print(
                        f"  run {repeat + 1}: sink at kill {c['sink_at_kill']:,},"
                        f" rows sent at kill {c['sent_at_kill']:,},"
                        f" leased by the dead drain {c['leased_at_kill']:,};"
                        f" restart sent {c['restart_sent']:,},"
                        f" after the lease {c['after_lease_sent']:,};"
                        f" sink total {c['sink_total']:,} vs {members:,} ->"
                        f" {c['duplicates']:+,} duplicates; sent rows {c['final_sent_rows']:,}"
                        + (f" other {c['final_other']}" if c["final_other"] else ""),
                        flush=True,
                    )
                duplicates = statistics.median(c["duplicates"] for c in crashes)
                waiting = statistics.median(c["after_lease_sent"] for c in crashes)
                print(
                    f"  median duplicates {duplicates:.0f},"
                    f" median copies that waited for the dead drain's lease {waiting:.0f}"
                )
    finally:
        if args.keep or args.profile:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def profile(bench: Bench, args: argparse.Namespace, workdir: Path) -> None:
    members, conns = max(args.members), args.connections[-1]
    for repeat in range(args.repeat):
        if args.profile.startswith("py-spy"):
            out = workdir / f"pyspy-{repeat + 1}.txt"
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            wrap = [py_spy, "record", "-r", "200", "--nonblocking", "-F", "-f", "raw"]
            wrap += ["--gil"] if args.profile == "py-spy-gil" else []
            r = bench.fanout(members, conns, wrap=[*wrap, "-o", str(out), "--"])
            print(f"{args.profile}, {members:,} members {conns} conn: {r['post_to_last_s']:.2f} s")
            print(summarize_pyspy(out, gil=args.profile == "py-spy-gil"))
        else:
            out = workdir / f"cprofile-{repeat + 1}.prof"
            r = bench.fanout(members, conns, cprofile=out)
            seconds = r["post_to_last_s"]
            print(f"cProfile (main thread), {members:,} members {conns} conn: {seconds:.2f} s")
            print(summarize_cprofile(out))


if __name__ == "__main__":
    main()
