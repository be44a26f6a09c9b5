"""OAuth2 bearer tokens for XOAUTH2 logins (IMAP and SMTP).

The daemon does not speak to identity providers itself: ``oauth2_command`` is
any program that prints a valid access token (an MSAL or google-auth script,
``oauth2l``, a vault lookup). The token is cached until the command is due to be
run again, so a busy outbox does not spawn a process per connection. Tokens are
never logged.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time

from mailer.config import OAuth2Settings
from mailer.errors import ConfigError


class TokenProvider:
    """Hands out a bearer token; thread-safe because IMAP runs in threads."""

    def __init__(self, settings: OAuth2Settings, refresh_seconds: float = 300.0) -> None:
        self._settings = settings
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._token: str | None = None
        self._fetched_at = 0.0

    def token(self) -> str:
        if self._settings.token:
            return self._settings.token
        if not self._settings.command:
            raise ConfigError("oauth2_command is not set")
        with self._lock:
            if self._token is None or time.monotonic() - self._fetched_at > self._refresh:
                done = subprocess.run(
                    shlex.split(self._settings.command),
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                if done.returncode != 0 or not done.stdout.strip():
                    raise ConfigError(f"oauth2_command failed with exit code {done.returncode}")
                self._token = done.stdout.strip()
                self._fetched_at = time.monotonic()
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token after the server refused it."""
        with self._lock:
            self._token = None
