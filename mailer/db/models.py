"""The tables: the database is the source of truth for what happened and what is due.

Times are stored as naive UTC and handed back as aware UTC (``UtcDateTime``), so
SQLite and PostgreSQL behave the same and no local time ever reaches storage.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Small values the service generates once and keeps (e.g. the token secret)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Organisation(Base):
    """A municipality (or other body): members belong to one; it pays the yearly fee."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="member")  # member | former | prospect
    fee_paid_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Member(Base):
    """A person on the roster. Leaving the list keeps the row (history, ratings);
    erasing on request removes it."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True
    )
    language: Mapped[str] = mapped_column(String(2), default="fi")
    role: Mapped[str] = mapped_column(String(20), default="member")  # member | observer
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    delivery: Mapped[str] = mapped_column(String(10), default="each")  # each|daily|weekly|none
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    bounce_score: Mapped[float] = mapped_column(Float, default=0.0)
    last_bounce_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    probe_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    digest_cursor: Mapped[int] = mapped_column(Integer, default=0)  # last list post digested
    last_digest_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # the members' weekly update (mailer/weekly_digest.py): opted in, and when last sent
    weekly_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    last_weekly_digest_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def organisation_name(self) -> str:
        return self.organisation.name if self.organisation else ""

    @property
    def receives_posts(self) -> bool:
        return self.subscribed and self.disabled_at is None and self.delivery == "each"


class InboundMail(Base):
    """One claimed mailbox message; claiming it is what makes handling happen once."""

    __tablename__ = "inbound_mail"
    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_location"),
        UniqueConstraint("message_id", "delivered_to", name="uq_inbound_message_id"),
        Index("ix_inbound_sender", "sender", "claimed_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivered_to: Mapped[str] = mapped_column(String(320), default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # handled | filed | shunted
    handler: Mapped[str] = mapped_column(String(50), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(100), default="")
    # The per-sender flood limit (handlers/context.py): what an answered mail said, to
    # know a repeat, and whether its answer counted against the sender's daily limit.
    fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")
    rationed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_state", "state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    requester_email: Mapped[str] = mapped_column(String(320))
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | answered | closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Message-ID of the last mail we sent the requester: the thread to continue.
    last_member_message_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # question | followup | answer | note | ...
    author: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text, default="")
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_mail.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ticket: Mapped[Ticket] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A rendered message waiting for (or done with) delivery.

    The bytes and the Message-ID are fixed at enqueue, so every retry sends the
    very same message and a receiver can de-duplicate.
    """

    __tablename__ = "outbox_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    related: Mapped[str] = mapped_column(String(100), default="")
    envelope_from: Mapped[str] = mapped_column(String(320))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recipients: Mapped[list[OutboxRecipient]] = relationship(back_populates="message")


class OutboxRecipient(Base):
    """Delivery state per recipient, so a crash mid-way resends only the unaccepted."""

    __tablename__ = "outbox_recipients"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    # VERP: list mail is sent with a return path that names the member
    envelope_from: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # header lines only this copy carries (a personal List-Unsubscribe), prepended at send
    headers: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # for good
    message: Mapped[OutboxMessage] = relationship(back_populates="recipients")


class Bounce(Base):
    __tablename__ = "bounces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), nullable=True, index=True
    )
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_mail.id"), nullable=True)
    address: Mapped[str] = mapped_column(String(320), default="", index=True)
    permanent: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    verp_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobRun(Base):
    """One row per scheduled run that happened: what makes a job idempotent."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "due_key", name="uq_job_run"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    due_key: Mapped[str] = mapped_column(String(100))
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Request(Base):
    """Something that waits for a reply: a join to confirm or approve, an erasure to confirm.

    The reply is tied to it by the signed token in our Reply-To; the request says
    whose address must send that reply, so a token alone achieves nothing.
    """

    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # join | erase
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    # pending | awaiting-approval | done | declined | expired
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ListPost(Base):
    """Every post to the list, kept: held ones wait for the coordinator, accepted ones
    are the archive the digests are built from."""

    __tablename__ = "list_posts"
    __table_args__ = (Index("ix_list_posts_state", "state", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    author_email: Mapped[str] = mapped_column(String(320))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), nullable=True
    )
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(20))  # accepted | held | rejected | expired
    reasons: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class Ban(Base):
    """A sender whose posts are discarded silently: an address or ``@domain``."""

    __tablename__ = "bans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pattern: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
