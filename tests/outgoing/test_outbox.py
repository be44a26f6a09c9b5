"""The outbox drain against a real SMTP server (aiosmtpd) and a real database.

Outcomes are committed in groups; these tests hold the promises that makes:
nothing is marked sent before the server accepted it, every outcome is recorded
per copy, a crash resends only what was accepted but not yet committed, and a
lease keeps a copy to one daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from mailer.clock import Clock
from mailer.config import OutboxSettings
from mailer.db.engine import Database
from mailer.db.models import OutboxRecipient
from mailer.outgoing.fanout import Copy, enqueue_raw
from mailer.outgoing.outbox import LEASE, LEASE_LEFT, DrainStats, Leased, Outbox, SendOutcome
from mailer.outgoing.smtp import SmtpSender

from .conftest import Server, message, smtp_settings

DOMAIN = "example.test"


def address(n: int) -> str:
    return f"jasen{n}@kunta{n % 7}.{DOMAIN}"


def verp(n: int) -> str:
    return f"verkosto+bounce-m{n}-{n * 7919:08x}@{DOMAIN}"


def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'mailer.db'}")
    db.upgrade()
    return db


def queue(db: Database, count: int, now: datetime | None = None) -> list[str]:
    """One list post to ``count`` members, each copy with its own return path and To."""
    with db.transaction() as session:
        enqueue_raw(
            session,
            raw=message(),
            message_id=f"<post-{count}@{DOMAIN}>",
            kind="list",
            related="",
            envelope_from=f"verkosto@{DOMAIN}",
            copies=[Copy(address(n), verp(n), f"To: {address(n)}\r\n") for n in range(count)],
            now=now or datetime.now(UTC),
            domain=DOMAIN,
        )
    return [address(n) for n in range(count)]


def rows(db: Database) -> dict[str, OutboxRecipient]:
    """Every recipient row as a fresh connection reads it: what was committed."""
    fresh = Database(db.url)
    try:
        with fresh.transaction() as session:
            return {r.address: r for r in session.scalars(select(OutboxRecipient))}
    finally:
        fresh.dispose()


def delivered(server: Server) -> Counter[str]:
    return Counter(r for received in server.handler.received for r in received.rcpt_tos)


def drain(
    outbox: Outbox, port: int, wrap: Callable[[SmtpSender], object] | None = None, **kw: object
) -> DrainStats:
    async def run() -> DrainStats:
        sender = SmtpSender(smtp_settings(port, connections=4))
        try:
            return await outbox.drain(wrap(sender) if wrap else sender, **kw)  # type: ignore[arg-type]
        finally:
            await sender.close()

    return asyncio.run(run())


class Wrapped:
    """The real SMTP sender with a test's own step before and after each send."""

    def __init__(
        self,
        inner: SmtpSender,
        before: Callable[[], Awaitable[None]] | None = None,
        after: Callable[[SendOutcome], None] | None = None,
    ) -> None:
        self.inner, self.before, self.after = inner, before, after

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> SendOutcome:
        if self.before is not None:
            await self.before()
        outcome = await self.inner.send(envelope_from, recipients, data)
        if self.after is not None:
            self.after(outcome)
        return outcome


def wrapping(
    before: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[SendOutcome], None] | None = None,
) -> Callable[[SmtpSender], Wrapped]:
    """``drain``'s ``wrap``: the sender it makes runs ``before`` and ``after`` each send."""
    return lambda inner: Wrapped(inner, before, after)


def test_every_copy_is_sent_once_and_committed(server: Server, tmp_path: Path) -> None:
    """Group-committed outcomes survive: a fresh connection sees every copy sent once."""
    db = database(tmp_path)
    addresses = queue(db, 300)

    stats = drain(Outbox(db, OutboxSettings(), Clock()), server.port, parallel=8, batch=70)

    assert stats == DrainStats(sent=300)
    assert delivered(server) == Counter(addresses)
    by_rcpt = {r.rcpt_tos[0]: r for r in server.handler.received}
    for n in (0, 150, 299):
        assert by_rcpt[address(n)].mail_from == verp(n)
        assert by_rcpt[address(n)].content.startswith(f"To: {address(n)}\r\n".encode())
    committed = rows(db)
    assert {r.state for r in committed.values()} == {"sent"}
    assert {r.attempts for r in committed.values()} == {1}
    assert all(r.sent_at is not None for r in committed.values())


