"""Events: webinars and seminars, who was invited, who registered, reminders and feedback.

An event is created as a draft (a coordinator's form waiting for ``LÄHETÄ``, or
``mailer events create --draft``) and becomes ``open`` when its invitations are
queued; ``cancelled`` is final. Every scheduled mail about an event has a row
whose state changes in the same transaction as the mail is queued (a reminder's
``state``, the event's ``feedback_sent_at`` and ``summary_sent_at``), which is
what keeps the jobs from ever sending anything twice.

Ratings are stored in half points (``rating_halves`` 2..10) so no decimal type
has to round-trip through SQLite.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.db.models import Base, UtcDateTime


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # iCalendar identity: the UID never changes, SEQUENCE grows with every update
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10))  # webinar | seminar
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    place: Mapped[str] = mapped_column(String(500), default="")
    link: Mapped[str] = mapped_column(String(1000), default="")
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no limit
    question: Mapped[str] = mapped_column(Text, default="")  # e.g. "Ruokavalio?"
    audience_members: Mapped[bool] = mapped_column(Boolean, default=True)
    audience_extra: Mapped[str] = mapped_column(Text, default="")  # one address a line
    feedback_at: Mapped[datetime] = mapped_column(UtcDateTime)
    feedback_closes_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(10), default="draft")  # draft | open | cancelled
    # the coordinator who sent the form; "" (CLI) means every configured coordinator
    coordinator: Mapped[str] = mapped_column(String(320), default="")
    # changes or a cancellation by mail, waiting for the coordinator's LÄHETÄ (JSON)
    pending: Mapped[str] = mapped_column(Text, default="")
    invited: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    invitations_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    feedback_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    summary_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reminders: Mapped[list[EventReminder]] = relationship(
        order_by="EventReminder.due_at", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def is_webinar(self) -> bool:
        return self.kind == "webinar"

    @property
    def extra_addresses(self) -> list[str]:
        return [a for a in self.audience_extra.split() if a]


class EventReminder(Base):
    """One reminder of an event's schedule: ``pending`` until sent or no longer useful."""

    __tablename__ = "event_reminders"
    __table_args__ = (
        UniqueConstraint("event_id", "kind", "minutes_before", name="uq_event_reminder"),
        Index("ix_event_reminders_due", "state", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # reminder | link
    minutes_before: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | skipped
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Invitation(Base):
    """An address the event was sent to; its id is in the reply token of every mail
    that address gets about the event, so a reply names the event and the invitee."""

    __tablename__ = "event_invitations"
    __table_args__ = (UniqueConstraint("event_id", "address", name="uq_event_invitation"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), nullable=True
    )
    language: Mapped[str] = mapped_column(String(2))
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # the last SEQUENCE sent here
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Registration(Base):
    """One person's answer to an event: registered, on the waitlist, cancelled or declined."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "email", name="uq_event_registration"),
        Index("ix_event_registrations_state", "event_id", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    # the person's own invitation (made on registering for one who answered a list's copy)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("event_invitations.id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), nullable=True
    )
    language: Mapped[str] = mapped_column(String(2))
    # registered | waitlisted | cancelled | declined
    state: Mapped[str] = mapped_column(String(10))
    answer: Mapped[str] = mapped_column(Text, default="")  # to the event's question
    source: Mapped[str] = mapped_column(String(10), default="reply")  # reply | calendar
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # the waitlist is served in this order, not by waitlisted_at: clocks of several
    # daemons, or runs started with the same --now, can give a later arrival an
    # earlier time; one more than the event's last number never goes backwards
    waitlist_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Feedback(Base):
    """One feedback reply as read: the rating (if one was clearly given) and the free text.

    The registration's rating is the one in its latest reply that had one; the
    text of every reply is kept.
    """

    __tablename__ = "event_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    rating_halves: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 2..10
    status: Mapped[str] = mapped_column(String(10))  # ok | clarify | none
    reason: Mapped[str] = mapped_column(String(20), default="")
    best: Mapped[str] = mapped_column(Text, default="")
    improve: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def rating(self) -> Decimal | None:
        return None if self.rating_halves is None else Decimal(self.rating_halves) / 2
