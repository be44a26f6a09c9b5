"""Shared answers (SPEC capability 1): an answered question, anonymised, to the whole list.

The coordinator writes ``JULKAISE`` / ``PUBLICERA`` / ``PUBLISH`` on a line of
a reply to a ticket (``questions`` reads it, with or without an answer to the
asker in the same reply). Publishing broadcasts, so it takes two steps (SPEC
capability 8): the preview, exactly as the list will read it, goes to the
coordinator's own address, and only a reply ``LÄHETÄ`` to it publishes. The
text is the ticket's question and latest answer with the asker taken out
(``parsing.anonymise``), or the coordinator's own wording: ``Kysymys:`` /
``Vastaus:`` / ``Otsikko:`` lines in the same reply, or in a reply to the
preview, which then gives a new preview and retires the old one.

The published answer is an ordinary list post from the network address
(``list_posts.store`` and ``distribute``): each-post members get it with the
list's headers, tag and footer, digest readers in their digest, and the
members' weekly update lists its title. A preview that was already confirmed,
was replaced by a newer one, or is older than ``[list] hold_expiry_days``
publishes nothing and says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import func, select

from mailer.config import LANGUAGES
from mailer.db.models import Member, Ticket, TicketEvent
from mailer.db.shared_answers import SharedAnswer
from mailer.handlers import list_posts
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage, parse_message
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft, compose
from mailer.outgoing.list_copy import with_tag
from mailer.parsing.anonymise import Asker, Marks, anonymise
from mailer.parsing.commands import command_lines
from mailer.parsing.forms import (
    SHARED_ANSWER_FIELDS,
    SHARED_ANSWER_MULTILINE,
    FormResult,
    parse_form,
    split_at_form,
)
from mailer.templates import Rendered
from mailer.tickets import NO_SUBJECT, TOKEN_KIND, record_event

SHARED_TOKEN = "s"  # the coordinator's reply to a shared answer's preview
TITLE_MAX = 120

log = logging.getLogger("mailer.questions")


@dataclass(frozen=True)
class Wording:
    """What the list will read: the title, the question and the answer."""

    title: str
    question: str
    answer: str

    def corrected(self, form: FormResult) -> Wording:
        """The coordinator's ``Kysymys:`` / ``Vastaus:`` / ``Otsikko:`` replace these parts."""
        given = {k: v for k, v in form.values.items() if v}
        if "title" in given:
            given["title"] = " ".join(given["title"].split())[:TITLE_MAX]
        return replace(self, **given)

    @property
    def missing(self) -> list[str]:
        return [name for name in ("title", "question", "answer") if not getattr(self, name)]


def _read_wording(text: str) -> FormResult:
    """The coordinator's own wording; a key given twice or empty is reported in the preview."""
    return parse_form(text, SHARED_ANSWER_FIELDS, multiline=SHARED_ANSWER_MULTILINE, repeated=())


def _event_text(ctx: HandlerContext, ticket: Ticket, kind: str, *, newest: bool) -> str:
    order = TicketEvent.id.desc() if newest else TicketEvent.id
    query = select(TicketEvent.text).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind
    )
    return ctx.session.scalars(query.order_by(order).limit(1)).first() or ""


def _automatic_wording(ctx: HandlerContext, ticket: Ticket) -> Wording:
    """The first question and the latest answer, without the asker, greeting or signature."""
    labels = ctx.templates.labels(ticket.language, "shared_answers/marks")
    marks = Marks(labels["name"], labels["organisation"], labels["email"], labels["phone"])
    asker = Asker(ticket.requester_name, ticket.requester_email, ticket.organisation)
    question = anonymise(_event_text(ctx, ticket, "question", newest=False), asker, marks)
    answer = anonymise(_event_text(ctx, ticket, "answer", newest=True), asker, marks)
    subject = ticket.subject if ticket.subject != NO_SUBJECT else ""
    title = anonymise(subject, asker, marks) or next(iter(question.splitlines()), "")
    return Wording(" ".join(title.split())[:TITLE_MAX], question, answer)


