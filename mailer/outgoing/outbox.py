"""The durable outbox: handlers enqueue in their own transaction, the sender drains.

Delivery takes a lease on a message's due recipients (``next_attempt_at`` pushed
into the future by one conditional UPDATE) before sending, so two daemons on one
database never send the same copy, and a daemon killed mid-send leaves rows that
come due again when the lease runs out. A row is marked sent right after the
server accepted it: the window in which a crash can cause a duplicate is the
time between the server's 250 and that commit.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


class Outbox:
    def __init__(self, db: Database, settings: OutboxSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def _lease(self, limit: int) -> list[Leased]:
        """Take up to ``limit`` due copies, grouped into SMTP transactions.

        The lease is a unique ``next_attempt_at`` in the future written by one
        conditional UPDATE: rows another daemon leased first keep their value, so
        reading back by that value yields exactly the rows this daemon owns.
        """
        now = self.clock.now()
        lease_until = now + LEASE + timedelta(microseconds=random.randrange(1, 999_999))
        with self.db.transaction() as session:
            ids = (
                session.execute(
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
            session.execute(
                update(OutboxRecipient)
                .where(
                    OutboxRecipient.id.in_(ids),
                    OutboxRecipient.state == "queued",
                    OutboxRecipient.next_attempt_at <= now,
                )
                .values(next_attempt_at=lease_until)
                .execution_options(synchronize_session=False)
            )
        with self.db.transaction() as session:
            rows = session.execute(
                select(
                    OutboxRecipient.id,
                    OutboxRecipient.message_pk,
                    OutboxRecipient.address,
                    OutboxRecipient.envelope_from,
                    OutboxRecipient.headers,
                ).where(OutboxRecipient.id.in_(ids), OutboxRecipient.next_attempt_at == lease_until)
            ).all()
            messages = {
                m.id: (m.envelope_from, m.raw)
                for m in session.execute(
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
            Leased(pk, envelope, headers.encode() + messages[pk][1], recipients)
            for (pk, envelope, headers), recipients in groups.items()
        ]

    def _record(self, leased: Leased, outcome: SendOutcome, stats: DrainStats) -> None:
        now = self.clock.now()
        with self.db.transaction() as session:
            sent = [leased.rows[a] for a in outcome.accepted if a in leased.rows]
            if sent:
                session.execute(
                    update(OutboxRecipient)
                    .where(OutboxRecipient.id.in_(sent))
                    .values(state="sent", sent_at=now, attempts=OutboxRecipient.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                stats.sent += len(sent)
            failed = {**outcome.temporary, **outcome.permanent}
            if not failed:
                return
            for row in session.scalars(
                select(OutboxRecipient).where(
                    OutboxRecipient.id.in_([leased.rows[a] for a in failed if a in leased.rows])
                )
            ):
                row.attempts += 1
                row.last_error = failed[row.address][:2000]
                if row.address in outcome.permanent or row.attempts >= self.settings.max_attempts:
                    row.state, row.failed_at = "failed", now
                    stats.failed += 1
                    log.warning(
                        "delivery failed for good",
                        extra={
                            "outbox": leased.message_pk,
                            "rcpt": row.address,
                            "error": row.last_error,
                        },
                    )
                else:
                    delay = min(
                        self.settings.first_retry_seconds * 2 ** (row.attempts - 1),
                        self.settings.max_retry_seconds,
                    )
                    row.next_attempt_at = now + timedelta(seconds=delay)
                    stats.retried += 1

    async def drain(
        self,
        sender: Sender,
        parallel: int = 8,
        batch: int = 500,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> DrainStats:
        """Send everything due now; returns when nothing due is left (or on stop)."""
        stats = DrainStats()
        while not should_stop():
            taken = await asyncio.to_thread(self._lease, batch)
            if not taken:
                return stats
            gate = asyncio.Semaphore(parallel)
            await asyncio.gather(*(self._send_one(sender, gate, item, stats) for item in taken))
        return stats

    async def _send_one(
        self, sender: Sender, gate: asyncio.Semaphore, item: Leased, stats: DrainStats
    ) -> None:
        # The gate is held until the outcome is committed: a copy the server accepted
        # but the database does not yet call sent is sent again after a crash, so at
        # most ``parallel`` copies may be in that state. Released right after the
        # send, sends ran ahead of the commits and hundreds piled up in between.
        async with gate:
            outcome = await sender.send(item.envelope_from, list(item.rows), item.data)
            await asyncio.to_thread(self._record, item, outcome, stats)
