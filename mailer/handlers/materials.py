"""The material bank by mail (SPEC capability 6).

* The coordinator mails attachments to ``verkosto+materiaalit@``: the subject
  is the title; a ``Tapahtuma: <number or title>`` line, or sending it as a
  reply in the thread of any mail about an event, ties it to that event. A
  coordinator who simply answers an event's preview (its ``+r-x…`` address)
  with files attached files them for that event too: that is what Outlook's
  Reply does, and the rest of that reply still reaches the event handler.
  A receipt says what was filed, what was refused (too large) and whether the
  event's registrants will get it.
* Anyone on the roster sends ``materiaalit`` / ``material`` / ``materials``
  (any address) for the numbered index, and ``lähetä 3`` / ``skicka 3`` /
  ``send 3`` for item 3 as an attachment. A registrant of an event who is not
  a member may fetch that event's material (the after-event mail tells them
  how); anyone else gets a polite refusal.
* Files mailed to the bank by anyone but a coordinator are a question for the
  coordinator (with the files), never dropped.

Filing is only for ``is_coordinator`` mail, and the receipt goes to that
coordinator's configured address.
"""

from __future__ import annotations

from sqlalchemy import select

# The module, not its names: the bank imports the handlers' context, so this module is
# loaded while ``mailer.materials`` may still be initialising (when it was imported first).
from mailer import materials as bank
from mailer.db.events import Event
from mailer.db.materials import Material
from mailer.handlers import events, questions
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import Attachment, InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft
from mailer.parsing.commands import normalise_word
from mailer.parsing.language import guess_language
from mailer.parsing.materials import event_reference, fetch_numbers, files


def _language(ctx: HandlerContext, msg: InboundMessage, keyword: str) -> str:
    """A member's own language; the coordinator's network language; else the language of
    the command word; else a guess from the text."""
    member = ctx.member(msg.sender) if msg.sender else None
    if member is not None:
        return member.language
    if is_coordinator(msg, ctx.settings):
        return ctx.settings.network.language
    first = next((ln for ln in msg.new_text.splitlines() if ln.strip()), "")
    for candidate in (msg.clean_subject, first):
        word = normalise_word(candidate)
        found = ctx.rules.language_of(keyword, word) or ctx.rules.language_of(
            keyword, word.partition(" ")[0]
        )
        if found:
            return found
    return guess_language(f"{msg.subject}\n{msg.new_text}", ctx.settings.network.language)


def _full_access(ctx: HandlerContext, msg: InboundMessage) -> bool:
    """Coordinators and members on the list see the whole bank."""
    if is_coordinator(msg, ctx.settings):
        return True
    member = ctx.member(msg.sender) if msg.sender else None
    return member is not None and member.subscribed


def _refuse(ctx: HandlerContext, msg: InboundMessage, language: str) -> None:
    ctx.actions.append(f"{msg.sender or 'an unknown sender'} is not a member: refuse")
    ctx.answer(msg, language, "materials/members_only", kind="material-refused")


# ---- handlers (names in mailer/handlers/__init__.py)


def at_address(ctx: HandlerContext, msg: InboundMessage) -> None:
    """Anything mailed to ``verkosto+materiaalit@``."""
    numbers = fetch_numbers(
        msg.clean_subject,
        msg.new_text,
        ctx.rules.words("material.send"),
        ctx.rules.words("command.courtesy"),
    )
    if numbers is not None:
        _fetch(ctx, msg, numbers)
        return
    attached = files(msg)
    if attached and is_coordinator(msg, ctx.settings):
        _file_mail(ctx, msg, attached)
    elif attached:
        ctx.actions.append("files from someone other than a coordinator: a question")
        questions.new_question(ctx, msg)
    else:
        send_index(ctx, msg)


def send_index(ctx: HandlerContext, msg: InboundMessage) -> None:
    """The numbered index, grouped by year and event, to anyone on the roster."""
    language = _language(ctx, msg, "material.index")
    if not _full_access(ctx, msg):
        _refuse(ctx, msg, language)
        return
    groups = bank.index(ctx.session, ctx.settings.network.tz)
    ctx.actions.append(f"send the material index ({sum(len(g.items) for g in groups)} items)")
    ctx.answer(
        msg,
        language,
        "materials/index",
        kind="material-index",
        groups=groups,
        count=sum(len(g.items) for g in groups),
        address=ctx.settings.network.sub_address(bank.MATERIALS_ADDRESS),
    )


