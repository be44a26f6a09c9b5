"""Answers to the digests: the coordinator acting on tickets, members opting out.

The coordinator replies to the daily digest (its Reply-To token names the
digest) with lines like ``#12 SULJE`` or ``AVAA #15``: each named ticket is
closed or reopened exactly as a ``SULJE`` in the ticket's own thread would,
and one answer lists what was done. Only ``is_coordinator`` mail acts; the
digest went only to the coordinators, so anything else is filed.
"""

from __future__ import annotations

from mailer.db.models import Ticket, TicketEvent
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft
from mailer.parsing.digest_reply import ticket_commands


def _ticket_event(ctx: HandlerContext, ticket: Ticket, kind: str, author: str) -> None:
    ctx.session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            author=author,
            text="",
            inbound_id=ctx.claim.id if ctx.claim else None,
            created_at=ctx.now,
        )
    )


def _apply(ctx: HandlerContext, command: str, ticket: Ticket, author: str) -> str:
    """Close or reopen; the outcome's name for the answer."""
    if command == "close":
        if ticket.state == "closed":
            return "already_closed"
        ticket.state, ticket.closed_at = "closed", ctx.now
    else:
        if ticket.state != "closed":
            return "already_open"
        ticket.state, ticket.closed_at = "open", None
    ticket.updated_at = ctx.now
    _ticket_event(ctx, ticket, command, author)
    ctx.actions.append(f"{command} ticket #{ticket.id} from the digest")
    return "closed" if command == "close" else "reopened"


def coordinator_digest_reply(ctx: HandlerContext, msg: InboundMessage, run_id: int) -> None:
    """``#12 SULJE`` lines in a reply to the coordinator's daily digest."""
    if not is_coordinator(msg, ctx.settings):
        ctx.file("reply to the coordinator's digest not from a coordinator")
        return
    commands, unclear = ticket_commands(
        msg.new_text,
        {"close": ctx.rules.words("ticket.close"), "reopen": ctx.rules.words("ticket.reopen")},
    )
    results: list[tuple[int, Ticket | None, str]] = []
    for command, number in commands:
        ticket = ctx.session.get(Ticket, number)
        outcome = _apply(ctx, command, ticket, msg.sender) if ticket else "unknown"
        results.append((number, ticket, outcome))
    network = ctx.settings.network
    rendered = ctx.templates.render(
        network.language,
        "digests/coordinator_done",
        network=network,
        results=results,
        unclear=unclear,
    )
    ctx.send(
        Draft(
            to=[msg.sender],
            subject=rendered.subject,
            text=rendered.text,
            kind="coordinator-digest-done",
            related=f"digest:{run_id}",
            automatic=True,
            in_reply_to=msg.message_id,
            references=msg.references,
            language=network.language,
        )
    )
