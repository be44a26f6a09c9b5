"""``mailer events``: the same as the coordinator's email form, and what came of it.

``create`` queues the invitations at once (``--draft`` holds them for
``events send``); the daemon's next cycle sends them. ``update`` and
``cancel`` act at once too: whoever runs the command has the administrator's
access already, so there is no mail confirmation to wait for. The coordinator
is told of each, as for changes made by mail.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.app import App
from mailer.config import offset_minutes
from mailer.db.events import Event
from mailer.errors import ConfigError
from mailer.events import manage
from mailer.events.registry import registrations
from mailer.events.spec import KINDS, Problem, read_spec, weekday_slips
from mailer.events.summary import phase, ratings, summarise
from mailer.jobs import job_context

events_app = typer.Typer(no_args_is_help=True, help="Webinars and seminars.")


def _refuse(service: App, problems: list[Problem]) -> ConfigError:
    """The form's problems in one line (the English wording of the coordinator's reply)."""
    text = service.templates.text("en", "events/problems", problems=problems)
    return ConfigError(" ".join(line.lstrip("- ") for line in text.splitlines() if line.strip()))


def _audience(values: list[str]) -> tuple[bool, list[str]]:
    extra: list[str] = []
    for value in values:
        if value == "members":
            continue
        try:
            extra.append(
                validate_email(value, check_deliverability=False, test_environment=True).normalized
            )
        except EmailNotValidError as exc:
            raise ConfigError(f"--audience: {value!r} is not an address: {exc}") from None
    return "members" in values, extra


def _spans(values: list[str] | None, option: str) -> list[int] | None:
    if values is None:
        return None
    try:
        return [offset_minutes(v) for v in values]
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _fields(**given: str | int | None) -> dict[str, str]:
    """The options given, under the form's field names."""
    return {name: str(value) for name, value in given.items() if value is not None}


def _local(service: App, moment: datetime) -> str:
    return moment.astimezone(service.settings.network.tz).strftime("%Y-%m-%d %H:%M")


@events_app.command("create")
def create(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="the event's name")],
    start: Annotated[
        str, typer.Option(help="'2027-02-11 13:00' or '11.2.2027 klo 13' (network time)")
    ],
    kind: Annotated[str, typer.Option(help="webinar or seminar")] = "webinar",
    duration: Annotated[str | None, typer.Option(help="minutes, or '90 min', '6 h'")] = None,
    link: Annotated[str | None, typer.Option(help="the online meeting link (webinars)")] = None,
    place: Annotated[str | None, typer.Option(help="the venue (seminars)")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    capacity: Annotated[int | None, typer.Option(help="seats; more registrations wait")] = None,
    question: Annotated[
        str | None, typer.Option(help="asked of registrants, e.g. 'Ruokavalio?'")
    ] = None,
    audience: Annotated[
        list[str] | None, typer.Option(help="'members' and/or extra addresses (repeat)")
    ] = None,
    remind: Annotated[
        list[str] | None, typer.Option(help="reminder before the start, e.g. 7d (repeat)")
    ] = None,
    link_reminder: Annotated[
        str | None, typer.Option(help="webinars: the link this long before, e.g. 1h; 0 for none")
    ] = None,
    draft: Annotated[bool, typer.Option(help="hold the invitations until `events send`")] = False,
) -> None:
    """Create an event; its invitations go out in the daemon's next cycle (or hold with --draft)."""
    from mailer.cli import _service, out

    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}")
    members, extra = _audience(audience or ["members"])
    reminders = _spans(remind, "--remind")
    link_spans = _spans([link_reminder] if link_reminder is not None else None, "--link-reminder")
    with _service(ctx) as service:
        values = _fields(
            title=title,
            time=start,
            duration=duration,
            link=link,
            place=place,
            description=description,
            capacity=capacity,
            question=question,
        )
        now = service.clock.now()
        spec, problems = read_spec(values, service.settings, now, kind=kind)
        problems += weekday_slips(values, service.settings, now)
        if spec is None or problems:
            raise _refuse(service, problems)
        with service.db.transaction() as session:
            handler = job_context(service, session)
            event = manage.create(
                handler,
                spec,
                audience_members=members,
                extra=extra,
                reminders=reminders,
                link_reminder=link_spans[0] if link_spans else None,
            )
            sent = 0 if draft else manage.open_event(handler, event)
            event_id = event.id
    if draft:
        out.print(
            f"event #{event_id} saved as a draft; send it with: mailer events send {event_id}"
        )
    else:
        out.print(f"event #{event_id} created; {sent} invitations queued")


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise ConfigError(f"no event #{event_id}")
    return event


@events_app.command("send")
def send(ctx: typer.Context, event_id: int) -> None:
    """Send a draft event's invitations."""
    from mailer.cli import _service, out

    with _service(ctx) as service, service.db.transaction() as session:
        event = _event(session, event_id)
        if event.state != "draft":
            raise ConfigError(f"event #{event_id} is {event.state}, not a draft")
        if event.starts_at <= service.clock.now():
            raise _refuse(service, [Problem("past", "time")])
        sent = manage.open_event(job_context(service, session), event)
    out.print(f"event #{event_id}: {sent} invitations queued")


