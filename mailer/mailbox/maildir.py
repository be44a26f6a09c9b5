"""A local Maildir as the mailbox, for the embedded mode (``mailer demo``, tests).

It keeps the IMAP mailbox's contract so the daemon cannot tell the two apart:
keys are Maildir keys (the file name up to ``:``), ``pending`` is what sits in
``new/`` and ``cur/``, and ``move`` files a message into a Maildir++ sub-folder
(``.Processed``), where any IMAP server reading the same tree (Dovecot) shows it
as the folder ``Processed``.

Moves are a ``rename`` of the file with its name kept: atomic on one file
system, so a crash leaves a message in the inbox or in the folder, never in both
or neither, and its flags (``:2,S``) travel with it.
"""

from __future__ import annotations

import logging
import mailbox
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from mailer.config import MaildirSettings
from mailer.errors import MailboxGone
from mailer.mailbox.base import FetchedMessage

log = logging.getLogger("mailer.maildir")

_SUBDIRS = ("new", "cur")


def _scan(root: Path) -> dict[str, tuple[int, Path]]:
    """Every message in ``new/`` and ``cur/``: key -> (mtime in ns, file)."""
    found: dict[str, tuple[int, Path]] = {}
    for subdir in _SUBDIRS:
        try:
            entries = list(os.scandir(root / subdir))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if not entry.is_file():
                    continue
                mtime = entry.stat().st_mtime_ns
            except FileNotFoundError:
                continue  # moved away while we looked
            found[entry.name.split(mailbox.Maildir.colon, 1)[0]] = (mtime, Path(entry.path))
    return found


class MaildirMailbox:
    """The inbox of a Maildir (created if missing), with Maildir++ sub-folders."""

    def __init__(self, settings: MaildirSettings) -> None:
        self._path = Path(settings.path)
        self._maildir: mailbox.Maildir | None = None
        self._folders: set[str] = set()

    @property
    def name(self) -> str:
        return f"maildir:{self._path}"

    def connect(self) -> None:
        # mailbox.Maildir creates new/cur/tmp only together with the root, so a
        # half-made tree (or a missing parent) is completed here first.
        for subdir in ("tmp", *_SUBDIRS):
            (self._path / subdir).mkdir(parents=True, exist_ok=True)
        self._maildir = mailbox.Maildir(self._path, factory=None, create=False)
        self._folders.clear()

    def close(self) -> None:
        self._maildir = None

    def uidvalidity(self) -> int:
        return 0

    def pending(self) -> list[str]:
        """Keys in the inbox, oldest delivery (file mtime) first, then by key."""
        self._opened()
        found = _scan(self._path)
        return sorted(found, key=lambda key: (found[key][0], key))

    def fetch(self, keys: Sequence[str]) -> list[FetchedMessage]:
        """Raw bytes in the order asked; a key no longer in the inbox is skipped."""
        maildir = self._opened()
        fetched: list[FetchedMessage] = []
        for key in dict.fromkeys(keys):
            try:
                fetched.append(FetchedMessage(key=key, raw=maildir.get_bytes(key)))
            except (KeyError, FileNotFoundError):
                log.debug("maildir.fetch_vanished", extra={"mailbox": self.name, "key": key})
        return fetched

    def move(self, keys: Sequence[str], folder: str) -> None:
        """Rename each message into ``.{folder}``, keeping ``new/`` or ``cur/``."""
        self._opened()
        target = self._folder(folder)
        found = _scan(self._path)
        moved = 0
        for key in dict.fromkeys(keys):
            if key not in found:
                continue
            source = found[key][1]
            try:
                source.rename(target / source.parent.name / source.name)
            except FileNotFoundError:
                continue
            moved += 1
        log.debug("maildir.moved", extra={"mailbox": self.name, "folder": folder, "count": moved})

    def _opened(self) -> mailbox.Maildir:
        if self._maildir is None:
            raise MailboxGone(f"{self.name} is not open")
        return self._maildir

    def _folder(self, folder: str) -> Path:
        path = self._path / f".{folder}"
        if folder not in self._folders:
            self._opened().add_folder(folder)
            self._folders.add(folder)
        return path


class MaildirWatcher:
    """Polls ``new/`` and ``cur/`` from a daemon thread; a local directory has no IDLE.

    ``on_change`` runs once at start (mail may have arrived while the daemon was
    down) and whenever a key appears that was not there at the last look. Keys,
    not file names, are compared, so a message moving from ``new/`` to ``cur/``
    is not news.
    """

    def __init__(self, path: Path | str, poll_seconds: float = 0.5) -> None:
        self._path = Path(path)
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_change: Callable[[], None]) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the Maildir watcher is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_change,), name=f"maildir-watcher {self._path}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5.0)

    def _run(self, on_change: Callable[[], None]) -> None:
        seen = set(_scan(self._path))
        self._notify(on_change)
        while not self._stop.wait(self._poll_seconds):
            keys = set(_scan(self._path))
            if keys - seen:
                self._notify(on_change)
            seen = keys

    def _notify(self, on_change: Callable[[], None]) -> None:
        """Run the callback; its failure must not end the watching."""
        try:
            on_change()
        except Exception:
            log.exception("maildir.on_change_failed", extra={"path": str(self._path)})
