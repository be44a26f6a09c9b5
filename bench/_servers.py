"""Shared helpers for the bench scripts: the harness, a config file, members, messages.

The benches run the real service against the project's private Postfix + Dovecot
(``tests/harness``), on loopback only. Everything here is bench-side: nothing in
``mailer/`` is changed or patched.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.servers import MailServers, claimed_servers  # noqa: E402

__all__ = [
    "MailServers",
    "add_members",
    "fmt_ratio",
    "harness",
    "median",
    "p95",
    "question_messages",
    "write_config",
]

MEMBERS = 50

# Finnish sentences of the kind members write; questions are assembled from these.
_OPENINGS = [
    "Hei,",
    "Hyvä verkosto,",
    "Moi kaikki,",
    "Hei koordinaattori,",
    "Terve,",
]
_SENTENCES = [
    "Meillä on kunnassa valmisteilla koulukuljetusten kilpailutus ensi keväälle.",
    "Onko jollakin kokemusta kutsuliikenteen yhdistämisestä asiointiliikenteeseen?",
    "Valtuusto pyysi selvitystä siitä, paljonko palvelulinjan käyttäjiä on vuodessa.",
    "Mietimme, kannattaako Kela-kyytien ja koulukuljetusten yhdistelyä kokeilla syksyllä.",
    "Liikennöitsijä ehdotti, että iltavuorot lopetettaisiin vähäisen käytön vuoksi.",
    "Miten olette hoitaneet esteettömyyden pienissä pysäkkikatoksissa?",
    "Hankintalaki tuntuu vaikealta, kun tarjouksia tulee vain yksi tai ei yhtään.",
    "Kyläyhdistys toivoo kesäksi vapaaehtoisvoimin ajettavaa kylä-autoa.",
    "ELY-keskuksen kanssa on sovittu tapaaminen, ja haluaisin kuulla muiden näkemyksiä.",
    "Seutulipun hinnoittelusta on tullut paljon palautetta, erityisesti opiskelijoilta.",
    "Kokeilimme viime vuonna sovelluspohjaista tilausta, mutta ikäihmiset soittavat yhä.",
    "Olisiko teillä malli sopimukseen, jossa kalusto on kunnan omistuksessa?",
    "Päätös pitäisi tehdä ennen joulua, joten vastaus ensi viikolla auttaisi paljon.",
    "Tässä vielä tarkennus: reitti kulkee kahden kunnan alueella ja pysäkkejä on kaksitoista.",
    "Kaikki vinkit ja esimerkit naapurikunnista ovat tervetulleita.",
]
_SUBJECTS = [
    "Koulukuljetusten kilpailutus",
    "Kutsuliikenne ja asiointiliikenne",
    "Palvelulinjan käyttäjämäärät",
    "Kela-kyytien yhdistely",
    "Iltavuorojen lakkautus?",
    "Esteettömät pysäkit",
    "Hankinta, vain yksi tarjous",
    "Kylä-auto kesäksi",
    "Seutulipun hinta",
    "Kaluston omistus",
]
_FIRST = ["Liisa", "Matti", "Anna", "Jukka", "Sari", "Pekka", "Tiina", "Ville", "Outi", "Eero"]
_LAST = ["Laine", "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Hämäläinen", "Koskinen"]
_TOWNS = ["Uusikaupunki", "Loimaa", "Kauhava", "Suonenjoki", "Ikaalinen", "Kitee", "Raahe"]


def member_address(number: int, domain: str = "example.test") -> str:
    return f"member{number}@{domain}"


def member_name(number: int) -> str:
    return f"{_FIRST[number % len(_FIRST)]} {_LAST[number % len(_LAST)]}"


def question_messages(
    count: int,
    *,
    target_size: int = 1300,
    network: str = "network@example.test",
    seed: int = 1,
    tag: str = "q",
) -> list[bytes]:
    """``count`` members' questions as they sit in the network's mailbox after LMTP delivery.

    About ``target_size`` bytes each, Finnish text, senders member1..member50 in turn,
    with Return-Path / Delivered-To / Received added as Postfix + Dovecot LMTP add
    them. Bodies vary between 8bit, quoted-printable and base64 like real clients.
    """
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    out: list[bytes] = []
    for i in range(count):
        number = i % MEMBERS + 1
        sender = member_address(number)
        msg = EmailMessage()
        msg["From"] = f"{member_name(number)} <{sender}>"
        msg["To"] = f"Pienet joukot, iso merkitys <{network}>"
        msg["Subject"] = rng.choice(_SUBJECTS)
        msg["Date"] = format_datetime(start + timedelta(seconds=17 * i))
        msg["Message-ID"] = f"<{tag}{i}.{seed}.{number}@client.example.test>"
        msg["User-Agent"] = rng.choice(["Microsoft Outlook 16.0", "Thunderbird 128.5", "Gmail"])
        cte = ("8bit", "8bit", "quoted-printable", "base64")[i % 4]
        head_guess = 760  # the headers above plus the three delivery headers, roughly
        budget = max(200, target_size - head_guess)
        lines = [rng.choice(_OPENINGS), ""]
        text_len = 0
        # base64 grows the body by a third, quoted-printable by ~10% for Finnish text
        grow = {"8bit": 1.0, "quoted-printable": 1.12, "base64": 1.37}[cte]
        while text_len * grow < budget - 120:
            sentence = rng.choice(_SENTENCES)
            lines.append(sentence)
            text_len += len(sentence.encode()) + 1
        lines += ["", "Terveisin", member_name(number), _TOWNS[number % len(_TOWNS)]]
        msg.set_content("\n".join(lines) + "\n", charset="utf-8", cte=cte)
        when = format_datetime(start + timedelta(seconds=17 * i + 1))
        delivery = (
            f"Return-Path: <{sender}>\r\n"
            f"Delivered-To: {network}\r\n"
            f"Received: from mail.example.test by mail.example.test with LMTP id b{i:06d}"
            f" (envelope-from <{sender}>) for <{network}>; {when}\r\n"
            f"Received: from client.example.test (unknown [127.0.0.1]) by mail.example.test"
            f" (Postfix) with ESMTP id Q{i:07X} for <{network}>; {when}\r\n"
        ).encode()
        out.append(delivery + msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def service_config(servers: MailServers, database_url: str, **sections: dict[str, Any]) -> dict:
    """Like tests/integration/conftest.py::service_config, for the bench."""
    raw: dict[str, Any] = {
        "network": {
            "name": "Pienet joukot, iso merkitys",
            "address": servers.address("network"),
            "coordinators": [servers.address("coordinator")],
            "language": "fi",
        },
        "imap": {
            "host": "127.0.0.1",
            "port": servers.imap_port,
            "security": "none",
            "username": servers.address("network"),
            "password": servers.password,
        },
        "smtp": {"host": "127.0.0.1", "port": servers.smtp_port, "security": "none"},
        "database": {"url": database_url},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return raw


def write_config(path: Path, raw: dict[str, dict[str, Any]]) -> Path:
    """A mailer.toml for the subprocess (the password is in it: loopback test harness only)."""
    lines = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def add_members(database_url: str, count: int = MEMBERS) -> None:
    """Create the schema and the roster member1..member{count}, as `mailer members import`."""
    import tempfile

    from mailer.db.engine import Database
    from mailer.roster import import_csv

    rows = ["email,name,organisation,language"] + [
        f"{member_address(n)},{member_name(n)},{_TOWNS[n % len(_TOWNS)]},fi"
        for n in range(1, count + 1)
    ]
    db = Database(database_url)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as csv:
        csv.write("\n".join(rows) + "\n")
        csv.flush()
        try:
            db.upgrade()
            with db.transaction() as session:
                report = import_csv(session, Path(csv.name), "fi", datetime.now(UTC))
        finally:
            db.dispose()
    if report.errors or report.added != count:
        raise RuntimeError(f"roster import: {report}")


@contextmanager
def harness() -> Iterator[MailServers]:
    """A fresh private Postfix + Dovecot in a free slot, stopped on exit."""
    with claimed_servers(members=MEMBERS) as servers:
        yield servers


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 n)
    return ordered[rank - 1]


def fmt_ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.3f}" if baseline else "n/a"
