"""A person's event data for the export and erasure on request (GDPR articles 15 and 17).

Erasure keeps an event's numbers true: the registration stays, with the
address replaced by ``erased-<id>`` and the name, organisation, answer and
feedback text emptied, so the participant count and the average rating do not
change when someone asks to be forgotten.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.db.events import Event, Feedback, Invitation, Registration


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


def erase(session: Session, address: str) -> None:
    """Registrations and invitations anonymised, feedback text removed, ratings kept."""
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
