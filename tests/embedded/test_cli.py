"""The `mailer` command: init, explain, members, exit codes."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.cli import main
from mailer.db.models import Ticket

from .conftest import NETWORK, Embedded

Build = Callable[..., Embedded]


def _config(env: Embedded, tmp_path: Path) -> Path:
    settings = env.app.settings
    path = tmp_path / "cli.toml"
    assert settings.maildir is not None
    path.write_text(
        f'[network]\naddress = "{NETWORK}"\ncoordinators = ["koordinaattori@example.test"]\n'
        f'[maildir]\npath = "{settings.maildir.path}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {settings.smtp.port}\nsecurity = "none"\n'
        f'[database]\nurl = "{settings.database_url}"\n'
    )
    return path


def test_init_writes_a_commented_config_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mailer init` writes a valid, commented mailer.toml and creates the database."""
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    text = (tmp_path / "mailer.toml").read_text()
    assert text.count("#") > 10
    data = tomllib.loads(text)
    assert data["network"]["timezone"] == "Europe/Helsinki"
    assert (tmp_path / "mailer.db").exists()
    assert main(["init"]) == 2  # refuses to overwrite
    monkeypatch.delenv("MAILER_CONFIG", raising=False)
    monkeypatch.setenv("MAILER_IMAP__PASSWORD", "from-the-environment")
    assert main(["members", "list", "--json"]) == 0  # ./mailer.toml without --config


def test_missing_key_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config without network.address fails with exit code 2 and one line naming it."""
    config = tmp_path / "bad.toml"
    config.write_text('[network]\ncoordinators = ["k@example.test"]\n')
    assert main(["--config", str(config), "members", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "network.address" in err


def test_bad_now_exits_2(tmp_path: Path, embedded: Build) -> None:
    """--now in a wrong format is a usage error."""
    config = _config(embedded(), tmp_path)
    assert main(["--config", str(config), "--now", "tomorrow", "queue", "list"]) == 2


def test_unknown_command_exits_2() -> None:
    """A mistyped command is bad usage."""
    assert main(["nosuchcommand"]) == 2


def test_explain_changes_nothing(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mailer explain` prints the walk and the would-be effects, and stores nothing."""
    env = embedded()
    config = _config(env, tmp_path)
    eml = tmp_path / "q.eml"
    eml.write_bytes(b"From: a@example.test\nTo: verkosto@example.test\nSubject: Hei\n\nKysymys\n")
    assert main(["--config", str(config), "explain", str(eml)]) == 0
    out = capsys.readouterr().out
    assert "inbound.toml link" in out and "handler: question" in out
    assert "would queue" in out
    with env.app.db.transaction() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 0


def test_explain_shows_why_an_auto_reply_is_filed(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """An out-of-office reply is explained as filed, with the reason."""
    config = _config(embedded(), tmp_path)
    eml = tmp_path / "ooo.eml"
    eml.write_bytes(
        b"From: a@example.test\nSubject: Automaattinen vastaus: Hei\n"
        b"Auto-Submitted: auto-replied\n\nOlen lomalla\n"
    )
    assert main(["--config", str(config), "explain", str(eml)]) == 0
    out = capsys.readouterr().out
    assert "outcome: filed" in out and "auto" in out.lower()


def test_members_import_and_list(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """Import reports bad rows by line on stderr; list --json shows the good ones."""
    config = _config(embedded(), tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,name,organisation,language\n"
        "liisa@uusikaupunki.example.test,Liisa Laine,Uusikaupunki,fi\n"
        "broken address,X,Y,fi\n"
    )
    assert main(["--config", str(config), "members", "import", str(roster)]) == 0
    captured = capsys.readouterr()
    assert f"{roster}:3:" in captured.err
    assert main(["--config", str(config), "members", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["email"] for r in rows] == ["liisa@uusikaupunki.example.test"]


def test_run_once_with_now(tmp_path: Path, embedded: Build) -> None:
    """`mailer run --once --now` handles the inbox as of that time."""
    env = embedded()
    config = _config(env, tmp_path)
    env.deliver(b"From: a@example.test\nSubject: Hei\n\nKysymys\n")
    assert main(["--config", str(config), "--now", "2027-01-15 09:00", "run", "--once"]) == 0
    with env.app.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert ticket.created_at.isoformat().startswith("2027-01-15T07:00")


def test_python_scheduler_py_runs_the_daemon(tmp_path: Path, embedded: Build) -> None:
    """`python scheduler.py --config F --once` is `mailer run --once`."""
    import subprocess
    import sys

    from mailer.config import project_root

    env = embedded()
    config = _config(env, tmp_path)
    env.deliver(b"From: a@example.test\nSubject: Hei\n\nKysymys\n")
    done = subprocess.run(
        [sys.executable, str(project_root() / "scheduler.py"), "--config", str(config), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with env.app.db.transaction() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 1


def test_members_add_remove_export_and_orgs(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """add, remove, export and the organisations' status and fee year by command."""
    config = str(_config(embedded(), tmp_path))
    assert (
        main(
            [
                "--config",
                config,
                "members",
                "add",
                "Anna@Akaa.example.test",
                "--name",
                "Anna",
                "--organisation",
                "Akaa",
                "--delivery",
                "weekly",
            ]
        )
        == 0
    )
    assert main(["--config", config, "members", "add", "bad address"]) == 2
    assert (
        main(
            ["--config", config, "orgs", "set", "Akaa", "--status", "member", "--fee-paid", "2026"]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["--config", config, "orgs", "list", "--json"]) == 0
    orgs = json.loads(capsys.readouterr().out)
    assert orgs == [{"name": "Akaa", "status": "member", "fee_paid_year": 2026, "members": 1}]
    assert main(["--config", config, "members", "remove", "anna@akaa.example.test"]) == 0
    capsys.readouterr()
    assert main(["--config", config, "members", "export"]) == 0
    exported = capsys.readouterr().out.splitlines()
    assert exported[0].startswith("email,name,organisation,language,delivery,role,state")
    assert exported[1].startswith("anna@akaa.example.test,Anna,Akaa,fi,weekly,member,left")
    assert main(["--config", config, "members", "remove", "nobody@example.test"]) == 2


def test_queue_ages_never_negative(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """A question taken in under a later --now is listed as new, not '-4747 min' old."""
    env = embedded()
    config = _config(env, tmp_path)
    env.deliver(b"From: a@example.test\nTo: verkosto@example.test\nSubject: Hei\n\nKysymys?\n")
    env.app.clock.set(datetime(2031, 1, 1, 10, tzinfo=UTC))  # as `--now "2031-01-01 12:00"`
    env.cycle()
    assert main(["--config", str(config), "queue", "list", "--json"]) == 0
    (ticket,) = json.loads(capsys.readouterr().out)
    assert ticket["age_seconds"] == 0 and ticket["age"] == "0 min"
