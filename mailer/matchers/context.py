"""What a matcher may look at: the message, the settings, and a read-only session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mailer.config import Settings
from mailer.inbound.message import InboundMessage
from mailer.reply_tokens import ReplyTokens
from mailer.routing.rules import RuleSet


@dataclass(frozen=True)
class RouteContext:
    settings: Settings
    rules: RuleSet
    session: Session
    tokens: ReplyTokens


Matcher = Callable[[InboundMessage, RouteContext], "str | None"]
