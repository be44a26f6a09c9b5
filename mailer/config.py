"""Settings from one TOML file plus the environment.

This module is the only reader of ``os.environ``: every other module receives a
``Settings``. Any key may come from the environment as ``MAILER_<SECTION>__<KEY>``
(``MAILER_IMAP__PASSWORD`` for ``[imap] password``), so a secret never has to sit
in the file. A bad or missing key raises ``ConfigError`` naming the key; the CLI
turns that into one line on stderr and exit code 2. So does a key or a section
the service does not know: a typo (``[databse]``, ``prot = 25``) would otherwise
leave the default in force without a word, and the administrator's database
would seem to vanish.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from mailer.errors import ConfigError

LANGUAGES = ("fi", "sv", "en")
SECURITY_MODES = ("none", "starttls", "ssl")
ENV_PREFIX = "MAILER_"
DEFAULT_DATABASE = "sqlite:///mailer.db"
# Every key of every section; ``_Section`` refuses to read a key not here.
KEYS: dict[str, frozenset[str]] = {
    "network": frozenset({"name", "address", "coordinators", "language", "timezone"}),
    "imap": frozenset(
        {
            "host", "port", "security", "username", "password", "folder", "processed_folder",
            "shunt_folder", "auth", "oauth2_command", "oauth2_token", "ca_file", "timeout",
            "idle_renew_seconds", "poll_seconds", "batch_size",
        }
    ),
    "maildir": frozenset({"path"}),
    "smtp": frozenset(
        {
            "host", "port", "security", "username", "password", "auth", "oauth2_command",
            "oauth2_token", "ca_file", "connections", "timeout", "local_hostname",
        }
    ),
    "database": frozenset({"url"}),
    "security": frozenset(
        {"secret", "trusted_authserv_id", "auto_reply_limit_per_day", "max_message_bytes"}
    ),
    "outbox": frozenset({"max_attempts", "first_retry_seconds", "max_retry_seconds"}),
    "list": frozenset(
        {
            "subject_tag", "list_name", "reply_to", "require_approval", "max_post_bytes",
            "max_recipients", "hold_expiry_days", "confirm_expiry_days",
            "join_requests_per_day", "dmarc_domains", "base_url", "http_listen", "digest_hour",
            "weekly_digest_day", "mime_digest", "bounce_threshold", "probe_wait_days",
        }
    ),
    "events": frozenset(
        {"reminders", "link_reminder", "webinar_length", "alarm", "feedback_delay", "feedback_days"}
    ),
    "materials": frozenset({"max_attachment_bytes", "max_mail_bytes", "send_days"}),
    "digests": frozenset({"coordinator_hour", "weekly"}),
    "paths": frozenset({"rules", "templates", "data"}),
}  # fmt: skip


@dataclass(frozen=True)
class OAuth2Settings:
    """Where a bearer token for XOAUTH2 comes from.

    ``command`` is run and its stdout (stripped) is the token: the administrator
    plugs in MSAL, google-auth or any helper without the daemon knowing the
    provider. ``token`` is a fixed token, for tests and short-lived setups.
    """

    command: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str
    username: str
    password: str | None
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    shunt_folder: str = "Shunt"
    auth: str = "password"  # password | xoauth2
    oauth2: OAuth2Settings = field(default_factory=OAuth2Settings)
    ca_file: str | None = None
    timeout: float = 30.0
    idle_renew_seconds: float = 540.0
    poll_seconds: float = 30.0
    batch_size: int = 100


@dataclass(frozen=True)
class MaildirSettings:
    path: Path


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"
    username: str | None = None
    password: str | None = None
    auth: str = "password"  # password | xoauth2 | none
    oauth2: OAuth2Settings = field(default_factory=OAuth2Settings)
    ca_file: str | None = None
    connections: int = 4
    timeout: float = 60.0
    local_hostname: str = "localhost"


@dataclass(frozen=True)
class NetworkSettings:
    name: str
    address: str
    coordinators: tuple[str, ...]
    language: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.split("@", 1)[1]

    def sub_address(self, detail: str) -> str:
        """``verkosto+detail@domain``: the plus-address the service answers on."""
        return f"{self.local_part}+{detail}@{self.domain}"


@dataclass(frozen=True)
class SecuritySettings:
    secret: str | None = None
    trusted_authserv_id: str | None = None
    auto_reply_limit_per_day: int = 10
    max_message_bytes: int = 25 * 1024 * 1024


@dataclass(frozen=True)
class ListSettings:
    """The members' list (SPEC capability 2)."""

    subject_tag: str = "[Verkosto]"
    list_name: str = "Verkosto"  # "Author via Verkosto" when From is rewritten
    reply_to: str = "list"  # list | author
    require_approval: bool = False
    max_post_bytes: int = 5 * 1024 * 1024
    max_recipients: int = 10
    hold_expiry_days: int = 14
    confirm_expiry_days: int = 7
    join_requests_per_day: int = 3
    dmarc_domains: tuple[str, ...] = ()
    base_url: str | None = None
    http_listen: str = "127.0.0.1:8025"
    digest_hour: int = 7
    weekly_digest_weekday: int = 0  # Monday
    mime_digest: bool = False
    bounce_threshold: float = 5.0
    probe_wait_days: int = 7


