"""Joining and leaving the list, preferences and help, all by one-line mails.

Joining is double opt-in: a join only ever sends a confirmation request to the
address that would be subscribed, and only a reply from that very address
confirms it, so nobody can be subscribed against their will. Leaving needs no
confirmation: one mail, and the member is off the list at once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mailer.db.models import Member, Request
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.list_archive import latest_post_id
from mailer.matchers.coordinator import is_coordinator
from mailer.matchers.join_reply import pending_join
from mailer.outgoing.compose import Draft
from mailer.parsing.commands import command_lines
from mailer.parsing.confirm import read_confirmation
from mailer.parsing.language import guess_language
from mailer.parsing.list_commands import Command, parse_command

JOIN_TOKEN = "c"  # the member's confirmation reply
APPROVAL_TOKEN = "a"  # the coordinator's approval reply


def _language(ctx: HandlerContext, msg: InboundMessage, command: Command | None) -> str:
    """A member's own language; else the language of the command word; else a guess."""
    member = ctx.member(msg.sender) if msg.sender else None
    if member is not None:
        return member.language
    if command is not None and command.language:
        return command.language
    return guess_language(f"{msg.subject}\n{msg.new_text}", ctx.settings.network.language)


def _command(ctx: HandlerContext, msg: InboundMessage) -> Command | None:
    return parse_command(msg.clean_subject, msg.new_text, ctx.rules)


def open_request(ctx: HandlerContext, kind: str, msg: InboundMessage, language: str) -> Request:
    """A request that waits for the sender's reply (join, erase), valid for a few days."""
    request = Request(
        kind=kind,
        email=msg.sender,
        name=msg.sender_name,
        language=language,
        state="pending",
        created_at=ctx.now,
        expires_at=ctx.now + timedelta(days=ctx.settings.list.confirm_expiry_days),
    )
    ctx.session.add(request)
    ctx.session.flush()
    return request


def _kind(template: str) -> str:
    return template.replace("/", "-").replace("_", "-")


def confirmed(
    ctx: HandlerContext,
    msg: InboundMessage,
    request: Request,
    token: str,
    cancelled: str,
    unclear: str,
) -> bool:
    """Whether a reply to a pending request confirms it; a no or an unclear reply is answered.

    A clear no closes the request with a short "not done"; a reply that could
    mean either is asked back with the same Reply-To, and the request keeps
    waiting, so nobody is subscribed or erased on a guess.
    """
    answer = read_confirmation(msg.new_text, ctx.rules)
    ctx.actions.append(f"{request.kind} request #{request.id}: the reply says {answer}")
    if answer == "no":
        request.state, request.decided_at = "declined", ctx.now
        ctx.answer(msg, request.language, cancelled, kind=_kind(cancelled))
    elif answer == "unclear":
        ctx.answer(
            msg,
            request.language,
            unclear,
            kind=_kind(unclear),
            related=f"request:{request.id}",
            reply_to=ctx.reply_address(token, request.id),
            request=request,
        )
    return answer == "yes"


def join(ctx: HandlerContext, msg: InboundMessage) -> None:
    language = _language(ctx, msg, _command(ctx, msg))
    if not msg.sender:
        ctx.file("join request without a sender address")
        return
    member = ctx.member(msg.sender)
    if member is not None and member.subscribed and member.disabled_at is None:
        ctx.answer(msg, language, "list/already_member", kind="list-already-member")
        return
    since = ctx.now - timedelta(days=1)
    recent = ctx.session.scalar(
        select(func.count(Request.id)).where(
            Request.kind == "join", Request.email == msg.sender, Request.created_at >= since
        )
    )
    if (recent or 0) >= ctx.settings.list.join_requests_per_day:
        ctx.file(f"join requests for {msg.sender} over the daily limit: not answered")
        return
    request = open_request(ctx, "join", msg, language)
    ctx.actions.append(f"join request #{request.id} for {msg.sender}")
    ctx.answer(
        msg,
        language,
        "list/confirm_join",
        kind="list-confirm-join",
        related=f"request:{request.id}",
        reply_to=ctx.reply_address(JOIN_TOKEN, request.id),
        request=request,
        days=ctx.settings.list.confirm_expiry_days,
    )


def confirm_join(ctx: HandlerContext, msg: InboundMessage, request_id: int) -> None:
    """A reply to the confirmation request: a yes or a neutral reply confirms."""
    request = ctx.session.get(Request, request_id)
    if request is None or request.kind != "join":
        ctx.file(f"confirmation for unknown request {request_id}")
        return
    if msg.sender != request.email:
        ctx.file(f"confirmation of {request.email}'s join came from {msg.sender}: ignored")
        return
    if request.state != "pending":
        ctx.file(f"join request #{request.id} already {request.state}")
        return
    if request.expires_at < ctx.now:
        request.state = "expired"
        ctx.answer(msg, request.language, "list/join_expired", kind="list-join-expired")
        return
    if not confirmed(ctx, msg, request, JOIN_TOKEN, "list/join_cancelled", "list/confirm_unclear"):
        return
    if ctx.settings.list.require_approval:
        request.state = "awaiting-approval"
        ctx.tell_coordinators(
            "list/approval_request",
            kind="list-approval-request",
            related=f"request:{request.id}",
            reply_to=ctx.reply_address(APPROVAL_TOKEN, request.id),
            request=request,
        )
        ctx.answer(msg, request.language, "list/awaiting_approval", kind="list-awaiting")
        return
    _subscribe(ctx, request)


