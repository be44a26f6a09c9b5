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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
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
    """Render and store a message and its recipients in the caller's transaction."""
    message_id, raw = compose(draft, network, now)
    row = OutboxMessage(
        message_id=message_id,
        kind=draft.kind,
        related=draft.related,
        envelope_from=envelope_from or network.address,
        raw=raw,
        automatic=draft.automatic,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.add_all(
        OutboxRecipient(
            message_pk=row.id,
            address=address,
            state="queued",
            attempts=0,
            next_attempt_at=now,
            last_error="",
        )
        for address in dict.fromkeys(a.lower() for a in draft.to)
    )
    return row


def automatic_replies_since(session: Session, address: str, since: datetime) -> int:
    """How many automatic replies went to ``address``: the per-sender flood limit."""
    return (
        session.scalar(
            select(func.count(OutboxRecipient.id))
            .join(OutboxMessage, OutboxRecipient.message_pk == OutboxMessage.id)
            .where(
                OutboxRecipient.address == address.lower(),
                OutboxMessage.automatic.is_(True),
                OutboxMessage.created_at >= since,
            )
        )
        or 0
    )


class Outbox:
    def __init__(self, db: Database, settings: OutboxSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def _lease(self, limit: int) -> list[tuple[int, str, bytes, list[str]]]:
        """Take up to ``limit`` due messages: (pk, envelope from, bytes, recipients)."""
        now = self.clock.now()
        taken: list[tuple[int, str, bytes, list[str]]] = []
        with self.db.transaction() as session:
            due = (
                session.execute(
                    select(OutboxRecipient.message_pk)
                    .where(
                        OutboxRecipient.state == "queued", OutboxRecipient.next_attempt_at <= now
                    )
                    .group_by(OutboxRecipient.message_pk)
                    .order_by(OutboxRecipient.message_pk)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        for pk in due:
            with self.db.transaction() as session:
                rows = session.execute(
                    select(OutboxRecipient.id, OutboxRecipient.address).where(
                        OutboxRecipient.message_pk == pk,
                        OutboxRecipient.state == "queued",
                        OutboxRecipient.next_attempt_at <= now,
                    )
                ).all()
                if not rows:
                    continue
                ids = [r.id for r in rows]
                result = session.execute(
                    update(OutboxRecipient)
                    .where(
                        OutboxRecipient.id.in_(ids),
                        OutboxRecipient.state == "queued",
                        OutboxRecipient.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=now + LEASE)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != len(ids):  # type: ignore[attr-defined]
                    session.rollback()
                    continue
                message = session.get_one(OutboxMessage, pk)
                taken.append((pk, message.envelope_from, message.raw, [r.address for r in rows]))
        return taken

    def _record(self, pk: int, outcome: SendOutcome, stats: DrainStats) -> None:
        now = self.clock.now()
        with self.db.transaction() as session:
            rows = session.execute(
                select(OutboxRecipient).where(
                    OutboxRecipient.message_pk == pk, OutboxRecipient.state == "queued"
                )
            ).scalars()
            for row in rows:
                if row.address in outcome.accepted:
                    row.state, row.sent_at = "sent", now
                    row.attempts += 1
                    stats.sent += 1
                elif row.address in outcome.permanent:
                    row.state, row.last_error = "failed", outcome.permanent[row.address]
                    row.attempts += 1
                    stats.failed += 1
                    log.warning(
                        "delivery failed for good",
                        extra={"outbox": pk, "rcpt": row.address, "error": row.last_error},
                    )
                elif row.address in outcome.temporary:
                    row.attempts += 1
                    row.last_error = outcome.temporary[row.address]
                    if row.attempts >= self.settings.max_attempts:
                        row.state = "failed"
                        stats.failed += 1
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
        batch: int = 200,
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
        self,
        sender: Sender,
        gate: asyncio.Semaphore,
        item: tuple[int, str, bytes, list[str]],
        stats: DrainStats,
    ) -> None:
        pk, envelope_from, raw, rcpts = item
        async with gate:
            outcome = await sender.send(envelope_from, rcpts, raw)
        await asyncio.to_thread(self._record, pk, outcome, stats)
