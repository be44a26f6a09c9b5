"""Invitations, updates and cancellations: one mail per invitee, built by splicing bytes.

Every copy carries the invitee's own ATTENDEE line in its calendar part, so
copies cannot share stored bytes the way list posts do. Rendering a MIME
message per recipient would cost about a millisecond each, so the message is
rendered once per language with markers where the per-recipient values go
(To, Message-ID, Reply-To and the base64 calendar text), and each copy is
the pre-rendered pieces joined around that recipient's values. Outbox rows go
in with bulk INSERTs a chunk at a time, so 10,000 invitations queue in seconds
and memory holds one chunk of messages, not all of them.

A change or cancellation reaches someone with a seat or a waitlist place as
their own text (what it means for their registration) around the same
calendar update: one mail per person, never a calendar mail and a note. Those
copies are rendered one by one; there are at most as many as the event has
places and waiting.

The mail has the shape calendar clients recognise as a meeting request: a
``multipart/alternative`` of the text and ``text/calendar; method=REQUEST``,
and the same calendar as an ``.ics`` attachment for clients that only offer
attachments.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTP, compat32
from email.utils import format_datetime, formataddr, make_msgid
from typing import TYPE_CHECKING

from sqlalchemy import insert, literal, select, update

from mailer.db.events import Event, Invitation, Registration
from mailer.db.models import Member, OutboxMessage, OutboxRecipient, UtcDateTime
from mailer.events import ical, registry
from mailer.outgoing.compose import LOOP_HEADER, header_line, one_line
from mailer.verp import return_path

if TYPE_CHECKING:
    from mailer.handlers.context import HandlerContext  # a cycle: handlers use events

log = logging.getLogger("mailer.events")

INVITATION_TOKEN = "i"  # a reply to any mail about an event: registration or cancellation
CHUNK = 1000
ICS_NAME = "kutsu.ics"

_TO, _MESSAGE_ID, _REPLY_TO, _CALENDAR = b"@@TO@@", b"@@MID@@", b"@@REPLYTO@@", b"@@ICS@@"
_MARKER_SET = frozenset({_TO, _MESSAGE_ID, _REPLY_TO, _CALENDAR})
_MARKERS = re.compile(b"(" + b"|".join(re.escape(m) for m in _MARKER_SET) + b")")
_WIRE = compat32.clone(linesep="\r\n")
_TEXT_CHARSET = Charset("utf-8")
_TEXT_CHARSET.body_encoding = QP


class Spliced:
    """Pre-rendered message bytes with markers; ``fill`` joins one recipient's copy."""

    def __init__(self, raw: bytes) -> None:
        self._parts = [(part in _MARKER_SET, part) for part in _MARKERS.split(raw) if part]

    def fill(self, values: Mapping[bytes, bytes]) -> bytes:
        return b"".join(values[part] if marker else part for marker, part in self._parts)


def _calendar_part(maintype: str, subtype: str, params: dict[str, str]) -> MIMENonMultipart:
    part = MIMENonMultipart(maintype, subtype)
    for name, value in params.items():
        part.set_param(name, value)
    del part["MIME-Version"]
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(_CALENDAR.decode())
    return part


def render_message(
    ctx: HandlerContext, *, subject: str, text: str, method: str, language: str, stamp: datetime
) -> Spliced:
    """The mail around a calendar text, with markers for every per-recipient value.

    The header block is written line by line (``SMTP.fold`` and ``header_line``
    encode and fold what people typed) because the markers are not addresses a
    header parser would accept; the MIME body comes from the generator.
    """
    network = ctx.settings.network
    body = MIMENonMultipart("text", "plain")
    body.set_payload(text, charset=_TEXT_CHARSET)
    alternative = MIMEMultipart("alternative")
    alternative.attach(body)
    alternative.attach(_calendar_part("text", "calendar", {"method": method, "charset": "utf-8"}))
    mixed = MIMEMultipart("mixed")
    mixed.attach(alternative)
    attachment = _calendar_part("application", "ics", {"name": ICS_NAME})
    attachment["Content-Disposition"] = f'attachment; filename="{ICS_NAME}"'
    mixed.attach(attachment)
    for part in (body, alternative, mixed):
        del part["MIME-Version"]
    head = "".join(
        [
            SMTP.fold("From", formataddr((one_line(network.name), network.address))),
            f"To: {_TO.decode()}\r\n",
            header_line("Subject", one_line(subject, 900)).decode(),
            SMTP.fold("Date", format_datetime(stamp)),
            f"Message-ID: {_MESSAGE_ID.decode()}\r\n",
            f"Reply-To: {_REPLY_TO.decode()}\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "X-Auto-Response-Suppress: OOF, AutoReply\r\n",
            f"{LOOP_HEADER}: {network.address}\r\n",
            f"Content-Language: {language}\r\n",
            "MIME-Version: 1.0\r\n",
        ]
    )
    return Spliced(head.encode() + mixed.as_bytes(policy=_WIRE))