def untied_confirmation(ctx: HandlerContext, msg: InboundMessage) -> None:
    """A reply to the confirmation that reached the plain address (``join-reply`` rule)."""
    request = pending_join(ctx.session, msg.sender)
    if request is None:  # another daemon confirmed it between the rule and here
        ctx.file(f"join confirmation from {msg.sender}, whose join is no longer waiting")
        return
    confirm_join(ctx, msg, request.id)


def decide_join(ctx: HandlerContext, msg: InboundMessage, request_id: int) -> None:
    """The coordinator's HYVÄKSY / HYLKÄÄ on a join that needs approval."""
    request = ctx.session.get(Request, request_id)
    if request is None or not is_coordinator(msg, ctx.settings):
        ctx.file("approval reply not from a coordinator, or for an unknown request")
        return
    decision, _ = command_lines(
        msg.new_text,
        {
            "approve": ctx.rules.words("moderation.approve"),
            "reject": ctx.rules.words("moderation.reject"),
        },
    )
    if request.state != "awaiting-approval":
        ctx.file(f"join request #{request.id} already {request.state}")
        return
    if decision == {"approve"}:
        _subscribe(ctx, request)
    elif decision == {"reject"}:
        request.state, request.decided_at = "declined", ctx.now
        _notify_requester(ctx, request, "list/join_declined", "list-join-declined")
        ctx.actions.append(f"join request #{request.id} declined")
    else:
        ctx.tell_coordinators(
            "list/approval_unclear",
            kind="list-approval-unclear",
            related=f"request:{request.id}",
            reply_to=ctx.reply_address(APPROVAL_TOKEN, request.id),
            request=request,
        )


def _notify_requester(ctx: HandlerContext, request: Request, template: str, kind: str) -> None:
    rendered = ctx.templates.render(
        request.language, template, network=ctx.settings.network, request=request
    )
    ctx.send(
        Draft(
            to=[request.email],
            to_name=request.name,
            subject=rendered.subject,
            text=rendered.text,
            kind=kind,
            related=f"request:{request.id}",
            automatic=True,
            language=request.language,
        )
    )


def _subscribe(ctx: HandlerContext, request: Request) -> None:
    member = ctx.member(request.email)
    if member is None:
        member = Member(
            email=request.email,
            name=request.name,
            language=request.language,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.session.add(member)
    if not member.subscribed:
        member.digest_cursor = latest_post_id(ctx.session)
    member.subscribed, member.disabled_at, member.bounce_score = True, None, 0.0
    member.updated_at = ctx.now
    ctx.session.flush()
    request.state, request.decided_at = "done", ctx.now
    ctx.actions.append(f"subscribe {request.email}")
    _notify_requester(ctx, request, "list/welcome", "list-welcome")


def leave(ctx: HandlerContext, msg: InboundMessage) -> None:
    language = _language(ctx, msg, _command(ctx, msg))
    member = ctx.member(msg.sender) if msg.sender else None
    if member is None or not member.subscribed:
        ctx.answer(msg, language, "list/not_member", kind="list-not-member")
        return
    unsubscribe(ctx, member)
    ctx.answer(msg, member.language, "list/left", kind="list-left")


def unsubscribe(ctx: HandlerContext, member: Member) -> None:
    """Off the list at once; the row stays for history (erasure is a separate request)."""
    member.subscribed, member.updated_at = False, ctx.now
    ctx.actions.append(f"unsubscribe {member.email}")


def preferences(ctx: HandlerContext, msg: InboundMessage) -> None:
    """Delivery mode, language and help, each confirmed back."""
    command = _command(ctx, msg)
    language = _language(ctx, msg, command)
    if command is None:
        ctx.file("no preference command found")
        return
    if command.name == "help":
        ctx.answer(msg, language, "list/help", kind="list-help")
        return
    member = ctx.member(msg.sender) if msg.sender else None
    if member is None:
        ctx.answer(msg, language, "list/not_member", kind="list-not-member")
        return
    if command.name == "delivery":
        if command.argument in ("daily", "weekly") and member.delivery not in ("daily", "weekly"):
            member.digest_cursor = latest_post_id(ctx.session)
            member.last_digest_at = ctx.now
        member.delivery, member.updated_at = command.argument, ctx.now
        ctx.actions.append(f"{member.email} delivery → {command.argument}")
        ctx.answer(
            msg,
            member.language,
            "list/delivery_changed",
            kind="list-delivery",
            mode=command.argument,
        )
    elif command.name == "language" and command.argument:
        member.language, member.updated_at = command.argument, ctx.now
        ctx.actions.append(f"{member.email} language → {command.argument}")
        ctx.answer(msg, member.language, "list/language_changed", kind="list-language")
    else:
        ctx.answer(msg, member.language, "list/language_unknown", kind="list-language-unknown")
