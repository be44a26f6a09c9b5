"""Robots and loops on embedded parts: what must be filed, never answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailer.db.events import Registration
from mailer.db.models import InboundMail
from mailer.events import manage
from mailer.events.spec import read_spec
from mailer.jobs import job_context
from mailer.roster import add_member

from .conftest import COORDINATOR, Embedded

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