def _readers(ctx: HandlerContext) -> dict[str, int]:
    """Members who will read a list post, by delivery mode (each, daily, weekly)."""
    rows = ctx.session.execute(
        select(Member.delivery, func.count())
        .where(Member.subscribed.is_(True), Member.disabled_at.is_(None))
        .group_by(Member.delivery)
    )
    return {delivery: count for delivery, count in rows}


def _last_published(ctx: HandlerContext, ticket: Ticket) -> SharedAnswer | None:
    query = select(SharedAnswer).where(
        SharedAnswer.ticket_id == ticket.id, SharedAnswer.state == "published"
    )
    return ctx.session.scalars(query.order_by(SharedAnswer.published_at.desc())).first()


def _post(ctx: HandlerContext, shared: SharedAnswer, language: str | None = None) -> Rendered:
    network = ctx.settings.network
    return ctx.templates.render(
        language or network.language, "shared_answers/post", network=network, shared=shared
    )


def _tell(
    ctx: HandlerContext,
    msg: InboundMessage,
    template: str,
    *,
    kind: str,
    ticket: Ticket,
    shared: SharedAnswer | None = None,
    **context: object,
) -> None:
    """To the coordinator who wrote, in the network's language, tied to the preview if any.

    Only a reply to the ticket itself is ever relayed to the asker, so a mail
    about a preview carries the preview's token and no ``[#N]`` reference.
    """
    network = ctx.settings.network
    rendered = ctx.templates.render(
        network.language, template, network=network, ticket=ticket, shared=shared, **context
    )
    ctx.send(
        Draft(
            to=[msg.sender],
            subject=rendered.subject,
            text=rendered.text,
            kind=kind,
            related=f"shared-answer:{shared.id}" if shared else f"ticket:{ticket.id}",
            automatic=True,
            reply_to=ctx.reply_address(SHARED_TOKEN, shared.id)
            if shared
            else ctx.reply_address(TOKEN_KIND, ticket.id),
            in_reply_to=msg.message_id,
            references=msg.references,
            language=network.language,
        )
    )


def _preview(
    ctx: HandlerContext,
    msg: InboundMessage,
    ticket: Ticket,
    wording: Wording,
    form: FormResult,
    **flags: bool,
) -> None:
    """A new preview of ``wording``; an older one of the same ticket can no longer be sent."""
    for older in ctx.session.scalars(
        select(SharedAnswer).where(
            SharedAnswer.ticket_id == ticket.id, SharedAnswer.state == "preview"
        )
    ):
        older.state = "replaced"
    shared = SharedAnswer(
        ticket_id=ticket.id,
        state="preview",
        title=wording.title,
        question=wording.question,
        answer=wording.answer,
        coordinator=msg.sender,
        created_at=ctx.now,
    )
    ctx.session.add(shared)
    ctx.session.flush()
    post = _post(ctx, shared)
    _tell(
        ctx,
        msg,
        "shared_answers/preview",
        kind="shared-answer-preview",
        ticket=ticket,
        shared=shared,
        post_subject=with_tag(post.subject, ctx.settings.list.subject_tag),
        post_text=post.text,
        missing=wording.missing,
        form_errors=form.errors,
        unknown=form.unknown_lines,
        readers=_readers(ctx),
        published=_last_published(ctx, ticket),
        days=ctx.settings.list.hold_expiry_days,
        **flags,
    )
    ctx.actions.append(f"preview shared answer #{shared.id} of ticket #{ticket.id}")


def preview_ticket(
    ctx: HandlerContext, msg: InboundMessage, ticket: Ticket, wording: str, *, answered: bool
) -> None:
    """``JULKAISE`` in the coordinator's reply to a ticket (``wording``: the form part)."""
    if ticket.first_answered_at is None:
        _tell(ctx, msg, "shared_answers/not_answered", kind="shared-answer-refused", ticket=ticket)
        ctx.actions.append(f"ticket #{ticket.id} has no answer to publish")
        return
    form = _read_wording(wording)
    corrected = _automatic_wording(ctx, ticket).corrected(form)
    _preview(ctx, msg, ticket, corrected, form, answered=answered, corrected=False)


