"""The coordinator's side of events by mail (SPEC capabilities 3 and 8).

A form mailed to ``verkosto+tapahtuma@`` becomes a draft and comes back as a
preview of the invitation exactly as members will get it (text and calendar
file). Replies to that preview, or to any later mail about the event, carry
the event's token and may say:

* ``LÄHETÄ`` / ``SKICKA`` / ``SEND``: send what waits (the invitations, a
  change, a cancellation);
* form lines (``Aika: 12.2.2027 klo 13``): change the draft at once, or an
  open event after a preview of the change and another ``LÄHETÄ``;
* ``PERUUTA TAPAHTUMA`` / ``STÄLL IN`` / ``CANCEL EVENT``: cancel, after a
  ``LÄHETÄ`` when invitations are out;
* ``osallistujat`` / ``deltagare`` / ``participants``: the participant list as
  a CSV attachment.

Only mail that ``is_coordinator`` accepts is read as a form or a command, and
every answer goes to the coordinator's configured address, so a forged From
achieves nothing: its sender never sees the preview it would have to confirm.
Anything else sent to the form address is a question for the coordinator.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailer.db.events import Event
from mailer.events import ical, invitations, manage
from mailer.events.registry import registrations
from mailer.events.spec import Problem, form_problems, read_spec, weekday_slips
from mailer.events.summary import ratings
from mailer.handlers import questions
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.parsing.commands import command_lines
from mailer.parsing.forms import EVENT_FIELDS, FormResult, parse_form

FORM_ADDRESS = "tapahtuma"
CSV_NAME = "osallistujat.csv"


def _problems_reply(
    ctx: HandlerContext,
    msg: InboundMessage,
    problems: Sequence[Problem],
    unknown_lines: Sequence[str],
    event: Event | None,
) -> None:
    """The form's problems, all of them; nothing was created or changed."""
    network = ctx.settings.network
    rendered = ctx.templates.render(
        network.language,
        "events/form_errors",
        network=network,
        problems=problems,
        unknown_lines=unknown_lines,
        event=event,
    )
    ctx.send(
        Draft(
            to=[msg.sender],
            subject=rendered.subject,
            text=rendered.text,
            kind="event-form-errors",
            related=f"event:{event.id}" if event else "",
            reply_to=ctx.reply_address(manage.EVENT_TOKEN, event.id)
            if event
            else network.sub_address(FORM_ADDRESS),
            in_reply_to=msg.message_id,
            language=network.language,
        )
    )
    ctx.actions.append(
        f"refuse the event form: {', '.join(f'{p.code}:{p.field}' for p in problems)}"
    )


def form(ctx: HandlerContext, msg: InboundMessage) -> None:
    """A coordinator's new event: a preview back, or the list of what is wrong."""
    if not is_coordinator(msg, ctx.settings):
        questions.new_question(ctx, msg)
        return
    parsed = parse_form(msg.new_text, EVENT_FIELDS)
    spec, problems = read_spec(parsed.values, ctx.settings, ctx.now)
    problems = form_problems(parsed) + problems
    if spec is None or problems:
        _problems_reply(ctx, msg, problems, parsed.unknown_lines, None)
        return
    event = manage.create(ctx, spec, coordinator=msg.sender)
    send_preview(
        ctx,
        event,
        parsed.unknown_lines,
        in_reply_to=msg.message_id,
        slips=weekday_slips(parsed.values, ctx.settings, ctx.now),
    )


def send_preview(
    ctx: HandlerContext,
    event: Event,
    unknown_lines: Sequence[str] = (),
    *,
    in_reply_to: str | None = None,
    slips: Sequence[Problem] = (),
) -> None:
    """The invitation as a member in the network's language will get it, calendar file too;
    a weekday that does not fit the date is pointed out at the top (``weekday_slips``)."""
    network = ctx.settings.network
    invitation = ctx.templates.render(
        network.language, "events/invitation", network=network, event=event
    )
    calendar = ical.calendar(
        event,
        network,
        method="REQUEST",
        alarm_minutes=ctx.settings.events.alarm_minutes,
        stamp=ctx.now,
    )
    coordinator = event.coordinator or network.coordinators[0]
    members, extra = manage.audience_size(ctx, event)
    manage.tell_coordinator(
        ctx,
        event,
        "events/preview",
        kind="event-preview",
        in_reply_to=in_reply_to,
        attachments=[
            OutgoingAttachment(
                invitations.ICS_NAME, "application/ics", ical.personal(calendar, coordinator, "")
            )
        ],
        invitation=invitation,
        members=members,
        extra=extra,
        unknown_lines=unknown_lines,
        slips=slips,
    )


