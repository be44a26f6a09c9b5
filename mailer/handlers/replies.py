"""Replies carrying our signed token: the token's kind says which capability waits."""

from __future__ import annotations

from collections.abc import Callable

from mailer.events.invitations import INVITATION_TOKEN
from mailer.events.manage import EVENT_TOKEN
from mailer.events.schedule import FEEDBACK_TOKEN
from mailer.handlers import (
    digests,
    events,
    feedback,
    list_posts,
    polls,
    privacy,
    questions,
    registrations,
    shared_answers,
    subscriptions,
)
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage

TokenHandler = Callable[[HandlerContext, InboundMessage, int], None]

BY_KIND: dict[str, TokenHandler] = {
    subscriptions.JOIN_TOKEN: subscriptions.confirm_join,
    subscriptions.APPROVAL_TOKEN: subscriptions.decide_join,
    list_posts.HELD_TOKEN: list_posts.decide,
    privacy.ERASE_TOKEN: privacy.confirm_erase,
    polls.PREVIEW_TOKEN: polls.coordinator_reply,
    polls.BALLOT_TOKEN: polls.vote,
    polls.FORM_TOKEN: polls.form_reply,
    shared_answers.SHARED_TOKEN: shared_answers.coordinator_reply,
    EVENT_TOKEN: events.coordinator_reply,
    INVITATION_TOKEN: registrations.invitation_reply,
    FEEDBACK_TOKEN: feedback.feedback_reply,
    digests.DIGEST_TOKEN: digests.coordinator_digest_reply,
}


def token_reply(ctx: HandlerContext, msg: InboundMessage) -> None:
    verified = ctx.tokens.verify(ctx.decision.captures.get("token", ""))
    handler = BY_KIND.get(verified[0]) if verified else None
    if verified is None or handler is None:
        questions.reply(ctx, msg)  # a ticket token, or a reply to tie by thread or [#N]
        return
    ctx.actions.append(f"reply token {verified[0]}{verified[1]}")
    handler(ctx, msg, verified[1])
