"""Walk the chains for one message and return a decision (pure: nothing acts here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailer.errors import RulesError
from mailer.inbound.message import InboundMessage
from mailer.matchers import MATCHERS, RouteContext
from mailer.parsing.list_commands import command_word
from mailer.routing.rules import Link, RuleSet

MAX_JUMPS = 10


@dataclass
class Decision:
    action: str  # handle | file
    handler: str | None = None
    folder: str = "Processed"
    reason: str = ""
    captures: dict[str, str] = field(default_factory=dict)
    deferred: list[str] = field(default_factory=list)
    walk: list[str] = field(default_factory=list)


def _recipients(msg: InboundMessage) -> list[str]:
    """Delivered-To first (the address the server really delivered to), then To/Cc."""
    return list(dict.fromkeys([*msg.delivered_to, *msg.to]))


def _first_line(msg: InboundMessage) -> str:
    for line in msg.new_text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _check(link: Link, msg: InboundMessage, ctx: RouteContext, decision: Decision) -> str | None:
    """The reason this link matches, or None."""
    reasons: list[str] = []
    if link.rule:
        reason = MATCHERS[link.rule](msg, ctx)
        if reason is None:
            return None
        reasons.append(reason)
    if link.address:
        for address in _recipients(msg):
            m = link.address.regex.match(address)
            if m:
                decision.captures.update({k: v for k, v in m.groupdict().items() if v})
                reasons.append(f"addressed to {address}")
                break
        else:
            return None
    if link.keyword:
        words = ctx.rules.words(link.keyword)
        hit = next(
            (
                t
                for t in (msg.clean_subject, _first_line(msg))
                if t and command_word(t, ctx.rules) in words
            ),
            None,
        )
        if hit is None:
            return None
        reasons.append(f"keyword {hit!r}")
    if link.header and link.header_pattern:
        value = msg.header(link.header)
        if value is None or not link.header_pattern.search(value):
            return None
        reasons.append(f"header {link.header}: {value[:80]}")
    if link.any_deferred:
        if not decision.deferred:
            return None
        reasons.append("; ".join(decision.deferred))
    return ", ".join(reasons) or "always"


def route(msg: InboundMessage, ctx: RouteContext) -> Decision:
    rules: RuleSet = ctx.rules
    decision = Decision(action="file")
    chain, jumps = rules.start, 0
    while True:
        for link in rules.chains[chain]:
            reason = _check(link, msg, ctx, decision)
            if link.negate:
                reason = None if reason is not None else "not matched"
            if reason is None:
                decision.walk.append(f"{link.where}: no")
                continue
            decision.walk.append(f"{link.where}: yes ({reason}) -> {link.action}")
            if link.action == "defer":
                # the rule's name: templates say it in the reader's language
                decision.deferred.append(link.rule or link.reason)
                continue
            if link.action == "jump":
                assert link.chain is not None
                chain, jumps = link.chain, jumps + 1
                if jumps > MAX_JUMPS:
                    raise RulesError(f"{link.where}: more than {MAX_JUMPS} jumps")
                break
            decision.action = link.action
            decision.handler = link.handler
            decision.folder = link.folder
            decision.reason = link.reason or reason
            return decision
        else:
            raise RulesError(f"chain {chain!r} ended without a decision")