@dataclass(frozen=True)
class EventSettings:
    """Events (SPEC capabilities 3-4): what a new event's schedule starts from."""

    reminders: tuple[int, ...] = (7 * 24 * 60, 24 * 60)  # minutes before the start
    link_reminder: int = 60  # webinars: the link once more, minutes before; 0 for none
    webinar_minutes: int = 60  # a webinar's length when the form gives none
    alarm_minutes: int = 15  # the calendar entry's own alarm (VALARM)
    feedback_delay: int = 60  # minutes after the end before the feedback request
    feedback_days: int = 14  # how long ratings are taken after the request


@dataclass(frozen=True)
class MaterialSettings:
    """The material bank (SPEC capability 6): what is filed and what fits in one mail."""

    max_attachment_bytes: int = 20 * 1024 * 1024  # a larger attachment is refused, with why
    max_mail_bytes: int = 10 * 1024 * 1024  # attachments per sent mail; the rest by request
    send_days: int = 30  # material filed later than this after its event is only indexed


@dataclass(frozen=True)
class DigestSettings:
    """The coordinator's daily digest and the members' weekly update (SPEC capability 7)."""

    coordinator_hour: int = 7  # network time
    weekly: bool = True  # members' weekly update (list.digest_hour, list.weekly_digest_day)


def offset_minutes(text: str) -> int:
    """``"7d"``, ``"1d"``, ``"1h"``, ``"90min"`` or ``"30"`` (minutes) as minutes."""
    match = re.fullmatch(r"\s*(\d+)\s*(d|h|min|m)?\s*", text.lower())
    if match is None:
        raise ValueError(f"not a time span like 7d, 1h or 30min: {text!r}")
    return int(match.group(1)) * {"d": 1440, "h": 60}.get(match.group(2) or "m", 1)


@dataclass(frozen=True)
class OutboxSettings:
    max_attempts: int = 12
    first_retry_seconds: float = 60.0
    max_retry_seconds: float = 3600.0


@dataclass(frozen=True)
class Settings:
    network: NetworkSettings
    database_url: str
    imap: ImapSettings | None
    maildir: MaildirSettings | None
    smtp: SmtpSettings
    security: SecuritySettings
    outbox: OutboxSettings
    list: ListSettings
    rules_dir: Path
    templates_dir: Path
    data_dir: Path
    source: Path | None = None
    events: EventSettings = field(default_factory=EventSettings)
    materials: MaterialSettings = field(default_factory=MaterialSettings)
    digests: DigestSettings = field(default_factory=DigestSettings)


