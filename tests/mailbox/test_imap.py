"""ImapMailbox and ImapWatcher against the real Dovecot of the test harness."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from mailer.config import ImapSettings, OAuth2Settings
from mailer.errors import MailboxError, MailboxGone
from mailer.mailbox.imap import ImapMailbox, ImapWatcher
from mailer.tokens import TokenProvider

servers = pytest.mark.servers


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _user(mail_servers: Any) -> str:
    return f"network@{mail_servers.domain}"


def _deliver(mail_servers: Any, subject: str) -> None:
    domain = mail_servers.domain
    raw = (
        f"From: member1@{domain}\r\n"
        f"To: {_user(mail_servers)}\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@{domain}>\r\n"
        "\r\n"
        f"Body of {subject}.\r\n"
    ).encode()
    mail_servers.send(raw, f"member1@{domain}", [_user(mail_servers)])


class Counter:
    """An on_change callback that counts calls and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.calls.append(time.monotonic())
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.calls) >= count, timeout)


@pytest.fixture
def settings(mail_servers: Any, clean_mail: Any) -> Iterator[ImapSettings]:
    """Settings for the network user with folders of this test's own, removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    result = ImapSettings(
        host="127.0.0.1",
        port=mail_servers.imap_port,
        security="none",
        username=_user(mail_servers),
        password=mail_servers.password,
        processed_folder=f"Processed-{tag}",
        shunt_folder=f"Shunt-{tag}",
        timeout=10.0,
        poll_seconds=0.2,
    )
    yield result
    admin = mail_servers.imap(_user(mail_servers))
    try:
        for _flags, _sep, name in admin.list_folders():
            if tag in name:
                admin.delete_folder(name)
    finally:
        admin.logout()


@pytest.fixture
def settings_without_server() -> ImapSettings:
    """Settings for watcher tests that never connect (polling forced)."""
    return ImapSettings(
        host="127.0.0.1",
        port=9,
        security="none",
        username="nobody",
        password="unused",
        poll_seconds=0.2,
    )


def _connected(settings: ImapSettings, **kwargs: Any) -> ImapMailbox:
    mailbox = ImapMailbox(settings, **kwargs)
    mailbox.connect()
    return mailbox


def _pending(mailbox: ImapMailbox, count: int) -> list[str]:
    assert _wait_until(lambda: len(mailbox.pending()) >= count), "delivery did not arrive"
    return mailbox.pending()


def _flags_in(mail_servers: Any, folder: str) -> list[tuple[bytes, ...]]:
    """Flags of each message in ``folder``, without the session-bound \\Recent."""
    admin = mail_servers.imap(_user(mail_servers))
    try:
        admin.select_folder(folder, readonly=True)
        uids = admin.search("ALL")
        found = sorted(admin.get_flags(uids).items())
        return [tuple(f for f in flags if f != b"\\Recent") for _uid, flags in found]
    finally:
        admin.logout()


@servers
def test_fetch_and_move_leave_messages_unseen(mail_servers: Any, settings: ImapSettings) -> None:
    """Pending, fetch and move work by UID, create the folders and never set \\Seen."""
    for n in range(3):
        _deliver(mail_servers, f"message {n}")
    mailbox = _connected(settings)
    try:
        admin = mail_servers.imap(_user(mail_servers))
        assert admin.folder_exists(settings.processed_folder)
        assert admin.folder_exists(settings.shunt_folder)
        admin.logout()
        assert mailbox.name == f"imap://{settings.username}@127.0.0.1:{settings.port}/INBOX"
        assert mailbox.uidvalidity() > 0

        keys = _pending(mailbox, 3)
        assert keys == sorted(keys, key=int)
        fetched = mailbox.fetch(list(reversed(keys)))
        assert [m.key for m in fetched] == list(reversed(keys))
        assert b"Subject: message 2" in fetched[0].raw
        assert all(b"\\Seen" not in flags for flags in _flags_in(mail_servers, "INBOX"))

        mailbox.move([keys[0]], settings.processed_folder)
        mailbox.move([keys[1]], settings.shunt_folder)
        assert mailbox.pending() == [keys[2]]
        assert _flags_in(mail_servers, settings.processed_folder) == [()]
        assert _flags_in(mail_servers, settings.shunt_folder) == [()]
    finally:
        mailbox.close()


@servers
def test_move_creates_a_missing_folder(mail_servers: Any, settings: ImapSettings) -> None:
    """A folder named only in a move call is created on the spot."""
    _deliver(mail_servers, "to a new folder")
    mailbox = _connected(settings)
    try:
        folder = f"{settings.processed_folder}-held"
        mailbox.move(_pending(mailbox, 1), folder)
        assert mailbox.pending() == []
        assert len(_flags_in(mail_servers, folder)) == 1
    finally:
        mailbox.close()


@servers
def test_fetch_skips_vanished_uids(mail_servers: Any, settings: ImapSettings) -> None:
    """UIDs that never existed or were moved away are left out, the rest kept in order."""
    _deliver(mail_servers, "first")
    _deliver(mail_servers, "second")
    mailbox = _connected(settings)
    try:
        first, second = _pending(mailbox, 2)
        mailbox.move([first], settings.processed_folder)
        fetched = mailbox.fetch([second, "999999", first])
        assert [m.key for m in fetched] == [second]
    finally:
        mailbox.close()


@servers
@pytest.mark.parametrize("use_uidplus", [None, False], ids=["uid-expunge", "expunge"])
def test_move_without_move_extension(
    mail_servers: Any, settings: ImapSettings, use_uidplus: bool | None
) -> None:
    """Without MOVE, COPY + \\Deleted + (UID) EXPUNGE moves, in batches, and leaves no trace."""
    for n in range(3):
        _deliver(mail_servers, f"copy {n}")
    mailbox = _connected(replace(settings, batch_size=2), use_move=False, use_uidplus=use_uidplus)
    try:
        assert not mailbox.can_move
        mailbox.move(_pending(mailbox, 3), settings.processed_folder)
        assert mailbox.pending() == []
        assert _flags_in(mail_servers, "INBOX") == []
        assert _flags_in(mail_servers, settings.processed_folder) == [(), (), ()]
    finally:
        mailbox.close()


@servers
def test_refused_folder_is_mailbox_error(mail_servers: Any, settings: ImapSettings) -> None:
    """A NO from the server is a MailboxError (not Gone) and the message stays put."""
    _deliver(mail_servers, "stays")
    mailbox = _connected(settings)
    try:
        keys = _pending(mailbox, 1)
        with pytest.raises(MailboxError) as caught:
            mailbox.move(keys, "~not allowed")
        assert not isinstance(caught.value, MailboxGone)
        assert mailbox.pending() == keys
    finally:
        mailbox.close()


@servers
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_connect_checks_the_certificate(
    mail_servers: Any, settings: ImapSettings, security: str
) -> None:
    """TLS connects when ca_file names the server's CA and is refused (for good) without it."""
    port = mail_servers.imaps_port if security == "ssl" else mail_servers.imap_port
    tls = replace(settings, security=security, port=port, ca_file=str(mail_servers.ca_file))
    mailbox = _connected(tls)
    try:
        assert mailbox.pending() == []
    finally:
        mailbox.close()
    with pytest.raises(MailboxError) as caught:
        ImapMailbox(replace(tls, ca_file=None)).connect()
    assert not isinstance(caught.value, MailboxGone)