def test_refusals_are_recorded_per_copy(server: Server, tmp_path: Path) -> None:
    """A 4xx waits for its retry and a 5xx fails for good, each for that copy alone."""
    db = database(tmp_path)
    addresses = queue(db, 40)
    server.handler.rcpt_replies = {
        address(3): "450 4.2.1 mailbox busy",
        address(7): "550 5.1.1 no such user",
    }
    clock = Clock()
    outbox = Outbox(db, OutboxSettings(first_retry_seconds=60), clock)

    stats = drain(outbox, server.port, parallel=4)

    assert stats == DrainStats(sent=38, retried=1, failed=1)
    committed = rows(db)
    busy, unknown = committed[address(3)], committed[address(7)]
    assert (busy.state, busy.attempts, busy.last_error) == ("queued", 1, "450 4.2.1 mailbox busy")
    assert busy.next_attempt_at > clock.now() + timedelta(seconds=50)
    assert (unknown.state, unknown.attempts) == ("failed", 1)
    assert unknown.last_error == "550 5.1.1 no such user"
    assert unknown.failed_at is not None
    assert sum(r.state == "sent" for r in committed.values()) == 38
    assert set(delivered(server)) == set(addresses) - {address(3), address(7)}

    server.handler.rcpt_replies = {}
    clock.advance(timedelta(minutes=2))
    assert drain(outbox, server.port) == DrainStats(sent=1)
    assert rows(db)[address(3)].state == "sent"


