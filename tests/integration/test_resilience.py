"""The daemon as administrators run it: a real process, signals, crashes and outages.

The daemon tests start `mailer run` as a subprocess against the harness's Dovecot
and Postfix with their own SQLite file, and judge the outcome only from what the
mail servers and the database hold afterwards; a test of the inbox loop runs
in-process (the outbox has its own in tests/outgoing/test_outbox.py). No timing
is asserted: waits poll for a condition until a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from harness.servers import MailServers
from sqlalchemy.exc import OperationalError

from mailer.daemon import Daemon

from .conftest import AppFactory, service_config, write_config
from .mail import question

pytestmark = pytest.mark.servers

START_DEADLINE = 30.0
STOP_DEADLINE = 10.0
QUESTION_RE = re.compile(r"Kysymys (\d+)\b")


# ---------------------------------------------------------------- helpers --
def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        time.sleep(interval)


class Service:
    """`mailer` subprocesses sharing one config file and one SQLite database.

    The IMAP password comes from the environment, as the README recommends; the
    logs (stderr, JSON lines) of every run are kept in ``runs``.
    """

    def __init__(self, servers: MailServers, directory: Path) -> None:
        self.servers = servers
        self.dir = directory
        self.db_path = directory / "mailer.db"
        raw = service_config(servers, f"sqlite:///{self.db_path}")
        del raw["imap"]["password"]
        self.config = write_config(directory / "mailer.toml", raw)
        self.env = {**os.environ, "MAILER_IMAP__PASSWORD": servers.password}
        self.env.pop("MAILER_CONFIG", None)
        self.runs: list[Path] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def _argv(self, *args: str, now: datetime | None = None) -> list[str]:
        code = "import sys; from mailer.cli import main; sys.exit(main())"
        argv = [sys.executable, "-c", code, "--config", str(self.config)]
        if now is not None:
            argv += [
                "--now",
                now.astimezone(ZoneInfo("Europe/Helsinki")).strftime("%Y-%m-%d %H:%M"),
            ]
        return [*argv, *args]

    def _log_file(self) -> Path:
        path = self.dir / f"run{len(self.runs)}.log"
        self.runs.append(path)
        return path

    def start(self, *, now: datetime | None = None) -> subprocess.Popen[bytes]:
        """`mailer run` (the daemon) in the background."""
        assert self.proc is None or self.proc.poll() is not None, "a daemon is running"
        with self._log_file().open("wb") as err:
            self.proc = subprocess.Popen(
                self._argv("run", now=now),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env,
                cwd=self.dir,
            )
        return self.proc

    def once(self, *, now: datetime | None = None, timeout: float = 120) -> int:
        """`mailer run --once` to the end; returns its exit code."""
        with self._log_file().open("wb") as err:
            done = subprocess.run(
                self._argv("run", "--once", now=now),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env,
                cwd=self.dir,
                timeout=timeout,
                check=False,
            )
        return done.returncode

    def log(self, run: int = -1) -> list[dict[str, Any]]:
        """The JSON log lines of one run (a line cut by SIGKILL is skipped)."""
        entries = []
        for line in self.runs[run].read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return entries

    def logged(self, event: str, run: int = -1) -> int:
        return sum(1 for entry in self.log(run) if entry.get("event") == event)

    def wait_logged(self, event: str, timeout: float = START_DEADLINE) -> None:
        assert self.proc is not None
        proc = self.proc

        def seen() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"daemon exited ({proc.returncode}):\n{self.tail()}")
            return self.logged(event) > 0

        wait_until(seen, timeout, f"log line {event!r}", interval=0.02)

    def terminate(self, timeout: float = STOP_DEADLINE) -> int:
        """SIGTERM; returns the exit code (fails if the daemon does not exit in time)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit within {timeout} s of SIGTERM:\n{self.tail()}") from None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.runs[-1].read_text(errors="replace").splitlines()[-lines:])

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.db_path.exists():
            return []
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            try:
                return conn.execute(sql).fetchall()
            except sqlite3.OperationalError as exc:  # the schema is not there yet
                if "no such table" in str(exc):
                    return []
                raise

    def outbox_count(self, state: str) -> int:
        rows = self.query(f"SELECT count(*) FROM outbox_recipients WHERE state = '{state}'")
        return int(rows[0][0]) if rows else 0


