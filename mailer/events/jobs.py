"""The daemon's event jobs (``scheduler.py`` says when): each runs one ``schedule``
function in its own transaction in a worker thread and wakes the outbox when
it queued mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailer.events import schedule
from mailer.jobs import run_job

if TYPE_CHECKING:
    from mailer.daemon import Daemon


async def reminders(daemon: Daemon) -> None:
    """Reminders (and a webinar's link) to registrants when due."""
    await run_job(daemon, schedule.send_reminders)


async def feedback_requests(daemon: Daemon) -> None:
    """The rating request after an event has ended."""
    await run_job(daemon, schedule.send_feedback_requests)


async def summaries(daemon: Daemon) -> None:
    """The coordinator's summary once the feedback has closed."""
    await run_job(daemon, schedule.send_summaries)
