"""The question queue end to end: real SMTP into real IMAP, replies as clients write them."""

from __future__ import annotations

import json
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness.servers import MailServers
from sqlalchemy import select

from mailer.cli import main
from mailer.db.models import Member, Ticket
from mailer.roster import organisation

from .conftest import AppFactory, cycle
from .mail import gmail_reply, outlook_reply, question

pytestmark = pytest.mark.servers


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _add_member(app: object, email: str, name: str, org: str, language: str) -> None:
    from mailer.app import App

    assert isinstance(app, App)
    now = app.clock.now()
    with app.db.transaction() as session:
        session.add(
            Member(
                email=email,
                name=name,
                organisation=organisation(session, org, now),
                language=language,
                created_at=now,
                updated_at=now,
            )
        )


def test_question_answer_follow_up_close(clean_mail: MailServers, make_app: AppFactory) -> None:
    """A member's question is acknowledged and forwarded; the Outlook answer reaches the
    member without the quote; a follow-up joins the ticket; SULJE closes it."""
    servers = clean_mail
    app = make_app()
    member = servers.address("member1")
    _add_member(app, member, "Liisa Laine", "Uusikaupunki", "fi")

    servers.send(
        question(
            member,
            "Koulukuljetusten kilpailutus",
            "Hei,\n\nonko kokemusta yhteiskilpailutuksesta?\n\nTerveisin\nLiisa",
            name="Liisa Laine",
        ),
        member,
        servers.address("network"),
    )
    servers.wait_for("network", 1)
    cycle(app)

    (ack,) = servers.wait_for("member1", 1)
    assert ack["From"].addresses[0].addr_spec == servers.address("network")
    assert "[#1]" in ack["Subject"]
    assert "viite #1" in _body(ack)
    assert ack["Auto-Submitted"] == "auto-replied"
    (forward,) = servers.wait_for("coordinator", 1)
    assert "[#1]" in forward["Subject"]
    text = _body(forward)
    assert "Liisa Laine" in text and "Uusikaupunki" in text and "yhteiskilpailutuksesta" in text
    assert re.match(r"network\+r-t1-[a-z2-7]{10}@example\.test", str(forward["Reply-To"]))
    assert servers.messages("network") == []
    assert len(servers.messages("network", "Processed")) == 1

    answer = outlook_reply(
        forward,
        servers.address("coordinator"),
        "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä.\n\nTerveisin\nKoordinaattori",
    )
    answer.add_attachment(
        b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="tarjouspyynto.pdf"
    )
    servers.send(answer, servers.address("coordinator"), str(forward["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)

    messages = servers.wait_for("member1", 2)
    relayed = messages[1]
    body = _body(relayed)
    assert relayed["From"].addresses[0].addr_spec == servers.address("network")
    assert "[#1]" in relayed["Subject"]
    assert "Akaa kilpailutti molemmat yhdessä." in body
    assert "Terveisin\nKoordinaattori" in body
    assert "Lähettäjä:" not in body and "Vastaanottaja:" not in body
    assert "yhteiskilpailutuksesta" not in body
    assert [p.get_filename() for p in relayed.iter_attachments()] == ["tarjouspyynto.pdf"]
    assert relayed["In-Reply-To"] == ack["Message-ID"]

    follow = gmail_reply(relayed, member, "Kiitos! Onko heillä myös sopimusmalli?")
    servers.send(follow, member, str(relayed["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    coordinator_mail = servers.wait_for("coordinator", 2)
    assert "sopimusmalli" in _body(coordinator_mail[1])
    assert "[#1]" in coordinator_mail[1]["Subject"]
    assert "kirjoitti:" not in _body(coordinator_mail[1])

    close = gmail_reply(coordinator_mail[1], servers.address("coordinator"), "SULJE")
    servers.send(close, servers.address("coordinator"), str(coordinator_mail[1]["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    with app.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.state == "closed"
        assert ticket.first_answered_at is not None
    assert len(servers.messages("member1")) == 2  # nothing more went to the member
    assert len(servers.messages("network", "Processed")) == 4


@pytest.mark.parametrize(
    ("language", "greeting"),
    [
        ("sv", "Din fråga har tagits emot, referens #1."),
        ("en", "Your question has been received, reference #1."),
    ],
)
def test_acknowledgement_in_members_language(
    clean_mail: MailServers, make_app: AppFactory, language: str, greeting: str
) -> None:
    """The acknowledgement is written in the member's roster language."""
    servers = clean_mail
    app = make_app()
    member = servers.address("member2")
    _add_member(app, member, "Anders Berg", "Jakobstad", language)
    servers.send(question(member, "Fråga", "Hej"), member, servers.address("network"))
    servers.wait_for("network", 1)
    cycle(app)
    (ack,) = servers.wait_for("member2", 1)
    assert greeting in _body(ack)


def test_unknown_sender_still_becomes_a_question(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """Mail from someone not on the roster, with no reference, is a question; nothing drops."""
    servers = clean_mail
    app = make_app()
    stranger = servers.address("member9")
    servers.send(
        question(
            stranger,
            "Question about demand-responsive transport",
            "Hello, how do you report the trips? Thanks",
        ),
        stranger,
        servers.address("network"),
    )
    servers.wait_for("network", 1)
    cycle(app)
    (ack,) = servers.wait_for("member9", 1)
    assert "Your question has been received" in _body(ack)
    (forward,) = servers.wait_for("coordinator", 1)
    assert "not on the roster" in _body(forward) or "ei jäsenrekisterissä" in _body(forward)


def test_forged_answer_from_a_member_is_not_relayed(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """A third party replying with a ticket's token is a new question, never an answer."""
    servers = clean_mail
    app = make_app()
    asker, other = servers.address("member1"), servers.address("member2")
    servers.send(
        question(asker, "Tilastot", "Miten raportoitte?"), asker, servers.address("network")
    )
    servers.wait_for("network", 1)
    cycle(app)
    (forward,) = servers.wait_for("coordinator", 1)
    forged = outlook_reply(forward, other, "Tämä on väärennetty vastaus")
    servers.send(forged, other, str(forward["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    assert len(servers.messages("member1")) == 1  # only the acknowledgement
    with app.db.transaction() as session:
        assert [t.requester_email for t in session.scalars(select(Ticket))] == [asker, other]


def test_reopen_and_queue_listing(
    clean_mail: MailServers,
    make_app: AppFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """CLOSE then REOPEN from English Outlook; `mailer queue list --json` shows state and age."""
    servers = clean_mail
    app = make_app()
    member = servers.address("member3")
    servers.send(question(member, "Reporting", "How?"), member, servers.address("network"))
    servers.wait_for("network", 1)
    cycle(app)
    (forward,) = servers.wait_for("coordinator", 1)
    for n, word in enumerate(["CLOSE", "REOPEN"], start=1):
        servers.send(
            outlook_reply(forward, servers.address("coordinator"), word, language="en"),
            servers.address("coordinator"),
            str(forward["Reply-To"]),
        )
        servers.wait_for("network", 1)
        cycle(app)
        servers.wait_for("coordinator", 1 + n)
    config = app.settings
    assert config.source is None
    toml = tmp_path / "queue.toml"
    toml.write_text(
        '[network]\naddress = "network@example.test"\n'
        'coordinators = ["coordinator@example.test"]\n'
        '[maildir]\npath = "unused"\n[smtp]\nhost = "127.0.0.1"\n'
        f'[database]\nurl = "{config.database_url}"\n'
    )
    assert main(["--config", str(toml), "queue", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["ref"], r["state"]) for r in rows] == [(1, "open")]
    assert rows[0]["age_seconds"] >= 0
