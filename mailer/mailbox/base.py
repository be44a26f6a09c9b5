"""What the daemon needs from a mailbox, whatever stores it.

A message stays in the inbox folder until it has been handled and moved, so
"what is new" is simply "what is still in the inbox"; claims in the database
make a second look at the same message a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FetchedMessage:
    key: str  # IMAP: the UID as text; Maildir: the file's key
    raw: bytes


class Mailbox(Protocol):
    """Blocking operations; the daemon calls them from a worker thread."""

    @property
    def name(self) -> str:
        """Stable identity for claims, e.g. ``imap://verkosto@host/INBOX``."""
        ...

    def connect(self) -> None: ...

    def close(self) -> None: ...

    def uidvalidity(self) -> int:
        """IMAP UIDVALIDITY of the inbox folder (0 for Maildir)."""
        ...

    def pending(self) -> list[str]:
        """Keys of every message still in the inbox folder, oldest first."""
        ...

    def fetch(self, keys: Sequence[str]) -> list[FetchedMessage]:
        """Raw bytes of these messages, without setting \\Seen."""
        ...

    def move(self, keys: Sequence[str], folder: str) -> None:
        """Move to ``folder`` (created if missing)."""
        ...


class Watcher(Protocol):
    """Calls ``on_change`` (from its own thread) whenever the inbox may have new mail."""

    def start(self, on_change: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...
