"""Members' answers to an invitation: registration and cancellation (SPEC capability 3).

Two ways in. A reply to any mail about the event carries the invitation's
token (``i``): its words are read by ``parse_rsvp`` ("ilmoittaudun", "kyllä",
"jag kommer", "count me in" register, with the answer to the event's question
on the following lines; "en pääse", "peru", "nej", "no" cancel). Outlook's and
Gmail's Accept/Decline buttons send an iCalendar REPLY to the organizer (the
network address) instead; the ``itip-reply`` rule sends those here by the
event's UID, whatever headers the client added.

The person is whoever answers: the sender of a reply, the ATTENDEE of a
calendar reply when that address was invited. A reply that says neither yes
nor no changes nothing and gets a friendly question back. Nothing a member
writes is dropped: a reply that asks something, names a colleague coming in
their place, registers more people than one, or says something that is
neither yes nor no also becomes a ticket for the coordinator (``parse_rsvp``'s
``forward``). The member gets one mail either way, saying what was recorded
and that the coordinator has their message; its Reply-To stays the
invitation's, so "Ilmoittaudun" under it still registers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from mailer.db.events import Event, Invitation
from mailer.db.models import Ticket
from mailer.events import manage, registry
from mailer.events.invitations import INVITATION_TOKEN
from mailer.events.registry import Outcome, Person
from mailer.handlers import questions
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.parsing.language import guess_language
from mailer.parsing.rsvp import Intent, parse_itip_reply, parse_rsvp, without_question_label

_TEMPLATES = {
    "registered": "events/registered",
    "waitlisted": "events/waitlisted",
    "already_registered": "events/already_registered",
    "already_waitlisted": "events/already_registered",
    "cancelled": "events/unregistered",
    "not_registered": "events/not_registered",
}


def _answer(
    ctx: HandlerContext,
    msg: InboundMessage,
    event: Event,
    who: Person,
    template: str,
    invitation_id: int | None,
    *,
    forwarded: Ticket | None = None,
    group: bool = False,
    **context: Any,
) -> None:
    """The one mail back; it names the ticket when the coordinator got the message too,
    and the coordinator's answer will be threaded under it."""
    reply_to = (
        ctx.reply_address(INVITATION_TOKEN, invitation_id) if invitation_id is not None else None
    )
    row = ctx.answer(
        msg,
        who.language,
        template,
        kind=f"event-{template.rsplit('/', 1)[1].replace('_', '-')}",
        related=f"event:{event.id}",
        reply_to=reply_to,
        event=event,
        forwarded=forwarded,
        group=group,
        **context,
    )
    if forwarded is not None and row is not None:
        forwarded.last_member_message_id = row.message_id


def _pass_on(ctx: HandlerContext, msg: InboundMessage) -> Ticket:
    """The coordinator wrote the invitation or reminder the member answered: she gets what
    the member wrote above the quote, not the invitation again."""
    return questions.open_ticket(ctx, replace(msg, text=msg.new_text or msg.text), ack=False)


def _forward(
    ctx: HandlerContext, msg: InboundMessage, event: Event, who: Person, invitation: Invitation
) -> None:
    """Neither yes nor no, but something to read: the coordinator gets it; the member
    hears so, with their registration as it stands and how to change it."""
    ticket = _pass_on(ctx, msg)
    found = registry.find(ctx, event, who.email)
    active = found if found is not None and found.state in registry.ACTIVE else None
    allowed = registry.may_register(event, who, invitation.address == who.email)
    _answer(
        ctx,
        msg,
        event,
        who,
        "events/forwarded",
        registry.invitation_for(ctx, event, who).id if allowed else None,
        forwarded=ticket,
        writer=who.name,
        registration=active,
        position=registry.position(ctx, active) if active is not None else 0,
        can_register=allowed and event.state == "open" and ctx.now < event.starts_at,
    )


