"""Delivery status notifications and non-standard bounces."""

from __future__ import annotations

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext


def bounce(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if msg.bounce is None:
        return None
    kind = "permanent" if msg.bounce.permanent else "temporary"
    return f"{kind} delivery failure: {msg.bounce.reason}"[:200]
