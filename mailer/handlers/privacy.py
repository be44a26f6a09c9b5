"""A person's data on request: everything we keep, as an attachment; erasure after
a confirmation reply from the same address (GDPR articles 15 and 17).

Erasure keeps only what does not identify the person: ratings and ballot counts
stay as numbers; tickets and posts stay, with the person's name, address and
own words removed.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from mailer.db.models import (
    Bounce,
    ListPost,
    OutboxRecipient,
    Request,
    Ticket,
    TicketEvent,
)
from mailer.events import privacy as event_privacy
from mailer.handlers.context import HandlerContext
from mailer.handlers.subscriptions import confirmed, open_request
from mailer.inbound.message import InboundMessage
from mailer.outgoing.compose import OutgoingAttachment

ERASE_TOKEN = "e"
ERASED = "erased"


def _rows(objects: list[Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{f: getattr(o, f) for f in fields} for o in objects]


def collect(ctx: HandlerContext, address: str) -> dict[str, Any]:
    """Everything stored about one address."""
    s = ctx.session
    member = ctx.member(address)
    tickets = list(s.scalars(select(Ticket).where(Ticket.requester_email == address)))
    events = list(s.scalars(select(TicketEvent).where(TicketEvent.author == address)))
    posts = list(s.scalars(select(ListPost).where(ListPost.author_email == address)))
    requests = list(s.scalars(select(Request).where(Request.email == address)))
    bounces = list(s.scalars(select(Bounce).where(Bounce.address == address)))
    return {
        "address": address,
        "member": None
        if member is None
        else {
            "email": member.email,
            "name": member.name,
            "organisation": member.organisation_name,
            "language": member.language,
            "role": member.role,
            "subscribed": member.subscribed,
            "delivery": member.delivery,
            "disabled_at": member.disabled_at,
            "bounce_score": member.bounce_score,
            "created_at": member.created_at,
        },
        "questions": _rows(tickets, ("id", "subject", "state", "created_at", "organisation")),
        "messages": _rows(events, ("ticket_id", "kind", "text", "created_at")),
        "list_posts": _rows(posts, ("id", "subject", "text", "state", "created_at")),
        "requests": _rows(requests, ("kind", "state", "created_at")),
        "bounces": _rows(bounces, ("reason", "permanent", "created_at")),
        "events": event_privacy.personal_data(s, address),
    }


def export(ctx: HandlerContext, msg: InboundMessage) -> None:
    if not msg.sender:
        ctx.file("data request without a sender")
        return
    data = json.dumps(collect(ctx, msg.sender), ensure_ascii=False, indent=2, default=str)
    member = ctx.member(msg.sender)
    language = member.language if member else None
    name = ctx.templates.text(language, "privacy/file_name").strip()  # in the mail's language
    ctx.answer(
        msg,
        language,
        "privacy/export",
        kind="privacy-export",
        attachments=[OutgoingAttachment(name, "application/json", data.encode())],
    )
    ctx.actions.append(f"send {msg.sender} their data")


def request_erase(ctx: HandlerContext, msg: InboundMessage) -> None:
    if not msg.sender:
        ctx.file("erasure request without a sender")
        return
    member = ctx.member(msg.sender)
    language = member.language if member else ctx.settings.network.language
    request = open_request(ctx, "erase", msg, language)
    ctx.answer(
        msg,
        language,
        "privacy/confirm_erase",
        kind="privacy-confirm-erase",
        related=f"request:{request.id}",
        reply_to=ctx.reply_address(ERASE_TOKEN, request.id),
    )


def confirm_erase(ctx: HandlerContext, msg: InboundMessage, request_id: int) -> None:
    request = ctx.session.get(Request, request_id)
    if request is None or request.kind != "erase" or msg.sender != request.email:
        ctx.file("erasure confirmation from another address or for an unknown request")
        return
    if request.state != "pending" or request.expires_at < ctx.now:
        ctx.file(f"erasure request #{request_id} is {request.state} or expired")
        return
    if not confirmed(
        ctx, msg, request, ERASE_TOKEN, "privacy/erase_cancelled", "privacy/erase_unclear"
    ):
        return
    language = request.language
    erase(ctx, request.email)
    ctx.answer(msg, language, "privacy/erased", kind="privacy-erased")


def erase(ctx: HandlerContext, address: str) -> None:
    s = ctx.session
    member = ctx.member(address)
    s.execute(
        update(Ticket)
        .where(Ticket.requester_email == address)
        .values(requester_email="", requester_name=ERASED, member_id=None)
    )
    s.execute(
        update(TicketEvent).where(TicketEvent.author == address).values(author=ERASED, text="")
    )
    s.execute(
        update(ListPost)
        .where(ListPost.author_email == address)
        .values(author_email="", author_name=ERASED, member_id=None, raw=b"", text="")
    )
    s.execute(update(Bounce).where(Bounce.address == address).values(address="", member_id=None))
    event_privacy.erase(ctx, address)
    s.execute(
        update(OutboxRecipient)
        .where(OutboxRecipient.address == address, OutboxRecipient.state != "queued")
        .values(address=ERASED)
    )
    for request in s.scalars(select(Request).where(Request.email == address)):
        s.delete(request)
    if member is not None:
        s.delete(member)
    ctx.actions.append(f"erase everything about {address}")
