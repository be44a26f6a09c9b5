"""Bounces are recorded for the list's bounce processing; never answered."""

from __future__ import annotations

from mailer.db.models import Bounce
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage


def record_bounce(ctx: HandlerContext, msg: InboundMessage) -> None:
    info = msg.bounce
    if info is None:
        ctx.file("not a bounce after all")
        return
    for address in info.recipients or ("",):
        ctx.session.add(
            Bounce(
                inbound_id=ctx.claim.id,
                address=address,
                permanent=info.permanent,
                reason=info.reason[:2000],
                verp_token=info.verp_token,
                created_at=ctx.now,
            )
        )
        ctx.actions.append(
            f"record {'permanent' if info.permanent else 'temporary'} bounce"
            f" for {address or 'an unknown address'}"
        )
    ctx.file(f"bounce: {info.reason}"[:300])
