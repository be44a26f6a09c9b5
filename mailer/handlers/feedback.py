"""Replies to the feedback request: a rating on the 1-5 scale and free text (capability 4).

``parse_rating`` reads the reply without the quoted request, so the "1-5" in
the quote never counts. A clear rating is stored and confirmed; an ambiguous or
out-of-range one is asked about politely instead of guessed; text without any
rating is kept and thanked for; from someone who rated earlier it is thanked
for with the word that their rating stands, not an invitation to rate. Every
reply's text is kept, per question when the person answered them separately;
the last rating given before the feedback closed is the one that counts.
"""

from __future__ import annotations

from mailer.db.events import Event, Feedback, Registration
from mailer.events.schedule import FEEDBACK_TOKEN
from mailer.events.summary import ratings
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.parsing.ratings import NO_RATING, parse_rating


def feedback_reply(ctx: HandlerContext, msg: InboundMessage, registration_id: int) -> None:
    registration = ctx.session.get(Registration, registration_id)
    event = ctx.session.get(Event, registration.event_id) if registration else None
    if registration is None or event is None:
        ctx.file(f"feedback for an unknown registration {registration_id}")
        return
    reply_to = ctx.reply_address(FEEDBACK_TOKEN, registration.id)
    if ctx.now >= event.feedback_closes_at:
        ctx.answer(
            msg,
            registration.language,
            "events/feedback_closed",
            kind="event-feedback-closed",
            related=f"event:{event.id}",
            event=event,
            registration=registration,
        )
        return
    result = parse_rating(msg.new_text)
    earlier = ratings(ctx.session, event).get(registration.id)
    halves = int(result.rating * 2) if result.rating is not None else None
    ctx.session.add(
        Feedback(
            event_id=event.id,
            registration_id=registration.id,
            rating_halves=halves,
            status=result.status,
            reason=result.reason,
            best=result.best,
            improve=result.improve,
            text=result.text,
            created_at=ctx.now,
        )
    )
    ctx.actions.append(
        f"feedback from {registration.email} for event #{event.id}: "
        f"{result.status} {result.rating if result.rating is not None else result.reason}"
    )
    if result.status == "ok":
        template = "events/rating_saved"
    elif result.status == "none" and result.text:
        template = "events/feedback_thanks"
    else:
        template = "events/rating_clarify"
    ctx.answer(
        msg,
        registration.language,
        template,
        kind=f"event-{template.rsplit('/', 1)[1].replace('_', '-')}",
        related=f"event:{event.id}",
        reply_to=reply_to,
        rating=result.rating,
        earlier=earlier,
        reason=result.reason if result.status != "none" else NO_RATING,
        event=event,
        registration=registration,
    )
