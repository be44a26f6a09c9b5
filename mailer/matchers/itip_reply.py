"""A calendar client's answer to an invitation: an iCalendar part with ``METHOD:REPLY``.

Outlook's Accept may come with auto-reply headers, so this rule sits before
``auto-reply`` in the chain; a plain look at the METHOD line is enough here,
the handler parses the calendar properly.
"""

from __future__ import annotations

import re

from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext

_METHOD_REPLY = re.compile(rb"^METHOD\s*:\s*REPLY\s*$", re.IGNORECASE | re.MULTILINE)


def itip_reply(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if msg.calendar is not None and _METHOD_REPLY.search(msg.calendar):
        return "a calendar reply (iTIP METHOD:REPLY)"
    return None
