"""A person's event data for the export and erasure on request (GDPR articles 15 and 17).

Erasure keeps a past event's numbers true: the registration stays, with the
address replaced by ``erased-<id>`` and the name, organisation, answer and
feedback text emptied, so the participant count and the average rating do not
change when someone asks to be forgotten. A seat or waitlist place at an event
still to come is given up first, exactly as if the person had cancelled, so
the seat goes to the next waiting and the event is not counted as theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.db.events import Event, Feedback, Invitation, Registration
from mailer.events import manage, registry

if TYPE_CHECKING:
    from mailer.handlers.context import HandlerContext  # a cycle: handlers use events

ERASURE = "erasure"  # the source of a registration given up by an erasure


def personal_data(session: Session, address: str) -> list[dict[str, Any]]:
    """Every registration of ``address`` with the event, the answer and the feedback given."""
    out: list[dict[str, Any]] = []
    rows = session.execute(
        select(Registration, Event.title, Event.starts_at)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.email == address)
        .order_by(Registration.id)
    ).all()
    for registration, title, starts_at in rows:
        feedback = session.scalars(
            select(Feedback)
            .where(Feedback.registration_id == registration.id)
            .order_by(Feedback.id)
        )
        out.append(
            {
                "event": title,
                "starts_at": starts_at,
                "state": registration.state,
                "answer": registration.answer,
                "registered_at": registration.created_at,
                "feedback": [
                    {"rating": item.rating, "text": item.text, "given_at": item.created_at}
                    for item in feedback
                ],
            }
        )
    return out


def _give_up_upcoming(ctx: HandlerContext, address: str) -> None:
    upcoming = ctx.session.execute(
        select(Registration, Event)
        .join(Event, Event.id == Registration.event_id)
        .where(
            Registration.email == address,
            Registration.state.in_(registry.ACTIVE),
            Event.state == "open",
            Event.starts_at > ctx.now,
        )
        .order_by(Registration.id)
    ).all()
    for registration, event in upcoming:
        manage.tell_promoted(ctx, event, registry.cancel(ctx, event, registration, ERASURE))


def erase(ctx: HandlerContext, address: str) -> None:
    """Seats at coming events freed; registrations and invitations anonymised, feedback
    text removed, ratings kept."""
    _give_up_upcoming(ctx, address)
    session = ctx.session
    registrations = session.scalars(select(Registration).where(Registration.email == address)).all()
    for registration in registrations:
        session.execute(
            update(Feedback)
            .where(Feedback.registration_id == registration.id)
            .values(best="", improve="", text="")
        )
        registration.email = f"erased-{registration.id}"
        registration.name = registration.organisation = registration.answer = ""
        registration.member_id = None
    for invitation in session.scalars(select(Invitation).where(Invitation.address == address)):
        invitation.address, invitation.name, invitation.member_id = (
            f"erased-{invitation.id}",
            "",
            None,
        )
    session.flush()
