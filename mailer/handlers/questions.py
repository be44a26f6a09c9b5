"""The question queue: a member asks, the coordinator answers from their own mail client.

Who may do what is decided here from the sender, never from the reference alone:
a reference or token only says which ticket a mail is about. Only a coordinator's
mail becomes an answer; the asker's own mail is a follow-up; anyone else's is a
new question, so a forged reference can never put words in the network's mouth.
The coordinator's one-word lines act on the ticket: ``SULJE``, ``AVAA``,
``MUISTIINPANO``, and ``JULKAISE``, which asks for a preview of the ticket as
an anonymised shared answer for the list (``shared_answers``).
"""

from __future__ import annotations

from collections.abc import Sequence

from mailer.config import LANGUAGES
from mailer.db.models import Member, Ticket
from mailer.handlers import shared_answers
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.parsing.commands import command_lines
from mailer.parsing.forms import SHARED_ANSWER_FIELDS, split_at_form
from mailer.parsing.language import guess_language
from mailer.parsing.list_commands import command_word
from mailer.tickets import NO_SUBJECT, TOKEN_KIND, find_ticket, record_event


def _attachments(msg: InboundMessage) -> list[OutgoingAttachment]:
    """Files the writer attached; inline images (signature logos) stay behind."""
    return [
        OutgoingAttachment(a.filename, a.content_type, a.data)
        for a in msg.attachments
        if not a.inline
    ]


def _to_coordinators(
    ctx: HandlerContext,
    ticket: Ticket,
    template: str,
    text: str,
    attachments: Sequence[OutgoingAttachment],
) -> None:
    network = ctx.settings.network
    rendered = ctx.templates.render(
        network.language, template, ticket=ticket, text=text, network=network
    )
    ctx.send(
        Draft(
            to=list(network.coordinators),
            subject=rendered.subject,
            text=rendered.text,
            kind=f"ticket-{template.rsplit('/', 1)[-1]}",
            related=f"ticket:{ticket.id}",
            reply_to=ctx.reply_address(TOKEN_KIND, ticket.id),
            attachments=attachments,
            language=network.language,
            headers={"X-Mailer-Ticket": str(ticket.id)},
        )
    )


def _language(ctx: HandlerContext, msg: InboundMessage, member: Member | None) -> str:
    """The member's own language; else the words, with the client's language on a tie."""
    if member is not None:
        return member.language
    client = (msg.header("content-language") or "").partition("-")[0].strip().lower()
    default = client if client in LANGUAGES else ctx.settings.network.language
    return guess_language(f"{msg.subject}\n{msg.new_text}", default)


def _is_empty(msg: InboundMessage) -> bool:
    """No subject, no words and no file: nothing a coordinator could answer."""
    attached = any(not a.inline for a in msg.attachments)
    return not msg.clean_subject.strip(" -") and not msg.new_text.strip() and not attached


# The coordinator's one-word replies, named back to her when one arrives tied to nothing.
_COORDINATOR_WORDS = (
    "poll.send",
    "event.send",
    "ticket.close",
    "ticket.reopen",
    "ticket.note",
    "ticket.publish",
    "moderation.approve",
    "moderation.reject",
    "event.cancel",
    "event.participants",
)


def _coordinator_help(ctx: HandlerContext, msg: InboundMessage) -> None:
    """A coordinator's mail that refers to nothing: what she can do by mail, never a ticket.

    A reply that lost its reference ("LÄHETÄ" to the network address, an answer
    to a forward without our Reply-To) would otherwise become a question in her
    own queue, acknowledged to herself.
    """
    first = next((ln for ln in msg.new_text.splitlines() if ln.strip()), msg.clean_subject)
    word = command_word(first, ctx.rules)
    known = any(word in ctx.rules.words(name) for name in _COORDINATOR_WORDS)
    ctx.answer(
        msg,
        ctx.settings.network.language,
        "questions/coordinator_help",
        kind="coordinator-help",
        subject=msg.clean_subject,
        command=word.upper() if known else "",
        year=ctx.now.year,
    )
    ctx.file("a coordinator's mail that refers to nothing: she was sent what she can do by mail")


