"""The durable outbox: handlers enqueue in their own transaction, the sender drains.

Delivery takes a lease on a batch of due recipients (``next_attempt_at`` pushed
into the future by one conditional UPDATE) before sending, so two daemons on one
database never send the same copy, and a daemon killed mid-send leaves rows that
come due again when the lease runs out. The next batch is leased while the
current one is being sent, so the database and the network work side by side.

A row is marked sent only after the server accepted it, and outcomes are
committed in groups: one commit per copy was the whole cost of a large list
post. The group is bounded: a sender may start an SMTP transaction only while
fewer than ``unrecorded`` transactions are accepted (or under way) but not
committed, and waiting outcomes are committed once ``group`` of them wait,
``GROUP_WAIT`` after the first of them, or at once when nothing else is being
sent. A crash at any instant therefore resends at most ``unrecorded``
transactions: those whose 250 had come but whose commit had not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.clock import Clock
from mailer.config import NetworkSettings, OutboxSettings
from mailer.db.engine import Database
from mailer.db.models import OutboxMessage, OutboxRecipient
from mailer.outgoing.compose import Draft, compose

log = logging.getLogger("mailer.outbox")

LEASE = timedelta(minutes=5)
# A leased copy is sent only while at least this much of its lease is left: its
# transaction must end before another daemon may take the row. Copies whose
# lease ran low while earlier ones were being sent (a slow server) are handed
# back and leased afresh.
LEASE_LEFT = timedelta(minutes=2)
# Group commit of outcomes (see the module docstring). 64 transactions in the
# air keep 8 connections busy through a commit; 32 per commit make its cost
# per copy small.
UNRECORDED = 64
GROUP = 32
GROUP_WAIT = 0.02  # seconds
# Rows per IN (...) list: far below SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


class SendOutcome(Protocol):
    @property
    def accepted(self) -> tuple[str, ...]: ...

    @property
    def temporary(self) -> dict[str, str]: ...

    @property
    def permanent(self) -> dict[str, str]: ...


class Sender(Protocol):
    async def send(
        self, envelope_from: str, recipients: Sequence[str], data: bytes
    ) -> SendOutcome: ...


@dataclass
class DrainStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def enqueue(
    session: Session,
    draft: Draft,
    network: NetworkSettings,
    now: datetime,
    envelope_from: str | None = None,
) -> OutboxMessage:
    """Render and store a message and its recipients in the caller's transaction.

    No flush here: the rows go in with the transaction's next flush, which keeps
    the ingest path at one round of INSERTs per message handled.
    """
    message_id, raw = compose(draft, network, now)
    row = OutboxMessage(
        message_id=message_id,
        kind=draft.kind,
        related=draft.related,
        envelope_from=envelope_from or network.address,
        raw=raw,
        automatic=draft.automatic,
        created_at=now,
        recipients=[
            OutboxRecipient(
                address=address,
                state="queued",
                attempts=0,
                next_attempt_at=now,
                last_error="",
            )
            for address in dict.fromkeys(a.lower() for a in draft.to)
        ],
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class Leased:
    """One SMTP transaction: recipients sharing a message, a return path and headers."""

    message_pk: int
    envelope_from: str
    data: bytes
    rows: dict[str, int]  # recipient address -> outbox_recipients.id
    lease_until: datetime  # the rows' next_attempt_at while this daemon owns them


class Outbox:
    def __init__(self, db: Database, settings: OutboxSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def _lease(self, limit: int) -> list[Leased]:
        """Take up to ``limit`` due copies, grouped into SMTP transactions.

        The lease is a unique ``next_attempt_at`` in the future written by one
        conditional UPDATE: rows another daemon leased first keep their value, so
        reading back by that value yields exactly the rows this daemon owns. The
        rows are named by the range of the first ``limit`` due ids rather than a
        list of them (every due row in the range is one of them, and the
        conditions keep out any other): two lists of 500 ids were most of a
        lease's cost.
        """
        now = self.clock.now()
        lease_until = now + LEASE + timedelta(microseconds=random.randrange(1, 999_999))
        with self.db.engine.begin() as conn:
            ids = (
                conn.execute(
                    select(OutboxRecipient.id)
                    .where(
                        OutboxRecipient.state == "queued", OutboxRecipient.next_attempt_at <= now
                    )
                    .order_by(OutboxRecipient.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            if not ids:
                return []
            taken = OutboxRecipient.id.between(ids[0], ids[-1])
            conn.execute(
                update(OutboxRecipient)
                .where(
                    taken,
                    OutboxRecipient.state == "queued",
                    OutboxRecipient.next_attempt_at <= now,
                )
                .values(next_attempt_at=lease_until)
            )
        with self.db.engine.begin() as conn:
            rows = conn.execute(
                select(
                    OutboxRecipient.id,
                    OutboxRecipient.message_pk,
                    OutboxRecipient.address,
                    OutboxRecipient.envelope_from,
                    OutboxRecipient.headers,
                ).where(
                    taken,
                    OutboxRecipient.state == "queued",
                    OutboxRecipient.next_attempt_at == lease_until,
                )
            ).all()
            messages = {
                m.id: (m.envelope_from, m.raw)
                for m in conn.execute(
                    select(OutboxMessage.id, OutboxMessage.envelope_from, OutboxMessage.raw).where(
                        OutboxMessage.id.in_({r.message_pk for r in rows})
                    )
                )
            }
        groups: dict[tuple[int, str, str], dict[str, int]] = {}
        for row in rows:
            envelope = row.envelope_from or messages[row.message_pk][0]
            groups.setdefault((row.message_pk, envelope, row.headers), {})[row.address] = row.id
        return [
            Leased(pk, envelope, headers.encode() + messages[pk][1], recipients, lease_until)
            for (pk, envelope, headers), recipients in groups.items()
        ]

    def _release(self, items: Sequence[Leased]) -> None:
        """Hand back leased copies that were not sent, so they are due again at once.

        Only rows still carrying this daemon's lease are touched.
        """
        now = self.clock.now()
        by_lease: dict[datetime, list[int]] = {}
        for item in items:
            by_lease.setdefault(item.lease_until, []).extend(item.rows.values())
        with self.db.transaction() as session:
            for lease_until, ids in by_lease.items():
                for start in range(0, len(ids), CHUNK):
                    session.execute(
                        update(OutboxRecipient)
                        .where(
                            OutboxRecipient.id.in_(ids[start : start + CHUNK]),
                            OutboxRecipient.state == "queued",
                            OutboxRecipient.next_attempt_at == lease_until,
                        )
                        .values(next_attempt_at=now)
                        .execution_options(synchronize_session=False)
                    )

    def _record(self, done: Sequence[tuple[Leased, SendOutcome]], stats: DrainStats) -> None:
        """Commit the outcomes of many transactions at once; per copy where one failed."""
        now = self.clock.now()
        sent = [item.rows[a] for item, outcome in done for a in outcome.accepted if a in item.rows]
        failed: dict[int, tuple[str, bool]] = {}  # row id -> (reason, permanent)
        for item, outcome in done:
            for address, reason in outcome.temporary.items():
                if address in item.rows:
                    failed[item.rows[address]] = (reason, False)
            for address, reason in outcome.permanent.items():
                if address in item.rows:
                    failed[item.rows[address]] = (reason, True)
        retried = given_up = 0
        # Core, not the ORM: with thousands of copies a minute the session's own
        # bookkeeping cost more than the UPDATE it wrapped.
        with self.db.engine.begin() as conn:
            for start in range(0, len(sent), CHUNK):
                conn.execute(
                    update(OutboxRecipient)
                    .where(OutboxRecipient.id.in_(sent[start : start + CHUNK]))
                    .values(state="sent", sent_at=now, attempts=OutboxRecipient.attempts + 1)
                )
            ids = list(failed)
            for start in range(0, len(ids), CHUNK):
                rows = conn.execute(
                    select(
                        OutboxRecipient.id,
                        OutboxRecipient.message_pk,
                        OutboxRecipient.address,
                        OutboxRecipient.attempts,
                    ).where(OutboxRecipient.id.in_(ids[start : start + CHUNK]))
                ).all()
                for row in rows:
                    reason, permanent = failed[row.id]
                    attempts = row.attempts + 1
                    values: dict[str, object] = {"attempts": attempts, "last_error": reason[:2000]}
                    if permanent or attempts >= self.settings.max_attempts:
                        values.update(state="failed", failed_at=now)
                        given_up += 1
                        log.warning(
                            "delivery failed for good",
                            extra={
                                "outbox": row.message_pk,
                                "rcpt": row.address,
                                "error": values["last_error"],
                            },
                        )
                    else:
                        delay = min(
                            self.settings.first_retry_seconds * 2 ** (attempts - 1),
                            self.settings.max_retry_seconds,
                        )
                        values["next_attempt_at"] = now + timedelta(seconds=delay)
                        retried += 1
                    conn.execute(
                        update(OutboxRecipient).where(OutboxRecipient.id == row.id).values(values)
                    )
        stats.sent += len(sent)
        stats.retried += retried
        stats.failed += given_up

    async def drain(
        self,
        sender: Sender,
        parallel: int = 8,
        batch: int = 500,
        should_stop: Callable[[], bool] = lambda: False,
        unrecorded: int = UNRECORDED,
        group: int = GROUP,
    ) -> DrainStats:
        """Send everything due now; returns when nothing due is left (or on stop).

        ``parallel`` transactions are sent at once, at most ``unrecorded`` are
        accepted but not yet committed (the most a crash can resend), and
        outcomes are committed ``group`` at a time (see the module docstring).
        """
        if not 1 <= group <= unrecorded:
            raise ValueError("need 1 <= group <= unrecorded")
        return await _Drain(self, sender, parallel, batch, should_stop, unrecorded, group).run()


@dataclass
class _Batch:
    """One lease's progress, for its summary line in the log."""

    number: int
    transactions: int
    started: float = field(default_factory=time.monotonic)
    left: int = 0
    accepted: int = 0
    refused: int = 0
    handed_back: int = 0

    def __post_init__(self) -> None:
        self.left = self.transactions


