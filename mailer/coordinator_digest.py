"""The coordinator's daily digest (SPEC capability 7): what needs a look, once a day.

At ``[digests] coordinator_hour`` (network time) the coordinators get one mail:
new questions, the open ones with their age (oldest first, with the
reference), registrations since the last digest per event, ballots so far per
open poll, held list posts, delivery failures and members disabled for
bouncing, material filed, and the mail filed without an answer (auto-replies,
forms from the wrong sender, answers held back by the flood limit, mail that
could not be handled), grouped by the reason. A digest with nothing in it is
not sent.

Each digest moment is one ``job_runs`` row (``coordinator-digest``, the local
date), written in the same transaction as the mail is queued: a second run, or
a second daemon, sends nothing (the unique row stops it), and a moment missed
while the daemon was down is sent when it next looks. Only the latest missed
moment is sent, and it covers everything since the last digest that went out,
so a gap never loses an item and never floods the coordinator. A moment from
before the service first ran (``service_started``) is only marked: a new
installation starts at the next hour, as the members' digests do, and its first
digest says it covers the time since the service started, not since a digest
the coordinator never got.

The digest's Reply-To carries a token (``d``): the coordinator answers it in
Outlook with lines such as ``#12 SULJE`` (see ``handlers/digests.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db.events import Event, Registration
from mailer.db.materials import Material
from mailer.db.models import (
    Bounce,
    InboundMail,
    JobRun,
    ListPost,
    Member,
    OutboxMessage,
    OutboxRecipient,
    Ticket,
)
from mailer.db.polls import Poll
from mailer.digests import last_due, service_started
from mailer.events.summary import NewRegistration, new_registrations
from mailer.handlers.context import WITHHELD, HandlerContext
from mailer.handlers.digests import DIGEST_TOKEN
from mailer.handlers.polls import tally
from mailer.outgoing.compose import Draft

JOB = "coordinator-digest"
LIMIT = 50  # lines per section; the rest is counted, not listed
PER_REASON = 5  # filed mails listed under one reason; the rest is counted

log = logging.getLogger("mailer.digests")


@dataclass(frozen=True)
class OpenTicket:
    ticket: Ticket
    age: timedelta

    @property
    def days(self) -> int:
        return self.age.days

    @property
    def hours(self) -> int:
        return int(self.age.total_seconds() // 3600)


@dataclass(frozen=True)
class EventRegistrations:
    event: Event
    new: list[NewRegistration]
    registered: int  # seats taken now


@dataclass(frozen=True)
class PollProgress:
    poll: Poll
    ballots: int


@dataclass(frozen=True)
class Failure:
    """An address mail could not be delivered to: refused by SMTP, or bounced later."""

    address: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class FiledMail:
    sender: str
    subject: str
    at: datetime


# Why mail was filed, by the start of the reason the service stored: one kind each,
# which the templates say in the coordinator's language and by which the mail is
# grouped ("duplicate of <Message-ID>" would be a group of its own each time). A
# reason of no kind here is shown as stored.
FILED_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("automatic", ("automatic mail", "out-of-office")),
    ("own-mail", ("our own mail came back",)),
    ("rationed", (WITHHELD,)),
    ("duplicate", ("duplicate of an earlier message",)),
    ("empty", ("an empty mail",)),
    ("coordinator-help", ("a coordinator's mail that refers to nothing",)),
    ("too-large", ("too large",)),
    ("error", ("error:", "unparseable:")),
)


def filed_kind(reason: str) -> str:
    """The kind of a stored filing reason, or "" when it is of none of ``FILED_KINDS``."""
    folded = reason.casefold()
    for kind, starts in FILED_KINDS:
        if folded.startswith(starts):
            return kind
    if "not from a coordinator" in folded or "not a coordinator" in folded:
        return "not-coordinator"
    return ""


@dataclass(frozen=True)
class FiledReason:
    """Mail filed without an answer for one reason: a holiday's auto-replies stay one line."""

    kind: str  # one of FILED_KINDS, "not-coordinator", or "" (then ``reason`` says it)
    reason: str
    shunted: bool  # could not be handled at all: it waits in the Shunt folder
    mails: list[FiledMail]


@dataclass
class CoordinatorDigest:
    since: datetime
    now: datetime
    first: bool = False  # no digest went out before: ``since`` is when the service started
    new_tickets: list[Ticket] = field(default_factory=list)
    open_tickets: list[OpenTicket] = field(default_factory=list)
    registrations: list[EventRegistrations] = field(default_factory=list)
    polls: list[PollProgress] = field(default_factory=list)
    held: list[ListPost] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    disabled: list[Member] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)
    filed: list[FiledReason] = field(default_factory=list)
    filed_bounces: int = 0  # bounces and mail to the bounce address: failures list those
    limit: int = LIMIT
    per_reason: int = PER_REASON

    @property
    def filed_count(self) -> int:
        return sum(len(group.mails) for group in self.filed)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.new_tickets,
                self.open_tickets,
                self.registrations,
                self.polls,
                self.held,
                self.failures,
                self.disabled,
                self.materials,
                self.filed,
                self.filed_bounces,
            )
        )


def _registrations(session: Session, since: datetime) -> list[EventRegistrations]:
    new = new_registrations(session, since)
    ids = sorted({r.event_id for r in new})
    seats = dict(
        session.execute(
            select(Registration.event_id, func.count(Registration.id))
            .where(Registration.event_id.in_(ids), Registration.state == "registered")
            .group_by(Registration.event_id)
        ).all()
    )
    events = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(ids)))}
    by_event = sorted(new, key=lambda r: (events[r.event_id].starts_at, r.event_id))
    return [
        EventRegistrations(events[event_id], list(group), seats.get(event_id, 0))
        for event_id, group in groupby(by_event, key=lambda r: r.event_id)
    ]


