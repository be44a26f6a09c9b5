"""The yearly report (spec capability 9): what the network did in one calendar year.

The figures are gathered here from the database, the words are the templates'
(``templates/<lang>/report/``), and the charts are PNGs drawn by ``mailer.charts``.
A year is the network's calendar year (its time zone), so a question sent at
00:30 on New Year's night in Helsinki belongs to the new year.

Membership has no history table, so the count at a moment is reconstructed:
a member counts from ``created_at``; one who has left (``subscribed`` false)
counts until their row last changed, which is when they left. Erased members
are gone and are not counted. An organisation is in the network at a moment
when at least one of its members is.

Event figures and words reuse ``mailer.events.summary`` (the coordinator's
"Osallistujia 23, arvosana 4,5/5 (17 vastausta)"), poll results reuse
``mailer.handlers.polls.tally``: the report never counts differently from the
mails people already received.
"""

from __future__ import annotations

import base64
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer import charts
from mailer.db.events import Event
from mailer.db.models import ListPost, Member, Organisation, Ticket
from mailer.db.polls import Poll
from mailer.db.shared_answers import SharedAnswer
from mailer.events.summary import EventSummary, ratings, summarise
from mailer.handlers.polls import Tally, tally
from mailer.outgoing.compose import OutgoingAttachment
from mailer.templates import Templates

FORMATS = ("html", "md", "txt")
HALF_POINTS = [Decimal(h) / 2 for h in range(2, 11)]  # 1, 1.5, ... 5: the rating scale


@dataclass(frozen=True)
class EventReport:
    summary: EventSummary
    distribution: list[tuple[Decimal, int]]  # every half point of the scale, with its count

    @property
    def chart(self) -> str:
        return f"event-{self.summary.event.id}.png"


@dataclass(frozen=True)
class PollReport:
    poll: Poll
    tally: Tally

    @property
    def chart(self) -> str:
        return f"poll-{self.poll.id}.png"


@dataclass(frozen=True)
class Month:
    month: int  # 1..12
    received: int  # questions that arrived
    answered: int  # of those, answered by now
    median_hours: Decimal | None  # to the first answer, one decimal
    posts: int  # accepted list posts


@dataclass(frozen=True)
class Joined:
    name: str
    email: str
    organisation: str
    at: datetime


@dataclass(frozen=True)
class OrganisationCount:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class YearReport:
    year: int
    generated_at: datetime
    events: list[EventReport]
    polls: list[PollReport]
    months: list[Month]
    received: int
    answered: int
    median_hours: Decimal | None
    shared_answers: int  # questions published to the list, anonymised
    posts: int
    posters: int  # distinct authors of accepted posts
    members_start: int
    members_end: int
    organisations: list[OrganisationCount]  # start or end above zero, biggest first
    joined: list[Joined]  # members who joined during the year, in order
    new_organisations: list[str]  # in the network at the end, not at the start

    @property
    def participants(self) -> int:
        return sum(e.summary.participants for e in self.events)

    @property
    def organisations_start(self) -> int:
        return sum(1 for o in self.organisations if o.start)

    @property
    def organisations_end(self) -> int:
        return sum(1 for o in self.organisations if o.end)