def test_unrecorded_copies_stay_within_the_bound(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However slow the database, at most `unrecorded` copies are accepted but not committed."""
    db = database(tmp_path)
    queue(db, 60)
    outbox = Outbox(db, OutboxSettings(), Clock())
    lock = threading.Lock()
    state = {"unrecorded": 0, "peak": 0, "commits": 0}

    def count_accepted(outcome: SendOutcome) -> None:
        with lock:
            state["unrecorded"] += len(outcome.accepted)
            state["peak"] = max(state["peak"], state["unrecorded"])

    record = outbox._record

    def busy_database(done: Sequence[tuple[Leased, SendOutcome]], stats: DrainStats) -> None:
        time.sleep(0.05)  # a database busy with the inbox as well
        record(done, stats)
        with lock:
            state["unrecorded"] -= sum(len(outcome.accepted) for _, outcome in done)
            state["commits"] += 1

    monkeypatch.setattr(outbox, "_record", busy_database)

    stats = drain(
        outbox, server.port, wrapping(after=count_accepted), parallel=8, unrecorded=6, group=3
    )

    assert stats.sent == 60
    assert state["peak"] <= 6, f"{state['peak']} copies accepted but not yet recorded"
    assert state["commits"] < 60, "outcomes were committed one by one"
    assert delivered(server) == Counter(address(n) for n in range(60))


def test_stop_hands_back_what_was_not_sent(server: Server, tmp_path: Path) -> None:
    """Stopping mid-drain commits what was accepted and leaves the rest due at once."""
    db = database(tmp_path)
    addresses = queue(db, 50)
    outbox = Outbox(db, OutboxSettings(), Clock())
    sends = Counter[str]()

    async def count() -> None:
        sends["n"] += 1

    first = drain(
        outbox, server.port, wrapping(count), parallel=2, should_stop=lambda: sends["n"] >= 5
    )

    assert first.sent == sends["n"] < 50
    committed = rows(db)
    assert sum(r.state == "sent" for r in committed.values()) == first.sent
    now = datetime.now(UTC)
    assert all(r.next_attempt_at <= now for r in committed.values() if r.state == "queued")

    second = drain(outbox, server.port)  # the same moment: nothing waits for a lease

    assert first.sent + second.sent == 50
    assert delivered(server) == Counter(addresses)


def test_stop_during_a_lease_ends_the_drain(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop that comes while the next batch is being leased ends the drain (SIGTERM in a
    fan-out must not hang the daemon); that batch is handed back due at once."""
    db = database(tmp_path)
    addresses = queue(db, 40)
    outbox = Outbox(db, OutboxSettings(), Clock())
    leased = Counter[str]()
    lease = outbox._lease

    def slow_lease(limit: int) -> list[Leased]:
        leased["n"] += 1
        taken = lease(limit)
        time.sleep(0.3)  # the stop comes while this is under way
        return taken

    monkeypatch.setattr(outbox, "_lease", slow_lease)

    async def run() -> DrainStats:
        sender = SmtpSender(smtp_settings(server.port, connections=2))
        try:
            return await asyncio.wait_for(
                outbox.drain(sender, parallel=2, batch=10, should_stop=lambda: leased["n"] >= 2),
                30,
            )
        finally:
            await sender.close()

    first = asyncio.run(run())

    assert 0 < first.sent < 40
    now = datetime.now(UTC)
    assert all(r.next_attempt_at <= now for r in rows(db).values() if r.state == "queued")
    second = drain(outbox, server.port)
    assert first.sent + second.sent == 40
    assert delivered(server) == Counter(addresses)


def test_a_failing_send_still_commits_what_was_accepted(server: Server, tmp_path: Path) -> None:
    """An unexpected error ends the drain, but only after the accepted copies are committed."""
    db = database(tmp_path)
    addresses = queue(db, 40)
    outbox = Outbox(db, OutboxSettings(), Clock())
    sends = Counter[str]()

    async def break_at_ten() -> None:
        sends["n"] += 1
        if sends["n"] == 10:
            raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        drain(outbox, server.port, wrapping(break_at_ten), parallel=1)

    committed = rows(db)
    assert sum(r.state == "sent" for r in committed.values()) == 9 == len(server.handler.received)
    later = Outbox(db, OutboxSettings(), Clock(LEASE + timedelta(minutes=1)))
    assert drain(later, server.port) == DrainStats(sent=31)
    assert delivered(server) == Counter(addresses)


def test_a_failed_commit_resends_only_uncommitted_copies(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails a commit: the drain stops; only copies not yet committed go again."""
    db = database(tmp_path)
    addresses = queue(db, 40)
    outbox = Outbox(db, OutboxSettings(), Clock())
    record = outbox._record

    def failing_after_ten(done: Sequence[tuple[Leased, SendOutcome]], stats: DrainStats) -> None:
        if stats.sent >= 10:
            raise OSError("disk I/O error")
        record(done, stats)

    monkeypatch.setattr(outbox, "_record", failing_after_ten)

    with pytest.raises(OSError, match="disk I/O error"):
        drain(outbox, server.port, parallel=2, unrecorded=4, group=2)

    accepted = set(delivered(server))
    committed = {a for a, r in rows(db).items() if r.state == "sent"}
    assert committed < accepted
    assert len(accepted - committed) <= 4
    later = Outbox(db, OutboxSettings(), Clock(LEASE + timedelta(minutes=1)))
    drain(later, server.port)
    counts = delivered(server)
    assert set(counts) == set(addresses)
    assert {a for a, n in counts.items() if n > 1} == accepted - committed
    assert {r.state for r in rows(db).values()} == {"sent"}


def test_a_lost_cancellation_does_not_keep_the_drain_waiting(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender that swallows its cancellation (Python 3.11's wait_for can) still stops."""
    db = database(tmp_path)
    queue(db, 40)
    outbox = Outbox(db, OutboxSettings(), Clock())
    record = outbox._record
    state = {"sends": 0, "failed_at": 0}

    def failing_after_four(done: Sequence[tuple[Leased, SendOutcome]], stats: DrainStats) -> None:
        if stats.sent >= 4:
            state["failed_at"] = state["sends"]
            raise OSError("disk I/O error")
        record(done, stats)

    monkeypatch.setattr(outbox, "_record", failing_after_four)

    async def deaf() -> None:
        state["sends"] += 1
        # Lost, as asyncio.wait_for on Python 3.11 sometimes loses a cancellation.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)

    async def run() -> None:
        sender = SmtpSender(smtp_settings(server.port, connections=4))
        try:
            drained = outbox.drain(Wrapped(sender, deaf), parallel=4, unrecorded=4, group=2)
            await asyncio.wait_for(drained, timeout=60)  # a deadline, not a measurement
        finally:
            await sender.close()

    with pytest.raises(OSError, match="disk I/O error"):
        asyncio.run(run())
    assert state["sends"] <= state["failed_at"] + 4, "senders went on after the drain failed"


def test_copy_whose_lease_ran_low_is_not_sent(server: Server, tmp_path: Path) -> None:
    """A copy is sent only while its lease has time left; the rest go in the next drain."""
    db = database(tmp_path)
    addresses = queue(db, 10)
    clock = Clock()
    outbox = Outbox(db, OutboxSettings(), clock)

    def take_most_of_the_lease(_outcome: SendOutcome) -> None:
        clock.advance(LEASE - LEASE_LEFT + timedelta(seconds=1))

    first = drain(outbox, server.port, wrapping(after=take_most_of_the_lease), parallel=1)

    assert first == DrainStats(sent=1)
    assert drain(outbox, server.port) == DrainStats(sent=9)
    assert delivered(server) == Counter(addresses)


def test_summary_per_batch_at_info_and_each_copy_at_debug(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A mail engineer's log: one INFO line per leased batch, a line per copy only at DEBUG."""
    db = database(tmp_path)
    queue(db, 25)
    outbox = Outbox(db, OutboxSettings(), Clock())

    with caplog.at_level(logging.INFO, logger="mailer"):
        drain(outbox, server.port, batch=10)

    assert not [r for r in caplog.records if r.getMessage() == "message sent"]
    summaries = [r.__dict__ for r in caplog.records if r.getMessage() == "outbox batch done"]
    assert {r.levelno for r in caplog.records if r.getMessage() == "outbox batch done"} == {
        logging.INFO
    }
    assert sorted((s["batch"], s["transactions"], s["accepted"]) for s in summaries) == [
        (1, 10, 10),
        (2, 10, 10),
        (3, 5, 5),
    ]

    caplog.clear()
    queue(db, 3, now=datetime.now(UTC))
    with caplog.at_level(logging.DEBUG, logger="mailer.smtp"):
        drain(outbox, server.port)
    assert [r.getMessage() for r in caplog.records if r.name == "mailer.smtp"].count(
        "message sent"
    ) == 3


CHILD = """
import asyncio, sys
from mailer.clock import Clock
from mailer.config import OutboxSettings, SmtpSettings
from mailer.db.engine import Database
from mailer.outgoing.outbox import Outbox
from mailer.outgoing.smtp import SmtpSender

async def main():
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=int(sys.argv[2]), auth="none"))
    await Outbox(Database(sys.argv[1]), OutboxSettings(), Clock()).drain(sender)

asyncio.run(main())
"""


@pytest.mark.slow
def test_crash_resends_only_copies_accepted_but_not_committed(
    server: Server, tmp_path: Path
) -> None:
    """SIGKILL mid-drain: a copy goes twice only if its 250 came but its commit had not."""
    db = database(tmp_path)
    addresses = queue(db, 400)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db.url, str(server.port)],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(server.handler.received) < 150:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the drain did not get going"
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stderr is not None:
            child.stderr.close()
    accepted = set(delivered(server))
    committed = {a for a, r in rows(db).items() if r.state == "sent"}
    assert committed <= accepted, "a copy was marked sent before the server accepted it"

    # The dead drain's leases run out; a new daemon sends what it left.
    later = Outbox(db, OutboxSettings(), Clock(LEASE + timedelta(minutes=1)))
    drain(later, server.port)

    counts = delivered(server)
    assert set(counts) == set(addresses), "a copy was lost"
    twice = {a for a, n in counts.items() if n > 1}
    assert max(counts.values()) <= 2
    assert twice <= accepted - committed, "a committed copy was sent again"
    assert len(twice) <= 64  # UNRECORDED transactions of one copy each
    assert {r.state for r in rows(db).values()} == {"sent"}


LEASE_UPDATE = "UPDATE OUTBOX_RECIPIENTS SET NEXT_ATTEMPT_AT"


def _meet_before_first_lease(db: Database, barrier: threading.Barrier) -> None:
    """Hold this daemon's first lease UPDATE until the other daemon has reached its own.

    Both have then read the same due rows, so only the lease itself can keep them
    from sending the same copies.
    """
    met = threading.Event()

    @event.listens_for(db.engine, "before_cursor_execute")
    def meet(*args: object) -> None:
        statement = str(args[2]).lstrip().upper()
        if (
            statement.startswith("UPDATE OUTBOX_RECIPIENTS SET NEXT_ATTEMPT_AT")
            and not met.is_set()
        ):
            met.set()
            barrier.wait(timeout=30)


@pytest.mark.postgres
def test_two_daemons_never_send_the_same_copy(server: Server, postgres_url: str) -> None:
    """Two drains on one PostgreSQL database race for the same rows: each copy goes once."""
    first, second = Database(postgres_url), Database(postgres_url)
    barrier = threading.Barrier(2)
    try:
        first.upgrade()
        addresses = queue(first, 600)
        for db in (first, second):
            _meet_before_first_lease(db, barrier)

        async def both() -> list[DrainStats]:
            senders = [SmtpSender(smtp_settings(server.port, connections=4)) for _ in range(2)]
            try:
                return list(
                    await asyncio.gather(
                        *(
                            Outbox(db, OutboxSettings(), Clock()).drain(sender, batch=50)
                            for db, sender in zip((first, second), senders, strict=True)
                        )
                    )
                )
            finally:
                for sender in senders:
                    await sender.close()

        stats = asyncio.run(both())

        assert stats[0].sent + stats[1].sent == 600
        assert delivered(server) == Counter(addresses)
        assert {r.state for r in rows(first).values()} == {"sent"}
    finally:
        first.dispose()
        second.dispose()
