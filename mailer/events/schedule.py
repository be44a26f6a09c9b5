"""What the clock sends about events: reminders, feedback requests, the summary.

Each function looks at the database for what is due and marks it done in the
same transaction as it queues the mail, so running it twice sends nothing
twice; the rows are locked (``SKIP LOCKED``) so that two daemons on one
PostgreSQL database never take the same one. After downtime it catches up as
far as it is still useful: of several reminders that came due, only the
latest goes out (it says everything the earlier ones would have), and none
once the event has begun (the link reminder: until the event ends); a
feedback request goes out until the feedback would have closed.
"""

from __future__ import annotations

import logging
from itertools import groupby
from typing import TYPE_CHECKING

from sqlalchemy import select

from mailer.db.events import Event, EventReminder
from mailer.events.manage import invitation_reply_to, tell, tell_coordinator
from mailer.events.registry import registrations
from mailer.events.summary import summarise

if TYPE_CHECKING:
    from mailer.handlers.context import HandlerContext  # a cycle: handlers use events

FEEDBACK_TOKEN = "f"  # a reply to the feedback request: the rating and free text

log = logging.getLogger("mailer.events")


def send_reminders(ctx: HandlerContext) -> int:
    """Due reminders of open events, to registrants only; returns mails queued."""
    due = ctx.session.scalars(
        select(EventReminder)
        .join(Event, Event.id == EventReminder.event_id)
        .where(
            EventReminder.state == "pending",
            EventReminder.due_at <= ctx.now,
            Event.state == "open",
        )
        .order_by(EventReminder.event_id, EventReminder.due_at)
        .with_for_update(skip_locked=True, of=EventReminder)
    ).all()
    queued = 0
    for event_id, group in groupby(due, key=lambda r: r.event_id):
        event = ctx.session.get(Event, event_id)
        assert event is not None
        *missed, latest = list(group)
        for reminder in missed:
            reminder.state, reminder.done_at = "skipped", ctx.now
        useful_until = event.ends_at if latest.kind == "link" else event.starts_at
        if ctx.now >= useful_until:
            latest.state, latest.done_at = "skipped", ctx.now
            log.info(
                "reminder no longer useful",
                extra={"event": event.id, "minutes": latest.minutes_before},
            )
            continue
        people = registrations(ctx, event, "registered")
        for registration in people:
            tell(
                ctx,
                registration,
                template="events/reminder",
                kind=f"event-{latest.kind}-reminder",
                event=event,
                reply_to=invitation_reply_to(ctx, registration),
                with_link=latest.kind == "link",
            )
        latest.state, latest.done_at = "sent", ctx.now
        queued += len(people)
        log.info(
            "reminder queued",
            extra={"event": event.id, "minutes": latest.minutes_before, "registrants": len(people)},
        )
    return queued


def send_feedback_requests(ctx: HandlerContext) -> int:
    """After the event (plus ``[events] feedback_delay``), ask each registrant for a rating."""
    due = ctx.session.scalars(
        select(Event)
        .where(
            Event.state == "open",
            Event.feedback_sent_at.is_(None),
            Event.feedback_at <= ctx.now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    queued = 0
    for event in due:
        event.feedback_sent_at = ctx.now
        if ctx.now >= event.feedback_closes_at:
            log.warning("feedback window passed while down; not asked", extra={"event": event.id})
            continue
        people = registrations(ctx, event, "registered")
        for registration in people:
            tell(
                ctx,
                registration,
                template="events/feedback_request",
                kind="event-feedback-request",
                event=event,
                reply_to=ctx.reply_address(FEEDBACK_TOKEN, registration.id),
            )
        queued += len(people)
        log.info("feedback requested", extra={"event": event.id, "registrants": len(people)})
    return queued


def send_summaries(ctx: HandlerContext) -> int:
    """When the feedback closes, the coordinator gets the event's summary."""
    due = ctx.session.scalars(
        select(Event)
        .where(
            Event.state == "open",
            Event.feedback_sent_at.is_not(None),
            Event.summary_sent_at.is_(None),
            Event.feedback_closes_at <= ctx.now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for event in due:
        event.summary_sent_at = ctx.now
        tell_coordinator(
            ctx,
            event,
            "events/summary_mail",
            kind="event-summary",
            summary=summarise(ctx.session, event),
        )
    return len(due)
