"""One capability per module; the names here are the ``handler =`` values in rules."""

from __future__ import annotations

from collections.abc import Callable

from mailer.handlers import (
    digests,
    events,
    list_posts,
    materials,
    polls,
    privacy,
    registrations,
    subscriptions,
)
from mailer.handlers.bounces import record_bounce
from mailer.handlers.context import HandlerContext
from mailer.handlers.questions import new_question, reply
from mailer.handlers.replies import token_reply
from mailer.handlers.report import send_report
from mailer.inbound.message import InboundMessage

Handler = Callable[[HandlerContext, InboundMessage], None]

HANDLERS: dict[str, Handler] = {
    "question": new_question,
    "ticket-reply": reply,
    "token-reply": token_reply,
    "bounce": record_bounce,
    "join": subscriptions.join,
    "join-reply": subscriptions.untied_confirmation,
    "leave": subscriptions.leave,
    "preferences": subscriptions.preferences,
    "list-post": list_posts.post,
    "hold-post": list_posts.hold,
    "my-data": privacy.export,
    "erase-my-data": privacy.request_erase,
    "poll-form": polls.poll_form,
    "survey-form": polls.survey_form,
    "event-form": events.form,
    "calendar-reply": registrations.calendar_reply,
    "materials": materials.at_address,
    "material-index": materials.send_index,
    "material-fetch": materials.fetch,
    "event-material": materials.event_reply,
    "report": send_report,
    "weekly-off": digests.weekly_off,
    "weekly-on": digests.weekly_on,
}