def year_bounds(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """1 January 00:00 of ``year`` and of the next, in the network's time zone."""
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _median(hours: Sequence[float]) -> Decimal | None:
    if not hours:
        return None
    return Decimal(str(statistics.median(hours))).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _events(session: Session, start: datetime, end: datetime) -> list[EventReport]:
    """Events held in the year: sent out, not cancelled, begun by the end of the report."""
    found = session.scalars(
        select(Event)
        .where(Event.state == "open", Event.starts_at >= start, Event.starts_at < end)
        .order_by(Event.starts_at, Event.id)
    )
    out = []
    for event in found:
        given = Counter(ratings(session, event).values())
        out.append(EventReport(summarise(session, event), [(h, given[h]) for h in HALF_POINTS]))
    return out


def _polls(session: Session, start: datetime, end: datetime) -> list[PollReport]:
    """Polls and surveys whose deadline fell in the year and whose result is final."""
    found = session.scalars(
        select(Poll)
        .where(Poll.state == "closed", Poll.closes_at >= start, Poll.closes_at < end)
        .order_by(Poll.closes_at, Poll.id)
    )
    return [PollReport(p, tally(session, p)) for p in found]


def _members(
    session: Session, start: datetime, end: datetime
) -> tuple[int, int, list[OrganisationCount], list[Joined]]:
    rows = session.execute(
        select(
            Member.name,
            Member.email,
            Member.created_at,
            Member.subscribed,
            Member.updated_at,
            Organisation.name,
        )
        .outerjoin(Organisation, Organisation.id == Member.organisation_id)
        .where(Member.role == "member")
        .order_by(Member.created_at, Member.id)
    ).all()
    at_start: Counter[str] = Counter()
    at_end: Counter[str] = Counter()
    joined = []
    for name, email, created, subscribed, updated, org in rows:
        org = org or ""
        if created < start and (subscribed or updated >= start):
            at_start[org] += 1
        if created < end and (subscribed or updated >= end):
            at_end[org] += 1
        if start <= created < end:
            joined.append(Joined(name, email, org, created))
    organisations = sorted(
        (OrganisationCount(o, at_start[o], at_end[o]) for o in set(at_start) | set(at_end) if o),
        key=lambda c: (-c.end, -c.start, c.name),
    )
    return sum(at_start.values()), sum(at_end.values()), organisations, joined


def build(session: Session, year: int, now: datetime, tz: ZoneInfo) -> YearReport:
    """Every figure of the year's report; the rest of the year after ``now`` is empty."""
    start, end = year_bounds(year, tz)
    end = min(end, max(now, start))
    tickets = session.execute(
        select(Ticket.created_at, Ticket.first_answered_at).where(
            Ticket.created_at >= start, Ticket.created_at < end
        )
    ).all()
    posts = session.execute(
        select(ListPost.created_at, ListPost.author_email).where(
            ListPost.state == "accepted", ListPost.created_at >= start, ListPost.created_at < end
        )
    ).all()
    received: Counter[int] = Counter()
    waited: dict[int, list[float]] = {m: [] for m in range(1, 13)}
    for created, answered in tickets:
        month = created.astimezone(tz).month
        received[month] += 1
        if answered is not None:
            waited[month].append(_hours(answered - created))
    post_months = Counter(created.astimezone(tz).month for created, _ in posts)
    months = [
        Month(m, received[m], len(waited[m]), _median(waited[m]), post_months[m])
        for m in range(1, 13)
    ]
    members_start, members_end, organisations, joined = _members(session, start, end)
    start_names = {o.name for o in organisations if o.start}
    return YearReport(
        year=year,
        generated_at=now,
        events=_events(session, start, end),
        polls=_polls(session, start, end),
        months=months,
        received=len(tickets),
        answered=sum(len(w) for w in waited.values()),
        median_hours=_median([h for w in waited.values() for h in w]),
        shared_answers=session.scalar(
            select(func.count()).where(
                SharedAnswer.state == "published",
                SharedAnswer.published_at >= start,
                SharedAnswer.published_at < end,
            )
        )
        or 0,
        posts=len(posts),
        posters=len({author.lower() for _, author in posts}),
        members_start=members_start,
        members_end=members_end,
        organisations=organisations,
        joined=joined,
        new_organisations=sorted(
            o.name for o in organisations if o.end and o.name not in start_names
        ),
    )


def draw(report: YearReport, templates: Templates, language: str) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by file name; the words from the templates."""
    labels = chart_labels(templates, language)
    images = {
        "questions.png": charts.questions(report.months, labels),
        "list.png": charts.posts(report.months, labels),
        "members.png": charts.members(report.organisations, labels),
    }
    for event in report.events:
        images[event.chart] = charts.ratings(event.distribution, labels, language)
    for poll in report.polls:
        if poll.poll.kind == "poll":
            images[poll.chart] = charts.poll(poll.tally, labels)
    return images


def chart_labels(templates: Templates, language: str) -> dict[str, str]:
    """The words on the charts: ``report/chart_labels``."""
    return templates.labels(language, "report/chart_labels")


def render(
    templates: Templates,
    report: YearReport,
    language: str,
    fmt: str,
    images: dict[str, str],
    network: object,
) -> str:
    """The report as ``fmt`` (html, md or txt); ``images`` maps a chart's name to its src."""
    lang = templates.language(language)
    suffix = {"html": "html.j2", "md": "md.j2", "txt": "txt.j2"}[fmt]
    page = templates.env.get_template(f"{lang}/report/report.{suffix}")
    return page.render(report=report, images=images, network=network, lang=lang)


def data_uris(images: dict[str, bytes]) -> dict[str, str]:
    """Charts inline, so the HTML is one file that opens anywhere, also from a mail."""
    return {
        name: "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        for name, data in images.items()
    }


def file_stem(templates: Templates, language: str, year: int) -> str:
    """E.g. ``vuosiraportti-2026``: the file name people see, in their language."""
    return templates.text(language, "report/file_name", year=year).strip()


def write(
    templates: Templates,
    report: YearReport,
    language: str,
    formats: Sequence[str],
    directory: Path,
    network: object,
) -> list[Path]:
    """Write the report in each format into ``directory``; the Markdown's charts go in a
    folder beside it (Markdown cannot embed them), the HTML carries its own."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = file_stem(templates, language, report.year)
    images = draw(report, templates, language) if {"html", "md"} & set(formats) else {}
    written = []
    for fmt in formats:
        if fmt == "html":
            sources = data_uris(images)
        elif fmt == "md":
            folder = directory / f"{stem}-png"
            folder.mkdir(exist_ok=True)
            for name, data in images.items():
                (folder / name).write_bytes(data)
                written.append(folder / name)
            sources = {name: f"{folder.name}/{name}" for name in images}
        else:
            sources = {}
        path = directory / f"{stem}.{fmt}"
        path.write_text(render(templates, report, language, fmt, sources, network), "utf-8")
        written.append(path)
    return written


def attachments(
    templates: Templates, report: YearReport, language: str, network: object
) -> list[OutgoingAttachment]:
    """The report for a mail: the HTML with its charts and the text to paste."""
    stem = file_stem(templates, language, report.year)
    sources = data_uris(draw(report, templates, language))
    html = render(templates, report, language, "html", sources, network)
    text = render(templates, report, language, "txt", {}, network)
    return [
        OutgoingAttachment(f"{stem}.html", "text/html", html.encode("utf-8")),
        OutgoingAttachment(f"{stem}.txt", "text/plain", text.encode("utf-8")),
    ]
