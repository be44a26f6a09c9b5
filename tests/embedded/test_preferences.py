"""Preferences by one-line mail: delivery mode, language, help; each confirmed back."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailer.db.models import Member
from mailer.roster import add_member

from .conftest import Embedded

Build = Callable[..., Embedded]
WHO = "liisa@uusikaupunki.example.test"


def _with_member(build: Build, language: str = "fi") -> Embedded:
    env = build()
    with env.app.db.transaction() as session:
        add_member(
            session,
            WHO,
            name="Liisa",
            organisation_name="Uusikaupunki",
            language=language,
            delivery="each",
            now=env.app.clock.now(),
        )
    return env


def _member(env: Embedded) -> Member:
    with env.app.db.transaction() as session:
        return session.scalars(select(Member).where(Member.email == WHO)).one()


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


@pytest.mark.parametrize(
    ("subject", "body", "mode"),
    [
        ("päivittäin", "", "daily"),
        ("VS: viikoittain", "", "weekly"),
        ("Re: ei viestejä", "", "none"),
        ("", "Dagligen\n\nMed vänliga hälsningar\nLiisa", "daily"),
        ("SV: weekly digest", "--\nLiisa Laine\np. 040 123 4567", "weekly"),
        ("Viikoittain, kiitos", "", "weekly"),
        ("", "Päivittäin kiitos\n\nTerveisin\nLiisa", "daily"),
    ],
)
def test_delivery_mode_by_mail(embedded: Build, subject: str, body: str, mode: str) -> None:
    """The delivery mode changes and the member is told, whatever the prefix or signature."""
    env = _with_member(embedded)
    env.deliver(f"From: {WHO}\nSubject: {subject}\n\n{body}\n".encode())
    env.cycle()
    assert _member(env).delivery == mode
    (told,) = env.received(WHO)
    assert "toimitustapa" in str(told["Subject"]).lower()


@pytest.mark.parametrize("subject", ["Eroa listalta kiitos", "unsubscribe please", "Tack, avsluta"])
def test_leave_with_a_courtesy_word(embedded: Build, subject: str) -> None:
    """A "kiitos" / "please" / "tack" around the command still takes the member off the list."""
    env = _with_member(embedded)
    env.deliver(f"From: {WHO}\nSubject: {subject}\n\n".encode())
    env.cycle()
    assert not _member(env).subscribed
    (told,) = env.received(WHO)
    assert "listalta" in _text(told).lower() or "listan" in _text(told).lower()


def test_language_change_is_confirmed_in_the_new_language(embedded: Build) -> None:
    """'kieli sv' switches to Swedish and the confirmation is already Swedish."""
    env = _with_member(embedded)
    env.deliver(f"From: {WHO}\nSubject: kieli sv\n\n".encode())
    env.cycle()
    assert _member(env).language == "sv"
    (told,) = env.received(WHO)
    assert "svenska" in _text(told).lower()


def test_unknown_language_is_answered(embedded: Build) -> None:
    """'kieli klingon' changes nothing and says which languages exist."""
    env = _with_member(embedded)
    env.deliver(f"From: {WHO}\nSubject: kieli klingon\n\n".encode())
    env.cycle()
    assert _member(env).language == "fi"
    (told,) = env.received(WHO)
    assert "kieli sv" in _text(told)


@pytest.mark.parametrize(
    ("word", "marker"), [("ohje", "liity"), ("hjälp", "prenumerera"), ("help", "subscribe")]
)
def test_help_in_the_language_asked(embedded: Build, word: str, marker: str) -> None:
    """Help comes back in the language of the word, also to non-members."""
    env = embedded()
    env.deliver(f"From: stranger@example.test\nSubject: {word}\n\n".encode())
    env.cycle()
    (told,) = env.received("stranger@example.test")
    assert marker in _text(told).lower()


def test_preference_from_a_non_member_is_answered(embedded: Build) -> None:
    """A non-member asking for daily digests is told they are not on the list."""
    env = embedded()
    env.deliver(b"From: stranger@example.test\nSubject: paivittain\n\n")
    env.deliver("From: stranger@example.test\nSubject: päivittäin\n\n".encode())
    env.cycle()
    received = env.received("stranger@example.test")
    assert any("ei ole listalla" in str(m["Subject"]) for m in received)


def test_mime_digest_option(embedded: Build) -> None:
    """With mime_digest the digest carries each post as message/rfc822 in multipart/digest."""
    from datetime import timedelta

    env = embedded(list={"mime_digest": True, "digest_hour": 7})
    with env.app.db.transaction() as session:
        add_member(
            session,
            WHO,
            name="Liisa",
            organisation_name="",
            language="fi",
            delivery="daily",
            now=env.app.clock.now() - timedelta(days=2),
        )
        add_member(
            session,
            "poster@example.test",
            name="P",
            organisation_name="",
            language="fi",
            delivery="each",
            now=env.app.clock.now(),
        )
    env.deliver(
        b"From: poster@example.test\nSubject: Postaus\n\nSisalto\n",
        to="verkosto+lista@example.test",
    )
    env.cycle()
    env.app.clock.advance(timedelta(days=1))
    env.cycle()
    digests = [m for m in env.received(WHO) if "viestit" in str(m["Subject"])]
    assert len(digests) == 1
    kinds = [p.get_content_type() for p in digests[0].walk()]
    assert "multipart/digest" in kinds and "message/rfc822" in kinds
