"""Settings: TOML plus environment, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.config import load_settings, settings_from_dict
from mailer.errors import ConfigError

BASE = {
    "network": {"address": "verkosto@example.test", "coordinators": ["k@example.test"]},
    "imap": {"host": "127.0.0.1", "port": 1143, "security": "none", "username": "verkosto"},
    "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none"},
}


def test_password_may_come_from_the_environment() -> None:
    """MAILER_IMAP__PASSWORD fills [imap] password, so the file needs no secret."""
    settings = settings_from_dict(BASE, {"MAILER_IMAP__PASSWORD": "s3cret"})
    assert settings.imap is not None and settings.imap.password == "s3cret"


def test_environment_overrides_the_file() -> None:
    """An environment value wins over the file's value for the same key."""
    settings = settings_from_dict(BASE, {"MAILER_IMAP__PASSWORD": "x", "MAILER_SMTP__PORT": "2626"})
    assert settings.smtp.port == 2626


def test_missing_password_names_the_key() -> None:
    """A missing IMAP password is reported as imap.password."""
    with pytest.raises(ConfigError, match=r"imap\.password"):
        settings_from_dict(BASE, {})


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"network": {"coordinators": ["k@example.test"]}}, "network.address"),
        (
            {"network": {"address": "not an address", "coordinators": ["k@example.test"]}},
            "network.address",
        ),
        ({"network": {"address": "v@example.test"}}, "network.coordinators"),
        ({"smtp": {"host": "h", "port": "many"}}, "smtp.port"),
        ({"smtp": {"host": "h", "security": "tls"}}, "smtp.security"),
        ({"network": {**BASE["network"], "timezone": "Mars/Olympus"}}, "network.timezone"),
        ({"network": {**BASE["network"], "language": "de"}}, "network.language"),
    ],
)
def test_bad_keys_are_named(patch: dict[str, dict[str, object]], key: str) -> None:
    """Every bad or missing key raises ConfigError with the key's name in it."""
    raw = {**BASE, **patch}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        settings_from_dict(raw, {"MAILER_IMAP__PASSWORD": "x"})


def test_maildir_mode_needs_no_imap(tmp_path: Path) -> None:
    """Without [imap], a [maildir] path selects the embedded mode."""
    raw = {k: v for k, v in BASE.items() if k != "imap"} | {"maildir": {"path": "mail"}}
    settings = settings_from_dict(raw, {}, base=tmp_path)
    assert settings.imap is None
    assert settings.maildir is not None and settings.maildir.path == tmp_path / "mail"


def test_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    """A relative SQLite URL resolves next to mailer.toml, not the working directory."""
    config = tmp_path / "mailer.toml"
    config.write_text(
        '[network]\naddress = "v@example.test"\ncoordinators = ["k@example.test"]\n'
        '[maildir]\npath = "m"\n[smtp]\nhost = "h"\n[database]\nurl = "sqlite:///x.db"\n'
    )
    assert load_settings(config, {}).database_url == f"sqlite:///{tmp_path / 'x.db'}"


def test_unreadable_toml_is_a_config_error(tmp_path: Path) -> None:
    """A syntax error in the file is a ConfigError naming the file."""
    config = tmp_path / "mailer.toml"
    config.write_text("[network\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, {})