def fetch(ctx: HandlerContext, msg: InboundMessage) -> None:
    """``lähetä 3`` at any address (the rule ``material-fetch`` found the numbers)."""
    numbers = fetch_numbers(
        msg.clean_subject,
        msg.new_text,
        ctx.rules.words("material.send"),
        ctx.rules.words("command.courtesy"),
    )
    _fetch(ctx, msg, numbers or [])


def _fetch(ctx: HandlerContext, msg: InboundMessage, numbers: list[int]) -> None:
    language = _language(ctx, msg, "material.send")
    full = _full_access(ctx, msg)
    theirs = set() if full or not msg.sender else bank.registered_events(ctx.session, msg.sender)
    if not full and not theirs:
        _refuse(ctx, msg, language)
        return
    found = {m.id: m for m in ctx.session.scalars(select(Material).where(Material.id.in_(numbers)))}
    allowed = [found[n] for n in numbers if n in found and (full or found[n].event_id in theirs)]
    withheld = [n for n in numbers if n in found and found[n] not in allowed]
    if withheld and not allowed:
        _refuse(ctx, msg, language)
        return
    attached, later = bank.pack(allowed, ctx.settings.materials.max_mail_bytes, first_always=True)
    store = bank.Store.of(ctx.settings)
    ctx.actions.append(f"send material {[m.id for m in attached]} to {msg.sender}")
    ctx.answer(
        msg,
        language,
        "materials/fetched",
        kind="material-fetch",
        attachments=[bank.outgoing(store, m) for m in attached],
        attached=attached,
        later=later,
        missing=[n for n in numbers if n not in found],
        withheld=withheld,
        address=ctx.settings.network.sub_address(bank.MATERIALS_ADDRESS),
    )


def event_reply(ctx: HandlerContext, msg: InboundMessage) -> None:
    """A coordinator's reply with files to a mail about an event (rule ``event-material``)."""
    event_id = bank.event_from_token(msg, ctx.settings, ctx.tokens)
    event = ctx.session.get(Event, event_id) if event_id is not None else None
    if event is None:
        ctx.file("files for an event that does not exist")
        return
    filing = bank.file_attachments(ctx, msg.sender, files(msg), title=event.title, event=event)
    _receipt(ctx, msg, filing)
    if _has_event_commands(ctx, msg):
        assert event_id is not None
        events.coordinator_reply(ctx, msg, event_id)


def _has_event_commands(ctx: HandlerContext, msg: InboundMessage) -> bool:
    """Whether the reply also says something to the event (``LÄHETÄ``, a form line …)."""
    found, parsed = events.read_reply(ctx, msg)
    return bool(found or parsed.values or parsed.errors)


# ---- filing at the bank's address


def _file_mail(ctx: HandlerContext, msg: InboundMessage, attached: list[Attachment]) -> None:
    reference = event_reference(msg.new_text, ctx.rules.words("material.event"))
    event: Event | None
    if reference is not None:
        found = bank.find_event(ctx.session, reference)
        if isinstance(found, list):
            _tell(ctx, msg, "materials/event_unknown", reference=reference, candidates=found)
            ctx.actions.append(f"no single event is {reference!r}: nothing filed")
            return
        event = found
        title = msg.clean_subject
    else:
        event = bank.event_from_thread(ctx.session, msg) or bank.event_in_subject(
            ctx.session, msg.clean_subject
        )
        # Answering the event's own mail leaves its subject ("VS: Esikatselu: …"):
        # the event's title says better what the material is.
        replied = msg.subject_is_reply
        title = event.title if event is not None and replied else msg.clean_subject
    filing = bank.file_attachments(
        ctx, msg.sender, attached, title=title or attached[0].filename, event=event
    )
    _receipt(ctx, msg, filing)


def _receipt(ctx: HandlerContext, msg: InboundMessage, filing: bank.Filing) -> None:
    materials = ctx.settings.materials
    _tell(
        ctx,
        msg,
        "materials/receipt",
        filing=filing,
        limit_bytes=materials.max_attachment_bytes,
        send_days=materials.send_days,
    )


def _tell(ctx: HandlerContext, msg: InboundMessage, template: str, **context: object) -> None:
    """To the coordinator who wrote, in the network's language; not flood-limited, since
    a coordinator filing a dozen items a day must get every receipt."""
    network = ctx.settings.network
    rendered = ctx.templates.render(network.language, template, network=network, **context)
    ctx.send(
        Draft(
            to=[msg.sender],
            subject=rendered.subject,
            text=rendered.text,
            kind=f"material-{template.rsplit('/', 1)[-1]}",
            automatic=True,
            in_reply_to=msg.message_id,
            references=msg.references,
            language=network.language,
        )
    )
