"""The IMAP mailbox and its IDLE watcher, on imapclient (synchronous).

Two connections per mailbox, each owned by one thread: ``ImapMailbox`` serves the
daemon's worker thread (search, fetch, move) and ``ImapWatcher`` sits in IDLE in a
thread of its own. IDLE blocks the connection it runs on, so sharing one would
stall either the watching or the work.

Every failure is sorted into two kinds, because the caller reacts to each in one
way only: ``MailboxGone`` (socket error, BYE, timeout: ``close()`` + ``connect()``
with backoff) and ``MailboxError`` (the server said NO: the request was wrong,
retrying the same thing will not help).

Nothing here sets ``\\Seen``: messages are read with ``BODY.PEEK[]`` and moved
with their flags intact, so what the coordinator sees in the Processed folder in
Outlook is exactly what arrived.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from mailer.config import ImapSettings
from mailer.errors import ConfigError, MailboxError, MailboxGone
from mailer.mailbox.base import FetchedMessage
from mailer.tokens import TokenProvider

log = logging.getLogger("mailer.imap")

# Capabilities the daemon is built around; each missing one is logged at connect
# because each has a slower or riskier fallback.
WANTED_CAPABILITIES = ("IDLE", "MOVE", "UIDPLUS")

# imapclient issue #565: once the server has closed the connection, idle_check()
# returns [] at once instead of waiting. This many instant empty returns in a row
# mean the connection is dead; a live one returns [] only when its timeout runs out.
_INSTANT_EMPTY_LIMIT = 3
_INSTANT_SECONDS = 0.05


class _Dropped(Exception):
    """The watcher's connection is unusable although no exception said so."""


def _mailbox_name(settings: ImapSettings) -> str:
    return f"imap://{settings.username}@{settings.host}:{settings.port}/{settings.folder}"


def _token_provider(settings: ImapSettings, tokens: TokenProvider | None) -> TokenProvider:
    """The caller's provider, so its token cache is shared; else one from the settings."""
    return tokens if tokens is not None else TokenProvider(settings.oauth2)


@contextmanager
def _imap_errors(action: str) -> Iterator[None]:
    """Translate imapclient's exceptions into the two kinds the caller acts on.

    ``IMAPClientAbortError`` (imaplib's ``abort``: BYE, EOF, a socket error seen by
    imaplib) is a subclass of ``IMAPClientError`` (a NO or BAD), so it is caught first.
    """
    try:
        yield
    except ssl.SSLCertVerificationError as exc:
        # An OSError too, but a wrong ca_file or certificate does not heal by retrying.
        raise MailboxError(f"IMAP server certificate refused during {action}: {exc}") from exc
    except (OSError, IMAPClientAbortError) as exc:
        raise MailboxGone(f"IMAP connection lost during {action}: {exc}") from exc
    except IMAPClientError as exc:
        raise MailboxError(f"IMAP server refused {action}: {exc}") from exc


def _open(settings: ImapSettings) -> Any:
    """A connected, not yet authenticated client (TLS set up as configured).

    ``timeout`` is always passed: without it a silently dropped network leaves
    ``idle_done()`` or any read hanging for ever.
    """
    context = None
    if settings.security in ("ssl", "starttls"):
        context = ssl.create_default_context(cafile=settings.ca_file)
    client = IMAPClient(
        settings.host,
        port=settings.port,
        ssl=settings.security == "ssl",
        ssl_context=context,
        timeout=settings.timeout,
    )
    if settings.security == "starttls":
        try:
            client.starttls(context)
        except BaseException:
            _shutdown_quietly(client)
            raise
    return client


def _authenticate(client: Any, settings: ImapSettings, tokens: TokenProvider) -> None:
    """Log in with the password or XOAUTH2.

    A refused token is retried once with a fresh one: a cached token may have
    expired a moment ago, and asking the provider again is cheap. ``[UNAVAILABLE]``
    is Dovecot's word for a server-side problem, so it becomes ``MailboxGone``
    (retry later) rather than a refusal.
    """
    where = f"{settings.username}@{settings.host}:{settings.port}"
    try:
        if settings.auth != "xoauth2":
            if settings.password is None:
                raise MailboxError(f"IMAP login for {where}: no password configured")
            client.login(settings.username, settings.password)
            return
        try:
            client.oauth2_login(settings.username, tokens.token())
        except LoginError as exc:
            if "[UNAVAILABLE]" in str(exc):
                raise
            log.warning("imap.token_refused", extra={"server": where, "reason": str(exc)})
            tokens.invalidate()
            client.oauth2_login(settings.username, tokens.token())
    except ConfigError as exc:
        # The token command failed: the identity provider may be unreachable for
        # a while, which is worth retrying like a network error.
        raise MailboxGone(f"IMAP login for {where}: no OAuth2 token: {exc}") from exc
    except LoginError as exc:
        if "[UNAVAILABLE]" in str(exc):
            raise MailboxGone(f"IMAP login for {where} temporarily failed: {exc}") from exc
        raise MailboxError(f"IMAP login for {where} refused: {exc}") from exc


