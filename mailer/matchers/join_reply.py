"""A reply to a join confirmation that lost its reference.

Some clients answer to From instead of Reply-To, and some drop the thread
headers: "VS: Vahvista liittyminen" with "Kyllä" then reaches the network
address untied. From an address that has a join waiting for its confirmation
(and nothing else to tie it to, by the order of the rules), a reply under the
confirmation's subject (which names the network) can only be that answer; a
reply in another thread is not. Erasure is never confirmed this way: it needs
the token.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.db.models import Request
from mailer.inbound.message import InboundMessage
from mailer.matchers.context import RouteContext


def pending_join(session: Session, address: str) -> Request | None:
    """The address's latest join request still waiting for its confirmation."""
    query = (
        select(Request)
        .where(Request.kind == "join", Request.email == address, Request.state == "pending")
        .order_by(Request.id.desc())
    )
    with session.no_autoflush:
        return session.scalars(query).first()


def join_reply(msg: InboundMessage, ctx: RouteContext) -> str | None:
    if not msg.sender or not msg.subject_is_reply:
        return None  # no sender to confirm, or a new mail rather than a reply
    if ctx.settings.network.name.casefold() not in msg.clean_subject.casefold():
        return None  # a reply in some other thread: the confirmation's subject names us
    request = pending_join(ctx.session, msg.sender)
    return None if request is None else f"a reply from {msg.sender}, whose join #{request.id} waits"
