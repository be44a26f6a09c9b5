"""Members' list digests: daily or weekly, at the configured hour in the network's time zone.

Each member has a cursor (the last post they received in a digest) and the time
of their last digest. A digest is due when the last digest was before the most
recent digest moment; it carries every accepted post after the cursor, and the
cursor and time move in the same transaction as the digest is queued. So a
digest is never sent twice, never skips a post, and one missed while the daemon
was down goes out when it next looks. A moment from before the service first ran
(``service_started``) is not caught up: a new installation starts with the next one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP, compat32
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mailer.config import Settings
from mailer.db.models import JobRun, ListPost, Member
from mailer.outgoing.compose import LOOP_HEADER, one_line
from mailer.outgoing.fanout import Copy, enqueue_raw
from mailer.outgoing.list_copy import list_id, unsubscribe_mailto
from mailer.reply_tokens import ReplyTokens
from mailer.templates import Templates
from mailer.verp import return_path

MAX_POSTS = 200
STARTED = ("service", "started")  # the job_runs row that says when the service first ran


def service_started(session: Session, now: datetime) -> datetime:
    """When this installation first ran its schedule, recorded at the first call.

    Members imported days before the first run would otherwise be owed the digest
    moment that passed in between, and a new installation started on a Tuesday
    would send "this week's" update for the Monday before it existed. An
    installation from before this row dates it by its first job run, so its
    catch-up after downtime is unchanged. Two daemons taking the first run at once
    clash on the unique row; the loser's transaction rolls back and retries.
    """
    job, key = STARTED
    started = session.scalar(select(JobRun.ran_at).where(JobRun.job == job, JobRun.due_key == key))
    if started is None:
        earliest = session.scalar(select(func.min(JobRun.ran_at)))
        started = now if earliest is None else min(earliest, now)
        session.add(JobRun(job=job, due_key=key, ran_at=started))
        session.flush()
    return started


def last_due(settings: Settings, mode: str, now: datetime, hour: int | None = None) -> datetime:
    """The most recent digest moment at or before ``now`` for ``daily`` or ``weekly``,
    at ``hour`` (the coordinator's digest) or else the list's digest hour."""
    tz = settings.network.tz
    local = now.astimezone(tz)
    at = time(settings.list.digest_hour if hour is None else hour)
    moment = datetime.combine(local.date(), at, tzinfo=tz)
    if moment > local:
        moment -= timedelta(days=1)
    if mode == "weekly":
        back = (moment.weekday() - settings.list.weekly_digest_weekday) % 7
        moment -= timedelta(days=back)
    return moment


@dataclass(frozen=True)
class DigestStats:
    members: int
    messages: int


def _due_members(session: Session, settings: Settings, now: datetime) -> list[Member]:
    due: list[Member] = []
    started = service_started(session, now)
    # weekly readers get their posts in the members' weekly update (mailer/weekly_digest.py)
    for mode in ("daily",) if settings.digests.weekly else ("daily", "weekly"):
        moment = last_due(settings, mode, now)
        if moment <= started:
            continue
        due += session.scalars(
            select(Member).where(
                Member.subscribed.is_(True),
                Member.disabled_at.is_(None),
                Member.delivery == mode,
                or_(
                    and_(Member.last_digest_at.is_(None), Member.created_at < moment),
                    Member.last_digest_at < moment,
                ),
            )
        ).all()
    return due


def _render(
    templates: Templates,
    settings: Settings,
    language: str,
    mode: str,
    posts: list[ListPost],
    now: datetime,
) -> tuple[str, bytes]:
    network = settings.network
    rendered = templates.render(
        language, "list/digest", network=network, posts=posts, mode=mode, now=now
    )
    footer = templates.text(language, "list/footer", network=network)
    if settings.list.mime_digest:
        msg: Message = MIMEMultipart("mixed")
        msg.attach(MIMEText(rendered.text, "plain", "utf-8"))
        digest = MIMEMultipart("digest")
        for post in posts:
            digest.attach(MIMEMessage(message_from_bytes(post.raw, policy=compat32)))
        msg.attach(digest)
        msg.attach(MIMEText(footer, "plain", "utf-8"))
    else:
        msg = EmailMessage()
        msg.set_content(f"{rendered.text.rstrip()}\n\n{footer}", cte="quoted-printable")
    message_id = make_msgid(domain=network.domain)
    msg["From"] = formataddr((one_line(network.name), network.address))
    msg["To"] = formataddr((one_line(settings.list.list_name), network.sub_address("lista")))
    msg["Subject"] = one_line(rendered.subject, 900)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["List-Id"] = f"{one_line(settings.list.list_name)} {list_id(network)}"
    msg["List-Unsubscribe"] = unsubscribe_mailto(network)
    msg["List-Post"] = f"<mailto:{network.sub_address('lista')}>"
    msg["Precedence"] = "list"
    msg["Auto-Submitted"] = "auto-generated"
    msg[LOOP_HEADER] = network.address
    policy = SMTP if isinstance(msg, EmailMessage) else compat32.clone(linesep="\r\n")
    return message_id, msg.as_bytes(policy=policy)


def send_digests(
    session: Session,
    settings: Settings,
    templates: Templates,
    tokens: ReplyTokens,
    now: datetime,
) -> DigestStats:
    """Queue every digest due now; members sharing language, mode and cursor share bytes."""
    members = _due_members(session, settings, now)
    groups: dict[tuple[str, str, int], list[Member]] = defaultdict(list)
    for member in members:
        groups[(member.language, member.delivery, member.digest_cursor)].append(member)
    messages = 0
    for (language, mode, cursor), group in groups.items():
        posts = list(
            session.scalars(
                select(ListPost)
                .where(ListPost.state == "accepted", ListPost.id > cursor)
                .order_by(ListPost.id)
                .limit(MAX_POSTS)
            )
        )
        if posts:
            message_id, raw = _render(templates, settings, language, mode, posts, now)
            network = settings.network
            enqueue_raw(
                session,
                raw=raw,
                message_id=message_id,
                kind=f"list-digest-{mode}",
                related=f"digest:{mode}",
                envelope_from=network.sub_address("bounce"),
                copies=[
                    Copy(
                        m.email,
                        return_path(network, tokens, m.id),
                    )
                    for m in group
                ],
                now=now,
                domain=network.domain,
            )
            messages += 1
        newest = posts[-1].id if posts else cursor
        for member in group:
            member.digest_cursor, member.last_digest_at = newest, now
    return DigestStats(members=len(members), messages=messages)
