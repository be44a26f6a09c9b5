"""Inbound mail: raw bytes parsed once into the immutable view every handler reads."""

from mailer.inbound.bounces import BounceInfo, parse_bounce
from mailer.inbound.message import Attachment, InboundMessage, parse_message
from mailer.inbound.reply_text import strip_quoted, strip_signature
from mailer.inbound.verdicts import auto_reply_reason, is_bounce

__all__ = [
    "Attachment",
    "BounceInfo",
    "InboundMessage",
    "auto_reply_reason",
    "is_bounce",
    "parse_bounce",
    "parse_message",
    "strip_quoted",
    "strip_signature",
]
