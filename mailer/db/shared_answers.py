"""Shared answers: a ticket's question and answer, anonymised, published to the list.

A row starts as the coordinator's ``preview`` (what would go out, after any
corrections); only the coordinator's ``LÄHETÄ`` in reply to that preview makes
it ``published``, as a list post (``list_post_id``), so the members' digests
and the archive carry it like any other post. A newer preview of the same
ticket makes the older one ``replaced``, so confirming a stale preview can
never publish words the coordinator has since corrected. A preview older than
``[list] hold_expiry_days`` is no longer confirmed (see the handler).

The text here is the anonymised text; the member's own words stay in the
ticket's events, which the member's erasure request clears.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.db.models import Base, Ticket, UtcDateTime


class SharedAnswer(Base):
    __tablename__ = "shared_answers"
    __table_args__ = (Index("ix_shared_answers_published", "state", "published_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="preview")  # | published | replaced
    title: Mapped[str] = mapped_column(String(500))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    coordinator: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    list_post_id: Mapped[int | None] = mapped_column(ForeignKey("list_posts.id"), nullable=True)
    ticket: Mapped[Ticket] = relationship(lazy="joined")
