"""A reply that belongs to a question ticket."""

from __future__ import annotations

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext
from mailer.tickets import find_ticket


def ticket_reference(msg: InboundMessage, ctx: RouteContext) -> str | None:
    found = find_ticket(ctx.session, msg, ctx.tokens, token=None)
    if found is None:
        return None
    ticket, how = found
    return f"ticket #{ticket.id} by {how}"
