"""Mail from a coordinator, trusted only as far as the server vouches for it.

Where ``[security] trusted_authserv_id`` is set, the From must also pass DKIM,
SPF or DMARC in an Authentication-Results header added by that server; a header
from any other authserv-id is ignored, since anyone can write one.
"""

from __future__ import annotations

import logging

from mailer.auth_results import sender_authenticated
from mailer.config import Settings
from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext

log = logging.getLogger("mailer.disposition")


def is_coordinator(msg: InboundMessage, settings: Settings) -> bool:
    if msg.sender not in settings.network.coordinators:
        return False
    authserv = settings.security.trusted_authserv_id
    if authserv and not sender_authenticated(msg, authserv):
        log.warning(
            "coordinator address without passing authentication",
            extra={"sender": msg.sender, "message_id": msg.message_id},
        )
        return False
    return True


def coordinator(msg: InboundMessage, ctx: RouteContext) -> str | None:
    return "from a coordinator" if is_coordinator(msg, ctx.settings) else None


def not_coordinator(msg: InboundMessage, ctx: RouteContext) -> str | None:
    """Someone other than a coordinator, e.g. a member writing to a form address."""
    return (
        None
        if is_coordinator(msg, ctx.settings)
        else f"{msg.sender or 'the sender'} is not a coordinator"
    )
