"""The ``mailer`` command. Exit codes: 0 done, 1 failure, 2 bad usage or configuration."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from mailer import logs
from mailer.app import App
from mailer.cli_events import events_app
from mailer.cli_polls import polls_app
from mailer.cli_report import report
from mailer.clock import Clock, parse_now
from mailer.config import DEFAULT_CONFIG, Settings, load_settings
from mailer.db.models import Member, OutboxMessage, OutboxRecipient, Ticket
from mailer.errors import ConfigError, MailerError

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Runs a network of public-transport planners from one mailbox.",
)
members_app = typer.Typer(no_args_is_help=True, help="The members' roster.")
queue_app = typer.Typer(no_args_is_help=True, help="The question queue.")
orgs_app = typer.Typer(no_args_is_help=True, help="Member organisations (municipalities).")
app.add_typer(members_app, name="members")
app.add_typer(queue_app, name="queue")
app.add_typer(orgs_app, name="orgs")
app.add_typer(polls_app, name="polls")
app.add_typer(events_app, name="events")
app.command("report")(report)


out = Console()


@dataclass
class Options:
    config: Path | None
    now: str | None

    def settings(self) -> Settings:
        return load_settings(self.config)

    def clock(self, settings: Settings) -> Clock:
        if not self.now:
            return Clock()
        try:
            return Clock.starting_at(parse_now(self.now, settings.network.tz))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def build(self) -> App:
        settings = self.settings()
        return App.build(settings, self.clock(settings))


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="the config file (default: $MAILER_CONFIG, else ./mailer.toml)"
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="act as if the clock read 'YYYY-MM-DD HH:MM' (network time)"),
    ] = None,
) -> None:
    ctx.obj = Options(config=config, now=now)


def _options(ctx: typer.Context) -> Options:
    assert isinstance(ctx.obj, Options)
    return ctx.obj


@contextmanager
def _service(ctx: typer.Context) -> Iterator[App]:
    """The service for one command, closed however the command ends."""
    service = _options(ctx).build()
    try:
        yield service
    finally:
        service.close()


@app.command()
def init(
    path: Annotated[Path, typer.Option(help="where to write the starter config")] = Path(
        DEFAULT_CONFIG
    ),
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Write a commented starter mailer.toml and create the database."""
    from mailer.starter import STARTER_CONFIG, database_url_of

    if path.exists() and not force:
        raise ConfigError(f"{path} exists; use --force to overwrite it")
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    from mailer.db.engine import Database

    db = Database(database_url_of(path))
    db.upgrade()
    db.dispose()
    then = "mailer run" if path == Path(DEFAULT_CONFIG) else f"mailer --config {path} run"
    out.print(f"wrote {path} and created the database; edit it, then run: {then}")


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="one full cycle, then exit")] = False,
) -> None:
    """The daemon: watch the mailbox, act, run the schedule, send the outbox."""
    from mailer.daemon import Daemon

    logs.setup()
    with _service(ctx) as service:
        daemon = Daemon(service)
        if once:
            asyncio.run(daemon.run_once())
        else:
            asyncio.run(daemon.run())


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="keep the demo's files here")
    ] = None,
) -> None:
    """The whole service on embedded parts, walking through a question and its answer."""
    from mailer.demo import run_demo

    run_demo(directory, out)


@app.command()
def explain(ctx: typer.Context, message: Path) -> None:
    """Show how a message would be routed and what it would cause (nothing is changed)."""
    with _service(ctx) as service:
        result = service.pipeline.explain(message.read_bytes())
    out.print(f"[bold]{message}[/bold]")
    for step in result.walk:
        out.print(f"  {step}")
    out.print(
        f"handler: {result.handler or '-'}   outcome: {result.outcome}   folder: {result.folder}"
    )
    if result.reason:
        out.print(f"reason: {result.reason}")
    for action in result.actions:
        out.print(f"  would {action}")


