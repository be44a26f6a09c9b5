"""Registrations and the waitlist: who has a seat, who waits, in what order.

One row per person and event (unique), so a second "ilmoittaudun" changes
nothing but the answer to the event's question. When the event is full a
registration waits; a cancellation gives its seat to the first waiting, in the
order they asked. That order is a number given on arrival (``waitlist_order``),
never a timestamp: two daemons' clocks, or runs that all start at the same
``--now``, would let a later arrival jump the queue. The event row is locked
while seats are counted and numbers given, so two daemons on PostgreSQL cannot
both give away the last seat or the same place (SQLite serialises writers
anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from mailer.db.events import Event, Invitation, Registration

if TYPE_CHECKING:
    from mailer.handlers.context import HandlerContext  # a cycle: handlers use events

ACTIVE = ("registered", "waitlisted")


@dataclass(frozen=True)
class Person:
    """Who is answering: the address that registers, and how to address them."""

    email: str
    name: str
    language: str
    member_id: int | None
    organisation: str
    active_member: bool


@dataclass
class Outcome:
    # registered | waitlisted | already_registered | already_waitlisted | cancelled |
    # not_registered
    status: str
    registration: Registration
    position: int = 0  # the place on the waitlist, from 1
    promoted: list[Registration] = field(default_factory=list)


def person(ctx: HandlerContext, address: str, name: str, language: str) -> Person:
    """A member is known by their address; anyone else is taken as they wrote."""
    member = ctx.member(address)
    if member is None:
        return Person(address.lower(), name, language, None, "", False)
    return Person(
        member.email,
        member.name or name,
        member.language,
        member.id,
        member.organisation_name,
        member.subscribed and member.disabled_at is None,
    )


def may_register(event: Event, who: Person, invited: bool) -> bool:
    """Members when members are invited; the invited; anyone when lists were invited too.

    An invitation sent to a distribution list reaches people the service does
    not know, so an event with extra audience addresses takes anyone who
    answers it.
    """
    return invited or (event.audience_members and who.active_member) or bool(event.extra_addresses)


def invitation_for(ctx: HandlerContext, event: Event, who: Person) -> Invitation:
    """The person's invitation row, made (without mail) for one who answered a list's copy,
    so updates, reminders and the reply token reach them personally."""
    found = ctx.session.scalars(
        select(Invitation).where(Invitation.event_id == event.id, Invitation.address == who.email)
    ).first()
    if found is not None:
        return found
    invitation = Invitation(
        event_id=event.id,
        address=who.email,
        name=who.name,
        member_id=who.member_id,
        language=who.language,
        sequence=event.sequence,
        created_at=ctx.now,
    )
    ctx.session.add(invitation)
    ctx.session.flush()
    return invitation


def _lock(ctx: HandlerContext, event: Event) -> None:
    ctx.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())


def find(ctx: HandlerContext, event: Event, email: str) -> Registration | None:
    return ctx.session.scalars(
        select(Registration).where(Registration.event_id == event.id, Registration.email == email)
    ).first()


def seats_taken(ctx: HandlerContext, event: Event) -> int:
    return (
        ctx.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event.id, Registration.state == "registered"
            )
        )
        or 0
    )


def position(ctx: HandlerContext, registration: Registration) -> int:
    """The place on the waitlist (1 is next), 0 when not waiting."""
    if registration.state != "waitlisted" or registration.waitlist_order is None:
        return 0
    ahead = ctx.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == registration.event_id,
            Registration.state == "waitlisted",
            Registration.waitlist_order < registration.waitlist_order,
        )
    )
    return (ahead or 0) + 1


def _next_in_line(ctx: HandlerContext, event: Event) -> int:
    """After everyone who ever waited for the event, so one who cancels and comes back
    starts again at the end."""
    last = ctx.session.scalar(
        select(func.max(Registration.waitlist_order)).where(Registration.event_id == event.id)
    )
    return (last or 0) + 1


def _full(ctx: HandlerContext, event: Event) -> bool:
    return event.capacity is not None and seats_taken(ctx, event) >= event.capacity


def register(ctx: HandlerContext, event: Event, who: Person, answer: str, source: str) -> Outcome:
    """A seat if one is free, else the waitlist; a repeat keeps the place, updates the answer."""
    _lock(ctx, event)
    invitation = invitation_for(ctx, event, who)
    found = find(ctx, event, who.email)
    if found is not None and found.state in ACTIVE:
        if answer:
            found.answer, found.updated_at = answer, ctx.now
        status = f"already_{found.state}"
        return Outcome(status, found, position(ctx, found))
    registration = found or Registration(
        event_id=event.id,
        email=who.email,
        created_at=ctx.now,
    )
    registration.invitation_id = invitation.id
    registration.name, registration.organisation = who.name, who.organisation
    registration.member_id, registration.language = who.member_id, who.language
    registration.answer = answer or registration.answer or ""
    registration.source, registration.updated_at = source, ctx.now
    registration.cancelled_at = None
    if _full(ctx, event):
        registration.state, registration.waitlisted_at = "waitlisted", ctx.now
        registration.waitlist_order = _next_in_line(ctx, event)
    else:
        registration.state, registration.registered_at = "registered", ctx.now
    if found is None:
        ctx.session.add(registration)
    ctx.session.flush()
    ctx.actions.append(f"{registration.state} {who.email} for event #{event.id}")
    return Outcome(registration.state, registration, position(ctx, registration))


def unregister(ctx: HandlerContext, event: Event, who: Person, source: str) -> Outcome:
    """Cancel a registration (or note a decline); a freed seat goes to the first waiting."""
    _lock(ctx, event)
    found = find(ctx, event, who.email)
    if found is None or found.state not in ACTIVE:
        if found is None:
            found = Registration(
                event_id=event.id,
                invitation_id=invitation_for(ctx, event, who).id,
                email=who.email,
                name=who.name,
                organisation=who.organisation,
                member_id=who.member_id,
                language=who.language,
                state="declined",
                source=source,
                created_at=ctx.now,
                updated_at=ctx.now,
                cancelled_at=ctx.now,
            )
            ctx.session.add(found)
            ctx.session.flush()
            ctx.actions.append(f"note that {who.email} declined event #{event.id}")
        return Outcome("not_registered", found)
    return Outcome("cancelled", found, promoted=cancel(ctx, event, found, source))


def cancel(
    ctx: HandlerContext, event: Event, registration: Registration, source: str
) -> list[Registration]:
    """An active registration cancelled; returns who got the freed seat."""
    _lock(ctx, event)
    had_seat = registration.state == "registered"
    registration.state, registration.cancelled_at = "cancelled", ctx.now
    registration.updated_at, registration.source = ctx.now, source
    ctx.session.flush()
    ctx.actions.append(f"cancel {registration.email}'s registration for event #{event.id}")
    return promote(ctx, event) if had_seat else []


def promote(ctx: HandlerContext, event: Event) -> list[Registration]:
    """Give free seats to the waitlist, first come first served."""
    free = None if event.capacity is None else event.capacity - seats_taken(ctx, event)
    waiting = select(Registration).where(
        Registration.event_id == event.id, Registration.state == "waitlisted"
    )
    query = waiting.order_by(Registration.waitlist_order)
    if free is not None:
        if free <= 0:
            return []
        query = query.limit(free)
    promoted = list(ctx.session.scalars(query))
    for registration in promoted:
        registration.state, registration.registered_at = "registered", ctx.now
        registration.updated_at = ctx.now
        ctx.actions.append(f"promote {registration.email} from the waitlist of event #{event.id}")
    ctx.session.flush()
    return promoted


def registrations(ctx: HandlerContext, event: Event, *states: str) -> list[Registration]:
    """The event's registrations in the given states, in the order they came.

    Everyone here is someone to write to or list: a registration kept after its
    person asked to be erased holds no address (``erased-<id>``) and only counts
    in the event's numbers.
    """
    return list(
        ctx.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.state.in_(states),
                Registration.email.contains("@"),
            )
            .order_by(Registration.id)
        )
    )