@servers
def test_missing_inbox_folder_is_mailbox_error(settings: ImapSettings) -> None:
    """Connecting to a folder that does not exist fails with a MailboxError."""
    mailbox = ImapMailbox(replace(settings, folder=f"{settings.shunt_folder}-absent"))
    with pytest.raises(MailboxError):
        mailbox.connect()


@servers
def test_xoauth2_login(mail_servers: Any, settings: ImapSettings) -> None:
    """A minted bearer token logs in with XOAUTH2."""
    token = mail_servers.mint_token(settings.username)
    oauth = replace(settings, auth="xoauth2", password=None, oauth2=OAuth2Settings(token=token))
    mailbox = _connected(oauth)
    try:
        assert mailbox.pending() == []
    finally:
        mailbox.close()


class ExpiredFirst(TokenProvider):
    """Hands out a refused token until invalidated, then a good one."""

    def __init__(self, good: str) -> None:
        super().__init__(OAuth2Settings(token=good))
        self.good = good
        self.invalidated = 0

    def token(self) -> str:
        return self.good if self.invalidated else "not-a-valid-token"

    def invalidate(self) -> None:
        self.invalidated += 1


@servers
def test_xoauth2_refused_token_is_renewed_once(mail_servers: Any, settings: ImapSettings) -> None:
    """A refused token is invalidated and the login retried once with a fresh one."""
    tokens = ExpiredFirst(mail_servers.mint_token(settings.username))
    oauth = replace(settings, auth="xoauth2", password=None)
    mailbox = ImapMailbox(oauth, tokens)
    mailbox.connect()
    mailbox.close()
    assert tokens.invalidated == 1


@servers
def test_xoauth2_refused_twice_is_mailbox_error(settings: ImapSettings) -> None:
    """A token refused again after renewal ends in MailboxError, not an endless retry."""
    tokens = ExpiredFirst("also-not-valid")
    mailbox = ImapMailbox(replace(settings, auth="xoauth2", password=None), tokens)
    with pytest.raises(MailboxError) as caught:
        mailbox.connect()
    assert not isinstance(caught.value, MailboxGone)
    assert tokens.invalidated == 1