@pytest.fixture
def service(clean_mail: MailServers, tmp_path: Path) -> Iterator[Service]:
    svc = Service(clean_mail, tmp_path)
    yield svc
    svc.cleanup()


def count(servers: MailServers, user: str, folder: str = "INBOX") -> int:
    with servers.imap(user) as client:
        if not client.folder_exists(folder):
            return 0
        client.select_folder(folder, readonly=True)
        return len(client.search("ALL"))


def postfix_idle(servers: MailServers) -> bool:
    return "Mail queue is empty" in servers.postfix_queue()


def send_questions(servers: MailServers, numbers: range, members: int) -> dict[int, str]:
    """Question n from member ((n-1) % members + 1) with subject "Kysymys n"; n -> asker."""
    askers = {}
    for n in numbers:
        asker = servers.address(f"member{(n - 1) % members + 1}")
        servers.send(
            question(asker, f"Kysymys {n}", f"Hei,\n\nkysymys numero {n}.\n"),
            asker,
            servers.address("network"),
        )
        askers[n] = asker
    return askers


def _number(msg: EmailMessage) -> int:
    found = QUESTION_RE.search(str(msg["Subject"]))
    assert found, f"no question number in {msg['Subject']!r}"
    return int(found.group(1))


class Delivered:
    """What reached the askers and the coordinator, per question number."""

    def __init__(self, servers: MailServers, askers: dict[int, str]) -> None:
        self.acks: dict[int, list[str]] = {n: [] for n in askers}
        self.forwards: dict[int, list[str]] = {n: [] for n in askers}
        self.misdirected: list[str] = []
        for asker in sorted(set(askers.values())):
            for msg in servers.messages(asker):
                n = _number(msg)
                if askers.get(n) != asker:
                    self.misdirected.append(f"{asker}: {msg['Subject']}")
                self.acks.setdefault(n, []).append(str(msg["Message-ID"]))
        for msg in servers.messages("coordinator"):
            self.forwards.setdefault(_number(msg), []).append(str(msg["Message-ID"]))

    @staticmethod
    def _wrong(copies: dict[int, list[str]]) -> dict[int, int]:
        return {n: len(set(ids)) for n, ids in copies.items() if len(set(ids)) != 1}

    def assert_exactly_once(self) -> None:
        """One distinct acknowledgement and one distinct forward per question."""
        assert self.misdirected == []
        assert self._wrong(self.acks) == {}, "questions without exactly one acknowledgement"
        assert self._wrong(self.forwards) == {}, "questions without exactly one forward"

    def extra_copies(self) -> int:
        """Physical copies beyond one per Message-ID (a re-send after a crash)."""
        return sum(
            len(ids) - len(set(ids))
            for copies in (self.acks, self.forwards)
            for ids in copies.values()
        )

    def total(self) -> int:
        return sum(len(ids) for copies in (self.acks, self.forwards) for ids in copies.values())


_STANDALONE_SECRET = re.compile(r"(?<![\w.])secret(?![\w.])")


def _values(entry: Any) -> Iterator[str]:
    if isinstance(entry, dict):
        for value in entry.values():
            yield from _values(value)
    elif isinstance(entry, list):
        for value in entry:
            yield from _values(value)
    else:
        yield str(entry)


# A message that reaches a running daemon is picked up by an IDLE notice within about
# a second; the schedule's inbox sweep (every 60 s) is the net under a lost notice, so
# the outage tests allow that long.
SWEEP_DEADLINE = 90.0


def append_questions(servers: MailServers, numbers: range, members: int) -> dict[int, str]:
    """Like ``send_questions`` but straight into network's INBOX with IMAP APPEND."""
    askers = {}
    with servers.imap("network") as client:
        for n in numbers:
            asker = servers.address(f"member{(n - 1) % members + 1}")
            msg = question(asker, f"Kysymys {n}", f"Hei,\n\nkysymys numero {n}.\n")
            client.append("INBOX", msg.as_bytes())
            askers[n] = asker
    return askers


def everyone_answered(servers: MailServers, askers: dict[int, str]) -> bool:
    wanted = Counter(askers.values())
    return all(count(servers, member) >= n for member, n in wanted.items()) and count(
        servers, "coordinator"
    ) >= len(askers)


