"""Bounces: recorded always; a VERP bounce of list mail counts against that member.

List mail goes out with the return path ``verkosto+bounce-<token>@…`` whose
signed token names the member, so a bounce identifies them exactly even when
the bounce itself names some forwarding address. A permanent failure counts
1, a temporary one 0.25, at most one bounce a calendar day. Over the threshold the member
gets a probe (itself VERP-addressed); if the probe bounces too, the member is
disabled (not deleted) and shows in the coordinator's digest.
"""

from __future__ import annotations

from mailer.db.models import Bounce, Member
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.outgoing.compose import Draft
from mailer.verp import MEMBER_TOKEN, PROBE_TOKEN, return_path

PERMANENT, TEMPORARY = 1.0, 0.25


def record_bounce(ctx: HandlerContext, msg: InboundMessage) -> None:
    info = msg.bounce
    if info is None:
        ctx.file("not a bounce after all")
        return
    member = _verp_member(ctx, info.verp_token)
    for address in info.recipients or ("",):
        ctx.session.add(
            Bounce(
                member_id=member[0].id if member else None,
                inbound_id=ctx.claim.id if ctx.claim else None,
                address=address,
                permanent=info.permanent,
                reason=info.reason[:2000],
                verp_token=info.verp_token,
                created_at=ctx.now,
            )
        )
        kind = "permanent" if info.permanent else "temporary"
        ctx.actions.append(f"record {kind} bounce for {address or 'an unknown address'}")
    if member is not None:
        _count(ctx, member[0], info.permanent, probe=member[1])
    ctx.file(f"bounce: {info.reason}"[:300])


def _verp_member(ctx: HandlerContext, token: str | None) -> tuple[Member, bool] | None:
    if not token:
        return None
    verified = ctx.tokens.verify(token)
    if verified is None or verified[0] not in (MEMBER_TOKEN, PROBE_TOKEN):
        return None
    member = ctx.session.get(Member, verified[1])
    return (member, verified[0] == PROBE_TOKEN) if member else None


def _count(ctx: HandlerContext, member: Member, permanent: bool, probe: bool) -> None:
    if probe:
        if member.disabled_at is None:
            member.disabled_at = ctx.now
            ctx.actions.append(f"disable {member.email}: the probe bounced")
        return
    tz = ctx.settings.network.tz
    today = ctx.now.astimezone(tz).date()
    if member.last_bounce_at and member.last_bounce_at.astimezone(tz).date() == today:
        ctx.actions.append(f"{member.email} already bounced today: not counted again")
        return
    member.bounce_score += PERMANENT if permanent else TEMPORARY
    member.last_bounce_at = ctx.now
    ctx.actions.append(f"{member.email} bounce score {member.bounce_score:g}")
    threshold = ctx.settings.list.bounce_threshold
    if member.bounce_score >= threshold and member.probe_sent_at is None:
        _probe(ctx, member)


def _probe(ctx: HandlerContext, member: Member) -> None:
    network = ctx.settings.network
    rendered = ctx.templates.render(member.language, "list/probe", network=network, member=member)
    ctx.send(
        Draft(
            to=[member.email],
            to_name=member.name,
            subject=rendered.subject,
            text=rendered.text,
            kind="list-probe",
            related=f"member:{member.id}",
            automatic=True,
            language=member.language,
        ),
        envelope_from=return_path(network, ctx.tokens, member.id, PROBE_TOKEN),
    )
    member.probe_sent_at = ctx.now
    ctx.actions.append(f"probe {member.email} (bounce score {member.bounce_score:g})")
