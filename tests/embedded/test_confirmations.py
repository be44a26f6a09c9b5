"""Replies to a join or erasure confirmation: yes or neutral does it, no cancels, a hedge is
asked back — the way people answer from Outlook, Gmail or a phone."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select

from mailer.db.models import Member, Request
from mailer.roster import add_member

from .conftest import NETWORK, Embedded

Build = Callable[..., Embedded]
PAULA = "paula@salo.example.test"


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def _outlook_reply(to: EmailMessage, sender: str, text: str) -> bytes:
    """Outlook desktop (Finnish): the answer on top, the original under a header block."""
    return (
        f"From: Paula <{sender}>\nTo: {to['Reply-To']}\nSubject: VS: {to['Subject']}\n"
        f"In-Reply-To: {to['Message-ID']}\nMessage-ID: {make_msgid(domain='salo.example.test')}\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        f"{text}\n\n________________________________\nLähettäjä: {to['From']}\n"
        f"Lähetetty: tiistai 1. joulukuuta 2026 10.01\nVastaanottaja: {sender}\n"
        f"Aihe: {to['Subject']}\n\n{_text(to)}\n"
    ).encode()


def _one_new(env: Embedded, raw: bytes, to: str = NETWORK) -> EmailMessage:
    """Deliver one mail, run a cycle, and return the one mail that came back to Paula."""
    seen = {str(m["Message-ID"]) for m in env.received(PAULA)}
    env.deliver(raw, to=to)
    env.cycle()
    (new,) = [m for m in env.received(PAULA) if str(m["Message-ID"]) not in seen]
    return new


def _answer(env: Embedded, to: EmailMessage, text: str) -> EmailMessage:
    return _one_new(env, _outlook_reply(to, PAULA, text), to=str(to["Reply-To"]))


def _join(env: Embedded, subject: str = "Tilaa lista") -> EmailMessage:
    return _one_new(env, f"From: Paula <{PAULA}>\nSubject: {subject}\n\nHei! Paula\n".encode())


def _members(env: Embedded) -> list[str]:
    with env.app.db.transaction() as session:
        return [m.email for m in session.scalars(select(Member).where(Member.subscribed))]


def _requests(env: Embedded) -> list[str]:
    with env.app.db.transaction() as session:
        return [r.state for r in session.scalars(select(Request).order_by(Request.id))]


def test_no_thanks_to_the_join_confirmation_adds_nobody(embedded: Build) -> None:
    """An Outlook reply "Ei kiitos, en pyytänyt tätä." gets a short "not added", no welcome."""
    env = embedded()
    reply = _answer(env, _join(env), "Ei kiitos, en pyytänyt tätä.")
    assert "ei lisätty" in _text(reply)
    assert _members(env) == [] and _requests(env) == ["declined"]
    assert len(env.received(PAULA)) == 2


def test_swedish_and_english_no_cancel_too(embedded: Build) -> None:
    """Swedish "Nej tack" and English "No thanks, I didn't ask for this" cancel it too."""
    env = embedded()
    assert "ei lisätty" in _text(_answer(env, _join(env), "Nej tack"))
    _answer(env, _join(env, "subscribe"), "No thanks, I didn't ask for this.")
    assert _members(env) == [] and _requests(env) == ["declined", "declined"]


def test_an_unsure_reply_is_asked_back_and_the_next_answer_decides(embedded: Build) -> None:
    """A bare question ("Mikä lista tämä on?") is neither: the request waits, the question
    comes back with the same reference, and "Kyllä" to that question subscribes."""
    env = embedded()
    asked = _answer(env, _join(env), "Mikä lista tämä on? En muista pyytäneeni.")
    assert "kyllä - liityn listalle" in _text(asked)
    assert _members(env) == [] and _requests(env) == ["pending"]
    welcome = _answer(env, asked, "Kyllä")
    assert "Tervetuloa" in str(welcome["Subject"]) or "Tervetuloa" in _text(welcome)
    assert _members(env) == [PAULA]


def test_an_empty_or_neutral_reply_confirms(embedded: Build) -> None:
    """Double opt-in needs only a reply: a bare reply with the quoted request subscribes."""
    env = embedded()
    _answer(env, _join(env), "")
    assert _members(env) == [PAULA] and _requests(env) == ["done"]


def test_erasure_no_keeps_the_data_and_says_so(embedded: Build) -> None:
    """An erasure request, then "Ei, älkää poistako": nothing erased, and the member is told;
    a hedge is asked back; a yes erases."""
    env = embedded()
    with env.app.db.transaction() as session:
        add_member(
            session,
            PAULA,
            name="Paula",
            organisation_name="Salo",
            language="fi",
            delivery="each",
            now=env.app.clock.now(),
        )
    erase = f"From: {PAULA}\nTo: {NETWORK}\nSubject: poista tietoni\n\n".encode()
    kept = _answer(env, _one_new(env, erase), "Ei, älkää poistako.")
    assert "ei poistettu" in _text(kept) and _members(env) == [PAULA]
    asked = _answer(env, _one_new(env, erase), "En ole varma")
    assert "kyllä - poistakaa tietoni" in _text(asked) and _members(env) == [PAULA]
    assert "poistettu" in _text(_answer(env, asked, "Kyllä, poistakaa"))
    assert _members(env) == []


def test_a_confirmation_sent_to_the_plain_address_without_thread_headers_counts(
    embedded: Build,
) -> None:
    """A client that answers to From and drops In-Reply-To: "Kyllä" still confirms the
    waiting join instead of becoming a question; a new mail from the same address does not."""
    env = embedded()
    confirm = _join(env)
    env.deliver(
        f"From: {PAULA}\nTo: {NETWORK}\nSubject: Kysymys\n\nMikä tämä verkosto on?\n".encode()
    )
    env.cycle()
    assert _members(env) == [] and _requests(env) == ["pending"]
    other_thread = (
        f"From: {PAULA}\nTo: {NETWORK}\nSubject: VS: Koulukuljetukset\n\nSelvä, kiitos.\n"
    )
    env.deliver(other_thread.encode())
    env.cycle()
    assert _members(env) == [] and _requests(env) == ["pending"]  # a reply elsewhere
    untied = _outlook_reply(confirm, PAULA, "Kyllä\n\nPaula").replace(
        f"To: {confirm['Reply-To']}".encode(), f"To: {NETWORK}".encode()
    )
    untied = b"\n".join(ln for ln in untied.split(b"\n") if not ln.startswith(b"In-Reply-To"))
    welcome = _one_new(env, untied)
    assert "Tervetuloa" in str(welcome["Subject"]) + _text(welcome)
    assert _members(env) == [PAULA]