@events_app.command("update")
def update(
    ctx: typer.Context,
    event_id: int,
    title: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option(help="the new start (network time)")] = None,
    duration: Annotated[str | None, typer.Option()] = None,
    link: Annotated[str | None, typer.Option()] = None,
    place: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    capacity: Annotated[int | None, typer.Option()] = None,
    question: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change an event: invitees get an updated calendar entry, registrants a note."""
    from mailer.cli import _service, out

    values = _fields(
        title=title,
        time=start,
        duration=duration,
        link=link,
        place=place,
        description=description,
        capacity=capacity,
        question=question,
    )
    if not values:
        raise ConfigError("nothing to change: give at least one option")
    with _service(ctx) as service, service.db.transaction() as session:
        event = _event(session, event_id)
        if event.state == "cancelled":
            raise ConfigError(f"event #{event_id} is cancelled")
        now = service.clock.now()
        spec, problems = read_spec(values, service.settings, now, base=event)
        problems += weekday_slips(values, service.settings, now)
        if spec is None or problems:
            raise _refuse(service, problems)
        changed = manage.change(job_context(service, session), event, spec)
    out.print(
        f"event #{event_id}: " + (", ".join(changed) + " changed" if changed else "no change")
    )


@events_app.command("cancel")
def cancel(ctx: typer.Context, event_id: int) -> None:
    """Cancel an event: invitees get METHOD:CANCEL, registrants a note."""
    from mailer.cli import _service, out

    with _service(ctx) as service, service.db.transaction() as session:
        event = _event(session, event_id)
        if event.state == "cancelled":
            raise ConfigError(f"event #{event_id} is already cancelled")
        sent = manage.cancel(job_context(service, session), event)
    out.print(f"event #{event_id} cancelled; {sent} cancellations queued")


@events_app.command("list")
def list_events(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Events with their time, state, registrations and rating.

    The state: draft, open (invitations out, not begun), running, held (the feedback
    request not yet out), feedback (ratings being collected), done, cancelled.
    """
    from mailer.cli import _print, _service

    with _service(ctx) as service, service.db.transaction() as session:
        now = service.clock.now()
        rows = []
        for event in session.scalars(select(Event).order_by(Event.starts_at)):
            summary = summarise(session, event)
            rows.append(
                {
                    "id": event.id,
                    "kind": event.kind,
                    "title": event.title,
                    "starts": _local(service, event.starts_at),
                    "state": phase(event, now),
                    "invited": event.invited,
                    "registered": summary.participants,
                    "waitlisted": summary.waitlisted,
                    "capacity": event.capacity,
                    "rating": str(summary.rating) if summary.rating is not None else None,
                    "ratings": summary.ratings,
                }
            )
    _print(
        rows,
        as_json,
        f"Events ({len(rows)})",
        ["id", "kind", "title", "starts", "state", "invited", "registered", "waitlisted", "rating"],
    )


@events_app.command("show")
def show(
    ctx: typer.Context,
    event_id: int,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One event: its details, registrations, waitlist, answers, ratings and summary."""
    from mailer.cli import _print, _service, out

    with _service(ctx) as service, service.db.transaction() as session:
        event = _event(session, event_id)
        given = ratings(session, event)
        handler = job_context(service, session)
        people = [
            {
                "email": r.email,
                "name": r.name,
                "organisation": r.organisation,
                "state": r.state,
                "answer": r.answer,
                "source": r.source,
                "rating": str(given[r.id]) if r.id in given else None,
            }
            for r in registrations(
                handler, event, "registered", "waitlisted", "cancelled", "declined"
            )
        ]
        network = service.settings.network
        summary = service.templates.text(
            network.language, "events/summary", summary=summarise(session, event)
        )
        details = {
            "id": event.id,
            "uid": event.uid,
            "sequence": event.sequence,
            "kind": event.kind,
            "title": event.title,
            "starts": _local(service, event.starts_at),
            "ends": _local(service, event.ends_at),
            "place": event.place,
            "link": event.link,
            "capacity": event.capacity,
            "question": event.question,
            "state": phase(event, service.clock.now()),
            "invited": event.invited,
            "reminders": [
                {"kind": r.kind, "due": _local(service, r.due_at), "state": r.state}
                for r in event.reminders
            ],
            "feedback": _local(service, event.feedback_at),
            "feedback_closes": _local(service, event.feedback_closes_at),
        }
    if as_json:
        typer.echo(
            json.dumps(
                {**details, "registrations": people, "summary": summary},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    out.print(summary.rstrip(), markup=False, highlight=False)
    out.print(
        f"state {details['state']}, invited {details['invited']}, "
        f"capacity {details['capacity'] or '-'}, "
        f"feedback {details['feedback']} - {details['feedback_closes']}",
        markup=False,
    )
    _print(
        people,
        False,
        f"Registrations ({len(people)})",
        ["email", "name", "organisation", "state", "answer", "rating"],
    )


@events_app.command("participants")
def participants(ctx: typer.Context, event_id: int) -> None:
    """The participant list as CSV on stdout (what the coordinator gets by mail)."""
    from mailer.cli import _service

    with _service(ctx) as service, service.db.transaction() as session:
        event = _event(session, event_id)
        csv = service.templates.text(
            service.settings.network.language,
            "events/participants_csv",
            rows=registrations(job_context(service, session), event, "registered", "waitlisted"),
            ratings=ratings(session, event),
        )
    typer.echo(csv, nl=False)
