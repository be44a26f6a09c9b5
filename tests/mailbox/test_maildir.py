"""MaildirMailbox and MaildirWatcher on a Maildir in tmp_path."""

from __future__ import annotations

import mailbox
import os
import threading
import time
from pathlib import Path

import pytest

from mailer.config import MaildirSettings
from mailer.errors import MailboxGone
from mailer.mailbox.maildir import MaildirMailbox, MaildirWatcher


def _raw(subject: str) -> bytes:
    return f"From: member1@example.test\nSubject: {subject}\n\nBody of {subject}.\n".encode()


def _deliver(root: Path, subject: str, mtime: float | None = None, seen: bool = False) -> str:
    """Deliver like an MDA would (``new/``, or ``cur/`` with flags) and back-date it."""
    maildir = mailbox.Maildir(root)
    message = mailbox.MaildirMessage(_raw(subject))
    if seen:
        message.set_subdir("cur")
        message.set_flags("S")
    key = maildir.add(message)
    if mtime is not None:
        path = next(p for p in root.glob("*/*") if p.name.startswith(key))
        os.utime(path, (mtime, mtime))
    return key


@pytest.fixture
def inbox(tmp_path: Path) -> MaildirMailbox:
    result = MaildirMailbox(MaildirSettings(path=tmp_path / "mail" / "verkosto"))
    result.connect()
    return result


def test_connect_creates_the_maildir(tmp_path: Path) -> None:
    """connect() creates the Maildir and its missing parents; name and uidvalidity are fixed."""
    root = tmp_path / "a" / "b"
    box = MaildirMailbox(MaildirSettings(path=root))
    box.connect()
    assert all((root / sub).is_dir() for sub in ("new", "cur", "tmp"))
    assert box.name == f"maildir:{root}"
    assert box.uidvalidity() == 0
    assert box.pending() == []


def test_pending_is_oldest_first(inbox: MaildirMailbox, tmp_path: Path) -> None:
    """Messages in new/ and cur/ are listed by delivery time, then key."""
    root = tmp_path / "mail" / "verkosto"
    now = time.time()
    late = _deliver(root, "late", mtime=now - 10)
    early = _deliver(root, "early", mtime=now - 100, seen=True)
    tie_a = _deliver(root, "tie a", mtime=now - 50)
    tie_b = _deliver(root, "tie b", mtime=now - 50)
    assert inbox.pending() == [early, *sorted([tie_a, tie_b]), late]


def test_fetch_in_order_asked_skipping_vanished(inbox: MaildirMailbox, tmp_path: Path) -> None:
    """fetch returns raw bytes in the order asked and skips keys that are gone."""
    root = tmp_path / "mail" / "verkosto"
    first = _deliver(root, "first")
    second = _deliver(root, "second", seen=True)
    fetched = inbox.fetch([second, "no-such-key", first])
    assert [m.key for m in fetched] == [second, first]
    assert fetched[0].raw == _raw("second")


def test_move_files_into_maildirplusplus_folders(inbox: MaildirMailbox, tmp_path: Path) -> None:
    """move renames into .Processed / .Shunt (created), keeping key, subdir and flags."""
    root = tmp_path / "mail" / "verkosto"
    fresh = _deliver(root, "fresh")
    read = _deliver(root, "read", seen=True)
    failed = _deliver(root, "failed")
    inbox.move([fresh, read, "no-such-key"], "Processed")
    inbox.move([failed], "Shunt")
    assert inbox.pending() == []
    assert (root / ".Processed" / "maildirfolder").exists()
    processed = mailbox.Maildir(root).get_folder("Processed")
    assert sorted(processed.keys()) == sorted([fresh, read])
    assert processed.get_message(read).get_flags() == "S"
    assert processed.get_message(fresh).get_subdir() == "new"
    assert mailbox.Maildir(root).get_folder("Shunt").get_bytes(failed) == _raw("failed")
    assert inbox.fetch([fresh]) == []


def test_closed_mailbox_is_gone(inbox: MaildirMailbox) -> None:
    """After close() every operation raises MailboxGone, like a dropped IMAP connection."""
    inbox.close()
    with pytest.raises(MailboxGone):
        inbox.pending()


class Counter:
    """An on_change callback that counts calls and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.calls = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.calls += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.calls >= count, timeout)


def test_watcher_fires_on_new_mail_only(inbox: MaildirMailbox, tmp_path: Path) -> None:
    """The watcher fires at start and on delivery, not when a message leaves or goes new->cur."""
    root = tmp_path / "mail" / "verkosto"
    key = _deliver(root, "already here")
    watcher, counter = MaildirWatcher(root, poll_seconds=0.05), Counter()
    watcher.start(counter)
    try:
        assert counter.wait_for(1, 1.0)
        maildir = mailbox.Maildir(root)
        message = maildir.get_message(key)
        message.set_subdir("cur")
        maildir[key] = message
        inbox.move([key], "Processed")
        time.sleep(0.3)
        assert counter.calls == 1
        _deliver(root, "new one")
        assert counter.wait_for(2, 1.0)
    finally:
        watcher.stop()


def test_watcher_stop_is_prompt(tmp_path: Path) -> None:
    """stop() returns at once even with a long poll interval, on a Maildir not made yet."""
    watcher, counter = MaildirWatcher(tmp_path / "later", poll_seconds=30.0), Counter()
    watcher.start(counter)
    assert counter.wait_for(1, 1.0)
    began = time.monotonic()
    watcher.stop()
    assert time.monotonic() - began < 1.0
