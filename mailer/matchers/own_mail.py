"""Our own mail coming back (a copy, a forward by a rule, a mis-set alias)."""

from __future__ import annotations

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext


def own_mail(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if ctx.settings.network.address in msg.loop_ids:
        return "carries our own X-Mailer-Loop"
    return None
