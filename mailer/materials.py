"""The material bank (SPEC capability 6): filing, the index, and the after-event mail.

Files are content-addressed (``<data>/materials/ab/abcdef…``, the SHA-256 of
the bytes): the same slides filed twice, or attached to two events, are
stored once, and a file is written (and flushed to disk) before the row that
names it commits, so a committed row always has its bytes. A crash between
the two leaves at most an unnamed file, which the next filing of the same
bytes simply reuses.

What the handlers and jobs decide lives here; what people read lives in
``templates/*/materials/``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config import Settings
from mailer.db.events import Event, Registration
from mailer.db.materials import Material
from mailer.db.models import OutboxMessage
from mailer.events.manage import EVENT_TOKEN, SCHEDULED
from mailer.events.registry import registrations
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import Attachment, InboundMessage
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.outgoing.fanout import broadcast
from mailer.parsing.materials import reply_token
from mailer.reply_tokens import ReplyTokens

MATERIALS_ADDRESS = "materiaalit"  # verkosto+materiaalit@…, as in rules/inbound.toml
_RECENT_EVENTS = 10  # shown when a Tapahtuma: line names no event

log = logging.getLogger("mailer.materials")


class Store:
    """Bytes by their SHA-256 under one folder; writes are atomic and durable."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, settings: Settings) -> Store:
        return cls(settings.data_dir / "materials")

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def outgoing(store: Store, material: Material) -> OutgoingAttachment:
    return OutgoingAttachment(material.filename, material.content_type, store.get(material.sha256))


# ---- which event a filing belongs to


def event_from_token(msg: InboundMessage, settings: Settings, tokens: ReplyTokens) -> int | None:
    """The event whose reply address (``verkosto+r-x…``) this mail was sent to, if any."""
    return reply_token(msg, settings, tokens, EVENT_TOKEN)


def event_from_thread(session: Session, msg: InboundMessage) -> Event | None:
    """The event of any mail of ours this one answers (a preview, an invitation …)."""
    thread = [*msg.in_reply_to, *reversed(msg.references)]
    if not thread:
        return None
    related = session.scalars(
        select(OutboxMessage.related).where(
            OutboxMessage.message_id.in_(thread), OutboxMessage.related.like("event:%")
        )
    ).first()
    return session.get(Event, int(related.split(":", 1)[1])) if related else None


