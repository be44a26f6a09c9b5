"""The members' weekly update (SPEC capability 7): one mail a week, in the member's language.

It says what a member can act on: upcoming events with the member's own
registration state, open polls the member has not answered (with the address
to answer to), material filed since their last update, and the titles of the
shared answers the coordinator published from the question queue since then
(the answers themselves went out as list posts). A member whose
list delivery is ``weekly`` gets the week's list posts in the same mail: one
weekly mail, not two (``mailer/digests.py`` leaves weekly list digests to this
job while ``[digests] weekly`` is on). Members with delivery ``none`` (a pause)
get nothing; anyone may opt out by one mail ("ei viikkotiedotetta") and keeps
the list posts they chose.

It goes out at the list's digest hour on its weekly day (``last_due``), once
per member: ``last_weekly_digest_at`` (and for posts the member's digest
cursor) move in the same transaction as the mail is queued, so a second run
sends nothing and a week missed while the daemon was down is sent when it next
looks; a moment from before the service first ran is not (``service_started``).
A member with nothing to read gets no mail.

Most members of a week read the same thing, so members are grouped by what
their mail says (language, registration states, unanswered polls, material and
post cursors) and each group's message is rendered and stored once, with one
outbox row per member (their own To line and VERP return path).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from urllib.parse import quote

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.orm import Session

from mailer.db.events import Event, Registration
from mailer.db.materials import Material
from mailer.db.models import ListPost, Member
from mailer.db.polls import Ballot, Poll
from mailer.db.shared_answers import SharedAnswer
from mailer.digests import MAX_POSTS, last_due, service_started
from mailer.handlers.context import HandlerContext
from mailer.handlers.polls import BALLOT_TOKEN
from mailer.materials import MATERIALS_ADDRESS
from mailer.outgoing.compose import Draft, OutgoingAttachment, compose
from mailer.outgoing.fanout import Copy, enqueue_raw
from mailer.outgoing.list_copy import list_id, unsubscribe_mailto
from mailer.verp import return_path

CHUNK = 500  # ids per UPDATE ... WHERE id IN (...)
WEEK = timedelta(days=7)  # a first update lists the material of the week before it

log = logging.getLogger("mailer.digests")


@dataclass(frozen=True)
class WeeklyStats:
    members: int  # due this run (mail or not)
    mails: int  # copies queued
    messages: int  # distinct messages stored


@dataclass(frozen=True)
class _Group:
    language: str
    states: tuple[str, ...]  # the member's registration state per upcoming event, "" for none
    polls: tuple[int, ...]  # open polls the member has not answered
    since: datetime | None  # material and shared answers after this (None: no update sections)
    cursor: int | None  # list posts after this (None: not a weekly list reader)


class _Week:
    """What this run's mails are made of, read once; what is new per ``since`` and posts
    per cursor."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.events = list(
            session.scalars(
                select(Event)
                .where(Event.state == "open", Event.audience_members, Event.starts_at > now)
                .order_by(Event.starts_at)
            )
        )
        self.registrations: dict[str, dict[int, str]] = defaultdict(dict)
        for email, event_id, state in session.execute(
            select(Registration.email, Registration.event_id, Registration.state).where(
                Registration.event_id.in_([e.id for e in self.events])
            )
        ):
            self.registrations[email][event_id] = state
        self.polls = list(
            session.scalars(
                select(Poll)
                .where(
                    Poll.state == "open",
                    Poll.audience_members,
                    Poll.ballots_sent_at.is_not(None),
                    Poll.closes_at > now,
                )
                .order_by(Poll.closes_at)
            )
        )
        self.voted: dict[str, set[int]] = defaultdict(set)
        for voter, poll_id in session.execute(
            select(Ballot.voter, Ballot.poll_id).where(
                Ballot.poll_id.in_([p.id for p in self.polls])
            )
        ):
            self.voted[voter].add(poll_id)
        self._news: dict[datetime, tuple[list[Material], list[SharedAnswer]]] = {}
        self._posts: dict[int, list[ListPost]] = {}

    def news(self, since: datetime) -> tuple[list[Material], list[SharedAnswer]]:
        """Material filed and shared answers published after ``since``."""
        if since not in self._news:
            materials = self.session.scalars(
                select(Material)
                .where(Material.filed_at > since, Material.filed_at <= self.now)
                .order_by(Material.id)
            )
            shared = self.session.scalars(
                select(SharedAnswer)
                .where(
                    SharedAnswer.state == "published",
                    SharedAnswer.published_at > since,
                    SharedAnswer.published_at <= self.now,
                )
                .order_by(SharedAnswer.published_at)
            )
            self._news[since] = (list(materials), list(shared))
        return self._news[since]

    def posts(self, cursor: int) -> list[ListPost]:
        if cursor not in self._posts:
            self._posts[cursor] = list(
                self.session.scalars(
                    select(ListPost)
                    .where(ListPost.state == "accepted", ListPost.id > cursor)
                    .order_by(ListPost.id)
                    .limit(MAX_POSTS)
                )
            )
        return self._posts[cursor]


_DueRow = Row[int, str, str, str, str, bool, datetime | None, int]