@members_app.command("import")
def members_import(ctx: typer.Context, file: Path) -> None:
    """Add or update members from a CSV file (email,name,organisation,language)."""
    from mailer.roster import import_csv

    with _service(ctx) as service:
        try:
            with service.db.transaction() as session:
                report = import_csv(
                    session, file, service.settings.network.language, service.clock.now()
                )
        except FileNotFoundError:
            raise ConfigError(f"no such file: {file}") from None
    for line, reason in report.errors:
        typer.echo(f"{file}:{line}: {reason}", err=True)
    out.print(
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.errors)} bad rows"
    )
    if report.errors and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


def _print(rows: list[dict[str, Any]], as_json: bool, title: str, columns: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) if row[c] is not None else "" for c in columns))
    out.print(table)


def _member_row(m: Member) -> dict[str, Any]:
    state = "disabled" if m.disabled_at else ("subscribed" if m.subscribed else "left")
    return {
        "email": m.email,
        "name": m.name,
        "organisation": m.organisation_name,
        "language": m.language,
        "delivery": m.delivery,
        "role": m.role,
        "state": state,
        "bounce_score": m.bounce_score,
    }


MEMBER_COLUMNS = ["email", "name", "organisation", "language", "delivery", "role", "state"]


@members_app.command("list")
def members_list(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """The roster."""
    with _service(ctx) as service, service.db.transaction() as session:
        rows = [_member_row(m) for m in session.scalars(select(Member).order_by(Member.email))]
    _print(rows, as_json, f"Members ({len(rows)})", MEMBER_COLUMNS)


@members_app.command("add")
def members_add(
    ctx: typer.Context,
    email: str,
    name: Annotated[str, typer.Option()] = "",
    organisation: Annotated[str, typer.Option()] = "",
    language: Annotated[str | None, typer.Option()] = None,
    delivery: Annotated[str, typer.Option(help="each, daily, weekly or none")] = "each",
) -> None:
    """Add one member (or update and re-subscribe an existing one); no confirmation mail."""
    from mailer.roster import add_member

    with _service(ctx) as service, service.db.transaction() as session:
        member = add_member(
            session,
            email,
            name=name,
            organisation_name=organisation,
            language=language or service.settings.network.language,
            delivery=delivery,
            now=service.clock.now(),
        )
        row = _member_row(member)
    _print([row], False, "Member", MEMBER_COLUMNS)


@members_app.command("remove")
def members_remove(
    ctx: typer.Context,
    email: str,
    erase: Annotated[bool, typer.Option(help="erase every trace, as on request")] = False,
) -> None:
    """Take a member off the list (kept for history), or erase them with --erase."""
    from mailer.handlers.privacy import erase as erase_person
    from mailer.jobs import job_context

    with _service(ctx) as service, service.db.transaction() as session:
        member = session.scalars(select(Member).where(Member.email == email.lower())).first()
        if member is None:
            raise ConfigError(f"no member {email}")
        if erase:
            erase_person(job_context(service, session), member.email)
        else:
            member.subscribed, member.updated_at = False, service.clock.now()
    out.print(f"{email} {'erased' if erase else 'removed from the list'}")


@members_app.command("export")
def members_export(ctx: typer.Context) -> None:
    """The roster as CSV on stdout (the import format plus delivery, role and state)."""
    import csv

    with _service(ctx) as service, service.db.transaction() as session:
        rows = [_member_row(m) for m in session.scalars(select(Member).order_by(Member.email))]
    writer = csv.DictWriter(sys.stdout, fieldnames=[*MEMBER_COLUMNS, "bounce_score"])
    writer.writeheader()
    writer.writerows(rows)


@members_app.command("ban")
def members_ban(ctx: typer.Context, pattern: str) -> None:
    """Discard list posts from an address or a whole @domain, silently."""
    from mailer.db.models import Ban

    with _service(ctx) as service, service.db.transaction() as session:
        session.add(Ban(pattern=pattern.lower(), created_at=service.clock.now()))
    out.print(f"banned {pattern}")


@orgs_app.command("list")
def orgs_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Organisations with their status, fee year and number of subscribed members."""
    from mailer.db.models import Organisation

    with _service(ctx) as service, service.db.transaction() as session:
        counts = dict(
            session.execute(
                select(Member.organisation_id, func.count(Member.id))
                .where(Member.subscribed.is_(True))
                .group_by(Member.organisation_id)
            ).all()
        )
        rows = [
            {
                "name": o.name,
                "status": o.status,
                "fee_paid_year": o.fee_paid_year,
                "members": counts.get(o.id, 0),
            }
            for o in session.scalars(select(Organisation).order_by(Organisation.name))
        ]
    _print(
        rows,
        as_json,
        f"Organisations ({len(rows)})",
        ["name", "status", "fee_paid_year", "members"],
    )


@orgs_app.command("set")
def orgs_set(
    ctx: typer.Context,
    name: str,
    status: Annotated[str | None, typer.Option(help="member, former or prospect")] = None,
    fee_paid: Annotated[int | None, typer.Option(help="the year the fee was last paid")] = None,
) -> None:
    """Record an organisation's membership status and fee year (created if new)."""
    from mailer.roster import organisation

    if status is not None and status not in ("member", "former", "prospect"):
        raise ConfigError("--status must be member, former or prospect")
    with _service(ctx) as service, service.db.transaction() as session:
        org = organisation(session, name, service.clock.now())
        if org is None:
            raise ConfigError("an organisation needs a name")
        if status is not None:
            org.status = status
        if fee_paid is not None:
            org.fee_paid_year = fee_paid
    out.print(f"{name}: saved")


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


@queue_app.command("list")
def queue_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    state: Annotated[
        str | None, typer.Option(help="only tickets in this state: open, answered, closed")
    ] = None,
) -> None:
    """Tickets with their state and age, oldest open first; failed deliveries shown."""
    with _service(ctx) as service:
        now = service.clock.now()
        with service.db.transaction() as session:
            failed: dict[str, int] = {
                related: count
                for related, count in session.execute(
                    select(OutboxMessage.related, func.count(OutboxRecipient.id))
                    .join(OutboxRecipient, OutboxRecipient.message_pk == OutboxMessage.id)
                    .where(OutboxRecipient.state == "failed")
                    .group_by(OutboxMessage.related)
                )
            }
            query = select(Ticket).order_by(Ticket.id)
            if state:
                query = query.where(Ticket.state == state)
            tickets = session.scalars(query).all()
            # A ticket written under a later --now is no younger than zero.
            ages = {t.id: max(0, int((now - t.created_at).total_seconds())) for t in tickets}
            rows = [
                {
                    "ref": t.id,
                    "state": t.state,
                    "age": _age(ages[t.id]),
                    "age_seconds": ages[t.id],
                    "from": t.requester_email,
                    "name": t.requester_name,
                    "organisation": t.organisation,
                    "subject": t.subject,
                    "created_at": t.created_at.isoformat(),
                    "first_answered_at": t.first_answered_at.isoformat()
                    if t.first_answered_at
                    else None,
                    "failed_deliveries": failed.get(f"ticket:{t.id}", 0),
                }
                for t in tickets
            ]
    _print(
        rows,
        as_json,
        f"Questions ({len(rows)})",
        ["ref", "state", "age", "from", "organisation", "subject", "failed_deliveries"],
    )


GLOBAL_OPTIONS = ("--config", "-c", "--now")


def run_daemon(argv: list[str]) -> int:
    """``python scheduler.py [--config F] [--now T] [--once]``: the same as ``mailer run``."""
    before: list[str] = []
    after: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in GLOBAL_OPTIONS:
            before += [arg, next(args, "")]
        elif arg.split("=", 1)[0] in GLOBAL_OPTIONS:
            before.append(arg)
        else:
            after.append(arg)
    return main([*before, "run", *after])


def main(argv: list[str] | None = None) -> int:
    """Entry point: configuration errors become one line on stderr and exit code 2."""
    try:
        app(args=argv, prog_name="mailer")
    except ConfigError as exc:
        print(f"mailer: {exc}", file=sys.stderr)
        return 2
    except MailerError as exc:
        print(f"mailer: {exc}", file=sys.stderr)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
