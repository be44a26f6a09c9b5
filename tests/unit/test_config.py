"""Settings: TOML plus environment, errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailer.config import KEYS, load_settings, project_root, settings_from_dict
from mailer.errors import ConfigError
from mailer.starter import STARTER_CONFIG

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


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        (
            {**BASE, "smtp": {**BASE["smtp"], "prot": 25}},
            {},
            "unknown key smtp.prot (did you mean smtp.port?)",
        ),
        (
            {**BASE, "databse": {"url": "sqlite:///kunta.db"}},
            {},
            "unknown section [databse] (did you mean [database]?)",
        ),
        (
            {**{k: v for k, v in BASE.items() if k != "network"}, "netwrk": BASE["network"]},
            {},
            "unknown section [netwrk] (did you mean [network]?)",
        ),
        (BASE, {"MAILER_SMTP__PROT": "1"}, "unknown key smtp.prot in MAILER_SMTP__PROT"),
        (
            BASE,
            {"MAILER_DATABSE__URL": "sqlite:///x.db"},
            "unknown section [databse] in MAILER_DATABSE__URL (did you mean MAILER_DATABASE__URL?)",
        ),
        ({**BASE, "smtp": {**BASE["smtp"], "xyzzy": 1}}, {}, "unknown key smtp.xyzzy"),
        ({"port": 25, **BASE}, {}, "unknown key port outside any [section]"),
    ],
)
def test_unknown_keys_and_sections_are_refused(
    raw: dict[str, object], env: dict[str, str], message: str
) -> None:
    """A typo in a key or a section name stops with its name, never leaves a default in force."""
    with pytest.raises(ConfigError) as refused:
        settings_from_dict(raw, {"MAILER_IMAP__PASSWORD": "x", **env})
    assert str(refused.value).startswith(message)


def test_unknown_key_beats_a_missing_one() -> None:
    """A misspelt required key is reported as the typo, not as the key it was meant to be."""
    network = {"adress": "v@example.test", "coordinators": ["k@example.test"]}
    with pytest.raises(ConfigError, match=r"network\.adress \(did you mean network\.address\?\)"):
        settings_from_dict({**BASE, "network": network}, {"MAILER_IMAP__PASSWORD": "x"})


def _documented_keys(toml: str) -> dict[str, set[str]]:
    """The keys of a TOML text, and of its commented-out ``# key = value`` lines."""
    keys: dict[str, set[str]] = {}
    section = ""
    for line in toml.splitlines():
        header = re.match(r"\s*\[(\w+)\]", line)
        key = re.match(r"\s*#?\s*(\w+)\s*=", line)
        if header:
            section = header.group(1)
            keys.setdefault(section, set())
        elif key and section:
            keys[section].add(key.group(1))
    return keys


def _readme_toml() -> str:
    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    return "\n".join(re.findall(r"```toml\n(.*?)```", readme, re.DOTALL))


@pytest.mark.parametrize("text", [STARTER_CONFIG, _readme_toml()], ids=["init", "readme"])
def test_every_documented_key_is_known(text: str) -> None:
    """What `mailer init` writes and the README shows, commented-out keys too, is all known."""
    documented = _documented_keys(text)
    assert documented
    for section, keys in documented.items():
        assert section in KEYS
        assert keys <= KEYS[section], (section, keys - KEYS[section])


def test_the_init_file_loads(tmp_path: Path) -> None:
    """The starter file loads as it is written, with the password from the environment."""
    config = tmp_path / "mailer.toml"
    config.write_text(STARTER_CONFIG, encoding="utf-8")
    settings = load_settings(config, {"MAILER_IMAP__PASSWORD": "x"})
    assert settings.network.address == "verkosto@example.test"
    assert settings.database_url == f"sqlite:///{tmp_path / 'mailer.db'}"
