"""A one-line preference change: delivery mode or language (``päivittäin``, ``kieli sv``)."""

from __future__ import annotations

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext
from mailer.parsing.list_commands import parse_command


def preference_command(msg: InboundMessage, ctx: RouteContext) -> str | None:
    command = parse_command(msg.clean_subject, msg.new_text, ctx.rules)
    if command is None or command.name not in ("delivery", "language", "help"):
        return None
    return f"{command.name} {command.argument}".strip()
