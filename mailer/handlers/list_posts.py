"""Posts to the members' list: accepted ones fan out, held ones wait for the coordinator.

The moderation chain (``rules/list-post.toml``) defers every reason to hold, so
the coordinator gets one notice listing all of them; a reply ``HYVÄKSY`` /
``HYLKÄÄ`` (or the sv/en words) decides, and the author is told the outcome.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from email.utils import make_msgid

from sqlalchemy import select

from mailer.auth_results import strict_dmarc
from mailer.db.models import ListPost, Member
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage, parse_message
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.outgoing.fanout import Copy, enqueue_raw
from mailer.outgoing.list_copy import build_list_copy, personal_headers
from mailer.parsing.commands import command_lines
from mailer.verp import return_path
from mailer.web import UNSUBSCRIBE_TOKEN

HELD_TOKEN = "h"


def store(ctx: HandlerContext, msg: InboundMessage, state: str, reasons: str) -> ListPost:
    """The post as the archive keeps it: what digests are built from and a held post waits in."""
    member = ctx.member(msg.sender) if msg.sender else None
    post = ListPost(
        message_id=msg.message_id,
        author_email=msg.sender,
        author_name=msg.sender_name or (member.name if member else ""),
        member_id=member.id if member else None,
        subject=msg.clean_subject or msg.subject,
        text=msg.text,
        raw=msg.raw,
        state=state,
        reasons=reasons,
        created_at=ctx.now,
    )
    ctx.session.add(post)
    ctx.session.flush()
    return post


def post(ctx: HandlerContext, msg: InboundMessage) -> None:
    """A post that passed every check goes out to the list."""
    distribute(ctx, store(ctx, msg, "accepted", ""), msg)


def _readers(ctx: HandlerContext) -> Iterator[Member]:
    query = select(Member).where(
        Member.subscribed.is_(True), Member.disabled_at.is_(None), Member.delivery == "each"
    )
    yield from ctx.session.scalars(query.execution_options(yield_per=1000))


def distribute(
    ctx: HandlerContext,
    post: ListPost,
    msg: InboundMessage,
    translations: Mapping[str, InboundMessage] | None = None,
) -> None:
    """Each member reads the footer, and a post written in three languages its own one, in
    their language: one copy per language, stored once and shared by its readers."""
    settings, network = ctx.settings.list, ctx.settings.network
    rewrite = strict_dmarc(msg, ctx.settings.security.trusted_authserv_id, settings.dmarc_domains)
    copies = {
        language: [
            Copy(
                address=member.email,
                envelope_from=return_path(network, ctx.tokens, member.id),
                headers=personal_headers(
                    network, settings, ctx.tokens.make(UNSUBSCRIBE_TOKEN, member.id)
                ),
            )
            for member in members
        ]
        for language, members in ctx.templates.by_language(
            _readers(ctx), lambda m: m.language
        ).items()
    }
    # One Message-ID for every language's copy (a post without one gets it here).
    post.message_id = post.message_id or msg.message_id or make_msgid(domain=network.domain)
    for language, readers in copies.items():
        footer = ctx.templates.text(language, "list/footer", network=network)
        written = (translations or {}).get(language, msg)
        copy = build_list_copy(written, network, settings, footer, rewrite, post.message_id)
        enqueue_raw(
            ctx.session,
            raw=copy.raw,
            message_id=copy.message_id,
            kind="list-post",
            related=f"post:{post.id}",
            envelope_from=network.sub_address("bounce"),
            copies=readers,
            now=ctx.now,
            domain=network.domain,
        )
    count = sum(len(readers) for readers in copies.values())
    post.state, post.recipients, post.decided_at = "accepted", count, ctx.now
    ctx.actions.append(
        f"send post #{post.id} to {count} members" + (" (From rewritten)" if rewrite else "")
    )


def hold(ctx: HandlerContext, msg: InboundMessage) -> None:
    """Hold for the coordinator with every reason; tell the author it waits."""
    reasons = ctx.decision.deferred
    post = store(ctx, msg, "held", "\n".join(reasons))
    ctx.tell_coordinators(
        "moderation/held",
        kind="list-held",
        related=f"post:{post.id}",
        reply_to=ctx.reply_address(HELD_TOKEN, post.id),
        attachments=[OutgoingAttachment("post.eml", "message/rfc822", msg.raw)],
        post=post,
        reasons=reasons,
    )
    member = ctx.member(msg.sender) if msg.sender else None
    language = member.language if member else ctx.settings.network.language
    ctx.answer(
        msg,
        language,
        "moderation/held_notice",
        kind="list-held-notice",
        post=post,
        reasons=reasons,
    )
    ctx.actions.append(f"hold post #{post.id}: {'; '.join(reasons)}")


def decide(ctx: HandlerContext, msg: InboundMessage, post_id: int) -> None:
    """The coordinator's reply to a held post's notice."""
    post = ctx.session.get(ListPost, post_id)
    if post is None or not is_coordinator(msg, ctx.settings):
        ctx.file("moderation reply not from a coordinator, or for an unknown post")
        return
    if post.state != "held":
        ctx.answer(
            msg,
            ctx.settings.network.language,
            "moderation/already_decided",
            kind="list-moderation",
            post=post,
        )
        return
    found, note = command_lines(
        msg.new_text,
        {
            "approve": ctx.rules.words("moderation.approve"),
            "reject": ctx.rules.words("moderation.reject"),
        },
    )
    if found == {"approve"}:
        distribute(ctx, post, parse_message(post.raw))
        _tell_author(ctx, post, "moderation/approved", "")
    elif found == {"reject"}:
        post.state, post.decided_at = "rejected", ctx.now
        _tell_author(ctx, post, "moderation/rejected", note)
        ctx.actions.append(f"reject post #{post.id}")
    else:
        ctx.answer(
            msg,
            ctx.settings.network.language,
            "moderation/unclear",
            kind="list-moderation",
            reply_to=ctx.reply_address(HELD_TOKEN, post.id),
            post=post,
        )


def _tell_author(ctx: HandlerContext, post: ListPost, template: str, note: str) -> None:
    if not post.author_email:
        return
    member = ctx.member(post.author_email)
    language = member.language if member else ctx.settings.network.language
    rendered = ctx.templates.render(
        language, template, network=ctx.settings.network, post=post, note=note
    )
    ctx.send(
        Draft(
            to=[post.author_email],
            to_name=post.author_name,
            subject=rendered.subject,
            text=rendered.text,
            kind="list-moderation-outcome",
            related=f"post:{post.id}",
            automatic=True,
            in_reply_to=post.message_id,
            language=language,
        )
    )


def expire_held(ctx: HandlerContext) -> int:
    """Held posts older than the configured age expire; their authors are told."""
    cutoff = ctx.now - timedelta(days=ctx.settings.list.hold_expiry_days)
    expired = list(
        ctx.session.scalars(
            select(ListPost).where(ListPost.state == "held", ListPost.created_at < cutoff)
        )
    )
    for post in expired:
        post.state, post.decided_at = "expired", ctx.now
        _tell_author(ctx, post, "moderation/expired", "")
    return len(expired)
