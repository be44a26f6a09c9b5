"""The material bank by real mail: filing with an oversize refusal, the index, fetching,
material for an event by replying to its preview, and the after-event mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness.servers import MailServers
from sqlalchemy import select

from mailer.app import App
from mailer.clock import Clock
from mailer.db.materials import Material
from mailer.roster import import_csv

from .conftest import AppFactory, cycle
from .mail import gmail_reply, outlook_reply, question

pytestmark = pytest.mark.servers

START = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki
SLIDES = b"%PDF-1.4\n" + bytes(range(256)) * 200  # ~50 kB
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 300_000  # ~300 kB, over the test limit


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _files(msg: EmailMessage) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in msg.iter_attachments():
        data = part.get_content()
        found[part.get_filename() or ""] = data if isinstance(data, bytes) else data.encode()
    return found


def _with(msg: EmailMessage, files: dict[str, tuple[str, bytes]]) -> EmailMessage:
    for name, (content_type, data) in files.items():
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _roster(app: App, servers: MailServers, tmp_path: Path, users: list[str]) -> None:
    lines = ["email,name,organisation,language"]
    lines += [f"{servers.address(u)},Jäsen {n},Kunta {n},fi" for n, u in enumerate(users, 1)]
    csv = tmp_path / "roster.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with app.db.transaction() as session:
        assert not import_csv(session, csv, "fi", app.clock.now()).errors


def _deliver(servers: MailServers, msg: EmailMessage, sender: str, to: str) -> None:
    before = len(servers.messages("network"))
    servers.send(msg, sender, to)
    servers.wait_for("network", before + 1)


def _find(servers: MailServers, user: str, count: int, subject: str) -> EmailMessage:
    """The message whose subject holds ``subject`` once ``user`` has ``count`` messages."""
    (found,) = [m for m in servers.wait_for(user, count) if subject in str(m["Subject"])]
    return found


def test_file_with_oversize_refused_index_fetch_and_outsider(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Slides filed, a too-large video refused with why; a member fetches, an outsider not."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(START), materials={"max_attachment_bytes": 200_000})
    _roster(app, servers, tmp_path, ["member1"])
    coordinator = servers.address("coordinator")
    bank = servers.address("network+materiaalit")
    filing = question(
        coordinator, "Joukkoliikenteen tilastot 2026", "Tässä kalvot ja video.", to=bank
    )
    _with(filing, {"kalvot.pdf": ("application/pdf", SLIDES), "video.mp4": ("video/mp4", VIDEO)})
    _deliver(servers, filing, coordinator, bank)
    cycle(app)
    (receipt,) = servers.wait_for("coordinator", 1)
    assert "tallennettu 1 tiedosto, 1 liian suuri" in str(receipt["Subject"])
    text = _body(receipt)
    assert "1. Joukkoliikenteen tilastot 2026 - kalvot.pdf" in text
    assert "EI tallennettu" in text and "video.mp4 (293 kB)" in text
    assert "enintään 196 kB liitettä kohden" in text
    with app.db.transaction() as session:
        assert [m.filename for m in session.scalars(select(Material))] == ["kalvot.pdf"]

    member = servers.address("member1")
    _deliver(servers, question(member, "Materiaalit", ""), member, servers.address("network"))
    cycle(app)
    (index,) = servers.wait_for("member1", 1)
    assert "1. Joukkoliikenteen tilastot 2026 - kalvot.pdf" in _body(index)
    _deliver(servers, gmail_reply(index, member, "lähetä 1"), member, servers.address("network"))
    cycle(app)
    item = _find(servers, "member1", 2, "Materiaali 1")
    assert _files(item) == {"kalvot.pdf": SLIDES}

    outsider = servers.address("member9")
    _deliver(servers, question(outsider, "send 1", "Thanks!"), outsider, bank)
    cycle(app)
    (refusal,) = servers.wait_for("member9", 1)
    assert "for members" in str(refusal["Subject"]) and _files(refusal) == {}  # wrote English


def test_reply_to_event_preview_files_material_sent_after_the_event(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """LÄHETÄ with slides on the event's preview files them; the registrant gets them after."""
    servers = clean_mail
    clock = Clock.starting_at(START)
    app = make_app(clock=clock)
    _roster(app, servers, tmp_path, ["member1", "member2"])
    coordinator = servers.address("coordinator")
    form_to = servers.address("network+tapahtuma")
    form = "Otsikko: Kutsutaksit\nAika: 11.2.2027 klo 13-14\nLinkki: https://teams.example/l/1\n"
    _deliver(
        servers, question(coordinator, "Uusi webinaari", form, to=form_to), coordinator, form_to
    )
    cycle(app)
    (preview,) = servers.wait_for("coordinator", 1)
    reply = outlook_reply(preview, coordinator, "LÄHETÄ\n\nTerveisin\nKoordinaattori")
    _with(reply, {"ennakkomateriaali.pdf": ("application/pdf", SLIDES)})
    _deliver(servers, reply, coordinator, str(preview["Reply-To"]))
    cycle(app)
    receipt = _find(servers, "coordinator", 3, "Materiaalipankki")
    assert "Tapahtuma: Kutsutaksit" in _body(receipt)
    assert "tapahtuman päätyttyä" in _body(receipt)
    (invitation,) = servers.wait_for("member1", 1)
    assert "Kutsu: Kutsutaksit" in str(invitation["Subject"])

    member = servers.address("member1")
    _deliver(
        servers,
        gmail_reply(invitation, member, "Ilmoittaudun"),
        member,
        str(invitation["Reply-To"]),
    )
    cycle(app)
    servers.wait_for("member1", 2)

    clock.set(datetime(2027, 2, 11, 12, 30, tzinfo=UTC))  # 14:30 in Helsinki: it is over
    cycle(app)
    cycle(app)
    mail = _find(servers, "member1", 3, "Tilaisuuden materiaalit: Kutsutaksit")
    assert _files(mail) == {"ennakkomateriaali.pdf": SLIDES}
    assert not [m for m in servers.messages("member2") if "materiaalit" in str(m["Subject"])]
    clock.advance(timedelta(hours=2))
    cycle(app)
    with app.db.transaction() as session:
        (material,) = session.scalars(select(Material))
        assert material.delivery == "sent"
