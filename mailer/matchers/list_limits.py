"""Checks on a list post; each only says yes with a reason the coordinator can read."""

from __future__ import annotations

from sqlalchemy import select

from mailer.db.models import Ban, Member
from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext
from mailer.parsing.list_commands import leave_request as leave_phrase
from mailer.parsing.list_commands import list_command as command_to_list


def banned_sender(msg: InboundMessage, ctx: RouteContext) -> str | None:
    domain = "@" + msg.sender.rpartition("@")[2]
    hit = ctx.session.scalars(select(Ban.pattern).where(Ban.pattern.in_([msg.sender, domain])))
    pattern = hit.first()
    return f"banned sender ({pattern})" if pattern else None


def not_member(msg: InboundMessage, ctx: RouteContext) -> str | None:
    member = ctx.session.scalars(select(Member).where(Member.email == msg.sender)).first()
    if member is None or not member.subscribed:
        return f"{msg.sender or 'the sender'} is not a member of the list"
    return None


def post_too_large(msg: InboundMessage, ctx: RouteContext) -> str | None:
    limit = ctx.settings.list.max_post_bytes
    if len(msg.raw) > limit:
        size = len(msg.raw) / 1e6
        return f"the post is {size:.1f} MB, over the list's limit of {limit / 1e6:.1f} MB"
    return None


def too_many_recipients(msg: InboundMessage, ctx: RouteContext) -> str | None:
    limit = ctx.settings.list.max_recipients
    if len(msg.to) > limit:
        return f"the post has {len(msg.to)} recipients in To/Cc, over the limit of {limit}"
    return None


def empty_subject(msg: InboundMessage, ctx: RouteContext) -> str | None:
    return "the post has no subject" if not msg.clean_subject.strip() else None


def _own_subject(msg: InboundMessage) -> str:
    """The subject when the writer chose it; "" for a reply's "Re: <the post's subject>".

    A short reply ("Kiitos!") to a post titled "Ohje" or "Eroa" is a reply to the
    post, not a command: only its own first line may command.
    """
    return "" if msg.subject_is_reply else msg.clean_subject


def list_command(msg: InboundMessage, ctx: RouteContext) -> str | None:
    command = command_to_list(_own_subject(msg), msg.new_text, ctx.rules)
    return f"command {command.name} {command.argument}".strip() if command else None


def leave_request(msg: InboundMessage, ctx: RouteContext) -> str | None:
    phrase = leave_phrase(_own_subject(msg), msg.new_text, ctx.rules)
    return f"a mail asking to leave the list ({phrase!r})" if phrase else None
