"""Scheduled jobs. Each looks at the database for what is due and is idempotent:
running it twice sends nothing twice. ``scheduler.py`` says when each runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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


def run_in_transaction(app: App, work: Callable[[HandlerContext], int]) -> int:
    """``work`` in a transaction of its own; how much mail it queued."""
    with app.db.transaction() as session:
        return work(job_context(app, session))


async def run_job(daemon: Daemon, work: Callable[[HandlerContext], int]) -> None:
    """``work`` in its own transaction in a worker thread (the event loop keeps sending),
    and the outbox woken when it queued mail."""
    if await asyncio.to_thread(run_in_transaction, daemon.app, work):
        daemon.wake_outbox()


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


async def expire_held_posts(daemon: Daemon) -> None:
    """Held list posts older than the configured age expire, with a notice."""
    await run_job(daemon, list_posts.expire_held)


def _polls(ctx: HandlerContext) -> int:
    return polls.send_due_ballots(ctx) + polls.close_due(ctx)


async def poll_deadlines(daemon: Daemon) -> None:
    """Ballots of polls opened from the command line; results of polls past their deadline."""
    await run_job(daemon, _polls)
