"""The coordinator's daily digest and the members' weekly update by real mail, driven by
``mailer --now … run --once``: at the hour, once, caught up after a gap, none when empty."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness.servers import MailServers
from sqlalchemy import func, select

from mailer.app import App
from mailer.clock import Clock
from mailer.db.events import Event
from mailer.db.models import OutboxMessage, OutboxRecipient, Ticket
from mailer.roster import import_csv

from .conftest import AppFactory, cli_runner
from .mail import outlook_reply, question

pytestmark = pytest.mark.servers

SUNDAY = datetime(2027, 2, 7, 8, 0, tzinfo=UTC)  # Sunday 10:00 in Helsinki


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


@pytest.fixture
def run_at(clean_mail: MailServers, tmp_path: Path) -> Callable[[str], None]:
    return cli_runner(
        clean_mail,
        tmp_path,
        digests={"coordinator_hour": 7, "weekly": True},
        list={"digest_hour": 7, "weekly_digest_day": "monday"},
    )


def _app(make_app: AppFactory, tmp_path: Path, servers: MailServers, users: str) -> App:
    """The same database as ``run_at``, with the roster (``user:delivery`` pairs) in it."""
    app = make_app(database_url=f"sqlite:///{tmp_path / 'cli.db'}", clock=Clock.starting_at(SUNDAY))
    lines = ["email,name,organisation,language,delivery"]
    for n, pair in enumerate(users.split(), 1):
        user, _, delivery = pair.partition(":")
        lines.append(f"{servers.address(user)},Jäsen {n},Kunta {n},fi,{delivery or 'each'}")
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with app.db.transaction() as session:
        assert not import_csv(session, roster, "fi", app.clock.now()).errors
    return app


def _queued(app: App, kind: str, address: str | None = None) -> int:
    """How many copies of ``kind`` were ever queued (to ``address``): the never-twice check."""
    query = (
        select(func.count(OutboxRecipient.id))
        .join(OutboxMessage, OutboxMessage.id == OutboxRecipient.message_pk)
        .where(OutboxMessage.kind == kind)
    )
    if address is not None:
        query = query.where(OutboxRecipient.address == address)
    with app.db.transaction() as session:
        return session.scalar(query) or 0


def _arrived(servers: MailServers, user: str, subject: str, timeout: float = 30) -> EmailMessage:
    """The one message in ``user``'s inbox whose subject holds ``subject``, once it is there."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in servers.messages(user) if subject in str(m["Subject"])]
        if found or time.monotonic() > deadline:
            (message,) = found
            return message
        time.sleep(0.2)


def _ask(servers: MailServers, user: str, subject: str) -> None:
    before = len(servers.messages("network"))
    sender = servers.address(user)
    servers.send(question(sender, subject, "Miten teillä?"), sender, servers.address("network"))
    servers.wait_for("network", before + 1)


def test_coordinator_digest_at_the_hour_reply_gap_and_empty(
    clean_mail: MailServers,
    make_app: AppFactory,
    tmp_path: Path,
    run_at: Callable[[str], None],
) -> None:
    """At 07:00 once; ``#1 SULJE`` by reply closes; one after a gap; none when empty."""
    servers = clean_mail
    app = _app(make_app, tmp_path, servers, "member1")
    coordinator = servers.address("coordinator")
    run_at("2027-02-08 06:00")  # the daemon's first run: today's digest is at 07:00
    _ask(servers, "member1", "Koulukuljetusten kilpailutus")
    run_at("2027-02-08 06:30")
    servers.wait_for("coordinator", 1)  # the question itself
    run_at("2027-02-08 06:59")
    assert _queued(app, "coordinator-digest") == 0

    run_at("2027-02-08 07:00")
    digest = _arrived(servers, "coordinator", "päivän kooste")
    text = _body(digest)
    assert "UUDET KYSYMYKSET (1)" in text and "#1 Koulukuljetusten kilpailutus" in text
    assert "AVOIMET KYSYMYKSET, vanhin ensin (1)" in text
    run_at("2027-02-08 07:30")
    assert _queued(app, "coordinator-digest") == 1

    before = len(servers.messages("network"))
    reply = outlook_reply(digest, coordinator, "#1 SULJE\n\nTerveisin\nKoordinaattori")
    servers.send(reply, coordinator, str(digest["Reply-To"]))
    servers.wait_for("network", before + 1)
    run_at("2027-02-08 08:00")
    done = servers.wait_for("coordinator", 3)[2]
    assert "#1 Koulukuljetusten kilpailutus: suljettu" in _body(done)
    with app.db.transaction() as session:
        assert session.scalars(select(Ticket.state)).all() == ["closed"]

    _ask(servers, "member1", "Kutsutaksit")
    run_at("2027-02-08 09:00")
    servers.wait_for("coordinator", 4)
    run_at("2027-02-11 10:00")  # Thursday: the daemon was down since Monday
    run_at("2027-02-11 10:05")
    assert _queued(app, "coordinator-digest") == 2
    caught_up = servers.wait_for("coordinator", 5)[4]
    assert "#2 Kutsutaksit" in _body(caught_up) and "#2  3 pv" in _body(caught_up)

    with app.db.transaction() as session:
        ticket = session.get(Ticket, 2)
        assert ticket is not None
        ticket.state = "closed"
    run_at("2027-02-12 07:00")  # nothing new, nothing open
    assert _queued(app, "coordinator-digest") == 2


