"""A shared answer end to end over real Postfix and Dovecot: a member asks, the coordinator
answers with JULKAISE, confirms the preview with LÄHETÄ, the list gets it, the weekly
update lists it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from harness.servers import MailServers
from sqlalchemy import select

from mailer.app import App
from mailer.clock import Clock
from mailer.db.models import Member, TicketEvent
from mailer.db.shared_answers import SharedAnswer
from mailer.roster import organisation

from .conftest import AppFactory, cycle
from .mail import gmail_reply, outlook_reply, question

pytestmark = pytest.mark.servers

SUNDAY = datetime(2027, 2, 7, 8, 0, tzinfo=UTC)  # Sunday 10:00 in Helsinki
MONDAY = datetime(2027, 2, 8, 5, 5, tzinfo=UTC)  # Monday 07:05: the weekly update is due
QUESTION = (
    "Hei,\n\nmeillä Uudessakaupungissa mietitään koulukuljetusten ja asiointiliikenteen "
    "yhteiskilpailutusta. Onko jollakin kokemusta?\n\nYstävällisin terveisin\nLiisa Laine\n"
    "liikennesuunnittelija\nUudenkaupungin kaupunki\npuh. 040 123 4567\n"
)
ANSWER = (
    "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä vuonna 2025. Sopimuskausi on neljä "
    "vuotta.\n\nTerveisin\nKoordinaattori\n\nJULKAISE"
)
PERSONAL = ("Liisa", "Laine", "member1", "040 123", "Uusikaupunki", "Uudessakaupungissa")


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _roster(app: App, servers: MailServers) -> None:
    now = app.clock.now()
    with app.db.transaction() as session:
        for user, name, org, delivery in (
            ("member1", "Liisa Laine", "Uusikaupunki", "each"),
            ("member2", "Anna Aho", "Akaa", "each"),
            ("member3", "Bo Berg", "Jakobstad", "weekly"),
        ):
            session.add(
                Member(
                    email=servers.address(user),
                    name=name,
                    organisation=organisation(session, org, now),
                    language="fi",
                    delivery=delivery,
                    created_at=now,
                    updated_at=now,
                    last_weekly_digest_at=now,
                )
            )


def _deliver(servers: MailServers, app: App, msg: EmailMessage, sender: str, to: str) -> None:
    before = len(servers.messages("network"))
    servers.send(msg, sender, to)
    servers.wait_for("network", before + 1)
    cycle(app)


def test_publish_confirm_list_and_weekly(clean_mail: MailServers, make_app: AppFactory) -> None:
    """JULKAISE → preview → LÄHETÄ: each-post members get the list copy without personal
    data; the weekly update names it; the ticket records it."""
    servers = clean_mail
    app = make_app(
        clock=Clock.starting_at(SUNDAY),
        digests={"weekly": True},
        list={"digest_hour": 7, "weekly_digest_day": "monday"},
    )
    _roster(app, servers)
    member, coordinator = servers.address("member1"), servers.address("coordinator")
    ask = question(member, "Koulukuljetusten kilpailutus", QUESTION, name="Liisa Laine")
    _deliver(servers, app, ask, member, servers.address("network"))
    (forward,) = servers.wait_for("coordinator", 1)

    reply = outlook_reply(forward, coordinator, ANSWER)
    _deliver(servers, app, reply, coordinator, str(forward["Reply-To"]))
    _ack, answer = servers.wait_for("member1", 2)
    assert "Akaa kilpailutti molemmat" in _body(answer) and "JULKAISE" not in _body(answer)
    preview = servers.wait_for("coordinator", 2)[1]
    assert str(preview["Subject"]).startswith("Esikatselu, jaettu vastaus:")
    assert preview["To"] == coordinator
    assert "meillä [kunta] mietitään" not in _body(preview)  # a new sentence: capitalised
    assert "Meillä [kunta] mietitään" in _body(preview)
    assert len(servers.messages("member2")) == 0  # nothing to the list before LÄHETÄ

    confirm = gmail_reply(preview, coordinator, "LÄHETÄ")
    _deliver(servers, app, confirm, coordinator, str(preview["Reply-To"]))
    (copy,) = servers.wait_for("member2", 1)
    assert copy["List-Id"] == "Verkosto <network.example.test>"
    assert copy["List-Post"] == f"<mailto:{servers.address('network+lista')}>"
    assert "List-Unsubscribe" in copy and copy["Precedence"] == "list"
    assert copy["Return-Path"].startswith("<network+bounce-b")  # VERP, as for every post
    assert str(copy["Subject"]) == "[Verkosto] Jaettu vastaus: Koulukuljetusten kilpailutus"
    body = _body(copy)
    assert "KYSYMYS" in body and "Onko jollakin kokemusta?" in body
    assert "Akaa kilpailutti molemmat yhdessä vuonna 2025." in body
    assert "Eroa listalta" in body
    assert not [p for p in PERSONAL if p in body]
    assert "Jaettu vastaus:" in str(servers.wait_for("member1", 3)[2]["Subject"])
    receipt = servers.wait_for("coordinator", 3)[2]
    assert "Se lähti 2 jäsenelle, ja 1 jäsen saa sen koosteessaan." in _body(receipt)
    assert servers.messages("member3") == []  # a weekly reader: in the update
    with app.db.transaction() as session:
        (shared,) = session.scalars(select(SharedAnswer)).all()
        assert shared.state == "published" and shared.list_post_id is not None
        assert session.scalars(
            select(TicketEvent.kind).where(TicketEvent.kind == "publish")
        ).all() == ["publish"]

    app.clock.set(MONDAY)
    cycle(app)
    (weekly,) = servers.wait_for("member3", 1)
    text = _body(weekly)
    assert "UUDET JAETUT VASTAUKSET\n  - Koulukuljetusten kilpailutus\n" in text
    assert "LISTAN VIESTIT (1)" in text and "Akaa kilpailutti molemmat" in text
    assert not [p for p in PERSONAL if p in text]
    update = [m for m in servers.wait_for("member2", 2) if "viikkotiedote" in str(m["Subject"])]
    assert "UUDET JAETUT VASTAUKSET" in _body(update[0])