def _failures(session: Session, since: datetime) -> list[Failure]:
    """One line per address (its latest failure), refusals and bounces together."""
    refused = session.execute(
        select(
            OutboxRecipient.address, OutboxRecipient.last_error, OutboxRecipient.failed_at
        ).where(OutboxRecipient.state == "failed", OutboxRecipient.failed_at >= since)
    ).all()
    bounced = session.execute(
        select(Bounce.address, Bounce.reason, Bounce.created_at).where(
            Bounce.created_at >= since, Bounce.address != ""
        )
    ).all()
    rows: list[tuple[str, str, datetime]] = [(a, r, at) for a, r, at in refused if at is not None]
    rows += [(a, r, at) for a, r, at in bounced]
    latest: dict[str, Failure] = {}
    for address, reason, at in sorted(rows, key=lambda row: row[2]):
        latest[address] = Failure(address, " ".join(reason.split())[:200], at)
    return sorted(latest.values(), key=lambda f: f.at)


def _filed(session: Session, since: datetime) -> tuple[list[FiledReason], int]:
    """Mail nobody was answered for, grouped by reason (largest group first); and how many
    of them were bounces or mail to the bounce address, which are counted only."""
    rows = session.scalars(
        select(InboundMail)
        .where(InboundMail.claimed_at >= since, InboundMail.outcome.in_(("filed", "shunted")))
        .order_by(InboundMail.claimed_at, InboundMail.id)
    ).all()
    groups: dict[tuple[str, str, bool], list[FiledMail]] = {}
    bounces = 0
    for row in rows:
        if row.handler == "bounce" or "+bounce" in row.delivered_to:
            bounces += 1
            continue
        reason = " ".join(row.reason.split())[:200]
        kind = filed_kind(reason)
        key = (kind, "" if kind else reason, row.outcome == "shunted")
        groups.setdefault(key, []).append(FiledMail(row.sender, row.subject, row.claimed_at))
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0].at))
    return [
        FiledReason(kind, reason, shunted, mails) for (kind, reason, shunted), mails in ordered
    ], bounces


def build(session: Session, since: datetime, now: datetime) -> CoordinatorDigest:
    """Everything the digest says, for the window ``since`` … ``now``."""
    digest = CoordinatorDigest(since=since, now=now)
    digest.new_tickets = list(
        session.scalars(select(Ticket).where(Ticket.created_at >= since).order_by(Ticket.id))
    )
    digest.open_tickets = [
        OpenTicket(t, now - t.created_at)
        for t in session.scalars(
            select(Ticket).where(Ticket.state == "open").order_by(Ticket.created_at, Ticket.id)
        )
    ]
    digest.registrations = _registrations(session, since)
    digest.polls = [
        PollProgress(poll, tally(session, poll).ballots)
        for poll in session.scalars(
            select(Poll)
            .where(Poll.state == "open", Poll.ballots_sent_at.is_not(None))
            .order_by(Poll.closes_at)
        )
    ]
    digest.held = list(
        session.scalars(select(ListPost).where(ListPost.state == "held").order_by(ListPost.id))
    )
    digest.failures = _failures(session, since)
    digest.disabled = list(
        session.scalars(
            select(Member).where(Member.disabled_at >= since).order_by(Member.disabled_at)
        )
    )
    digest.materials = list(
        session.scalars(select(Material).where(Material.filed_at >= since).order_by(Material.id))
    )
    digest.filed, digest.filed_bounces = _filed(session, since)
    return digest


def send_coordinator_digest(ctx: HandlerContext) -> int:
    """Queue the digest if its moment has come and it was not sent; returns mails queued.

    Raises ``IntegrityError`` at flush when another daemon took the same moment.
    """
    settings = ctx.settings
    moment = last_due(settings, "daily", ctx.now, hour=settings.digests.coordinator_hour)
    key = moment.date().isoformat()
    done = ctx.session.scalar(select(JobRun.id).where(JobRun.job == JOB, JobRun.due_key == key))
    if done is not None:
        return 0
    started = service_started(ctx.session, ctx.now)
    previous = ctx.session.scalar(select(func.max(JobRun.ran_at)).where(JobRun.job == JOB))
    run = JobRun(job=JOB, due_key=key, ran_at=ctx.now)
    ctx.session.add(run)
    ctx.session.flush()
    if previous is None and moment <= started:
        log.info("first run: the coordinator digest starts at the next hour", extra={"due": key})
        return 0
    digest = build(ctx.session, previous or started, ctx.now)
    digest.first = (
        ctx.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.kind == "coordinator-digest").limit(1)
        )
        is None
    )
    if digest.empty:
        log.info("coordinator digest empty; not sent", extra={"due": key})
        return 0
    network = settings.network
    rendered = ctx.templates.render(
        network.language, "digests/coordinator", network=network, digest=digest
    )
    ctx.send(
        Draft(
            to=list(network.coordinators),
            subject=rendered.subject,
            text=rendered.text,
            kind="coordinator-digest",
            related=f"digest:{run.id}",
            reply_to=ctx.reply_address(DIGEST_TOKEN, run.id),
            language=network.language,
            # the clock sent it: out-of-office responders stay quiet (RFC 3834)
            headers={"Auto-Submitted": "auto-generated"},
        )
    )
    log.info(
        "coordinator digest queued",
        extra={
            "due": key,
            "new": len(digest.new_tickets),
            "open": len(digest.open_tickets),
            "held": len(digest.held),
            "failures": len(digest.failures),
            "filed": digest.filed_count,
        },
    )
    return 1