def _capabilities(client: Any) -> frozenset[str]:
    return frozenset(c.decode("ascii", "replace").upper() for c in client.capabilities())


def _use(capability: str, advertised: frozenset[str], wish: bool | None) -> bool:
    """Whether to use ``capability``: as advertised, unless the caller insists or forbids."""
    if wish is None:
        return capability in advertised
    if wish and capability not in advertised:
        raise MailboxError(f"the IMAP server does not advertise {capability}")
    return wish


def _shutdown_quietly(client: Any) -> None:
    """Close the socket; it may be half-closed or closed already, which is fine."""
    with suppress(OSError, ValueError, IMAPClientError):
        client.shutdown()


def _logout_quietly(client: Any) -> None:
    try:
        client.logout()
    except (OSError, ValueError, IMAPClientError):
        _shutdown_quietly(client)


def _uids(keys: Sequence[str]) -> list[int]:
    """UIDs from keys, without repeats, in the order given."""
    uids: dict[int, None] = {}
    for key in keys:
        if not key.isdigit():
            raise ValueError(f"not an IMAP UID: {key!r}")
        uids[int(key)] = None
    return list(uids)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ImapMailbox:
    """The inbox folder of one IMAP account, used from one thread at a time.

    ``use_move`` and ``use_uidplus``: ``None`` uses the extension when the server
    advertises it, ``False`` never uses it (to exercise the fallback), ``True``
    makes ``connect()`` fail when it is missing.
    """

    def __init__(
        self,
        settings: ImapSettings,
        tokens: TokenProvider | None = None,
        *,
        use_move: bool | None = None,
        use_uidplus: bool | None = None,
    ) -> None:
        self._settings = settings
        self._tokens = _token_provider(settings, tokens)
        self._use_move = use_move
        self._use_uidplus = use_uidplus
        self._client: Any = None
        self._uidvalidity: int | None = None
        self._folders: set[str] = set()
        self.capabilities: frozenset[str] = frozenset()
        self.can_move = False
        self.can_uidplus = False

    @property
    def name(self) -> str:
        return _mailbox_name(self._settings)

    def connect(self) -> None:
        self.close()
        settings = self._settings
        with _imap_errors("connect"):
            client = _open(settings)
            try:
                _authenticate(client, settings, self._tokens)
                capabilities = _capabilities(client)
                can_move = _use("MOVE", capabilities, self._use_move)
                can_uidplus = _use("UIDPLUS", capabilities, self._use_uidplus)
                selected = client.select_folder(settings.folder)
            except BaseException:
                _shutdown_quietly(client)
                raise
        self._client = client
        self.capabilities = capabilities
        self.can_move = can_move
        self.can_uidplus = can_uidplus
        uidvalidity = int(selected[b"UIDVALIDITY"])
        if self._uidvalidity is not None and uidvalidity != self._uidvalidity:
            # Every UID seen before now names a different message (or none): claims
            # are keyed by UIDVALIDITY, so the inbox will be taken afresh.
            log.warning(
                "imap.uidvalidity_changed",
                extra={"mailbox": self.name, "old": self._uidvalidity, "new": uidvalidity},
            )
        self._uidvalidity = uidvalidity
        log.info(
            "imap.connected",
            extra={
                "mailbox": self.name,
                "uidvalidity": uidvalidity,
                "exists": int(selected.get(b"EXISTS", 0)),
                "missing_capabilities": [c for c in WANTED_CAPABILITIES if c not in capabilities],
                "use_move": can_move,
                "use_uidplus": can_uidplus,
            },
        )
        self._folders.clear()
        for folder in (settings.processed_folder, settings.shunt_folder):
            self._ensure_folder(folder)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _logout_quietly(client)

    def uidvalidity(self) -> int:
        self._connected()
        assert self._uidvalidity is not None
        return self._uidvalidity

    def pending(self) -> list[str]:
        """UIDs still in the folder, ascending (IMAP's arrival order).

        Messages flagged ``\\Deleted`` are left out: the COPY fallback of ``move``
        flags them right after copying, so one still here has been handled and
        only its expunge was lost. The NOOP comes first because Dovecot tells a
        long-selected session about new mail only in the reply to its next
        command: without it, a SEARCH right after IDLE's notice finds nothing.
        """
        client = self._connected()
        with _imap_errors("noop"):
            client.noop()
        with _imap_errors("search"):
            uids = client.search(["NOT", "DELETED"])
        return [str(uid) for uid in sorted(uids)]

    def fetch(self, keys: Sequence[str]) -> list[FetchedMessage]:
        """Messages by UID in the order asked; a UID no longer in the folder is skipped.

        UIDs are always listed explicitly: imapclient 4.x rejects ``1:*``, and a
        range could include messages nobody asked for.
        """
        uids = _uids(keys)
        client = self._connected()
        found: dict[int, bytes] = {}
        for chunk in _chunks(uids, self._settings.batch_size):
            with _imap_errors("fetch"):
                response = client.fetch(chunk, [b"BODY.PEEK[]"])
            for uid, data in response.items():
                raw = data.get(b"BODY[]")
                if isinstance(raw, bytes):
                    found[int(uid)] = raw
        if len(found) < len(uids):
            log.debug(
                "imap.fetch_vanished",
                extra={"mailbox": self.name, "uids": [u for u in uids if u not in found]},
            )
        return [FetchedMessage(key=str(uid), raw=found[uid]) for uid in uids if uid in found]

    def move(self, keys: Sequence[str], folder: str) -> None:
        """Move by UID; without MOVE, COPY + ``\\Deleted`` + expunge.

        Without UIDPLUS the fallback has to use a plain EXPUNGE, which also removes
        any other message someone flagged ``\\Deleted`` in this folder.
        """
        uids = _uids(keys)
        if not uids:
            return
        client = self._connected()
        self._ensure_folder(folder)
        for chunk in _chunks(uids, self._settings.batch_size):
            with _imap_errors(f"move to {folder}"):
                if self.can_move:
                    client.move(chunk, folder)
                    continue
                client.copy(chunk, folder)
                client.add_flags(chunk, [DELETED], silent=True)
                if self.can_uidplus:
                    client.uid_expunge(chunk)
                else:
                    client.expunge()
        log.debug("imap.moved", extra={"mailbox": self.name, "folder": folder, "count": len(uids)})

    def _connected(self) -> Any:
        if self._client is None:
            raise MailboxGone(f"{self.name} is not connected")
        return self._client

    def _ensure_folder(self, folder: str) -> None:
        """Create and subscribe ``folder`` unless it exists (subscribed, so Outlook shows it)."""
        if folder in self._folders:
            return
        client = self._connected()
        with _imap_errors(f"create folder {folder}"):
            if not client.folder_exists(folder):
                try:
                    client.create_folder(folder)
                except IMAPClientAbortError:
                    raise
                except IMAPClientError:
                    # Another daemon on the same mailbox may have won the race.
                    if not client.folder_exists(folder):
                        raise
                else:
                    client.subscribe_folder(folder)
                    log.info("imap.folder_created", extra={"mailbox": self.name, "folder": folder})
        self._folders.add(folder)