def _stale(ctx: HandlerContext, shared: SharedAnswer) -> str | None:
    """Why this preview can no longer be sent, or None."""
    if shared.state in ("published", "replaced"):
        return shared.state
    if shared.created_at < ctx.now - timedelta(days=ctx.settings.list.hold_expiry_days):
        return "expired"
    return None


def coordinator_reply(ctx: HandlerContext, msg: InboundMessage, shared_id: int) -> None:
    """A reply to a preview: ``LÄHETÄ`` publishes, new wording (or ``JULKAISE``) previews.

    The row is locked (PostgreSQL): two daemons taking two ``LÄHETÄ`` replies at once
    must not both find the preview unsent and post it to the list twice.
    """
    shared = ctx.session.scalars(
        select(SharedAnswer).where(SharedAnswer.id == shared_id).with_for_update()
    ).first()
    if shared is None or not is_coordinator(msg, ctx.settings):
        ctx.file("reply to a shared answer's preview not from a coordinator, or for none")
        return
    found, rest = command_lines(
        msg.new_text,
        {"send": ctx.rules.words("poll.send"), "publish": ctx.rules.words("ticket.publish")},
    )
    form = _read_wording(split_at_form(rest, SHARED_ANSWER_FIELDS)[1])
    wording = Wording(shared.title, shared.question, shared.answer).corrected(form)
    ticket = shared.ticket
    if form.values or "publish" in found:
        _preview(ctx, msg, ticket, wording, form, answered=False, corrected=bool(form.values))
    elif "send" not in found or wording.missing:
        _tell(
            ctx,
            msg,
            "shared_answers/help",
            kind="shared-answer-help",
            ticket=ticket,
            shared=shared,
            missing=wording.missing,
        )
    elif (why := _stale(ctx, shared)) is not None:
        _tell(
            ctx,
            msg,
            "shared_answers/stale",
            kind="shared-answer-stale",
            ticket=ticket,
            shared=shared,
            why=why,
            days=ctx.settings.list.hold_expiry_days,
        )
        ctx.actions.append(f"shared answer #{shared.id} is {why}: nothing sent")
    else:
        _publish(ctx, msg, shared)


def _written(ctx: HandlerContext, shared: SharedAnswer, language: str) -> InboundMessage:
    """The shared answer as a post from the network, its own words in ``language``."""
    network = ctx.settings.network
    post = _post(ctx, shared, language)
    _, raw = compose(
        Draft(
            to=[network.sub_address("lista")],
            to_name=ctx.settings.list.list_name,
            subject=post.subject,
            text=post.text,
            kind="shared-answer",
            language=language,
        ),
        network,
        ctx.now,
    )
    return parse_message(raw)


def _publish(ctx: HandlerContext, msg: InboundMessage, shared: SharedAnswer) -> None:
    """The shared answer as a list post from the network: fanned out and archived as any post.

    Each member reads its subject, headings and closing in their own language; the
    archive (and so the digests) keeps the network's.
    """
    translations = {language: _written(ctx, shared, language) for language in LANGUAGES}
    parsed = translations[ctx.templates.language(ctx.settings.network.language)]
    listed = list_posts.store(ctx, parsed, "accepted", "")
    list_posts.distribute(ctx, listed, parsed, translations)
    shared.state, shared.published_at, shared.list_post_id = "published", ctx.now, listed.id
    record_event(ctx, shared.ticket, "publish", msg.sender, shared.title)
    readers = _readers(ctx)
    _tell(
        ctx,
        msg,
        "shared_answers/sent",
        kind="shared-answer-sent",
        ticket=shared.ticket,
        shared=shared,
        recipients=listed.recipients,
        digest_readers=readers.get("daily", 0) + readers.get("weekly", 0),
    )
    log.info(
        "shared answer published",
        extra={
            "ticket": shared.ticket_id,
            "shared_answer": shared.id,
            "post": listed.id,
            "recipients": listed.recipients,
        },
    )