def find_event(session: Session, reference: str) -> Event | list[Event]:
    """The one event a ``Tapahtuma:`` value names (its number, its title or a unique
    part of it); otherwise the candidates to show, or recent events when none match."""
    value = reference.strip().lstrip("#").strip()
    if value.isdigit():
        event = session.get(Event, int(value))
        if event is not None:
            return event
    everything = list(session.scalars(select(Event).order_by(Event.starts_at.desc())))
    wanted = value.casefold()
    for matches in (
        [e for e in everything if e.title.casefold() == wanted],
        [e for e in everything if wanted and wanted in e.title.casefold()],
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            return matches[:_RECENT_EVENTS]
    return everything[:_RECENT_EVENTS]


def event_in_subject(session: Session, subject: str) -> Event | None:
    """The one event whose whole title the subject holds ("Koulukuljetusten kilpailutus:
    diat"), the longest title winning; None when none or two equally long ones do.

    SPEC: material is tagged to an event "where it is named", and the subject is
    where a coordinator names it; a title only partly there tags nothing.
    """
    wanted = subject.casefold()
    named = [e for e in session.scalars(select(Event)) if e.title and e.title.casefold() in wanted]
    named.sort(key=lambda e: len(e.title), reverse=True)
    if not named or (len(named) > 1 and len(named[1].title) == len(named[0].title)):
        return None
    return named[0]


# ---- filing


@dataclass(frozen=True)
class Refused:
    filename: str
    size: int


@dataclass
class Filing:
    """What one mail to the bank did, for the coordinator's receipt."""

    event: Event | None
    plan: str  # none | pending | now | late | cancelled: what happens to registrants
    filed: list[Material] = field(default_factory=list)
    duplicates: list[Material] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def _plan(settings: Settings, event: Event | None, now: datetime) -> str:
    if event is None:
        return "none"
    if event.state == "cancelled":
        return "cancelled"
    if now > event.ends_at + timedelta(days=settings.materials.send_days):
        return "late"
    return "now" if now >= event.ends_at else "pending"


def file_attachments(
    ctx: HandlerContext,
    sender: str,
    attachments: Sequence[Attachment],
    *,
    title: str,
    event: Event | None,
) -> Filing:
    """Store each attachment within the size limit; the same bytes under the same title
    and event are not filed twice (a resent mail files nothing new)."""
    limit = ctx.settings.materials.max_attachment_bytes
    store = Store.of(ctx.settings)
    filing = Filing(event=event, plan=_plan(ctx.settings, event, ctx.now))
    same_event = Material.event_id == event.id if event else Material.event_id.is_(None)
    for attachment in attachments:
        if len(attachment.data) > limit:
            filing.refused.append(Refused(attachment.filename, len(attachment.data)))
            continue
        sha256 = hashlib.sha256(attachment.data).hexdigest()
        same = ctx.session.scalars(
            select(Material).where(Material.sha256 == sha256, Material.title == title, same_event)
        ).first()
        if same is not None:
            filing.duplicates.append(same)
            continue
        store.put(attachment.data)
        material = Material(
            title=title[:500],
            filename=attachment.filename[:255],
            content_type=attachment.content_type[:200],
            size=len(attachment.data),
            sha256=sha256,
            event_id=event.id if event else None,
            sender=sender,
            inbound_id=ctx.claim.id if ctx.claim else None,
            filed_at=ctx.now,
            delivery="pending" if filing.plan in ("pending", "now") else "none",
        )
        ctx.session.add(material)
        ctx.session.flush()
        filing.filed.append(material)
        ctx.actions.append(f"file material #{material.id} {material.filename!r}")
    if filing.refused:
        ctx.actions.append(f"refuse {len(filing.refused)} attachment(s) over {limit} bytes")
    log.info(
        "material filed",
        extra={
            "sender": sender,
            "event": event.id if event else None,
            "filed": [m.id for m in filing.filed],
            "duplicates": [m.id for m in filing.duplicates],
            "refused": [r.filename for r in filing.refused],
        },
    )
    return filing


# ---- the index and fetching


@dataclass(frozen=True)
class IndexGroup:
    """One heading of the index: an event's material, or a year's other material."""

    year: int
    event: Event | None
    items: list[Material]


def index(session: Session, tz: ZoneInfo) -> list[IndexGroup]:
    """Every item, grouped by year (newest first), each year's events by date (newest
    first) and then the year's material that belongs to no event."""

    def year(m: Material) -> int:
        return (m.event.starts_at if m.event else m.filed_at).astimezone(tz).year

    def order(m: Material) -> tuple[int, int, float, int]:
        starts = m.event.starts_at.timestamp() if m.event else 0.0
        return (-year(m), m.event is None, -starts, m.event_id or 0)

    items = sorted(session.scalars(select(Material).order_by(Material.id)), key=order)
    return [
        IndexGroup(year=-key[0], event=group[0].event, items=group)
        for key, grouped in groupby(items, key=order)
        for group in [list(grouped)]
    ]


def registered_events(session: Session, address: str) -> set[int]:
    """Events the address holds a seat for: their material is theirs to ask for."""
    return set(
        session.scalars(
            select(Registration.event_id).where(
                Registration.email == address.lower(), Registration.state == "registered"
            )
        )
    )


def pack(
    items: Iterable[Material], limit: int, *, first_always: bool
) -> tuple[list[Material], list[Material]]:
    """Split items into those that fit one mail of ``limit`` bytes and the rest.

    ``first_always``: one item asked for by one person goes whatever its size
    (filing already bounded it); a mail to a whole audience never exceeds the limit.
    """
    fits: list[Material] = []
    rest: list[Material] = []
    total = 0
    for item in items:
        if total + item.size <= limit or (first_always and not fits):
            fits.append(item)
            total += item.size
        else:
            rest.append(item)
    return fits, rest


# ---- after the event: "Tilaisuuden materiaalit" to its registrants


def send_event_materials(ctx: HandlerContext) -> int:
    """Material of events that have ended goes to their registrants, once; returns mails
    queued. An event cancelled meanwhile gets nothing (its material stays in the index)."""
    due = ctx.session.execute(
        select(Material, Event)
        .join(Event, Event.id == Material.event_id)
        .where(Material.delivery == "pending", Event.ends_at <= ctx.now)
        .order_by(Material.event_id, Material.id)
    ).all()
    queued = 0
    for event, rows in groupby(due, key=lambda row: row[1]):
        items = [material for material, _ in rows]
        if event.state == "cancelled":
            for material in items:
                material.delivery = "skipped"
            log.info("event cancelled; material not sent", extra={"event": event.id})
            continue
        people = registrations(ctx, event, "registered")
        queued += _send_to_registrants(ctx, event, items, people)
        for material in items:
            material.delivery, material.delivered_at = "sent", ctx.now
        log.info(
            "event material queued",
            extra={"event": event.id, "items": [m.id for m in items], "registrants": len(people)},
        )
    return queued


def _send_to_registrants(
    ctx: HandlerContext, event: Event, items: list[Material], people: list[Registration]
) -> int:
    """One stored message per language, each registrant a copy with their own To line."""
    network = ctx.settings.network
    attached, listed = pack(items, ctx.settings.materials.max_mail_bytes, first_always=False)
    store = Store.of(ctx.settings)
    files = [outgoing(store, m) for m in attached]
    for language, group in ctx.templates.by_language(people, lambda p: p.language).items():
        rendered = ctx.templates.render(
            language,
            "materials/event_materials",
            network=network,
            event=event,
            attached=attached,
            listed=listed,
        )
        draft = Draft(
            to=[],
            subject=rendered.subject,
            text=rendered.text,
            kind="material-event",
            related=f"event:{event.id}",
            attachments=files,
            language=language,
            headers={**SCHEDULED, "Precedence": "bulk"},
        )
        broadcast(ctx.session, draft, [(p.email, p.name) for p in group], network, ctx.now)
    ctx.actions.append(f"send {len(items)} material item(s) of event #{event.id}")
    return len(people)
