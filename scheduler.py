"""The daemon's schedule, readable at a glance; ``python scheduler.py`` starts the daemon.

APScheduler only wakes the jobs; each job asks the database what is due (see
``mailer/jobs.py``), so a run missed while the daemon was down is caught up by the
next one, and a run that happens twice sends nothing twice.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from mailer import digest_jobs, jobs
from mailer.digests import service_started
from mailer.events import jobs as event_jobs

if TYPE_CHECKING:
    from mailer.daemon import Daemon


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Daemon], Awaitable[None]]
    trigger: BaseTrigger

    async def run(self, daemon: Daemon) -> None:
        await self.func(daemon)


# fmt: off
JOBS: list[Job] = [
    #   name           what it does         when
    Job("outbox",      jobs.wake_outbox,    IntervalTrigger(seconds=15)),  # retries come due
    Job("inbox-sweep", jobs.sweep_inbox,    IntervalTrigger(seconds=60)),  # a net under IDLE
    Job("list-digests", jobs.list_digests,  IntervalTrigger(minutes=5)),   # daily/weekly hour
    Job("held-posts",  jobs.expire_held_posts, IntervalTrigger(hours=1)),  # old held posts
    Job("polls",       jobs.poll_deadlines, IntervalTrigger(minutes=1)),   # ballots, results
    Job("event-reminders", event_jobs.reminders, IntervalTrigger(minutes=1)),  # 7 d, 1 d, link
    Job("event-feedback", event_jobs.feedback_requests, IntervalTrigger(minutes=5)),  # rate it
    Job("event-summaries", event_jobs.summaries, IntervalTrigger(minutes=15)),  # when closed
    Job("event-materials", digest_jobs.event_materials, IntervalTrigger(minutes=5)),  # ended
    Job("coordinator-digest", digest_jobs.coordinator_digest, IntervalTrigger(minutes=5)),  # 7:00
    Job("weekly-update", digest_jobs.weekly_digest, IntervalTrigger(minutes=5)),  # members
]
# fmt: on


def start_schedule(daemon: Daemon) -> AsyncIOScheduler:
    # a daemon first started at 6.58 owes the digests of 7.00; its first job wakes later
    try:
        with daemon.app.db.transaction() as session:
            service_started(session, daemon.app.clock.now())
    except IntegrityError:
        pass  # another daemon started first and recorded it
    schedule = AsyncIOScheduler(timezone=daemon.app.settings.network.timezone)
    for job in JOBS:
        schedule.add_job(
            job.func, job.trigger, args=[daemon], id=job.name, coalesce=True, max_instances=1
        )
    schedule.start()
    return schedule


if __name__ == "__main__":
    from mailer.cli import run_daemon

    sys.exit(run_daemon(sys.argv[1:]))
