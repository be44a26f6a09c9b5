"""Robots and loops on embedded parts: what must be filed, never answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailer.db.events import Registration
from mailer.db.models import InboundMail, Ticket
from mailer.events import manage
from mailer.events.spec import read_spec
from mailer.jobs import job_context
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]
MEMBER = "jasen11@kunta11.example.test"
TODAY = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Helsinki"))


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def _member(env: Embedded, address: str = MEMBER) -> None:
    with env.app.db.transaction() as session:
        add_member(
            session,
            address,
            name="Jäsen 11",
            organisation_name="Kunta 11",
            language="fi",
            delivery="each",
            now=env.app.clock.now(),
        )


def _invitation(env: Embedded) -> EmailMessage:
    values = {"title": "Asiointiliikenne", "time": "19.1.2027 klo 13-14", "link": "https://x.test"}
    with env.app.db.transaction() as session:
        ctx = job_context(env.app, session)
        spec, problems = read_spec(values, env.app.settings, ctx.now)
        assert spec is not None and not problems
        manage.open_event(ctx, manage.create(ctx, spec))
    env.cycle()
    (invitation,) = env.received(MEMBER)
    return invitation


def _claims(env: Embedded) -> list[InboundMail]:
    with env.app.db.transaction() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def test_out_of_office_without_headers_to_an_invitation_is_filed(embedded: Build) -> None:
    """An Outlook out-of-office ("Poissa: Kutsu: …", "Olen lomalla…") without headers gets
    no "Did you mean to register?" and registers nobody; it is filed with the reason."""
    env = embedded()
    env.app.clock.set(TODAY)
    _member(env)
    invitation = _invitation(env)
    env.deliver(
        (
            f"From: Jäsen 11 <{MEMBER}>\nTo: {invitation['Reply-To']}\n"
            f"Subject: Poissa: {invitation['Subject']}\n"
            f"In-Reply-To: {invitation['Message-ID']}\nContent-Type: text/plain; charset=utf-8\n\n"
            "Olen lomalla 7.1.2027 asti. Kiireellisissä asioissa ota yhteyttä vaihteeseen "
            "p. 03 123 456.\n"
        ).encode(),
        to=str(invitation["Reply-To"]),
    )
    env.cycle()
    assert len(env.received(MEMBER)) == 1
    assert [m for m in env.received(COORDINATOR) if "Poissa" in _text(m)] == []
    with env.app.db.transaction() as session:
        assert list(session.scalars(select(Registration))) == []
    claim = _claims(env)[-1]
    assert claim.outcome == "filed" and "automatic" in claim.reason


def _tickets(env: Embedded) -> list[Ticket]:
    with env.app.db.transaction() as session:
        return list(session.scalars(select(Ticket)))


@pytest.mark.parametrize(
    ("subject", "body", "named"),
    [
        ("VS: Kutsu: Asiointiliikenne", "LÄHETÄ\n\nKoordinaattori", "LÄHETÄ"),
        ("RE: Viikkopalaveri", "Kiitos, käydään tämä läpi torstaina.\n\nTerveisin\nK", ""),
        (
            "VL: Kysymys koulukuljetuksista",
            "\n\n________________________________\nLähettäjä: Liisa <liisa@example.test>\n"
            "Aihe: Kysymys koulukuljetuksista\n\nMiten te kilpailutatte?\n",
            "",
        ),
    ],
)
def test_coordinator_mail_tied_to_nothing_gets_help_not_a_ticket(
    embedded: Build, subject: str, body: str, named: str
) -> None:
    """No ticket in her own queue and no acknowledgement to herself: a short help on what
    she can do by mail, and the mail is filed with the reason."""
    env = embedded()
    env.deliver(
        f"From: Koordinaattori <{COORDINATOR}>\nTo: {NETWORK}\nSubject: {subject}\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}".encode()
    )
    env.cycle()
    assert _tickets(env) == []
    (help_,) = env.received(COORDINATOR)
    text = _text(help_)
    assert "verkosto+tapahtuma@example.test" in text and "vastaanotettu" not in text
    assert ("Sana LÄHETÄ toimii vain" in text) == bool(named)
    (claim,) = _claims(env)
    assert claim.outcome == "filed" and "coordinator" in claim.reason


def test_coordinator_address_failing_authentication_gets_no_acknowledgement(
    embedded: Build,
) -> None:
    """A mail in her name the server does not vouch for stays a question she can see, but
    the service never acknowledges a question to a coordinator's own address."""
    env = embedded(security={"trusted_authserv_id": "mx.example.test"})
    env.deliver(f"From: {COORDINATOR}\nTo: {NETWORK}\nSubject: Kysymys\n\nHei\n".encode())
    env.cycle()
    assert [t.requester_email for t in _tickets(env)] == [COORDINATOR]
    (forward,) = env.received(COORDINATOR)
    assert "vastaanotettu" not in _text(forward)