def _hint(name: str, known: Iterable[str], shown: Callable[[str], str]) -> str:
    """ " (did you mean smtp.port?)" when ``name`` is close to one of ``known``."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {shown(close[0])}?)" if close else ""


def _check_names(raw: dict[str, Any], env: dict[str, dict[str, str]]) -> None:
    """Refuse a section or key this service does not know, naming it and its likely fix."""
    for name, data in raw.items():
        if name not in KEYS:
            if not isinstance(data, dict):
                raise ConfigError(f"unknown key {name} outside any [section]")
            raise ConfigError(f"unknown section [{name}]{_hint(name, KEYS, '[{}]'.format)}")
        for key in data if isinstance(data, dict) else ():
            if key not in KEYS[name]:
                hint = _hint(key, KEYS[name], f"{name}.{{}}".format)
                raise ConfigError(f"unknown key {name}.{key}{hint}")
    for name, values in env.items():
        for key in values:
            variable = _variable(name, key)
            if name not in KEYS:
                hint = _hint(name, KEYS, functools.partial(_variable, key=key))
                raise ConfigError(f"unknown section [{name}] in {variable}{hint}")
            if key not in KEYS[name]:
                hint = _hint(key, KEYS[name], functools.partial(_variable, name))
                raise ConfigError(f"unknown key {name}.{key} in {variable}{hint}")


def _variable(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section.upper()}__{key.upper()}"


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].partition("__")
        out.setdefault(section.lower(), {})[key.lower()] = value
    return out


class _Section:
    """Typed access to one table, with errors that name ``section.key``."""

    def __init__(self, name: str, data: dict[str, Any], env: dict[str, str]) -> None:
        self.name = name
        self.data = dict(data)
        self.data.update(env)
        self.from_env = set(env)

    def _key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def _get(self, key: str, default: Any = None) -> Any:
        if key not in KEYS[self.name]:
            raise KeyError(f"{self._key(key)} is read but missing from KEYS")
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return self._get(key) is not None

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self._get(key, default)
        if value is None:
            if required:
                raise ConfigError(f"missing key {self._key(key)}")
            return ""
        if not isinstance(value, str):
            raise ConfigError(f"{self._key(key)} must be a string")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{self._key(key)} must be a string")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool):
            raise ConfigError(f"{self._key(key)} must be a whole number")
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise ConfigError(f"{self._key(key)} must be a whole number") from None
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{self._key(key)} must be a whole number")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, default)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{self._key(key)} must be a number") from None
        if number < 0:
            raise ConfigError(f"{self._key(key)} must not be negative")
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{self._key(key)} must be true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise ConfigError(f"{self._key(key)} must be one of {', '.join(choices)}")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self._key(key)} must be a list of strings")
        return tuple(value)


def _address(section: _Section, key: str, value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ConfigError(f"{section.name}.{key} is not a valid address: {value!r}") from exc


def _oauth2(section: _Section) -> OAuth2Settings:
    return OAuth2Settings(
        command=section.opt_str("oauth2_command"), token=section.opt_str("oauth2_token")
    )


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def resolve_database_url(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the config file, not to the cwd."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            return f"sqlite:///{_resolve(base, relative)}"
    return url


def project_root() -> Path:
    """The folder holding ``templates/`` and ``rules/``: next to the package."""
    return Path(__file__).resolve().parent.parent


DEFAULT_CONFIG = "mailer.toml"


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file and overlay the environment.

    The file is ``--config``, else ``MAILER_CONFIG``, else the ``mailer.toml`` that
    ``mailer init`` wrote in the current directory: "mailer init, edit, mailer run"
    must work without naming the file.
    """
    env = dict(os.environ if environ is None else environ)
    if path is None and env.get("MAILER_CONFIG"):
        path = Path(env["MAILER_CONFIG"])
    if path is None and Path(DEFAULT_CONFIG).is_file():
        path = Path(DEFAULT_CONFIG)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return settings_from_dict(raw, env, base=path.parent if path else Path.cwd(), source=path)


