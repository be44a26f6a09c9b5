"""Scheduled jobs. Each looks at the database for what is due and is idempotent:
running it twice sends nothing twice. ``scheduler.py`` says when each runs."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.digests import send_digests
from mailer.handlers import list_posts, polls
from mailer.handlers.context import HandlerContext
from mailer.routing.engine import Decision

if TYPE_CHECKING:
    from mailer.app import App
    from mailer.daemon import Daemon

log = logging.getLogger("mailer.jobs")


def job_context(app: App, session: Session) -> HandlerContext:
    """A handler context for work that no message started."""
    return HandlerContext(
        session=session,
        settings=app.settings,
        templates=app.templates,
        rules=app.rules,
        tokens=app.tokens,
        now=app.clock.now(),
        claim=None,
        decision=Decision(action="job"),
    )


async def wake_outbox(daemon: Daemon) -> None:
    """Retries come due by the clock, not by a new commit: look for them."""
    daemon.wake_outbox()


async def sweep_inbox(daemon: Daemon) -> None:
    """A safety net under IDLE: a notice lost on the wire delays a message, never loses it."""
    daemon.wake_inbox()


def _digests(app: App) -> int:
    with app.db.transaction() as session:
        stats = send_digests(session, app.settings, app.templates, app.tokens, app.clock.now())
    if stats.members:
        log.info("digests queued", extra={"members": stats.members, "messages": stats.messages})
    return stats.messages


async def list_digests(daemon: Daemon) -> None:
    """Daily and weekly list digests that are due (caught up after downtime)."""
    if await asyncio.to_thread(_digests, daemon.app):
        daemon.wake_outbox()


def _expire_held(app: App) -> int:
    with app.db.transaction() as session:
        return list_posts.expire_held(job_context(app, session))


async def expire_held_posts(daemon: Daemon) -> None:
    """Held list posts older than the configured age expire, with a notice."""
    if await asyncio.to_thread(_expire_held, daemon.app):
        daemon.wake_outbox()


def _polls(app: App) -> int:
    with app.db.transaction() as session:
        ctx = job_context(app, session)
        return polls.send_due_ballots(ctx) + polls.close_due(ctx)


async def poll_deadlines(daemon: Daemon) -> None:
    """Ballots of polls opened from the command line; results of polls past their deadline."""
    if await asyncio.to_thread(_polls, daemon.app):
        daemon.wake_outbox()