def _participants(ctx: HandlerContext, event: Event, msg: InboundMessage) -> None:
    network = ctx.settings.network
    people = registrations(ctx, event, "registered", "waitlisted")
    csv = ctx.templates.text(
        network.language,
        "events/participants_csv",
        network=network,
        rows=people,
        ratings=ratings(ctx.session, event),
    )
    manage.tell_coordinator(
        ctx,
        event,
        "events/participants",
        kind="event-participants",
        in_reply_to=msg.message_id,
        attachments=[OutgoingAttachment(CSV_NAME, "text/csv", b"\xef\xbb\xbf" + csv.encode())],
        registered=sum(r.state == "registered" for r in people),
        waitlisted=sum(r.state == "waitlisted" for r in people),
    )
    ctx.actions.append(f"send the participants of event #{event.id} ({len(people)})")


def _change(ctx: HandlerContext, msg: InboundMessage, event: Event, values: dict[str, str]) -> None:
    spec, problems = read_spec(values, ctx.settings, ctx.now, base=event)
    if spec is None or problems:
        _problems_reply(ctx, msg, problems, [], event)
        return
    slips = weekday_slips(values, ctx.settings, ctx.now)
    if event.state == "draft":
        manage.change(ctx, event, spec)
        send_preview(ctx, event, in_reply_to=msg.message_id, slips=slips)
        return
    changed = spec.changed(event)
    if not changed:
        manage.tell_coordinator(
            ctx, event, "events/nothing_changed", kind="event-nothing", in_reply_to=msg.message_id
        )
        return
    manage.hold_change(event, spec)
    manage.tell_coordinator(
        ctx,
        event,
        "events/change_preview",
        kind="event-change-preview",
        in_reply_to=msg.message_id,
        changed=changed,
        after=spec,
        slips=slips,
        invitees=manage.invitees(ctx, event),
        registrants=len(registrations(ctx, event, "registered", "waitlisted")),
    )


def _send(ctx: HandlerContext, msg: InboundMessage, event: Event) -> None:
    if event.state == "draft" and event.starts_at <= ctx.now:
        _problems_reply(ctx, msg, [Problem("past", "time")], [], event)  # a draft left too long
        return
    if event.state == "draft":
        manage.open_event(ctx, event, in_reply_to=msg.message_id)
        return
    action, spec = manage.pending(event)
    event.pending = ""
    if action == "cancel":
        manage.cancel(ctx, event)
    elif spec is not None and spec.starts_at <= ctx.now:
        _problems_reply(ctx, msg, [Problem("past", "time")], [], event)
    elif spec is not None:
        manage.change(ctx, event, spec)
    else:
        manage.tell_coordinator(
            ctx, event, "events/nothing_pending", kind="event-nothing", in_reply_to=msg.message_id
        )


def read_reply(ctx: HandlerContext, msg: InboundMessage) -> tuple[set[str], FormResult]:
    """A coordinator's reply about an event: its command words (send, participants,
    cancel) and the form lines that change the event."""
    found, rest = command_lines(
        msg.new_text,
        {
            "send": ctx.rules.words("event.send"),
            "participants": ctx.rules.words("event.participants"),
            "cancel": ctx.rules.words("event.cancel"),
        },
    )
    return found, parse_form(rest, EVENT_FIELDS)


def coordinator_reply(ctx: HandlerContext, msg: InboundMessage, event_id: int) -> None:
    """The coordinator's reply to an event's preview or confirmation."""
    event = ctx.session.get(Event, event_id)
    if event is None or not is_coordinator(msg, ctx.settings):
        ctx.file("event command not from a coordinator, or for an unknown event")
        return
    found, parsed = read_reply(ctx, msg)
    if "participants" in found:
        _participants(ctx, event, msg)
    if event.state == "cancelled":
        if found - {"participants"} or parsed.values:
            manage.tell_coordinator(
                ctx,
                event,
                "events/already_cancelled",
                kind="event-nothing",
                in_reply_to=msg.message_id,
            )
        return
    if parsed.values or parsed.errors:
        problems = form_problems(parsed)
        if problems:
            _problems_reply(ctx, msg, problems, [], event)
        else:
            _change(ctx, msg, event, parsed.values)
    elif "cancel" in found:
        if event.state == "draft":
            manage.cancel(ctx, event)
        else:
            manage.hold_cancel(event)
            manage.tell_coordinator(
                ctx,
                event,
                "events/cancel_preview",
                kind="event-cancel-preview",
                in_reply_to=msg.message_id,
                invitees=manage.invitees(ctx, event),
                registrants=len(registrations(ctx, event, "registered", "waitlisted")),
            )
    elif "send" in found:
        _send(ctx, msg, event)
    elif not found:
        manage.tell_coordinator(
            ctx, event, "events/coordinator_help", kind="event-help", in_reply_to=msg.message_id
        )
