"""Which ticket a message belongs to: by reply token, by thread, or by ``[#N]``;
and the ticket's history, one event per thing that happened to it.

The token is the strongest tie (signed, survives clients that drop
In-Reply-To); the thread headers come next; the subject reference is the last
resort. None of these say who may act on the ticket: the handler decides that
from the sender.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.db.models import OutboxMessage, Ticket, TicketEvent
from mailer.inbound.message import InboundMessage
from mailer.reply_tokens import ReplyTokens

if TYPE_CHECKING:
    from mailer.handlers.context import HandlerContext  # a cycle: routing finds tickets

SUBJECT_REFERENCE = re.compile(r"\[#(\d{1,9})\]")
TOKEN_KIND = "t"
NO_SUBJECT = "-"  # a ticket's subject when the mail had none


def ticket_from_token(session: Session, tokens: ReplyTokens, token: str) -> Ticket | None:
    verified = tokens.verify(token)
    if verified is None or verified[0] != TOKEN_KIND:
        return None
    return session.get(Ticket, verified[1])


def find_ticket(
    session: Session, msg: InboundMessage, tokens: ReplyTokens, token: str | None
) -> tuple[Ticket, str] | None:
    if token:
        ticket = ticket_from_token(session, tokens, token)
        if ticket is not None:
            return ticket, "reply token"
    thread = [*msg.in_reply_to, *reversed(msg.references)]
    if thread:
        related = session.scalars(
            select(OutboxMessage.related).where(
                OutboxMessage.message_id.in_(thread), OutboxMessage.related.like("ticket:%")
            )
        ).first()
        if related:
            ticket = session.get(Ticket, int(related.split(":", 1)[1]))
            if ticket is not None:
                return ticket, "thread"
    match = SUBJECT_REFERENCE.search(msg.subject)
    if match:
        ticket = session.get(Ticket, int(match.group(1)))
        if ticket is not None:
            return ticket, "subject reference"
    return None


def record_event(ctx: HandlerContext, ticket: Ticket, kind: str, author: str, text: str) -> None:
    """One line of the ticket's history, tied to the mail that caused it."""
    ctx.session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            author=author,
            text=text,
            inbound_id=ctx.claim.id if ctx.claim else None,
            created_at=ctx.now,
        )
    )
