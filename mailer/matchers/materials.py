"""The material bank's rules: a request for an item, and files for an event."""

from __future__ import annotations

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext
from mailer.matchers.coordinator import is_coordinator
from mailer.parsing.materials import fetch_numbers, files, reply_token


def material_fetch(msg: InboundMessage, ctx: RouteContext) -> str | None:
    """``lähetä 3`` / ``skicka 3`` / ``send 3``: the subject or first line, nothing else."""
    numbers = fetch_numbers(
        msg.clean_subject,
        msg.new_text,
        ctx.rules.words("material.send"),
        ctx.rules.words("command.courtesy"),
    )
    return None if numbers is None else f"material request {numbers}"


def event_material(msg: InboundMessage, ctx: RouteContext) -> str | None:
    """A coordinator's reply with files to a mail about an event (its reply token)."""
    # Imported here: the events package imports the handlers, which import the rules.
    from mailer.events.manage import EVENT_TOKEN

    if not files(msg) or not is_coordinator(msg, ctx.settings):
        return None
    event_id = reply_token(msg, ctx.settings, ctx.tokens, EVENT_TOKEN)
    return None if event_id is None else f"files from a coordinator for event #{event_id}"
