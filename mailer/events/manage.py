"""An event's life: created (a draft), opened (invitations out), changed, cancelled.

The email form and the CLI both end up here, inside one handler context, so
the state change and every mail it causes commit together. Mails to one
person (confirmations, promotions) go through ``tell``; mails to every invitee go
through ``invitations.send_calendar_mail``; mails to the coordinator through
``tell_coordinator``, always to the coordinator's configured address with the
event's token as Reply-To, so only a coordinator's reply can act on it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from mailer.db.events import Event, EventReminder, Invitation, Registration
from mailer.db.models import Member
from mailer.events import invitations
from mailer.events.registry import promote
from mailer.events.spec import EventSpec
from mailer.outgoing.compose import Draft, OutgoingAttachment

if TYPE_CHECKING:
    from mailer.handlers.context import HandlerContext  # a cycle: handlers use events

EVENT_TOKEN = "x"  # the coordinator's replies to an event's preview and confirmations
SCHEDULED = {"Auto-Submitted": "auto-generated"}  # mail the clock sent, not a person


def tell(
    ctx: HandlerContext,
    registration: Registration,
    *,
    template: str,
    kind: str,
    event: Event,
    reply_to: str,
    **context: object,
) -> None:
    """One mail about ``event`` to one registrant (or one waiting), in their language, not in
    answer to anything they sent; the template sees the ``registration``."""
    language = registration.language
    rendered = ctx.templates.render(
        language,
        template,
        network=ctx.settings.network,
        event=event,
        registration=registration,
        **context,
    )
    ctx.send(
        Draft(
            to=[registration.email],
            to_name=registration.name,
            subject=rendered.subject,
            text=rendered.text,
            kind=kind,
            related=f"event:{event.id}",
            reply_to=reply_to,
            language=ctx.templates.language(language),
            headers=dict(SCHEDULED),
        )
    )


def tell_coordinator(
    ctx: HandlerContext,
    event: Event,
    template: str,
    *,
    kind: str,
    in_reply_to: str | None = None,
    attachments: Sequence[OutgoingAttachment] = (),
    **context: object,
) -> None:
    """To the coordinator who made the event (every coordinator for one made by CLI)."""
    network = ctx.settings.network
    to = [event.coordinator] if event.coordinator else list(network.coordinators)
    rendered = ctx.templates.render(
        network.language, template, network=network, event=event, **context
    )
    ctx.send(
        Draft(
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            kind=kind,
            related=f"event:{event.id}",
            reply_to=ctx.reply_address(EVENT_TOKEN, event.id),
            in_reply_to=in_reply_to,
            attachments=attachments,
            language=network.language,
        )
    )


def _schedule_feedback(ctx: HandlerContext, event: Event) -> None:
    settings = ctx.settings.events
    event.feedback_at = event.ends_at + timedelta(minutes=settings.feedback_delay)
    event.feedback_closes_at = event.feedback_at + timedelta(days=settings.feedback_days)


def create(
    ctx: HandlerContext,
    spec: EventSpec,
    *,
    coordinator: str = "",
    audience_members: bool = True,
    extra: Sequence[str] = (),
    reminders: Sequence[int] | None = None,
    link_reminder: int | None = None,
) -> Event:
    """A draft event with its reminder schedule; nothing is sent yet.

    ``reminders`` are minutes before the start (default ``[events] reminders``);
    a webinar also gets the link ``link_reminder`` minutes before (default
    ``[events] link_reminder``; 0 for none).
    """
    settings = ctx.settings.events
    event = Event(
        uid=f"{uuid.uuid4()}@{ctx.settings.network.domain}",
        sequence=0,
        state="draft",
        coordinator=coordinator,
        audience_members=audience_members,
        audience_extra="\n".join(dict.fromkeys(a.lower() for a in extra)),
        pending="",
        invited=0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _apply(event, spec)
    _schedule_feedback(ctx, event)
    ctx.session.add(event)
    ctx.session.flush()
    link = settings.link_reminder if link_reminder is None else link_reminder
    schedule = [
        ("reminder", m)
        for m in dict.fromkeys(settings.reminders if reminders is None else reminders)
    ]
    if event.is_webinar and link:
        schedule.append(("link", link))
    for kind, minutes in schedule:
        ctx.session.add(
            EventReminder(
                event_id=event.id,
                kind=kind,
                minutes_before=minutes,
                due_at=event.starts_at - timedelta(minutes=minutes),
                state="pending",
            )
        )
    ctx.session.flush()
    ctx.session.refresh(event)
    ctx.actions.append(f"create event #{event.id} {event.title!r} ({event.state})")
    return event


def _apply(event: Event, spec: EventSpec) -> None:
    event.kind, event.title, event.description = spec.kind, spec.title, spec.description
    event.starts_at, event.ends_at = spec.starts_at, spec.ends_at
    event.place, event.link = spec.place, spec.link
    event.capacity, event.question = spec.capacity, spec.question


def audience_size(ctx: HandlerContext, event: Event) -> tuple[int, int]:
    """(members, extra addresses) an invitation would go to now."""
    members = 0
    if event.audience_members:
        members = (
            ctx.session.scalar(
                select(func.count(Member.id)).where(
                    Member.subscribed.is_(True), Member.disabled_at.is_(None)
                )
            )
            or 0
        )
    return members, len(event.extra_addresses)


def _skip_overdue(ctx: HandlerContext, event: Event) -> None:
    """Reminders whose time passed before the event was open would only surprise people."""
    for reminder in event.reminders:
        if reminder.state == "pending" and reminder.due_at <= ctx.now:
            reminder.state, reminder.done_at = "skipped", ctx.now


def open_event(ctx: HandlerContext, event: Event, *, in_reply_to: str | None = None) -> int:
    """Send the invitations; the coordinator is told how many went out."""
    invitations.add_audience(ctx, event)
    event.state, event.invitations_sent_at, event.updated_at = "open", ctx.now, ctx.now
    _skip_overdue(ctx, event)
    count = invitations.send_calendar_mail(
        ctx, event, template="events/invitation", method="REQUEST", kind="event-invitation"
    ).copies
    event.invited = count
    tell_coordinator(
        ctx, event, "events/sent", kind="event-sent", in_reply_to=in_reply_to, count=count
    )
    return count


def invitation_reply_to(ctx: HandlerContext, registration: Registration) -> str:
    """The Reply-To of every mail to a registrant: a reply may cancel or register."""
    return ctx.reply_address(invitations.INVITATION_TOKEN, registration.invitation_id)


def tell_promoted(ctx: HandlerContext, event: Event, promoted: Sequence[Registration]) -> None:
    """Tell each person moved from the waitlist that they now have a seat."""
    for registration in promoted:
        tell(
            ctx,
            registration,
            template="events/promoted",
            kind="event-promoted",
            event=event,
            reply_to=invitation_reply_to(ctx, registration),
        )


def change(ctx: HandlerContext, event: Event, spec: EventSpec) -> list[str]:
    """Apply new details; an open event's invitees get an updated calendar entry
    (same UID, next SEQUENCE), its registrants and waiting in their own text.
    Returns what changed."""
    changed = spec.changed(event)
    if not changed:
        return []
    before = EventSpec.of(event)
    _apply(event, spec)
    event.updated_at = ctx.now
    if {"starts_at", "ends_at"} & set(changed):
        _schedule_feedback(ctx, event)
        for reminder in event.reminders:
            reminder.due_at = event.starts_at - timedelta(minutes=reminder.minutes_before)
            if reminder.due_at > ctx.now and reminder.state != "pending":
                reminder.state, reminder.done_at = "pending", None
    if event.state != "open":
        return changed
    event.sequence += 1
    tell_promoted(ctx, event, promote(ctx, event))
    queued = invitations.send_calendar_mail(
        ctx,
        event,
        template="events/updated",
        method="REQUEST",
        kind="event-update",
        registrant_template="events/change_note",
        changed=changed,
        before=before,
    )
    tell_coordinator(
        ctx,
        event,
        "events/updated_done",
        kind="event-updated",
        changed=changed,
        count=queued.copies,
        notes=queued.personal,
    )
    return changed


def cancel(ctx: HandlerContext, event: Event) -> int:
    """Cancel for good: invitees get ``METHOD:CANCEL`` (registrants and waiting in their
    own text), reminders stop."""
    was_open = event.state == "open"
    event.state, event.cancelled_at, event.updated_at = "cancelled", ctx.now, ctx.now
    event.pending = ""
    for reminder in event.reminders:
        if reminder.state == "pending":
            reminder.state, reminder.done_at = "skipped", ctx.now
    sent = notes = 0
    if was_open:
        event.sequence += 1
        queued = invitations.send_calendar_mail(
            ctx,
            event,
            template="events/cancelled",
            method="CANCEL",
            kind="event-cancel",
            registrant_template="events/cancel_note",
        )
        sent, notes = queued.copies, queued.personal
    tell_coordinator(
        ctx, event, "events/cancelled_done", kind="event-cancelled", count=sent, notes=notes
    )
    return sent


# ---- changes by mail wait for the coordinator's LÄHETÄ


def _spec_json(spec: EventSpec) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "title": spec.title,
        "starts_at": spec.starts_at.isoformat(),
        "ends_at": spec.ends_at.isoformat(),
        "place": spec.place,
        "link": spec.link,
        "description": spec.description,
        "capacity": spec.capacity,
        "question": spec.question,
    }


def hold_change(event: Event, spec: EventSpec) -> None:
    event.pending = json.dumps({"action": "change", "spec": _spec_json(spec)}, ensure_ascii=False)


def hold_cancel(event: Event) -> None:
    event.pending = json.dumps({"action": "cancel"})


def pending(event: Event) -> tuple[str, EventSpec | None]:
    """("change", spec), ("cancel", None) or ("", None) for nothing waiting."""
    if not event.pending:
        return "", None
    data = json.loads(event.pending)
    if data["action"] != "change":
        return str(data["action"]), None
    raw = data["spec"]
    spec = EventSpec(
        kind=raw["kind"],
        title=raw["title"],
        starts_at=datetime.fromisoformat(raw["starts_at"]),
        ends_at=datetime.fromisoformat(raw["ends_at"]),
        place=raw["place"],
        link=raw["link"],
        description=raw["description"],
        capacity=raw["capacity"],
        question=raw["question"],
    )
    return "change", spec


def invitees(ctx: HandlerContext, event: Event) -> int:
    return (
        ctx.session.scalar(select(func.count(Invitation.id)).where(Invitation.event_id == event.id))
        or 0
    )