class _Drain:
    """One ``Outbox.drain``: a leasing task, ``parallel`` senders and one recorder.

    Everything runs on the event loop; the database work goes to worker threads
    so that a busy database never stalls the SMTP connections.
    """

    def __init__(
        self,
        outbox: Outbox,
        sender: Sender,
        parallel: int,
        batch: int,
        should_stop: Callable[[], bool],
        unrecorded: int,
        group: int,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.parallel = parallel
        self.batch = batch
        self.should_stop = should_stop
        self.group = group
        self.stats = DrainStats()
        self.items: deque[tuple[_Batch, Leased]] = deque()
        self.more = asyncio.Event()  # items were added, or leasing has ended
        self.hungry = asyncio.Event()  # few items left: time to lease the next batch
        self.hungry.set()
        self.leasing_done = False
        self.in_flight = 0
        self.room = asyncio.Semaphore(unrecorded)
        self.waiting: list[tuple[_Batch, Leased, SendOutcome]] = []
        self.first_waiting = 0.0
        self.wake = asyncio.Event()  # for the recorder
        self.stopped = False
        self.aborted = False
        self.closing = False
        self.handed_back: list[Leased] = []

    async def run(self) -> DrainStats:
        leasing = asyncio.create_task(self._lease_ahead())
        recorder = asyncio.create_task(self._recorder())
        senders = [asyncio.create_task(self._send()) for _ in range(self.parallel)]
        try:
            pending: set[asyncio.Task[None]] = {*senders, recorder}
            while pending != {recorder}:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a sender's error, or the recorder's failed commit
            await self._stop_leasing(leasing)
            await self._close(recorder)
        finally:
            # Only after an error: each step is a no-op once done above. The flag
            # and the wake-ups are for a sender whose cancellation was lost (on
            # Python 3.11 asyncio.wait_for, which aiosmtplib uses, can swallow one
            # that comes as the reply does): it must not wait for room forever.
            self.aborted = True
            for task in senders:
                task.cancel()
            for _ in senders:
                self.room.release()
            self.more.set()
            await asyncio.gather(*senders, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._stop_leasing(leasing)
            if not recorder.done():
                with contextlib.suppress(Exception):
                    await self._close(recorder)
            await self._hand_back_unsent()
        return self.stats

    async def _stop_leasing(self, leasing: asyncio.Task[None]) -> None:
        """Let a lease under way finish (its rows are handed back), then end the task."""
        self.stopped = True
        self.hungry.set()
        await leasing

    async def _close(self, recorder: asyncio.Task[None]) -> None:
        """Commit every outcome still waiting, then end the recorder."""
        self.closing = True
        self.wake.set()
        await recorder

    async def _hand_back_unsent(self) -> None:
        leftover = [item for _, item in self.items] + self.handed_back
        if not leftover:
            return
        copies = sum(len(item.rows) for item in leftover)
        log.info("outbox handing back unsent copies", extra={"copies": copies})
        try:
            await asyncio.to_thread(self.outbox._release, leftover)
        except Exception:
            # Not lost: the rows come due again when their lease runs out.
            log.warning("could not hand back unsent copies", exc_info=True)

    async def _lease_ahead(self) -> None:
        """Keep the senders fed, leasing the next batch while the current one goes out."""
        number = 0
        try:
            while True:
                await self.hungry.wait()
                if self.stopped or self.should_stop():
                    return
                taken = await asyncio.to_thread(self.outbox._lease, self.batch)
                if not taken:
                    return
                number += 1
                batch = _Batch(number, len(taken))
                self.items.extend((batch, item) for item in taken)
                if self.stopped:
                    # Stopping came while this lease was under way: nobody will ask
                    # for more, so waiting for hunger again would never end. The
                    # rows just taken are handed back with the rest.
                    return
                self.hungry.clear()
                self.more.set()
        finally:
            self.leasing_done = True
            self.more.set()

    async def _send(self) -> None:
        low_water = max(self.parallel, self.batch // 2)
        while not (self.aborted or self.should_stop()):
            if not self.items:
                if self.leasing_done:
                    return
                self.hungry.set()
                self.more.clear()
                await self.more.wait()
                continue
            await self.room.acquire()
            if self.aborted or self.should_stop() or not self.items:
                self.room.release()
                continue
            batch, item = self.items.popleft()
            if len(self.items) < low_water:
                self.hungry.set()
            if item.lease_until - self.outbox.clock.now() < LEASE_LEFT:
                self.room.release()
                self._hand_back(batch, item)
                continue
            self.in_flight += 1
            try:
                outcome = await self.sender.send(item.envelope_from, list(item.rows), item.data)
            except BaseException:
                # Cancelled or failed mid-send: whether the server took the copy is
                # unknown, so its rows keep the lease and go again when it runs out.
                self.room.release()
                raise
            finally:
                self.in_flight -= 1
            self.waiting.append((batch, item, outcome))
            if len(self.waiting) == 1:
                self.first_waiting = time.monotonic()
            if len(self.waiting) in (1, self.group) or self._idle():
                self.wake.set()

    def _idle(self) -> bool:
        """Nothing is being sent and nothing is left to send: commit without waiting."""
        return self.in_flight == 0 and not self.items

    def _hand_back(self, batch: _Batch, item: Leased) -> None:
        self.handed_back.append(item)
        batch.handed_back += len(item.rows)
        self._done(batch)

    async def _recorder(self) -> None:
        while True:
            if not self.waiting:
                if self.closing:
                    return
                await self.wake.wait()
                self.wake.clear()
                continue
            if not (len(self.waiting) >= self.group or self.closing or self._idle()):
                # Gather more outcomes for this commit, but not for long.
                left = self.first_waiting + GROUP_WAIT - time.monotonic()
                self.wake.clear()
                if left > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), left)
            self.wake.clear()
            done, self.waiting = self.waiting, []
            await asyncio.to_thread(
                self.outbox._record, [(item, outcome) for _, item, outcome in done], self.stats
            )
            for batch, _item, outcome in done:
                self.room.release()
                batch.accepted += len(outcome.accepted)
                batch.refused += len(outcome.temporary) + len(outcome.permanent)
                self._done(batch)

    def _done(self, batch: _Batch) -> None:
        batch.left -= 1
        if batch.left == 0:
            log.info(
                "outbox batch done",
                extra={
                    "batch": batch.number,
                    "transactions": batch.transactions,
                    "accepted": batch.accepted,
                    "refused": batch.refused,
                    "handed_back": batch.handed_back,
                    "seconds": round(time.monotonic() - batch.started, 3),
                },
            )
