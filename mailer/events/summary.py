"""What the coordinator reports about events: participants, the average rating, the words.

The network's own report says it as "Osallistujia 23, arvosana 4,5/5 (17
vastausta)"; the numbers come from here and the words from the template
``events/summary``. Each person's rating is the last one they gave before
the feedback closed (later replies are refused, so every stored rating
counts); the average is rounded half up to one decimal, as people round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mailer.db.events import Event, Feedback, Registration


@dataclass(frozen=True)
class EventSummary:
    event: Event
    participants: int  # registered (the seats taken)
    waitlisted: int
    cancelled: int
    rating: Decimal | None  # the average, one decimal
    ratings: int  # how many people gave one
    best: Sequence[str]  # answers to "Mikä oli parasta?"
    improve: Sequence[str]  # answers to "Miten kehittäisit?"
    other: Sequence[str]  # feedback written as one text


def ratings(session: Session, event: Event) -> dict[int, Decimal]:
    """Registration id → the rating that counts (the latest one given)."""
    latest = (
        select(Feedback.registration_id, func.max(Feedback.id).label("last"))
        .where(
            Feedback.event_id == event.id,
            Feedback.rating_halves.is_not(None),
            Feedback.registration_id.is_not(None),
        )
        .group_by(Feedback.registration_id)
        .subquery()
    )
    rows = session.execute(
        select(Feedback.registration_id, Feedback.rating_halves).join(
            latest, Feedback.id == latest.c.last
        )
    ).all()
    return {reg: Decimal(halves) / 2 for reg, halves in rows if reg is not None and halves}


def phase(event: Event, now: datetime) -> str:
    """Where the event stands, for people and scripts reading a list: the stored state knows
    only draft, open and cancelled, and stays "open" long after the event took place.

    draft | open (invitations out, not begun) | running | held (over, the feedback
    request not yet out) | feedback (ratings being collected) | done | cancelled
    """
    if event.state != "open":
        return event.state
    if now < event.starts_at:
        return "open"
    if now < event.ends_at:
        return "running"
    if now < event.feedback_at:
        return "held"
    return "feedback" if now < event.feedback_closes_at else "done"


def summarise(session: Session, event: Event) -> EventSummary:
    counts = dict(
        session.execute(
            select(Registration.state, func.count(Registration.id))
            .where(Registration.event_id == event.id)
            .group_by(Registration.state)
        ).all()
    )
    given = list(ratings(session, event).values())
    average = (
        (sum(given, Decimal(0)) / len(given)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if given
        else None
    )
    best: dict[str, None] = {}
    improve: dict[str, None] = {}
    other: dict[str, None] = {}
    for item in session.scalars(
        select(Feedback).where(Feedback.event_id == event.id).order_by(Feedback.id)
    ):
        if item.best or item.improve:
            best.update(dict.fromkeys([item.best] if item.best else []))
            improve.update(dict.fromkeys([item.improve] if item.improve else []))
        elif item.text:
            other[item.text] = None
    return EventSummary(
        event=event,
        participants=counts.get("registered", 0),
        waitlisted=counts.get("waitlisted", 0),
        cancelled=counts.get("cancelled", 0),
        rating=average,
        ratings=len(given),
        best=list(best),
        improve=list(improve),
        other=list(other),
    )


@dataclass(frozen=True)
class NewRegistration:
    """A registration for the coordinator's daily digest."""

    event_id: int
    event_title: str
    email: str
    name: str
    organisation: str
    state: str  # registered | waitlisted
    answer: str
    at: datetime


def new_registrations(session: Session, since: datetime) -> list[NewRegistration]:
    """Seats and waitlist places taken since ``since`` that still stand (a promotion
    from the waitlist counts as a new seat), in the order they came."""
    rows = session.execute(
        select(Registration, Event.title)
        .join(Event, Event.id == Registration.event_id)
        .where(
            or_(
                and_(Registration.state == "registered", Registration.registered_at >= since),
                and_(Registration.state == "waitlisted", Registration.waitlisted_at >= since),
            ),
            Event.state != "cancelled",
        )
        .order_by(Registration.id)
    ).all()
    return [
        NewRegistration(
            event_id=reg.event_id,
            event_title=title,
            email=reg.email,
            name=reg.name,
            organisation=reg.organisation,
            state=reg.state,
            answer=reg.answer,
            at=(reg.registered_at if reg.state == "registered" else reg.waitlisted_at)
            or reg.updated_at,
        )
        for reg, title in rows
    ]
