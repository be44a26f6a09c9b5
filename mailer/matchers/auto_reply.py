"""Robots: auto-replies, bulk mail, other lists and other services' automatic mail."""

from __future__ import annotations

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext


def auto_reply(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if msg.auto_reply:
        return msg.auto_reply
    if msg.loop_ids:
        return "carries another service's X-Mailer-Loop"
    return None
