"""Signed tokens in Reply-To addresses (``verkosto+r-<token>@…``).

A reply is tied to its ticket, event, poll or confirmation by the token even
when a client drops In-Reply-To. The HMAC stops anyone from forging a token for
another object; it does not identify the sender (that is the handlers' job).
Tokens are lower-case because some clients and servers lower-case addresses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from sqlalchemy.orm import Session

from mailer.db.models import Setting

_TOKEN = re.compile(r"^([a-z]+)(\d+)-([a-z2-7]{10})$")
SECRET_KEY = "reply-token-secret"


class ReplyTokens:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, kind: str, ident: int) -> str:
        digest = hmac.new(self._key, f"{kind}:{ident}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:10]).decode().lower()[:10]

    def make(self, kind: str, ident: int) -> str:
        return f"{kind}{ident}-{self._mac(kind, ident)}"

    def verify(self, token: str) -> tuple[str, int] | None:
        match = _TOKEN.match(token.lower())
        if not match:
            return None
        kind, ident = match.group(1), int(match.group(2))
        if not hmac.compare_digest(match.group(3), self._mac(kind, ident)):
            return None
        return kind, ident


def load_secret(session: Session, configured: str | None) -> str:
    """The configured secret, else one generated once and kept in the database."""
    if configured:
        return configured
    row = session.get(Setting, SECRET_KEY)
    if row is None:
        row = Setting(key=SECRET_KEY, value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value
