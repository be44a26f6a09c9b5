"""The jobs of the material bank and the digests (``scheduler.py`` says when).

Each runs its work in one transaction in a worker thread and wakes the outbox
when it queued mail. What is due is always read from the database (a material's
``delivery``, the coordinator digest's ``job_runs`` row, a member's
``last_weekly_digest_at``), so a run missed while the daemon was down is caught
up by the next one and a second run sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from mailer.coordinator_digest import send_coordinator_digest
from mailer.handlers.context import HandlerContext
from mailer.jobs import run_in_transaction, run_job
from mailer.materials import send_event_materials
from mailer.weekly_digest import send_weekly_digests

if TYPE_CHECKING:
    from mailer.app import App
    from mailer.daemon import Daemon

log = logging.getLogger("mailer.digests")


async def event_materials(daemon: Daemon) -> None:
    """An event's material to its registrants once the event is over."""
    await run_job(daemon, send_event_materials)


def _coordinator_digest(app: App) -> int:
    try:
        return run_in_transaction(app, send_coordinator_digest)
    except IntegrityError:
        log.info("coordinator digest already taken by another daemon")
        return 0


async def coordinator_digest(daemon: Daemon) -> None:
    """The coordinator's daily digest at ``[digests] coordinator_hour``."""
    if await asyncio.to_thread(_coordinator_digest, daemon.app):
        daemon.wake_outbox()


def _weekly(ctx: HandlerContext) -> int:
    return send_weekly_digests(ctx).mails


async def weekly_digest(daemon: Daemon) -> None:
    """The members' weekly update at the list's digest hour on its weekly day."""
    await run_job(daemon, _weekly)