def test_weekly_update_at_the_hour_once_gap_opt_out_and_empty(
    clean_mail: MailServers,
    make_app: AppFactory,
    tmp_path: Path,
    run_at: Callable[[str], None],
) -> None:
    """Monday 07:00 once, posts in the same mail; gap caught up; opted out, empty: none."""
    servers = clean_mail
    app = _app(make_app, tmp_path, servers, "member1 member2:weekly member3 member4:none")
    coordinator = servers.address("coordinator")
    bank = servers.address("network+materiaalit")
    filing = question(coordinator, "Tilastokatsaus", "", to=bank)
    filing.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="t.pdf")
    lista = servers.address("network+lista")
    post = question(servers.address("member1"), "Kokemuksia kutsutakseista", "Miten?", to=lista)
    for msg, sender, to in ((filing, coordinator, bank), (post, servers.address("member1"), lista)):
        servers.send(msg, sender, to)
    servers.wait_for("network", 2)
    with app.db.transaction() as session:
        session.add(
            Event(
                uid="w1@example.test",
                kind="webinar",
                title="Kutsutaksit",
                starts_at=datetime(2027, 3, 4, 11, tzinfo=UTC),
                ends_at=datetime(2027, 3, 4, 12, tzinfo=UTC),
                feedback_at=datetime(2027, 3, 4, 13, tzinfo=UTC),
                feedback_closes_at=datetime(2027, 3, 18, tzinfo=UTC),
                state="open",
                created_at=SUNDAY,
                updated_at=SUNDAY,
            )
        )
    run_at("2027-02-07 10:00")  # Sunday: the material is filed, the post goes out
    run_at("2027-02-08 06:59")
    assert _queued(app, "weekly-digest") == 0

    run_at("2027-02-08 07:00")
    update = _arrived(servers, "member1", "viikkotiedote")
    text = _body(update)
    assert "Kutsutaksit - to 4.3.2027 klo 13.00" in text and "Et ole ilmoittautunut" in text
    assert "1. Tilastokatsaus - t.pdf" in text and "LISTAN VIESTIT" not in text
    (weekly,) = servers.wait_for("member2", 1)  # one mail: the update with the week's posts
    assert "LISTAN VIESTIT (1)" in _body(weekly) and "Kokemuksia kutsutakseista" in _body(weekly)
    servers.wait_for("member3", 2)
    run_at("2027-02-08 07:30")
    assert _queued(app, "weekly-digest") == 3
    assert _queued(app, "weekly-digest", servers.address("member4")) == 0  # a pause

    member3 = servers.address("member3")
    servers.send(question(member3, "ei viikkotiedotetta", ""), member3, servers.address("network"))
    servers.wait_for("network", 1)
    run_at("2027-02-08 09:00")
    assert "peruttu" in str(servers.wait_for("member3", 3)[2]["Subject"])

    run_at("2027-02-17 12:00")  # Wednesday of the next week: Monday's update was missed
    run_at("2027-02-17 12:05")
    assert _queued(app, "weekly-digest", servers.address("member1")) == 2
    assert _queued(app, "weekly-digest", servers.address("member3")) == 1  # opted out
    servers.wait_for("member1", 3)  # the post, the first update, the caught-up one

    with app.db.transaction() as session:
        event = session.scalars(select(Event)).one()
        event.state = "cancelled"
    run_at("2027-02-22 07:00")  # nothing upcoming, nothing new
    assert _queued(app, "weekly-digest") == 5
