"""Robots are never answered: auto-replies, bounces, our own mail, another instance."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from harness.servers import MailServers
from sqlalchemy import func, select

from mailer.db.models import Bounce, InboundMail, OutboxRecipient, Ticket

from .conftest import AppFactory, cycle
from .mail import question

pytestmark = pytest.mark.servers


def _auto_reply(sender: str, to: str, subject: str, headers: dict[str, str]) -> EmailMessage:
    msg = question(sender, subject, "Olen lomalla 1.12. asti. Kiireellisissä asioissa ...", to=to)
    for name, value in headers.items():
        msg[name] = value
    return msg


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("Automaattinen vastaus: Kysymys", {"Auto-Submitted": "auto-replied"}),
        ("Automatic reply: Question", {"X-Auto-Response-Suppress": "All"}),
        ("Out of Office: Question", {}),
        ("Viikkotiedote", {"Precedence": "bulk"}),
        ("Automatiskt svar: Fråga", {}),
    ],
)
def test_auto_replies_are_filed_not_answered(
    clean_mail: MailServers, make_app: AppFactory, subject: str, headers: dict[str, str]
) -> None:
    """An auto-reply or bulk mail makes no ticket and gets no answer; it is filed."""
    servers = clean_mail
    app = make_app()
    member = servers.address("member4")
    servers.send(
        _auto_reply(member, servers.address("network"), subject, headers),
        member,
        servers.address("network"),
    )
    servers.wait_for("network", 1)
    cycle(app)
    assert servers.messages("member4") == []
    assert servers.messages("coordinator") == []
    assert len(servers.messages("network", "Processed")) == 1
    with app.db.transaction() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 0
        (claim,) = session.scalars(select(InboundMail))
        assert claim.outcome == "filed" and claim.reason


def test_bounce_is_recorded_and_never_answered(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """Our acknowledgement to a dead address bounces; the bounce is recorded, not answered."""
    servers = clean_mail
    app = make_app()
    dead = servers.address("gone")
    servers.send(question(dead, "Kysymys", "Hei"), dead, servers.address("network"))
    servers.wait_for("network", 1)
    cycle(app)  # the acknowledgement goes out and bounces back to the network address
    servers.wait_for("network", 1, timeout=60)
    cycle(app)
    with app.db.transaction() as session:
        bounces = list(session.scalars(select(Bounce)))
        assert [b.address for b in bounces] == [dead]
        assert bounces[0].permanent
        assert session.scalar(select(func.count(Ticket.id))) == 1
    assert len(servers.messages("coordinator")) == 1  # the forward only, no bounce relayed
    assert len(servers.messages("network", "Processed")) == 2


def test_own_mail_coming_back_is_filed(clean_mail: MailServers, make_app: AppFactory) -> None:
    """Mail with our own X-Mailer-Loop is filed silently; our address never gets an ack."""
    servers = clean_mail
    app = make_app()
    network = servers.address("network")
    servers.send(question(network, "Väärennetty lähettäjä", "Hei"), network, network)
    servers.wait_for("network", 1)
    cycle(app)
    # a question "from" our own address reaches the coordinator, but is not acknowledged
    assert len(servers.messages("coordinator")) == 1
    assert servers.messages("network") == []
    forward = servers.messages("coordinator")[0]
    servers.send(forward.as_bytes(), network, network)  # our own mail comes back
    servers.wait_for("network", 1)
    cycle(app)
    assert len(servers.messages("coordinator")) == 1
    with app.db.transaction() as session:
        claims = list(session.scalars(select(InboundMail).order_by(InboundMail.id)))
        assert claims[-1].outcome == "filed"
        assert "own" in claims[-1].reason
        assert session.scalar(select(func.count(Ticket.id))) == 1


def test_two_instances_pointed_at_each_other(clean_mail: MailServers, make_app: AppFactory) -> None:
    """Two services writing to each other exchange at most one message each, then stop."""
    servers = clean_mail
    first = make_app()
    second = make_app(user="network2", coordinators=("coordinator2",))
    a, b = servers.address("network"), servers.address("network2")
    servers.send(question(b, "Hei toinen palvelu", "Tämä on silmukka?"), b, a)
    for _ in range(4):
        cycle(first)
        cycle(second)
    to_second = [
        m
        for m in servers.messages("network2", "Processed")
        if m["From"].addresses[0].addr_spec == a
    ]
    to_first = [
        m for m in servers.messages("network", "Processed") if m["From"].addresses[0].addr_spec == b
    ]
    assert len(to_second) <= 1
    assert len(to_first) <= 1
    assert servers.messages("network") == [] and servers.messages("network2") == []


def test_auto_responder_without_headers_does_not_loop(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """A responder with no Auto-Submitted, no thread and always the same words, answering
    every mail we send it: the exchange ends after the limit and one notice."""
    servers = clean_mail
    app = make_app(security={"auto_reply_limit_per_day": 2})
    network, responder = servers.address("network"), servers.address("member5")
    servers.send(question(responder, "Lomalla", "Olen lomalla 7.1. asti."), responder, network)
    answered = 0
    for _ in range(8):
        servers.wait_for("network", 1)
        cycle(app)
        with app.db.transaction() as session:
            sent = session.scalar(
                select(func.count(OutboxRecipient.id)).where(OutboxRecipient.address == responder)
            )
        if sent == answered:
            break
        servers.wait_for("member5", sent or 0)
        for _ in range((sent or 0) - answered):
            away = question(responder, "Lomalla", "Olen lomalla 7.1. asti.")
            servers.send(away, responder, network)
        answered = sent or 0
    assert answered == 1 + 2 + 1  # the first, two repeats, the notice
    assert servers.messages("network") == []