@servers
def test_uidvalidity_change_is_logged(
    mail_servers: Any, settings: ImapSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder recreated between two connects is reported as a UIDVALIDITY change."""
    folder = f"{settings.processed_folder}-inbox"
    admin = mail_servers.imap(_user(mail_servers))
    admin.create_folder(folder)
    mailbox = ImapMailbox(replace(settings, folder=folder))
    try:
        mailbox.connect()
        before = mailbox.uidvalidity()
        mailbox.close()
        admin.delete_folder(folder)
        admin.create_folder(folder)
        with caplog.at_level(logging.WARNING, logger="mailer.imap"):
            mailbox.connect()
        assert mailbox.uidvalidity() != before
        changed = [r for r in caplog.records if r.getMessage() == "imap.uidvalidity_changed"]
        assert [(r.__dict__["old"], r.__dict__["new"]) for r in changed] == [
            (before, mailbox.uidvalidity())
        ]
    finally:
        mailbox.close()
        admin.logout()


@servers
def test_dropped_connection_is_mailbox_gone(mail_servers: Any, settings: ImapSettings) -> None:
    """After the server goes away an operation raises MailboxGone; close + connect recovers."""
    _deliver(mail_servers, "survives")
    mailbox = _connected(settings)
    keys = _pending(mailbox, 1)
    mail_servers.stop_dovecot()
    try:
        with pytest.raises(MailboxGone):
            mailbox.pending()
        with pytest.raises(MailboxGone):
            mailbox.connect()
    finally:
        mail_servers.start_dovecot()
    mailbox.close()
    mailbox.connect()
    try:
        assert mailbox.pending() == keys
    finally:
        mailbox.close()


def _started(watcher: ImapWatcher, counter: Counter) -> None:
    watcher.start(counter)
    assert watcher.idling.wait(10), "the watcher never reached IDLE"
    assert counter.wait_for(1, 1.0), "no on_change after connect"


@servers
def test_watcher_fires_on_delivery(mail_servers: Any, settings: ImapSettings) -> None:
    """A delivery during IDLE calls on_change within 2 s and records the EXISTS time."""
    watcher, counter = ImapWatcher(settings), Counter()
    _started(watcher, counter)
    try:
        sent = time.monotonic()
        _deliver(mail_servers, "wake up")
        assert counter.wait_for(2, 2.0)
        assert watcher.last_exists_at is not None
        assert 0 < watcher.last_exists_at - sent < 2.0
    finally:
        watcher.stop()


@servers
def test_watcher_stop_is_prompt_in_idle(settings: ImapSettings) -> None:
    """stop() returns within 2 s while the thread is blocked in IDLE, and the thread ends."""
    watcher, counter = ImapWatcher(replace(settings, idle_renew_seconds=600.0)), Counter()
    _started(watcher, counter)
    began = time.monotonic()
    watcher.stop()
    assert time.monotonic() - began < 2.0
    assert not [t for t in threading.enumerate() if t.name.startswith("imap-watcher")]


@servers
def test_watcher_stop_is_prompt_while_login_fails(settings: ImapSettings) -> None:
    """stop() is prompt while the watcher is failing to log in and backing off."""
    watcher = ImapWatcher(replace(settings, password="wrong"), backoff_initial=0.2)
    watcher.start(Counter())
    time.sleep(1.0)
    began = time.monotonic()
    watcher.stop()
    assert time.monotonic() - began < 2.0
    assert not [t for t in threading.enumerate() if t.name.startswith("imap-watcher")]


@servers
@pytest.mark.slow
def test_watcher_survives_dovecot_restart(mail_servers: Any, settings: ImapSettings) -> None:
    """After Dovecot stops and starts, the watcher reconnects, calls on_change, and fires again."""
    watcher = ImapWatcher(settings, backoff_initial=0.2, backoff_max=1.0)
    counter = Counter()
    _started(watcher, counter)
    try:
        mail_servers.stop_dovecot()
        try:
            assert _wait_until(lambda: not watcher.idling.is_set()), "drop not noticed"
            time.sleep(1.0)
        finally:
            mail_servers.start_dovecot()
        assert watcher.idling.wait(10), "no IDLE after the restart"
        assert counter.wait_for(2, 1.0), "no on_change after reconnecting"
        calls = len(counter.calls)
        _deliver(mail_servers, "after the outage")
        assert counter.wait_for(calls + 1, 2.0)
    finally:
        watcher.stop()


def test_watcher_polls_without_idle(settings_without_server: ImapSettings) -> None:
    """With IDLE off, on_change runs at once and then every poll_seconds; stop is prompt."""
    watcher, counter = ImapWatcher(settings_without_server, use_idle=False), Counter()
    watcher.start(counter)
    assert counter.wait_for(4, 2.0)
    began = time.monotonic()
    watcher.stop()
    assert time.monotonic() - began < 1.0


def test_watcher_survives_a_failing_callback(settings_without_server: ImapSettings) -> None:
    """An exception from on_change is logged and the watching goes on."""
    counter = Counter()

    def flaky() -> None:
        counter()
        if len(counter.calls) == 1:
            raise RuntimeError("handler bug")

    watcher = ImapWatcher(settings_without_server, use_idle=False)
    watcher.start(flaky)
    try:
        assert counter.wait_for(3, 2.0)
    finally:
        watcher.stop()
