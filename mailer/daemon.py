"""The daemon: watch the mailbox, handle what arrives, drain the outbox, run the schedule.

Three loops share one asyncio event loop. The inbox loop runs the blocking
mailbox work in a worker thread and is woken by the watcher (IMAP IDLE in its own
thread) or by the schedule; the outbox loop is woken after every commit that may
have queued mail, and by the schedule for retries. Stopping (SIGTERM/SIGINT)
sets a flag the inbox thread checks between messages, so a message is never cut
in half, and every message already handled is moved before exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
from collections import defaultdict
from collections.abc import Callable

from mailer.app import App
from mailer.errors import MailboxError
from mailer.mailbox.base import Mailbox
from mailer.outgoing.outbox import DrainStats
from mailer.outgoing.smtp import SmtpSender
from mailer.web import WebServer, listen_address

log = logging.getLogger("mailer.daemon")

MAX_BACKOFF = 60.0


class Daemon:
    def __init__(self, app: App, mailbox: Mailbox | None = None) -> None:
        self.app = app
        self.mailbox = mailbox or app.mailbox()
        self.stopping = threading.Event()
        self._connected = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox_event: asyncio.Event | None = None
        self._outbox_event: asyncio.Event | None = None
        self._stopped: asyncio.Event | None = None
        self.handled = 0

    # ---- the inbox (blocking; runs in a worker thread)

    def inbox_cycle(self, on_committed: Callable[[], None] | None = None) -> int:
        """Handle every message now in the inbox; return how many were handled."""
        if not self._connected:
            self.mailbox.connect()
            self._connected = True
        uidvalidity = self.mailbox.uidvalidity()
        batch = self.app.settings.imap.batch_size if self.app.settings.imap else 100
        count = 0
        pending = self.mailbox.pending()
        for start in range(0, len(pending), batch):
            chunk = pending[start : start + batch]
            if self.stopping.is_set():
                break
            moves: dict[str, list[str]] = defaultdict(list)
            try:
                for fetched in self.mailbox.fetch(chunk):
                    if self.stopping.is_set():
                        break
                    result = self.app.pipeline.process(self.mailbox.name, uidvalidity, fetched)
                    moves[result.folder].append(fetched.key)
                    count += 1
                    if on_committed is not None:
                        on_committed()
            finally:
                for folder, keys in moves.items():
                    self.mailbox.move(keys, folder)
        self.handled += count
        return count

    def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            try:
                self.mailbox.close()
            except (MailboxError, OSError):
                log.debug("mailbox close failed", exc_info=True)

    # ---- one full cycle (cron, tests)

    async def run_once(self) -> DrainStats:
        """Take every new message, act, run every due job, send the outbox."""
        from scheduler import JOBS

        try:
            await asyncio.to_thread(self.inbox_cycle)
        finally:
            self.disconnect()
        for job in JOBS:
            await job.run(self)
        sender = self.app.sender()
        try:
            return await self.app.outbox.drain(sender)
        finally:
            await sender.close()

    # ---- the daemon

    def wake_inbox(self) -> None:
        """Thread-safe: the watcher calls this from its own thread."""
        if self._loop is not None and self._inbox_event is not None:
            self._loop.call_soon_threadsafe(self._inbox_event.set)

    def wake_outbox(self) -> None:
        if self._loop is not None and self._outbox_event is not None:
            self._loop.call_soon_threadsafe(self._outbox_event.set)

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping")
        self.stopping.set()
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self.wake_inbox()
            self.wake_outbox()

    async def _inbox_loop(self) -> None:
        assert self._inbox_event is not None
        backoff = 0.5
        while not self.stopping.is_set():
            await self._inbox_event.wait()
            self._inbox_event.clear()
            if self.stopping.is_set():
                break
            try:
                await asyncio.to_thread(self.inbox_cycle, self.wake_outbox)
                backoff = 0.5
                continue
            except (MailboxError, OSError) as exc:
                log.warning(
                    "mailbox unavailable; retrying", extra={"error": repr(exc), "retry_in": backoff}
                )
            except Exception:
                # A database error (SQLite busy past its timeout, PostgreSQL restarting)
                # must not end this loop: the daemon would look alive and handle nothing.
                log.exception("inbox cycle failed; retrying", extra={"retry_in": backoff})
            self.disconnect()
            await self._sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, MAX_BACKOFF)
            self._inbox_event.set()

    async def _outbox_loop(self, sender: SmtpSender) -> None:
        assert self._outbox_event is not None
        while not self.stopping.is_set():
            await self._outbox_event.wait()
            self._outbox_event.clear()
            if self.stopping.is_set():
                break
            try:
                await self.app.outbox.drain(sender, should_stop=self.stopping.is_set)
            except Exception:
                log.exception("outbox drain failed")
                await self._sleep(5.0)
                self._outbox_event.set()

    async def _sleep(self, seconds: float) -> None:
        assert self._stopped is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), timeout=seconds)

    def _web(self) -> WebServer | None:
        """The one-click unsubscribe endpoint, when a base URL says where it is reached."""
        settings = self.app.settings.list
        if not settings.base_url:
            return None
        host, port = listen_address(settings.http_listen)
        web = WebServer(self.app, host, port, self.wake_outbox)
        web.start()
        log.info("web endpoint listening", extra={"host": host, "port": web.port})
        return web

    async def run(self, ready: Callable[[], None] | None = None) -> None:
        from scheduler import start_schedule

        self._loop = asyncio.get_running_loop()
        self._inbox_event = asyncio.Event()
        self._outbox_event = asyncio.Event()
        self._stopped = asyncio.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(sig, self.stop)
        watcher = self.app.watcher()
        sender = self.app.sender()
        schedule = start_schedule(self)
        web = self._web()
        watcher.start(self.wake_inbox)
        self._inbox_event.set()
        self._outbox_event.set()
        tasks = [
            asyncio.create_task(self._inbox_loop(), name="inbox"),
            asyncio.create_task(self._outbox_loop(sender), name="outbox"),
        ]
        log.info("daemon started", extra={"mailbox": self.mailbox.name})
        if ready is not None:
            ready()
        try:
            await self._stopped.wait()
        finally:
            self.stopping.set()
            self._inbox_event.set()
            self._outbox_event.set()
            schedule.shutdown(wait=False)
            if web is not None:
                web.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            watcher.stop()
            await sender.close()
            self.disconnect()
            log.info("daemon stopped", extra={"handled": self.handled})