class ImapWatcher:
    """Calls ``on_change`` when the inbox may have new mail, from one daemon thread.

    The thread owns its connection, selects the folder read-only and sits in IDLE,
    renewed every ``idle_renew_seconds``. ``on_change`` runs on every EXISTS and
    once after every (re)connect, because mail delivered during an outage produces
    no notice. Without IDLE (or with ``use_idle=False``) it calls ``on_change``
    every ``poll_seconds`` instead. Any drop leads to a reconnect with exponential
    backoff and jitter, so a fleet of daemons does not reconnect in step.
    """

    def __init__(
        self,
        settings: ImapSettings,
        tokens: TokenProvider | None = None,
        *,
        use_idle: bool | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 60.0,
    ) -> None:
        self._settings = settings
        self._tokens = _token_provider(settings, tokens)
        self._use_idle = use_idle
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._client: Any = None
        self._thread: threading.Thread | None = None
        self.last_exists_at: float | None = None
        # Set while an IDLE command is active: a notice can be expected from then on.
        self.idling = threading.Event()

    @property
    def name(self) -> str:
        return _mailbox_name(self._settings)

    def start(self, on_change: Callable[[], None]) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the IMAP watcher is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_change,), name=f"imap-watcher {self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Return within about a second even while blocked in IDLE.

        ``shutdown()`` from this thread wakes the watcher's blocked poll at once;
        only a TCP connect in progress can hold it for up to ``timeout``.
        """
        with self._lock:
            self._stop.set()
            client = self._client
        if client is not None:
            _shutdown_quietly(client)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5.0)
            if thread.is_alive():
                log.warning("imap.watcher_stop_slow", extra={"mailbox": self.name})

    def _run(self, on_change: Callable[[], None]) -> None:
        if self._use_idle is False:
            self._poll(on_change)
            return
        delay = self._backoff_initial
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                if not self._watch(on_change):
                    self._poll(on_change)
                    return
            except (OSError, ValueError, IMAPClientError, MailboxError, _Dropped) as exc:
                if self._stop.is_set():
                    return
                log.warning("imap.watch_dropped", extra={"mailbox": self.name, "error": str(exc)})
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("imap.watch_failed", extra={"mailbox": self.name})
            finally:
                self.idling.clear()
                self._adopt(None)
            if time.monotonic() - began > self._backoff_max:
                delay = self._backoff_initial
            wait = random.uniform(delay / 2, delay)
            log.info("imap.reconnect_wait", extra={"mailbox": self.name, "seconds": round(wait, 2)})
            self._stop.wait(wait)
            delay = min(delay * 2, self._backoff_max)

    def _adopt(self, client: Any) -> bool:
        """Make ``client`` the one ``stop()`` shuts down; False if stopping already."""
        with self._lock:
            old, self._client = self._client, client
            stopping = self._stop.is_set()
        if old is not None and old is not client:
            _shutdown_quietly(old)
        if stopping and client is not None:
            _shutdown_quietly(client)
        return not stopping

    def _watch(self, on_change: Callable[[], None]) -> bool:
        """One session: connect, then IDLE until dropped or stopped. False: no IDLE."""
        settings = self._settings
        client = _open(settings)
        if not self._adopt(client):
            return True
        _authenticate(client, settings, self._tokens)
        capabilities = _capabilities(client)
        if not _use_idle(capabilities, self._use_idle, self.name):
            _logout_quietly(client)
            return False
        client.select_folder(settings.folder, readonly=True)
        log.info("imap.watching", extra={"mailbox": self.name})
        self._notify(on_change)
        while not self._stop.is_set():
            self._idle(client, on_change)
        return True

    def _idle(self, client: Any, on_change: Callable[[], None]) -> None:
        """One IDLE command, ended after ``idle_renew_seconds`` (servers drop older ones)."""
        client.idle()
        self.idling.set()
        deadline = time.monotonic() + min(self._settings.idle_renew_seconds, 600.0)
        instant_empty = 0
        try:
            while not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                asked = time.monotonic()
                responses = client.idle_check(timeout=remaining)
                if self._stop.is_set():
                    return
                if responses:
                    instant_empty = 0
                    self._handle(responses, on_change)
                elif time.monotonic() - asked < _INSTANT_SECONDS <= remaining:
                    instant_empty += 1
                    if instant_empty >= _INSTANT_EMPTY_LIMIT:
                        raise _Dropped("idle_check returns nothing at once: connection closed")
        finally:
            self.idling.clear()
        if not self._stop.is_set():
            _text, responses = client.idle_done()
            self._handle(responses, on_change)

    def _handle(self, responses: list[tuple[Any, ...]], on_change: Callable[[], None]) -> None:
        exists: int | None = None
        for response in responses:
            if not response:
                continue
            if response[0] == b"BYE":
                raise _Dropped("the server said BYE")
            if len(response) >= 2 and response[1] == b"EXISTS":
                exists = int(response[0])
        if exists is not None:
            self.last_exists_at = time.monotonic()
            log.debug(
                "imap.exists",
                extra={"mailbox": self.name, "exists": exists, "at": self.last_exists_at},
            )
            self._notify(on_change)

    def _poll(self, on_change: Callable[[], None]) -> None:
        log.info(
            "imap.polling",
            extra={"mailbox": self.name, "poll_seconds": self._settings.poll_seconds},
        )
        self._notify(on_change)
        while not self._stop.wait(self._settings.poll_seconds):
            self._notify(on_change)

    def _notify(self, on_change: Callable[[], None]) -> None:
        """Run the callback; its failure must not end the watching."""
        try:
            on_change()
        except Exception:
            log.exception("imap.on_change_failed", extra={"mailbox": self.name})


def _use_idle(capabilities: frozenset[str], wish: bool | None, name: str) -> bool:
    if "IDLE" in capabilities:
        return True
    level = logging.ERROR if wish else logging.WARNING
    log.log(level, "imap.no_idle", extra={"mailbox": name})
    return False
