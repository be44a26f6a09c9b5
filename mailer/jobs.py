"""Scheduled jobs. Each looks at the database for what is due and is idempotent:
running it twice sends nothing twice. ``scheduler.py`` says when each runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailer.daemon import Daemon


async def wake_outbox(daemon: Daemon) -> None:
    """Retries come due by the clock, not by a new commit: look for them."""
    daemon.wake_outbox()


async def sweep_inbox(daemon: Daemon) -> None:
    """A safety net under IDLE: a notice lost on the wire delays a message, never loses it."""
    daemon.wake_inbox()
