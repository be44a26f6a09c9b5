"""Mail from a coordinator, trusted only as far as the server vouches for it.

Where ``[security] trusted_authserv_id`` is set, the From must also pass DKIM,
SPF or DMARC in an Authentication-Results header added by that server; a header
from any other authserv-id is ignored, since anyone can write one.
"""

from __future__ import annotations

import logging

import authres

from mailer.config import Settings
from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext

log = logging.getLogger("mailer.disposition")


def _authenticated(msg: InboundMessage, authserv_id: str) -> bool:
    domain = msg.sender.rpartition("@")[2]
    for value in msg.authentication_results:
        try:
            header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception:  # noqa: BLE001 - a malformed header is simply not trusted
            continue
        if str(header.authserv_id).lower() != authserv_id.lower():
            continue
        for result in header.results:
            if str(result.result).lower() != "pass":
                continue
            method = str(result.method).lower()
            props = {
                str(p.type) + "." + str(p.name): str(p.value).lower() for p in result.properties
            }
            if method == "dmarc" and props.get("header.from") == domain:
                return True
            if method == "dkim" and props.get("header.d", "").endswith(domain):
                return True
            if method == "spf" and props.get("smtp.mailfrom", "").endswith(domain):
                return True
    return False


def is_coordinator(msg: InboundMessage, settings: Settings) -> bool:
    if msg.sender not in settings.network.coordinators:
        return False
    authserv = settings.security.trusted_authserv_id
    if authserv and not _authenticated(msg, authserv):
        log.warning(
            "coordinator address without passing authentication",
            extra={"sender": msg.sender, "message_id": msg.message_id},
        )
        return False
    return True


def coordinator(msg: InboundMessage, ctx: RouteContext) -> str | None:
    return "from a coordinator" if is_coordinator(msg, ctx.settings) else None
