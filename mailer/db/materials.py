"""The material bank: one row per filed attachment, its bytes in a content-addressed file.

The bytes live on disk under ``[paths] data`` (``materials/ab/abcdef…``, named by
their SHA-256), not in the database: a year of webinar slides would otherwise
bloat every backup of the mail state. The row's number (``id``) is what members
ask for ("lähetä 3") and never changes, so an index a member saved last month
still names the same items.

``delivery`` is the after-event mail to the event's registrants: ``pending``
until the event has ended and the mail is queued (``sent``) in the same
transaction, ``skipped`` when the event was cancelled, ``none`` for material
that is only indexed (no event, or filed long after it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.db.events import Event
from mailer.db.models import Base, UtcDateTime


class Material(Base):
    __tablename__ = "materials"
    __table_args__ = (Index("ix_materials_delivery", "delivery", "event_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True, index=True)
    sender: Mapped[str] = mapped_column(String(320))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_mail.id"), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    delivery: Mapped[str] = mapped_column(String(10), default="none")  # see the module doc
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    event: Mapped[Event | None] = relationship(lazy="joined")