def settings_from_dict(
    raw: dict[str, Any],
    environ: dict[str, str] | None = None,
    *,
    base: Path | None = None,
    source: Path | None = None,
) -> Settings:
    env = _env_overrides(dict(os.environ if environ is None else environ))
    _check_names(raw, env)
    base = base or Path.cwd()

    def section(name: str) -> _Section:
        data = raw.get(name, {})
        if not isinstance(data, dict):
            raise ConfigError(f"[{name}] must be a table")
        return _Section(name, data, env.get(name, {}))

    net = section("network")
    address = _address(net, "address", net.text("address", required=True))
    coordinators = tuple(_address(net, "coordinators", a) for a in net.str_list("coordinators"))
    if not coordinators:
        raise ConfigError("missing key network.coordinators")
    timezone = net.text("timezone", "Europe/Helsinki")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"network.timezone is not a known time zone: {timezone!r}") from None
    network = NetworkSettings(
        name=net.text("name", "Verkosto"),
        address=address,
        coordinators=coordinators,
        language=net.choice("language", LANGUAGES, "fi"),
        timezone=timezone,
    )

    imap: ImapSettings | None = None
    maildir: MaildirSettings | None = None
    if "imap" in raw or "imap" in env:
        s = section("imap")
        auth = s.choice("auth", ("password", "xoauth2"), "password")
        password = s.opt_str("password")
        oauth2 = _oauth2(s)
        if auth == "password" and password is None:
            raise ConfigError("missing key imap.password (or set MAILER_IMAP__PASSWORD)")
        if auth == "xoauth2" and not (oauth2.command or oauth2.token):
            raise ConfigError("missing key imap.oauth2_command (needed for auth = xoauth2)")
        imap = ImapSettings(
            host=s.text("host", required=True),
            port=s.integer("port", 993),
            security=s.choice("security", SECURITY_MODES, "ssl"),
            username=s.text("username", required=True),
            password=password,
            folder=s.text("folder", "INBOX"),
            processed_folder=s.text("processed_folder", "Processed"),
            shunt_folder=s.text("shunt_folder", "Shunt"),
            auth=auth,
            oauth2=oauth2,
            ca_file=s.opt_str("ca_file"),
            timeout=s.number("timeout", 30.0),
            idle_renew_seconds=min(s.number("idle_renew_seconds", 540.0), 600.0),
            poll_seconds=s.number("poll_seconds", 30.0),
            batch_size=max(1, s.integer("batch_size", 100)),
        )
    elif "maildir" in raw or "maildir" in env:
        s = section("maildir")
        maildir = MaildirSettings(path=_resolve(base, s.text("path", required=True)))
    else:
        raise ConfigError("missing key imap.host (or a [maildir] path for the embedded mode)")

    s = section("smtp")
    smtp_auth_default = "password" if s.opt_str("username") else "none"
    smtp = SmtpSettings(
        host=s.text("host", required=True),
        port=s.integer("port", 587),
        security=s.choice("security", SECURITY_MODES, "starttls"),
        username=s.opt_str("username"),
        password=s.opt_str("password"),
        auth=s.choice("auth", ("password", "xoauth2", "none"), smtp_auth_default),
        oauth2=_oauth2(s),
        ca_file=s.opt_str("ca_file"),
        connections=max(1, s.integer("connections", 4)),
        timeout=s.number("timeout", 60.0),
        local_hostname=s.text("local_hostname", network.domain),
    )
    if smtp.auth == "password" and (smtp.username is None or smtp.password is None):
        raise ConfigError("missing key smtp.password (or set MAILER_SMTP__PASSWORD)")
    if smtp.auth == "xoauth2" and not (smtp.oauth2.command or smtp.oauth2.token):
        raise ConfigError("missing key smtp.oauth2_command (needed for auth = xoauth2)")

    database_url = resolve_database_url(section("database").text("url", DEFAULT_DATABASE), base)

    sec = section("security")
    security = SecuritySettings(
        secret=sec.opt_str("secret"),
        trusted_authserv_id=sec.opt_str("trusted_authserv_id"),
        auto_reply_limit_per_day=sec.integer("auto_reply_limit_per_day", 10),
        max_message_bytes=sec.integer("max_message_bytes", 25 * 1024 * 1024),
    )
    ob = section("outbox")
    outbox = OutboxSettings(
        max_attempts=max(1, ob.integer("max_attempts", 12)),
        first_retry_seconds=ob.number("first_retry_seconds", 60.0),
        max_retry_seconds=ob.number("max_retry_seconds", 3600.0),
    )
    ls = section("list")
    weekday = ls.text("weekly_digest_day", "monday").lower()
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    if weekday not in weekdays:
        raise ConfigError(f"list.weekly_digest_day must be one of {', '.join(weekdays)}")
    digest_hour = ls.integer("digest_hour", 7)
    if digest_hour > 23:
        raise ConfigError("list.digest_hour must be 0-23")
    list_settings = ListSettings(
        subject_tag=ls.text("subject_tag", "[Verkosto]"),
        list_name=ls.text("list_name", "Verkosto"),
        reply_to=ls.choice("reply_to", ("list", "author"), "list"),
        require_approval=ls.boolean("require_approval", False),
        max_post_bytes=ls.integer("max_post_bytes", 5 * 1024 * 1024),
        max_recipients=ls.integer("max_recipients", 10),
        hold_expiry_days=ls.integer("hold_expiry_days", 14),
        confirm_expiry_days=ls.integer("confirm_expiry_days", 7),
        join_requests_per_day=ls.integer("join_requests_per_day", 3),
        dmarc_domains=tuple(d.lower() for d in ls.str_list("dmarc_domains")),
        base_url=(ls.opt_str("base_url") or "").rstrip("/") or None,
        http_listen=ls.text("http_listen", "127.0.0.1:8025"),
        digest_hour=digest_hour,
        weekly_digest_weekday=weekdays.index(weekday),
        mime_digest=ls.boolean("mime_digest", False),
        bounce_threshold=ls.number("bounce_threshold", 5.0),
        probe_wait_days=ls.integer("probe_wait_days", 7),
    )
    ev = section("events")
    try:
        events = EventSettings(
            reminders=tuple(offset_minutes(r) for r in ev.str_list("reminders"))
            if ev.has("reminders")
            else EventSettings.reminders,
            link_reminder=offset_minutes(ev.text("link_reminder", "1h")),
            webinar_minutes=offset_minutes(ev.text("webinar_length", "60min")),
            alarm_minutes=offset_minutes(ev.text("alarm", "15min")),
            feedback_delay=offset_minutes(ev.text("feedback_delay", "1h")),
            feedback_days=ev.integer("feedback_days", 14),
        )
    except ValueError as exc:
        raise ConfigError(f"[events]: {exc}") from None
    ms = section("materials")
    materials = MaterialSettings(
        max_attachment_bytes=ms.integer("max_attachment_bytes", 20 * 1024 * 1024),
        max_mail_bytes=ms.integer("max_mail_bytes", 10 * 1024 * 1024),
        send_days=ms.integer("send_days", 30),
    )
    ds = section("digests")
    coordinator_hour = ds.integer("coordinator_hour", 7)
    if coordinator_hour > 23:
        raise ConfigError("digests.coordinator_hour must be 0-23")
    digests = DigestSettings(coordinator_hour=coordinator_hour, weekly=ds.boolean("weekly", True))
    paths = section("paths")
    root = project_root()
    return Settings(
        network=network,
        database_url=database_url,
        imap=imap,
        maildir=maildir,
        smtp=smtp,
        security=security,
        outbox=outbox,
        list=list_settings,
        rules_dir=_resolve(base, paths.text("rules", str(root / "rules"))),
        templates_dir=_resolve(base, paths.text("templates", str(root / "templates"))),
        data_dir=_resolve(base, paths.text("data", "data")),
        source=source,
        events=events,
        materials=materials,
        digests=digests,
    )
