"""The coordinator's daily digest on embedded parts: the hour, once, catch-up, empty, replies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from mailer.coordinator_digest import filed_kind
from mailer.db.models import Bounce, ListPost, Member, Ticket
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]
MEMBER = "liisa@uusikaupunki.example.test"
MONDAY_6 = datetime(2027, 2, 8, 4, 0, tzinfo=UTC)  # Monday 06:00 in Helsinki
DIGEST = "päivän kooste"


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _digests(env: Embedded) -> list[EmailMessage]:
    found = [m for m in env.received(COORDINATOR) if DIGEST in str(m["Subject"])]
    return sorted(found, key=lambda m: str(m["Date"]))


def _service(build: Build) -> Embedded:
    env = build(digests={"coordinator_hour": 7})
    env.app.clock.set(MONDAY_6)
    with env.app.db.transaction() as session:
        add_member(
            session,
            MEMBER,
            name="Liisa Laine",
            organisation_name="Uusikaupunki",
            language="fi",
            delivery="each",
            now=env.app.clock.now(),
        )
    env.cycle()  # the daemon has been running: Sunday's digest moment is behind it
    return env


def _ask(env: Embedded, subject: str) -> None:
    env.deliver(
        f"From: Liisa Laine <{MEMBER}>\nTo: {NETWORK}\nSubject: {subject}\n"
        f"Message-ID: {make_msgid(domain='example.test')}\n\nMiten teillä?\n".encode()
    )


def _reply(digest: EmailMessage, text: str) -> bytes:
    return (
        f"From: {COORDINATOR}\nTo: {digest['Reply-To']}\nSubject: VS: {digest['Subject']}\n"
        f"In-Reply-To: {digest['Message-ID']}\nMessage-ID: {make_msgid(domain='example.test')}\n"
        f"\n{text}\n\n________________________________\nLähettäjä: {digest['From']}\n"
        f"Aihe: {digest['Subject']}\n\n{_text(digest)}\n"
    ).encode()


def _state(env: Embedded, number: int) -> str:
    with env.app.db.transaction() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        return ticket.state


def test_at_the_hour_once_caught_up_and_none_when_empty(embedded: Build) -> None:
    """Nothing before 07:00 or when empty; one at the hour; one after a gap, covering it."""
    env = _service(embedded)
    _ask(env, "Koulukuljetusten kilpailutus")
    env.cycle()
    assert _digests(env) == []

    env.app.clock.set(MONDAY_6 + timedelta(hours=1, minutes=5))
    env.cycle()
    (first,) = _digests(env)
    text = _text(first)
    assert "UUDET KYSYMYKSET (1)" in text and "#1 Koulukuljetusten kilpailutus" in text
    assert "AVOIMET KYSYMYKSET, vanhin ensin (1)" in text and "#1  1 h" in text
    assert "(palvelun käynnistymisen jälkeen, ma 8.2.2027 klo 6.00 alkaen)" in text
    assert "edellisen koosteen" not in text  # none went out before it
    env.cycle()
    assert len(_digests(env)) == 1

    env.app.clock.set(MONDAY_6 + timedelta(hours=6))
    _ask(env, "Kutsutaksit")
    env.cycle()
    env.app.clock.set(MONDAY_6 + timedelta(days=3, hours=4))  # Thursday 10:00, after a gap
    env.cycle()
    env.cycle()
    digests = _digests(env)
    assert len(digests) == 2
    caught_up = _text(digests[1])
    assert "UUDET KYSYMYKSET (1)" in caught_up and "#2 Kutsutaksit" in caught_up
    assert "#1  3 pv" in caught_up
    assert "(edellisen koosteen jälkeen, ma 8.2.2027 klo 7.05 alkaen)" in caught_up

    for number in (1, 2):
        with env.app.db.transaction() as session:
            ticket = session.get(Ticket, number)
            assert ticket is not None
            ticket.state = "closed"
    env.app.clock.set(MONDAY_6 + timedelta(days=4, hours=1, minutes=5))  # Friday 07:05
    env.cycle()
    assert len(_digests(env)) == 2  # nothing new, nothing open: no digest


def test_reply_closes_and_reopens_tickets(embedded: Build) -> None:
    """``#1 SULJE`` and ``AVAA #2`` in an Outlook reply act on those tickets, answered back."""
    env = _service(embedded)
    _ask(env, "Ensimmäinen")
    _ask(env, "Toinen")
    env.cycle()
    with env.app.db.transaction() as session:
        second = session.get(Ticket, 2)
        assert second is not None
        second.state = "closed"
    env.app.clock.set(MONDAY_6 + timedelta(hours=2))
    env.cycle()
    (digest,) = _digests(env)
    assert "verkosto+r-d" in str(digest["Reply-To"])
    env.deliver(_reply(digest, "#1 SULJE\nAVAA #2\n#9 sulje\nKatso #3 huomenna\n\nTerveisin\nK"))
    env.cycle()
    assert (_state(env, 1), _state(env, 2)) == ("closed", "open")
    (done,) = [m for m in env.received(COORDINATOR) if "käsitelty" in str(m["Subject"])]
    text = _text(done)
    assert "#1 Ensimmäinen: suljettu" in text and "#2 Toinen: avattu uudelleen" in text
    assert "#9: tällaista kysymystä ei ole" in text and "Katso #3 huomenna" in text