# ------------------------------------------------------------------ tests --
def test_daemon_answers_in_idle_and_stops_on_sigterm(service: Service) -> None:
    """The daemon answers a question via IDLE, exits 0 on SIGTERM and never logs the password."""
    servers = service.servers
    service.start()
    service.wait_logged("imap.watching")
    member = servers.address("member1")
    servers.send(
        question(member, "Kutsujoukkoliikenne", "Miten raportoitte?"),
        member,
        servers.address("network"),
    )

    (ack,) = servers.wait_for("member1", 1, timeout=15)
    assert "Kutsujoukkoliikenne" in str(ack["Subject"])
    (forward,) = servers.wait_for("coordinator", 1, timeout=15)
    assert "Kutsujoukkoliikenne" in str(forward["Subject"])
    wait_until(lambda: count(servers, "network") == 0, 15, "the question moved out of INBOX")
    assert count(servers, "network", "Processed") == 1

    assert service.terminate() == 0
    assert service.logged("daemon stopped") == 1
    text = service.runs[-1].read_text(encoding="utf-8")
    assert '"secret"' not in text
    leaks = [v for entry in service.log() for v in _values(entry) if _STANDALONE_SECRET.search(v)]
    assert leaks == []


def assert_no_password(service: Service) -> None:
    for run in range(len(service.runs)):
        text = service.runs[run].read_text(encoding="utf-8", errors="replace")
        assert '"secret"' not in text
        leaks = [v for e in service.log(run) for v in _values(e) if _STANDALONE_SECRET.search(v)]
        assert leaks == [], f"run {run} logged the password"


def test_sigterm_between_messages_handles_each_once(service: Service) -> None:
    """SIGTERM while questions are handled: exit 0; restarts finish each question exactly once."""
    servers = service.servers
    askers = send_questions(servers, range(1, 31), members=30)
    servers.wait_for("network", 30)
    stops = []
    for _ in range(5):
        if count(servers, "network") == 0:
            break
        service.start()
        service.wait_logged("message handled")
        assert service.terminate() == 0, service.tail()
        assert service.logged("daemon stopped") == 1
        stops.append(service.log()[-1].get("handled"))
    print(f"handled per SIGTERM-ed run: {stops}")
    assert service.once() == 0, service.tail()

    assert count(servers, "network") == 0
    assert count(servers, "network", "Processed") == 30
    assert service.outbox_count("queued") == 0
    wait_until(lambda: count(servers, "coordinator") >= 30, 30, "30 forwards")
    wait_until(lambda: postfix_idle(servers), 30, "Postfix delivered everything")
    delivered = Delivered(servers, askers)
    delivered.assert_exactly_once()
    assert delivered.extra_copies() == 0
    assert service.query("SELECT count(*) FROM tickets") == [(30,)]
    assert_no_password(service)


CRASH_QUESTIONS = 200
CRASH_KILLS = 10


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    service: Service, record_property: Callable[[str, object], None]
) -> None:
    """SIGKILL at ten random moments: each question is acknowledged and forwarded exactly once."""
    servers = service.servers
    askers = send_questions(servers, range(1, CRASH_QUESTIONS + 1), members=50)
    servers.wait_for("network", CRASH_QUESTIONS, timeout=120)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    progress = []
    for _ in range(CRASH_KILLS):
        service.start()
        service.wait_logged("daemon started")
        time.sleep(rng.uniform(0.2, 1.5))  # a random moment to crash at, not a timing assertion
        service.kill()
        progress.append(
            (
                service.query("SELECT count(*) FROM inbound_mail")[0][0],
                service.outbox_count("sent"),
            )
        )
    # The last killed daemon may hold a lease on rows it was sending; leases run out
    # after five minutes, so the finishing run acts as if it started ten minutes later.
    later = datetime.now(ZoneInfo("UTC")) + timedelta(minutes=10)
    for _ in range(3):
        assert service.once(now=later) == 0, service.tail()
        if count(servers, "network") == 0 and service.outbox_count("queued") == 0:
            break
    assert count(servers, "network") == 0
    assert service.outbox_count("queued") == 0
    assert service.outbox_count("failed") == 0
    assert count(servers, "network", "Processed") == CRASH_QUESTIONS
    assert service.query("SELECT count(*) FROM tickets") == [(CRASH_QUESTIONS,)]

    wait_until(lambda: count(servers, "coordinator") >= CRASH_QUESTIONS, 60, "every forward")
    wait_until(lambda: postfix_idle(servers), 60, "Postfix delivered everything")
    delivered = Delivered(servers, askers)
    extra = delivered.extra_copies()
    print(
        f"\ncrash test seed={seed} (handled, sent) after each kill: {progress}; "
        f"messages delivered: {delivered.total()}, extra physical copies: {extra}"
    )
    record_property("extra_copies", extra)
    record_property("seed", seed)
    delivered.assert_exactly_once()
    assert_no_password(service)


