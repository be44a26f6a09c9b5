"""Polls and advance surveys: the question, its options, and one ballot per voter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.db.models import Base, UtcDateTime


class Poll(Base):
    __tablename__ = "polls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="poll")  # poll | survey
    title: Mapped[str] = mapped_column(String(300), default="")
    question: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    max_choices: Mapped[int] = mapped_column(Integer, default=1)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime)
    audience_members: Mapped[bool] = mapped_column(Boolean, default=True)
    audience_extra: Mapped[str] = mapped_column(Text, default="")  # one address a line
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    one_per_organisation: Mapped[bool] = mapped_column(Boolean, default=False)
    publish_results: Mapped[bool] = mapped_column(Boolean, default=True)
    # draft (waits for the coordinator) | open (ballots due or out) | closed
    state: Mapped[str] = mapped_column(String(10), default="draft")
    coordinator: Mapped[str] = mapped_column(String(320), default="")
    invited: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ballots_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    options: Mapped[list[PollOption]] = relationship(
        order_by="PollOption.position", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def option_texts(self) -> list[str]:
        return [o.text for o in self.options]

    @property
    def extra_addresses(self) -> list[str]:
        return [a for a in self.audience_extra.split() if a]


class PollOption(Base):
    """An option of a poll, or a free-text question of a survey."""

    __tablename__ = "poll_options"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based, as on the ballot
    text: Mapped[str] = mapped_column(Text)


class Ballot(Base):
    """One voter's current ballot: a later reply replaces it until the deadline."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("poll_id", "voter", name="uq_ballot_voter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), index=True)
    voter: Mapped[str] = mapped_column(String(320))
    organisation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    choices: Mapped[str] = mapped_column(String(200), default="")  # "2,4"
    answers: Mapped[str] = mapped_column(Text, default="")  # surveys: JSON list of texts
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def choice_list(self) -> list[int]:
        return [int(c) for c in self.choices.split(",") if c]
