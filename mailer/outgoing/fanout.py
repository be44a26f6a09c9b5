"""Queue one pre-rendered message for many recipients, each with its own envelope.

Rendering once and storing the bytes once keeps a post to 10,000 members cheap;
each recipient row carries its VERP return path and any personal header lines,
which the sender splices in front of the shared bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, make_msgid

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mailer.config import NetworkSettings
from mailer.db.models import OutboxMessage, OutboxRecipient
from mailer.outgoing.compose import Draft, compose, one_line

CHUNK = 2000


@dataclass(frozen=True)
class Copy:
    address: str
    envelope_from: str | None = None
    headers: str = ""


def enqueue_raw(
    session: Session,
    *,
    raw: bytes,
    message_id: str,
    kind: str,
    related: str,
    envelope_from: str,
    copies: Iterable[Copy],
    now: datetime,
    domain: str,
) -> OutboxMessage:
    taken = session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == message_id))
    if taken is not None:
        message_id = make_msgid(domain=domain)
    row = OutboxMessage(
        message_id=message_id,
        kind=kind,
        related=related,
        envelope_from=envelope_from,
        raw=raw,
        automatic=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    batch: list[dict[str, object]] = []
    for copy in copies:
        batch.append(
            {
                "message_pk": row.id,
                "address": copy.address.lower(),
                "envelope_from": copy.envelope_from,
                "headers": copy.headers,
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
            }
        )
        if len(batch) >= CHUNK:
            session.execute(insert(OutboxRecipient), batch)
            batch = []
    if batch:
        session.execute(insert(OutboxRecipient), batch)
    return row


def broadcast(
    session: Session,
    draft: Draft,
    people: Sequence[tuple[str, str]],
    network: NetworkSettings,
    now: datetime,
) -> OutboxMessage:
    """One message to many people: rendered once without To, each copy with its own To line.

    ``draft.to`` must be empty; ``people`` are (address, display name) pairs.
    """
    message_id, raw = compose(draft, network, now)
    return enqueue_raw(
        session,
        raw=raw,
        message_id=message_id,
        kind=draft.kind,
        related=draft.related,
        envelope_from=network.address,
        copies=[Copy(a, None, f"To: {formataddr((one_line(n), a))}\r\n") for a, n in people],
        now=now,
        domain=network.domain,
    )
