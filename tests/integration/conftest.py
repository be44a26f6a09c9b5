"""A service wired to the harness's real Dovecot and Postfix, and mail written like people do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.servers import MailServers

from mailer.app import App
from mailer.cli import main
from mailer.clock import Clock
from mailer.config import settings_from_dict
from mailer.daemon import Daemon

AppFactory = Callable[..., App]


def service_config(
    servers: MailServers,
    database_url: str,
    *,
    user: str = "network",
    coordinators: tuple[str, ...] = ("coordinator",),
    **sections: dict[str, Any],
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "network": {
            "name": "Pienet joukot, iso merkitys",
            "address": servers.address(user),
            "coordinators": [servers.address(c) for c in coordinators],
            "language": "fi",
        },
        "imap": {
            "host": "127.0.0.1",
            "port": servers.imap_port,
            "security": "none",
            "username": servers.address(user),
            "password": servers.password,
            "poll_seconds": 2,
        },
        "smtp": {"host": "127.0.0.1", "port": servers.smtp_port, "security": "none"},
        "database": {"url": database_url},
        "outbox": {"first_retry_seconds": 1, "max_retry_seconds": 2},
        # The members' weekly update would add a mail to every test that moves the clock
        # past a Monday morning; the tests of the digests turn it on.
        "digests": {"weekly": False},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return raw


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def write_config(path: Path, raw: dict[str, dict[str, Any]]) -> Path:
    """The one-level tables of ``service_config`` as a TOML file."""
    lines: list[str] = []
    for table, values in raw.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def cli_runner(
    servers: MailServers, tmp_path: Path, **sections: dict[str, Any]
) -> Callable[[str], None]:
    """``mailer --config … --now WHEN run --once`` against the harness and tmp_path's cli.db."""
    raw = service_config(servers, f"sqlite:///{tmp_path / 'cli.db'}", **sections)
    config = write_config(tmp_path / "mailer.toml", raw)

    def run(when: str) -> None:
        assert main(["--config", str(config), "--now", when, "run", "--once"]) == 0

    return run


@pytest.fixture
def make_app(clean_mail: MailServers, tmp_path: Path) -> Iterator[AppFactory]:
    """Build services against the harness; each gets its own SQLite file unless told."""
    apps: list[App] = []

    def build(database_url: str | None = None, clock: Clock | None = None, **kw: Any) -> App:
        url = database_url or f"sqlite:///{tmp_path / f'mailer{len(apps)}.db'}"
        settings = settings_from_dict(service_config(clean_mail, url, **kw), {}, base=tmp_path)
        app = App.build(settings, clock)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


def cycle(app: App) -> None:
    """One `mailer run --once` cycle."""
    asyncio.run(Daemon(app).run_once())
