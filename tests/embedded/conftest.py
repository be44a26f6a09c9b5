"""The service on embedded parts: a Maildir mailbox and the local Maildir SMTP sink."""

from __future__ import annotations

import asyncio
import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from mailer.app import App
from mailer.config import settings_from_dict
from mailer.daemon import Daemon
from mailer.embedded import maildir_for, start_sink

NETWORK = "verkosto@example.test"
COORDINATOR = "koordinaattori@example.test"


@dataclass
class Embedded:
    root: Path
    app: App

    @property
    def inbox(self) -> mailbox.Maildir:
        return mailbox.Maildir(maildir_for(self.root, NETWORK), create=True)

    def deliver(self, raw: bytes | EmailMessage, to: str = NETWORK) -> None:
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        self.inbox.add(f"Delivered-To: {to}\n".encode() + data)

    def cycle(self) -> None:
        asyncio.run(Daemon(self.app).run_once())

    def received(self, address: str) -> list[EmailMessage]:
        box = mailbox.Maildir(maildir_for(self.root, address), create=True)
        out = [message_from_bytes(box.get_bytes(k), policy=default) for k in box.iterkeys()]
        return [m for m in out if isinstance(m, EmailMessage)]

    def folder(self, name: str) -> list[bytes]:
        path = maildir_for(self.root, NETWORK) / f".{name}"
        if not path.exists():
            return []
        box = mailbox.Maildir(path, create=False)
        return [box.get_bytes(k) for k in box.iterkeys()]


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Callable[..., Embedded]]:
    """Build the embedded service; ``security`` / ``network`` dicts patch the config."""
    sink = start_sink(tmp_path / "mail")
    apps: list[App] = []

    def build(**sections: dict[str, Any]) -> Embedded:
        raw: dict[str, Any] = {
            "network": {"address": NETWORK, "coordinators": [COORDINATOR], "language": "fi"},
            "maildir": {"path": str(maildir_for(tmp_path / "mail", NETWORK))},
            "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"},
            "database": {"url": f"sqlite:///{tmp_path / 'mailer.db'}"},
        }
        for name, values in sections.items():
            raw.setdefault(name, {}).update(values)
        app = App.build(settings_from_dict(raw, {}, base=tmp_path))
        apps.append(app)
        return Embedded(tmp_path / "mail", app)

    yield build
    for app in apps:
        app.close()
    sink.stop()