def _due(session: Session, moment: datetime) -> Sequence[_DueRow]:
    """Members whose update for ``moment`` has not gone out; only the columns needed."""
    return session.execute(
        select(
            Member.id,
            Member.email,
            Member.name,
            Member.language,
            Member.delivery,
            Member.weekly_digest,
            Member.last_weekly_digest_at,
            Member.digest_cursor,
        )
        .where(
            Member.subscribed.is_(True),
            Member.disabled_at.is_(None),
            or_(
                and_(Member.weekly_digest.is_(True), Member.delivery != "none"),
                Member.delivery == "weekly",
            ),
            or_(
                and_(Member.last_weekly_digest_at.is_(None), Member.created_at < moment),
                Member.last_weekly_digest_at < moment,
            ),
        )
        .order_by(Member.id)
    ).all()


def _render(
    ctx: HandlerContext, week: _Week, group: _Group, moment: datetime
) -> tuple[str, bytes] | None:
    """The group's message (Message-ID, bytes), or None when it would say nothing."""
    network = ctx.settings.network
    sections = group.since is not None
    events = list(zip(week.events, group.states, strict=True)) if sections else []
    polls = [p for p in week.polls if p.id in group.polls]
    materials, shared = week.news(group.since) if group.since is not None else ([], [])
    posts = week.posts(group.cursor) if group.cursor is not None else []
    if not (events or polls or materials or shared or posts):
        return None
    language = group.language
    opt_out = ctx.templates.text(language, "digests/weekly_off_word").strip()
    rendered = ctx.templates.render(
        language,
        "digests/weekly",
        network=network,
        week=moment.isocalendar().week,
        events=events,
        polls=[(p, ctx.reply_address(BALLOT_TOKEN, p.id)) for p in polls],
        materials=materials,
        shared_answers=shared,
        posts=posts,
        sections=sections,
        opt_out=opt_out,
        materials_address=network.sub_address(MATERIALS_ADDRESS),
        now=ctx.now,
    )
    headers = {"Auto-Submitted": "auto-generated"}
    if posts:
        list_name = ctx.settings.list.list_name
        headers |= {
            "Precedence": "list",
            "List-Id": f"{list_name} {list_id(network)}",
            "List-Unsubscribe": unsubscribe_mailto(network),
            "List-Post": f"<mailto:{network.sub_address('lista')}>",
        }
    else:
        headers |= {
            "Precedence": "bulk",
            "List-Unsubscribe": f"<mailto:{network.address}?subject={quote(opt_out)}>",
        }
    # [list] mime_digest: each post also as the message it was, as in the daily digest
    attachments = (
        [OutgoingAttachment(f"{p.id}.eml", "message/rfc822", p.raw) for p in posts]
        if ctx.settings.list.mime_digest
        else []
    )
    return compose(
        Draft(
            to=[],
            subject=rendered.subject,
            text=rendered.text,
            kind="weekly-digest",
            language=language,
            headers=headers,
            attachments=attachments,
        ),
        network,
        ctx.now,
    )


def _stamp(session: Session, ids: list[int], **values: object) -> None:
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(Member)
            .where(Member.id.in_(ids[start : start + CHUNK]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def send_weekly_digests(ctx: HandlerContext) -> WeeklyStats:
    """Queue every weekly update due now (see the module doc)."""
    settings = ctx.settings
    if not settings.digests.weekly:
        return WeeklyStats(0, 0, 0)
    moment = last_due(settings, "weekly", ctx.now)
    if moment <= service_started(ctx.session, ctx.now):
        return WeeklyStats(0, 0, 0)
    due = _due(ctx.session, moment)
    if not due:
        return WeeklyStats(0, 0, 0)
    week = _Week(ctx.session, ctx.now)
    groups: dict[_Group, list[tuple[int, str, str]]] = defaultdict(list)
    for member_id, email, name, language, delivery, opted_in, last, cursor in due:
        sections = opted_in and delivery != "none"
        states = week.registrations.get(email, {})
        voted = week.voted.get(email, set())
        key = _Group(
            language=ctx.templates.language(language),
            states=tuple(states.get(e.id, "") for e in week.events) if sections else (),
            polls=tuple(p.id for p in week.polls if p.id not in voted) if sections else (),
            since=(last or moment - WEEK) if sections else None,
            cursor=cursor if delivery == "weekly" else None,
        )
        groups[key].append((member_id, email, name))
    network = settings.network
    mails = messages = 0
    for group, members in groups.items():
        built = _render(ctx, week, group, moment)
        if built is not None:
            message_id, raw = built
            enqueue_raw(
                ctx.session,
                raw=raw,
                message_id=message_id,
                kind="weekly-digest",
                related="digest:weekly",
                envelope_from=network.sub_address("bounce"),
                copies=[
                    Copy(
                        email,
                        return_path(network, ctx.tokens, member_id),
                        f"To: {formataddr((name, email))}\r\n",
                    )
                    for member_id, email, name in members
                ],
                now=ctx.now,
                domain=network.domain,
            )
            mails += len(members)
            messages += 1
        if group.cursor is not None:
            posts = week.posts(group.cursor)
            if posts:
                _stamp(
                    ctx.session,
                    [m[0] for m in members],
                    digest_cursor=posts[-1].id,
                    last_digest_at=ctx.now,
                )
    _stamp(ctx.session, [row[0] for row in due], last_weekly_digest_at=ctx.now)
    ctx.actions.append(f"weekly updates to {mails} members ({messages} messages)")
    log.info(
        "weekly updates queued",
        extra={"due": len(due), "mails": mails, "messages": messages, "groups": len(groups)},
    )
    return WeeklyStats(members=len(due), mails=mails, messages=messages)
