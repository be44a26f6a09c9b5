"""Answers to the digests: the coordinator acting on tickets, members opting out.

The coordinator replies to the daily digest (its Reply-To token names the
digest) with lines like ``#12 SULJE`` or ``AVAA #15``: each named ticket is
closed or reopened exactly as a ``SULJE`` in the ticket's own thread would,
and one answer lists what was done. Only ``is_coordinator`` mail acts; the
digest went only to the coordinators, so anything else is filed.

A member stops the weekly update by one mail, ``ei viikkotiedotetta`` (any
address, or the update's own unsubscribe button), and starts it again with
``viikkotiedote``; like leaving the list, it needs no confirmation.
"""

from __future__ import annotations

from mailer.db.models import Ticket, TicketEvent
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft
from mailer.parsing.commands import normalise_word
from mailer.parsing.digest_reply import ticket_commands
from mailer.parsing.language import guess_language

DIGEST_TOKEN = "d"  # the coordinator's reply to the daily digest: "#12 SULJE"


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


def weekly_off(ctx: HandlerContext, msg: InboundMessage) -> None:
    """``ei viikkotiedotetta`` / ``inget veckobrev`` / ``no weekly update``."""
    _weekly(ctx, msg, "weekly.off", on=False)


def weekly_on(ctx: HandlerContext, msg: InboundMessage) -> None:
    """``viikkotiedote`` / ``veckobrev`` / ``weekly update``."""
    _weekly(ctx, msg, "weekly.on", on=True)


def _weekly(ctx: HandlerContext, msg: InboundMessage, keyword: str, *, on: bool) -> None:
    member = ctx.member(msg.sender) if msg.sender else None
    if member is None:
        first = next((ln for ln in msg.new_text.splitlines() if ln.strip()), "")
        language = next(
            (
                found
                for text in (msg.clean_subject, first)
                if (found := ctx.rules.language_of(keyword, normalise_word(text)))
            ),
            guess_language(f"{msg.subject}\n{msg.new_text}", ctx.settings.network.language),
        )
        ctx.answer(msg, language, "list/not_member", kind="list-not-member")
        return
    member.weekly_digest, member.updated_at = on, ctx.now
    ctx.actions.append(f"{member.email} weekly update {'on' if on else 'off'}")
    ctx.answer(
        msg,
        member.language,
        "digests/weekly_changed",
        kind="weekly-digest-preference",
        on=on,
        list_weekly=member.delivery == "weekly",
    )