def _act(
    ctx: HandlerContext,
    msg: InboundMessage,
    event: Event,
    who: Person,
    invitation: Invitation | None,
    *,
    intent: Intent,
    answer: str,
    source: str,
    forward: bool = False,
    group: bool = False,
) -> None:
    """Register or cancel; with ``forward`` the coordinator also gets the message."""
    forwarded = _pass_on(ctx, msg) if forward else None
    invited = invitation is not None and invitation.address == who.email
    if not registry.may_register(event, who, invited):
        _answer(ctx, msg, event, who, "events/members_only", None, forwarded=forwarded)
        ctx.actions.append(f"{who.email} may not register for event #{event.id}")
        return
    if event.state != "open" or ctx.now >= event.starts_at:
        _answer(
            ctx,
            msg,
            event,
            who,
            "events/registration_closed",
            invitation.id if invitation else None,
            forwarded=forwarded,
            cancelled=event.state == "cancelled",
        )
        return
    if intent == "unclear":
        _answer(
            ctx,
            msg,
            event,
            who,
            "events/rsvp_unclear",
            registry.invitation_for(ctx, event, who).id,
        )
        ctx.actions.append(f"ask {who.email} whether they meant to register")
        return
    outcome: Outcome = (
        registry.register(ctx, event, who, answer, source)
        if intent == "yes"
        else registry.unregister(ctx, event, who, source)
    )
    _answer(
        ctx,
        msg,
        event,
        who,
        _TEMPLATES[outcome.status],
        outcome.registration.invitation_id,
        forwarded=forwarded,
        group=group,
        registration=outcome.registration,
        position=outcome.position,
    )
    manage.tell_promoted(ctx, event, outcome.promoted)


def invitation_reply(ctx: HandlerContext, msg: InboundMessage, invitation_id: int) -> None:
    """A reply carrying an invitation's token: yes, no, or a question."""
    invitation = ctx.session.get(Invitation, invitation_id)
    event = ctx.session.get(Event, invitation.event_id) if invitation else None
    if invitation is None or event is None or not msg.sender:
        ctx.file(f"reply to invitation {invitation_id}, which is unknown, or without a sender")
        return
    language = guess_language(f"{msg.subject}\n{msg.new_text}", invitation.language)
    who = registry.person(ctx, msg.sender, msg.sender_name, language)
    rsvp = parse_rsvp(msg.new_text, msg.subject, signer=who.name)
    if rsvp.intent == "unclear" and rsvp.forward:
        _forward(ctx, msg, event, who, invitation)  # "Voinko tuoda kollegan?"
        return
    _act(
        ctx,
        msg,
        event,
        who,
        invitation,
        intent=rsvp.intent,
        answer=without_question_label(rsvp.answer, event.question or ""),
        source="reply",
        forward=rsvp.forward,
        group=rsvp.group,
    )


def calendar_reply(ctx: HandlerContext, msg: InboundMessage) -> None:
    """Accept, Decline or Tentative pressed in a calendar client (iTIP REPLY)."""
    reply = parse_itip_reply(msg.calendar or b"")
    if reply is None:
        ctx.file("calendar reply that cannot be read")
        return
    event = ctx.session.scalars(select(Event).where(Event.uid == reply.uid)).first()
    if event is None:
        ctx.file(f"calendar reply for an unknown event {reply.uid[:100]}")
        return
    invitation = ctx.session.scalars(
        select(Invitation).where(
            Invitation.event_id == event.id, Invitation.address == reply.attendee
        )
    ).first()
    address = reply.attendee if invitation is not None else msg.sender
    if not address:
        ctx.file("calendar reply without an address")
        return
    language = invitation.language if invitation else ctx.settings.network.language
    who = registry.person(ctx, address, reply.name or msg.sender_name, language)
    ctx.actions.append(f"calendar reply {reply.partstat} from {address}")
    _act(
        ctx,
        msg,
        event,
        who,
        invitation,
        intent=reply.intent,
        answer=reply.comment if reply.intent == "yes" else "",
        source="calendar",
    )