def new_question(ctx: HandlerContext, msg: InboundMessage) -> None:
    if is_coordinator(msg, ctx.settings):
        _coordinator_help(ctx, msg)
        return
    if _is_empty(msg):
        member = ctx.member(msg.sender) if msg.sender else None
        ctx.answer(msg, _language(ctx, msg, member), "general/empty_mail", kind="empty-mail")
        ctx.file("an empty mail (no subject, no text): the sender was asked what they meant")
        return
    open_ticket(ctx, msg)


def open_ticket(ctx: HandlerContext, msg: InboundMessage, *, ack: bool = True) -> Ticket:
    """``ack=False`` when the caller's own answer to the member says where their message
    went (a question in a reply to an invitation), so the member gets one mail, not two."""
    member = ctx.member(msg.sender) if msg.sender else None
    language = _language(ctx, msg, member)
    ticket = Ticket(
        member_id=member.id if member else None,
        requester_email=msg.sender,
        requester_name=(member.name if member and member.name else msg.sender_name),
        organisation=member.organisation_name if member else "",
        language=language,
        subject=(msg.clean_subject or NO_SUBJECT)[:500],
        state="open",
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(ticket)
    ctx.session.flush()
    ctx.actions.append(f"open ticket #{ticket.id} for {msg.sender or 'an unknown sender'}")
    # A new question keeps its whole text: a member often forwards the very
    # thing they ask about (a council motion, a citizen's mail).
    record_event(ctx, ticket, "question", msg.sender, msg.text)
    _to_coordinators(ctx, ticket, "questions/to_coordinator", msg.text, _attachments(msg))
    if ack and msg.sender in ctx.settings.network.coordinators:
        # an unauthenticated mail in a coordinator's name: she has the forward already
        ctx.actions.append(f"no acknowledgement to the coordinator address {msg.sender}")
    elif ack and msg.sender and ctx.may_auto_reply(msg, "ticket-ack", language):
        rendered = ctx.templates.render(
            language, "questions/ack", ticket=ticket, network=ctx.settings.network
        )
        row = ctx.send(
            Draft(
                to=[msg.sender],
                to_name=ticket.requester_name,
                subject=rendered.subject,
                text=rendered.text,
                kind="ticket-ack",
                related=f"ticket:{ticket.id}",
                automatic=True,
                reply_to=ctx.reply_address(TOKEN_KIND, ticket.id),
                in_reply_to=msg.message_id,
                references=msg.references,
                language=language,
            )
        )
        ticket.last_member_message_id = row.message_id
    return ticket


def reply(ctx: HandlerContext, msg: InboundMessage) -> None:
    """A mail tied to a ticket by token, thread or ``[#N]``."""
    found = find_ticket(ctx.session, msg, ctx.tokens, ctx.decision.captures.get("token"))
    if found is None:
        ctx.actions.append("no ticket found for the reference: treat as a new question")
        new_question(ctx, msg)
        return
    ticket, how = found
    ctx.actions.append(f"ticket #{ticket.id} found by {how}")
    if is_coordinator(msg, ctx.settings):
        _coordinator_reply(ctx, msg, ticket)
    elif msg.sender and msg.sender == ticket.requester_email:
        _follow_up(ctx, msg, ticket)
    else:
        ctx.actions.append(f"{msg.sender} is neither a coordinator nor the asker")
        new_question(ctx, msg)


def _follow_up(ctx: HandlerContext, msg: InboundMessage, ticket: Ticket) -> None:
    text = msg.reply_text.strip() or msg.text.strip()
    record_event(ctx, ticket, "followup", msg.sender, text)
    if ticket.state != "open":
        ctx.actions.append(f"reopen ticket #{ticket.id} ({ticket.state} before)")
    ticket.state, ticket.closed_at, ticket.updated_at = "open", None, ctx.now
    _to_coordinators(ctx, ticket, "questions/followup", text, _attachments(msg))


def _coordinator_reply(ctx: HandlerContext, msg: InboundMessage, ticket: Ticket) -> None:
    commands, answer = command_lines(
        msg.reply_text,
        {
            "close": ctx.rules.words("ticket.close"),
            "reopen": ctx.rules.words("ticket.reopen"),
            "note": ctx.rules.words("ticket.note"),
            "publish": ctx.rules.words("ticket.publish"),
        },
    )
    wording = ""
    if "publish" in commands:
        answer, wording = split_at_form(answer, SHARED_ANSWER_FIELDS)
    relayed = False
    if "note" in commands:
        record_event(ctx, ticket, "note", msg.sender, answer)
        ctx.actions.append(f"note on ticket #{ticket.id}")
    elif answer:
        relayed = _relay_answer(ctx, msg, ticket, answer)
    elif not commands:
        _tell_coordinator(ctx, msg, ticket, "nothing")
        return
    if "close" in commands:
        ticket.state, ticket.closed_at = "closed", ctx.now
        record_event(ctx, ticket, "close", msg.sender, "")
        ctx.actions.append(f"close ticket #{ticket.id}")
    elif "reopen" in commands:
        ticket.state, ticket.closed_at = "open", None
        record_event(ctx, ticket, "reopen", msg.sender, "")
        ctx.actions.append(f"reopen ticket #{ticket.id}")
    ticket.updated_at = ctx.now
    if "publish" in commands:  # after the answer: it may be the one to publish
        shared_answers.preview_ticket(ctx, msg, ticket, wording, answered=relayed)
    if commands - {"publish"}:
        done = sorted(commands - {"publish"})
        _tell_coordinator(ctx, msg, ticket, "done", commands=done, answered=relayed)


def _relay_answer(ctx: HandlerContext, msg: InboundMessage, ticket: Ticket, answer: str) -> bool:
    """Send the answer to the asker; False when there is nobody to send it to."""
    if not ticket.requester_email:
        _tell_coordinator(ctx, msg, ticket, "no_requester")
        return False
    rendered = ctx.templates.render(
        ticket.language,
        "questions/answer",
        ticket=ticket,
        answer=answer,
        network=ctx.settings.network,
    )
    row = ctx.send(
        Draft(
            to=[ticket.requester_email],
            to_name=ticket.requester_name,
            subject=rendered.subject,
            text=rendered.text,
            kind="ticket-answer",
            related=f"ticket:{ticket.id}",
            reply_to=ctx.reply_address(TOKEN_KIND, ticket.id),
            in_reply_to=ticket.last_member_message_id,
            attachments=_attachments(msg),
            language=ticket.language,
        )
    )
    ticket.last_member_message_id = row.message_id
    record_event(ctx, ticket, "answer", msg.sender, answer)
    if ticket.first_answered_at is None:
        ticket.first_answered_at = ctx.now
    ticket.state = "answered"
    ctx.actions.append(f"relay the answer to {ticket.requester_email}")
    return True


def _tell_coordinator(
    ctx: HandlerContext, msg: InboundMessage, ticket: Ticket, what: str, **extra: object
) -> None:
    network = ctx.settings.network
    rendered = ctx.templates.render(
        network.language, f"questions/coordinator_{what}", ticket=ticket, network=network, **extra
    )
    ctx.send(
        Draft(
            to=[msg.sender],
            subject=rendered.subject,
            text=rendered.text,
            kind=f"ticket-coordinator-{what}",
            related=f"ticket:{ticket.id}",
            automatic=True,
            reply_to=ctx.reply_address(TOKEN_KIND, ticket.id),
            in_reply_to=msg.message_id,
            language=network.language,
        )
    )
