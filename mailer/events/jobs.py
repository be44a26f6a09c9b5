"""The daemon's event jobs (``scheduler.py`` says when): each runs one ``schedule``
function in its own transaction in a worker thread and wakes the outbox when
it queued mail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailer.events import schedule
from mailer.jobs import job_context

if TYPE_CHECKING:
    from mailer.app import App
    from mailer.daemon import Daemon
    from mailer.handlers.context import HandlerContext


def _run(app: App, work: Callable[[HandlerContext], int]) -> int:
    with app.db.transaction() as session:
        return work(job_context(app, session))


async def _job(daemon: Daemon, work: Callable[[HandlerContext], int]) -> None:
    if await asyncio.to_thread(_run, daemon.app, work):
        daemon.wake_outbox()


async def reminders(daemon: Daemon) -> None:
    """Reminders (and a webinar's link) to registrants when due."""
    await _job(daemon, schedule.send_reminders)


async def feedback_requests(daemon: Daemon) -> None:
    """The rating request after an event has ended."""
    await _job(daemon, schedule.send_feedback_requests)


async def summaries(daemon: Daemon) -> None:
    """The coordinator's summary once the feedback has closed."""
    await _job(daemon, schedule.send_summaries)
