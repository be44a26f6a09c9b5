"""The same round trip with the database on the local PostgreSQL."""

from __future__ import annotations

import pytest
from harness.servers import MailServers
from sqlalchemy import select

from mailer.db.models import Ticket

from .conftest import AppFactory, cycle
from .mail import outlook_reply, question

pytestmark = [pytest.mark.servers, pytest.mark.postgres]


def test_round_trip_on_postgresql(
    clean_mail: MailServers, make_app: AppFactory, postgres_url: str
) -> None:
    """Question, acknowledgement, forward and the coordinator's answer, state in PostgreSQL."""
    servers = clean_mail
    app = make_app(database_url=postgres_url)
    assert app.db.engine.dialect.name == "postgresql"
    member = servers.address("member5")
    servers.send(
        question(member, "Asiointiliikenne", "Miten järjestätte?"),
        member,
        servers.address("network"),
    )
    servers.wait_for("network", 1)
    cycle(app)
    (ack,) = servers.wait_for("member5", 1)
    assert "[#1]" in ack["Subject"]
    (forward,) = servers.wait_for("coordinator", 1)
    servers.send(
        outlook_reply(forward, servers.address("coordinator"), "Kutsutaksilla."),
        servers.address("coordinator"),
        str(forward["Reply-To"]),
    )
    servers.wait_for("network", 1)
    cycle(app)
    answer = servers.wait_for("member5", 2)[1]
    assert "Kutsutaksilla." in answer.get_body(preferencelist=("plain",)).get_content()
    with app.db.transaction() as session:
        assert session.scalars(select(Ticket.state)).one() == "answered"
    app.db.upgrade()  # migrating an up-to-date schema again is a no-op