def calendar_base64(data: bytes) -> bytes:
    """A base64 body in 76-character CRLF lines."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n").rstrip(b"\r\n")


@dataclass(frozen=True)
class Invitee:
    invitation_id: int
    address: str
    name: str
    member_id: int | None
    language: str


def add_audience(ctx: HandlerContext, event: Event) -> None:
    """An invitation row for every member (subscribed, not disabled) and extra address.

    Members are copied with one INSERT … SELECT; an address already invited is
    left alone, so a second call adds only people who joined in between.
    """
    invited = select(Invitation.address).where(Invitation.event_id == event.id)
    if event.audience_members:
        ctx.session.execute(
            insert(Invitation).from_select(
                ["event_id", "address", "name", "member_id", "language", "sequence", "created_at"],
                select(
                    literal(event.id),
                    Member.email,
                    Member.name,
                    Member.id,
                    Member.language,
                    literal(0),
                    literal(ctx.now, UtcDateTime()),
                ).where(
                    Member.subscribed.is_(True),
                    Member.disabled_at.is_(None),
                    Member.email.not_in(invited),
                ),
            )
        )
    already = set(ctx.session.scalars(invited))
    for address in event.extra_addresses:
        if address.lower() not in already:
            member = ctx.member(address)
            ctx.session.add(
                Invitation(
                    event_id=event.id,
                    address=address.lower(),
                    name=member.name if member else "",
                    member_id=member.id if member else None,
                    language=member.language if member else ctx.settings.network.language,
                    sequence=0,
                    created_at=ctx.now,
                )
            )
            already.add(address.lower())
    ctx.session.flush()


def _invitees(ctx: HandlerContext, event: Event) -> Iterator[list[Invitee]]:
    """The invitation rows in chunks, by id (keyset paging: no cursor held open)."""
    last = 0
    while True:
        rows = ctx.session.execute(
            select(
                Invitation.id,
                Invitation.address,
                Invitation.name,
                Invitation.member_id,
                Invitation.language,
            )
            .where(
                Invitation.event_id == event.id,
                Invitation.id > last,
                Invitation.address.contains("@"),  # not one erased on request
            )
            .order_by(Invitation.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        yield [Invitee(*row) for row in rows]
        last = rows[-1][0]


@dataclass(frozen=True)
class Queued:
    copies: int  # every invitee's
    personal: int  # of them, registrants' and the waiting's own texts


def send_calendar_mail(
    ctx: HandlerContext,
    event: Event,
    *,
    template: str,
    method: str,
    kind: str,
    registrant_template: str = "",
    **context: object,
) -> Queued:
    """Queue ``template`` with the event's calendar (``method``) to every invitee;
    with ``registrant_template``, that text instead to each one registered or waiting.

    Every invitation row is marked with the SEQUENCE it was sent, in the same
    transaction.
    """
    network = ctx.settings.network
    stamp = ctx.now
    calendar = ical.calendar(
        event,
        network,
        method=method,
        alarm_minutes=ctx.settings.events.alarm_minutes,
        stamp=stamp,
    )

    def letter_in(language: str, name: str, registration: Registration | None) -> Spliced:
        rendered = ctx.templates.render(
            language, name, network=network, event=event, registration=registration, **context
        )
        return render_message(
            ctx,
            subject=rendered.subject,
            text=rendered.text,
            method=method,
            language=ctx.templates.language(language),
            stamp=stamp,
        )

    letters: dict[str, Spliced] = {}
    active = (
        {r.invitation_id: r for r in registry.registrations(ctx, event, *registry.ACTIVE)}
        if registrant_template
        else {}
    )
    sent = personal = 0
    for chunk in _invitees(ctx, event):
        messages: list[dict[str, object]] = []
        for invitee in chunk:
            registration = active.get(invitee.invitation_id)
            if registration is not None:
                letter = letter_in(registration.language, registrant_template, registration)
                personal += 1
            elif invitee.language in letters:
                letter = letters[invitee.language]
            else:
                letter = letters[invitee.language] = letter_in(invitee.language, template, None)
            message_id = make_msgid(domain=network.domain)
            to = (
                formataddr((one_line(invitee.name), invitee.address), charset="utf-8")
                if invitee.name
                else invitee.address
            )
            raw = letter.fill(
                {
                    _TO: to.encode(),
                    _MESSAGE_ID: message_id.encode(),
                    _REPLY_TO: ctx.reply_address(INVITATION_TOKEN, invitee.invitation_id).encode(),
                    _CALENDAR: calendar_base64(
                        ical.personal(calendar, invitee.address, invitee.name)
                    ),
                }
            )
            envelope = (
                return_path(network, ctx.tokens, invitee.member_id)
                if invitee.member_id is not None
                else network.sub_address("bounce")
            )
            messages.append(
                {
                    "message_id": message_id,
                    "kind": kind,
                    "related": f"event:{event.id}",
                    "envelope_from": envelope,
                    "raw": raw,
                    "automatic": False,
                    "created_at": stamp,
                }
            )
        ids = ctx.session.scalars(
            insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
            messages,
        ).all()
        ctx.session.execute(
            insert(OutboxRecipient),
            [
                {
                    "message_pk": pk,
                    "address": invitee.address,
                    "envelope_from": None,
                    "headers": "",
                    "state": "queued",
                    "attempts": 0,
                    "next_attempt_at": stamp,
                    "last_error": "",
                }
                for pk, invitee in zip(ids, chunk, strict=True)
            ],
        )
        sent += len(chunk)
    ctx.session.execute(
        update(Invitation)
        .where(Invitation.event_id == event.id)
        .values(sequence=event.sequence)
        .execution_options(synchronize_session=False)
    )
    ctx.actions.append(
        f"queue {kind} ({method}) of event #{event.id} to {sent} addresses"
        + (f", {personal} of them registrants' own" if personal else "")
    )
    log.info(
        "calendar mail queued",
        extra={
            "event": event.id,
            "kind": kind,
            "method": method,
            "copies": sent,
            "personal": personal,
        },
    )
    return Queued(sent, personal)