@pytest.mark.slow
def test_imap_outage_delays_but_loses_nothing(service: Service) -> None:
    """Dovecot stops under a daemon in IDLE; the questions queued meanwhile are all handled once."""
    servers = service.servers
    service.start()
    service.wait_logged("imap.watching")
    servers.stop_dovecot()
    askers = send_questions(servers, range(1, 6), members=5)  # Postfix defers them
    servers.start_dovecot()  # and flushes Postfix

    wait_until(lambda: everyone_answered(servers, askers), SWEEP_DEADLINE, "5 acks and forwards")
    assert service.proc is not None and service.proc.poll() is None, "the daemon exited"
    wait_until(lambda: count(servers, "network") == 0, 30, "INBOX empty")
    assert count(servers, "network", "Processed") == 5
    assert service.logged("imap.watch_dropped") >= 1  # it did see the outage
    assert service.terminate() == 0
    wait_until(lambda: postfix_idle(servers), 30, "Postfix delivered everything")
    delivered = Delivered(servers, askers)
    delivered.assert_exactly_once()
    assert delivered.extra_copies() == 0
    assert_no_password(service)


@pytest.mark.slow
def test_smtp_outage_queues_replies_and_sends_each_once(service: Service) -> None:
    """Postfix stops under a running daemon: questions are handled; replies go when it is back."""
    servers = service.servers
    askers = append_questions(servers, range(1, 2), members=1)
    service.start()  # sends the first replies: its SMTP connections are open when Postfix stops
    wait_until(lambda: everyone_answered(servers, askers), 30, "the first ack and forward")

    servers.stop_postfix()
    askers.update(append_questions(servers, range(2, 7), members=6))
    wait_until(lambda: count(servers, "network") == 0, SWEEP_DEADLINE, "questions handled")
    assert count(servers, "network", "Processed") == 6
    assert service.query("SELECT count(*) FROM tickets") == [(6,)]
    wait_until(
        lambda: (
            service.query(
                "SELECT count(*) FROM outbox_recipients"
                " WHERE state = 'queued' AND attempts >= 1 AND last_error != ''"
            )
            == [(10,)]
        ),
        30,
        "10 replies queued after a temporary failure",
    )
    assert service.outbox_count("sent") == 2

    servers.start_postfix()
    # The daemon's "outbox" job wakes the outbox every 15 s for retries that came due.
    wait_until(lambda: service.outbox_count("queued") == 0, 60, "the outbox drained")
    assert service.outbox_count("failed") == 0
    wait_until(lambda: everyone_answered(servers, askers), 30, "every ack and forward")
    assert service.proc is not None and service.proc.poll() is None, "the daemon exited"
    assert service.terminate() == 0
    wait_until(lambda: postfix_idle(servers), 30, "Postfix delivered everything")
    delivered = Delivered(servers, askers)
    delivered.assert_exactly_once()
    assert delivered.extra_copies() == 0
    assert_no_password(service)


def test_inbox_loop_survives_a_database_error(
    clean_mail: MailServers,
    make_app: AppFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database error in an inbox cycle is logged and retried; the daemon keeps handling mail."""
    servers = clean_mail
    app = make_app()
    real = app.pipeline.process
    failures: list[int] = []

    def locked_once(*args: Any) -> Any:
        if not failures:
            failures.append(1)
            raise OperationalError("INSERT INTO inbound_mail", {}, Exception("database is locked"))
        return real(*args)

    monkeypatch.setattr(app.pipeline, "process", locked_once)
    askers = append_questions(servers, range(1, 3), members=2)
    daemon = Daemon(app)
    thread = threading.Thread(target=lambda: asyncio.run(daemon.run()), name="daemon")
    thread.start()
    try:
        wait_until(lambda: count(servers, "network") == 0, 30, "both questions handled")
        wait_until(lambda: everyone_answered(servers, askers), 30, "acks and forwards")
    finally:
        daemon.stop()
        thread.join(timeout=STOP_DEADLINE)
    assert not thread.is_alive()
    assert failures == [1]
    assert any(r.getMessage() == "inbox cycle failed; retrying" for r in caplog.records)