def test_reply_from_someone_else_changes_nothing(embedded: Build) -> None:
    """A forged reply to the digest's token from a non-coordinator is filed."""
    env = _service(embedded)
    _ask(env, "Kysymys")
    env.app.clock.set(MONDAY_6 + timedelta(hours=2))
    env.cycle()
    (digest,) = _digests(env)
    forged = _reply(digest, "#1 SULJE").replace(
        f"From: {COORDINATOR}".encode(), f"From: {MEMBER}".encode()
    )
    env.deliver(forged)
    env.cycle()
    assert _state(env, 1) == "open"


def test_every_section(embedded: Build) -> None:
    """Held posts, failures, bounces and disabled members are listed."""
    env = _service(embedded)
    now = env.app.clock.now()
    with env.app.db.transaction() as session:
        session.add(
            ListPost(
                author_email="x@elsewhere.example.test",
                subject="Mainos",
                raw=b"",
                state="held",
                created_at=now,
            )
        )
        session.add(Bounce(address="old@kunta.example.test", reason="550 unknown", created_at=now))
        member = session.scalars(select(Member)).one()
        member.disabled_at = now
    env.app.clock.set(MONDAY_6 + timedelta(hours=2))
    env.cycle()
    (digest,) = _digests(env)
    text = _text(digest)
    assert '"Mainos" - x@elsewhere.example.test' in text
    assert "old@kunta.example.test: 550 unknown" in text
    assert f"Liisa Laine <{MEMBER}>, Uusikaupunki" in text


def test_mail_filed_without_an_answer_is_listed_by_reason(embedded: Build) -> None:
    """Auto-replies, a coordinator's stray LÄHETÄ and mail to the bounce address were answered
    by nobody: the digest lists them by reason with sender and subject, bounces by count."""
    env = _service(embedded)
    for n in range(7):
        env.deliver(
            f"From: jasen{n}@kunta.example.test\nTo: {NETWORK}\nAuto-Submitted: auto-replied\n"
            f"Subject: Automaattinen vastaus: Kutsu {n}\n\nOlen lomalla.\n".encode()
        )
    env.deliver(f"From: {COORDINATOR}\nTo: {NETWORK}\nSubject: VS: Kutsu\n\nLÄHETÄ\n".encode())
    env.deliver(
        b"From: someone@kunta.example.test\nSubject: Re: Viesti listalle\n\nKiitos!\n",
        to="verkosto+bounce-abc@example.test",
    )
    env.cycle()
    env.app.clock.set(MONDAY_6 + timedelta(hours=1, minutes=5))
    env.cycle()
    (digest,) = _digests(env)
    text = _text(digest)
    assert "VIESTIT, JOIHIN EI VASTATTU (9)" in text
    assert "Automaattiset vastaukset ja joukkopostit (esim. poissaoloilmoitukset) (7)" in text
    assert "never answered" not in text  # the stored reason is for the log, not for her
    assert 'jasen0@kunta.example.test - "Automaattinen vastaus: Kutsu 0"' in text
    assert "... ja 2 muuta" in text
    assert f'{COORDINATOR} - "VS: Kutsu"' in text
    assert "palautusosoitteeseen: 1" in text


def test_a_member_writing_to_the_poll_form_address_asks_the_coordinator(
    embedded: Build,
) -> None:
    """A poll "form" from a member is neither ignored nor a poll: a question, acknowledged."""
    env = _service(embedded)
    for address in ("verkosto+aanestys@example.test", "verkosto+kysely@example.test"):
        env.deliver(
            f"From: Liisa Laine <{MEMBER}>\nTo: {address}\nSubject: Äänestys\n\n"
            "Kysymys: Mistä aiheesta seuraava webinaari?\nVaihtoehto: Tilastot\n".encode(),
            to=address,
        )
    env.cycle()
    with env.app.db.transaction() as session:
        assert [t.requester_email for t in session.scalars(select(Ticket))] == [MEMBER, MEMBER]
    assert len([m for m in env.received(MEMBER) if "#" in str(m["Subject"])]) == 2


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("automatic mail (auto-reply, bulk or another list): never answered", "automatic"),
        ("our own mail came back", "own-mail"),
        ("duplicate of an earlier message <a@b>", "duplicate"),
        ("automatic reply withheld: 10 replies in 24 h to a@b ...", "rationed"),
        ("poll form from someone who is not a coordinator: ignored", "not-coordinator"),
        ("moderation reply not from a coordinator, or for an unknown post", "not-coordinator"),
        ("error: RuntimeError('x')", "error"),
        ("unparseable: no headers", "error"),
        ("too large: 30000000 bytes, limit 26214400", "too-large"),
        ("join request #3 already confirmed", ""),
    ],
)
def test_filed_reasons_have_kinds_the_digest_can_name(reason: str, kind: str) -> None:
    """The digest groups and names filed mail by kind; a reason of no kind shows as stored."""
    assert filed_kind(reason) == kind
