"""One capability per module; the names here are the ``handler =`` values in rules."""

from __future__ import annotations

from collections.abc import Callable

from mailer.handlers.bounces import record_bounce
from mailer.handlers.context import HandlerContext
from mailer.handlers.questions import new_question, reply
from mailer.inbound.message import InboundMessage

Handler = Callable[[HandlerContext, InboundMessage], None]

HANDLERS: dict[str, Handler] = {
    "question": new_question,
    "ticket-reply": reply,
    "bounce": record_bounce,
}
