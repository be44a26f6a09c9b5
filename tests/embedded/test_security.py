"""Only a coordinator's mail becomes an answer, and only as far as the server vouches."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from sqlalchemy import select

from mailer.db.models import Ticket

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]
MX = "mx.example.test"


def _ask(env: Embedded) -> EmailMessage:
    env.deliver(b"From: Liisa <liisa@example.test>\nSubject: Tilastot\n\nMiten?\n")
    env.cycle()
    (forward,) = env.received(COORDINATOR)
    return forward


def _answer(forward: EmailMessage, auth_results: str | None) -> bytes:
    head = f"From: {COORDINATOR}\nTo: {forward['Reply-To']}\nSubject: RE: {forward['Subject']}\n"
    if auth_results:
        head += f"Authentication-Results: {auth_results}\n"
    return (head + "\nNäin raportoidaan.\n").encode()


def _state(env: Embedded) -> list[tuple[str, str]]:
    with env.app.db.transaction() as session:
        return [(t.requester_email, t.state) for t in session.scalars(select(Ticket))]


def test_answer_without_trusted_authentication_is_not_relayed(embedded: Build) -> None:
    """With trusted_authserv_id set, a coordinator From without a pass is no answer."""
    env = embedded(security={"trusted_authserv_id": MX})
    forward = _ask(env)
    env.deliver(
        _answer(forward, "evil.example.test; dmarc=pass header.from=example.test"),
        to=str(forward["Reply-To"]),
    )
    env.cycle()
    assert len(env.received("liisa@example.test")) == 1  # the acknowledgement only
    assert _state(env) == [("liisa@example.test", "open"), (COORDINATOR, "open")]


def test_answer_with_trusted_dmarc_pass_is_relayed(embedded: Build) -> None:
    """A DMARC pass from the trusted server makes the coordinator's reply the answer."""
    env = embedded(security={"trusted_authserv_id": MX})
    forward = _ask(env)
    env.deliver(
        _answer(forward, f"{MX}; dmarc=pass header.from=example.test"), to=str(forward["Reply-To"])
    )
    env.cycle()
    assert len(env.received("liisa@example.test")) == 2
    assert _state(env) == [("liisa@example.test", "answered")]
    assert NETWORK
