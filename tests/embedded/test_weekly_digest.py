"""The members' weekly update on embedded parts: personal content, once, catch-up, opt-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select

from mailer.db.events import Event, Invitation, Registration
from mailer.db.materials import Material
from mailer.db.models import ListPost, Member
from mailer.db.polls import Ballot, Poll, PollOption
from mailer.roster import add_member

from .conftest import NETWORK, Embedded

Build = Callable[..., Embedded]
SUNDAY = datetime(2027, 2, 7, 8, 0, tzinfo=UTC)  # Sunday 10:00 in Helsinki
MONDAY_7 = datetime(2027, 2, 8, 5, 5, tzinfo=UTC)  # Monday 07:05
ANNA = "anna@akaa.example.test"  # fi, each post, registered and voted
BO = "bo@jakobstad.example.test"  # sv, weekly list digest
CLARE = "clare@example.test"  # en, each post
DAN = "dan@riihimaki.example.test"  # delivery none: a pause


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _weekly(env: Embedded, address: str) -> list[EmailMessage]:
    words = ("viikkotiedote, viikko", "veckobrev, vecka", "weekly update, week")
    found = [m for m in env.received(address) if any(w in str(m["Subject"]) for w in words)]
    return sorted(found, key=lambda m: str(m["Date"]))


def _service(build: Build) -> Embedded:
    env = build(list={"digest_hour": 7, "weekly_digest_day": "monday"})
    env.app.clock.set(SUNDAY)
    now = env.app.clock.now()
    with env.app.db.transaction() as session:
        for address, language, delivery in (
            (ANNA, "fi", "each"),
            (BO, "sv", "weekly"),
            (CLARE, "en", "each"),
            (DAN, "fi", "none"),
        ):
            add_member(
                session,
                address,
                name=address.split("@")[0].title(),
                organisation_name="",
                language=language,
                delivery=delivery,
                now=now,
            )
        event = Event(
            uid="e1@example.test",
            kind="webinar",
            title="Kutsutaksit",
            starts_at=SUNDAY + timedelta(days=18),
            ends_at=SUNDAY + timedelta(days=18, hours=1),
            feedback_at=SUNDAY + timedelta(days=19),
            feedback_closes_at=SUNDAY + timedelta(days=30),
            state="open",
            created_at=now,
            updated_at=now,
        )
        session.add(event)
        session.flush()
        invitation = Invitation(event_id=event.id, address=ANNA, language="fi", created_at=now)
        session.add(invitation)
        session.flush()
        session.add(
            Registration(
                event_id=event.id,
                invitation_id=invitation.id,
                email=ANNA,
                language="fi",
                state="registered",
                created_at=now,
                updated_at=now,
                registered_at=now,
            )
        )
        poll = Poll(
            question="Mistä aiheesta?",
            closes_at=SUNDAY + timedelta(days=12),
            state="open",
            created_at=now,
            ballots_sent_at=now,
            invited=4,
        )
        poll.options = [
            PollOption(position=1, text="Tilastot"),
            PollOption(position=2, text="Kela"),
        ]
        session.add(poll)
        session.flush()
        session.add(
            Ballot(poll_id=poll.id, voter=ANNA, choices="1", created_at=now, updated_at=now)
        )
        session.add(
            Material(
                title="Tilastokatsaus",
                filename="tilastot.pdf",
                content_type="application/pdf",
                size=1000,
                sha256="0" * 64,
                sender="koordinaattori@example.test",
                filed_at=now,
            )
        )
        session.add(
            ListPost(
                author_email=ANNA,
                author_name="Anna",
                subject="Kokemuksia kutsutakseista",
                text="Miten teillä?",
                raw=b"From: anna@akaa.example.test\r\nSubject: x\r\n\r\nMiten?\r\n",
                state="accepted",
                created_at=now,
            )
        )
    return env


def test_personal_content_once_and_one_mail_for_weekly_list_readers(embedded: Build) -> None:
    """At the hour each member gets one update in their language; nothing twice."""
    env = _service(embedded)
    env.cycle()  # Sunday: this week's moment (Monday 1.2.) was before they joined
    assert all(_weekly(env, a) == [] for a in (ANNA, BO, CLARE, DAN))

    env.app.clock.set(MONDAY_7)
    env.cycle()
    env.cycle()
    (anna,) = _weekly(env, ANNA)
    text = _text(anna)
    assert "viikko 6" in str(anna["Subject"])
    assert "Kutsutaksit - to 25.2.2027 klo 10.00" in text and "Olet ilmoittautunut." in text
    assert "Mistä aiheesta?" not in text  # Anna has voted
    assert "1. Tilastokatsaus - tilastot.pdf" in text
    assert "LISTAN VIESTIT" not in text  # Anna reads each post as it comes
    assert "ei%20viikkotiedotetta" in str(anna["List-Unsubscribe"])

    (bo,) = env.received(BO)  # one weekly mail: the update and the week's posts together
    text = _text(bo)
    assert "veckobrev, vecka 6" in str(bo["Subject"])
    assert "Du är inte anmäld" in text and "Svara med numren på dina val till" in text
    assert "Kokemuksia kutsutakseista" in text and "Miten teillä?" in text
    assert "List-Id" in bo

    (clare,) = _weekly(env, CLARE)
    assert "You have not registered" in _text(clare)
    assert env.received(DAN) == []


def test_caught_up_after_a_gap_opt_out_and_none_when_empty(embedded: Build) -> None:
    """A week missed while down is sent once; an opted-out member and an empty week get none."""
    env = _service(embedded)
    env.cycle()  # the service runs from Sunday on
    env.app.clock.set(MONDAY_7)
    env.cycle()
    env.deliver(f"From: {CLARE}\nTo: {NETWORK}\nSubject: no weekly update\n\n".encode())
    env.cycle()
    assert any("weekly update off" in str(m["Subject"]) for m in env.received(CLARE))
    with env.app.db.transaction() as session:
        clare = session.scalars(select(Member).where(Member.email == CLARE)).one()
        assert clare.weekly_digest is False

    env.app.clock.set(MONDAY_7 + timedelta(days=9))  # Wednesday of the next week, after downtime
    env.cycle()
    env.cycle()
    assert len(_weekly(env, ANNA)) == 2
    assert len(_weekly(env, CLARE)) == 1
    assert len(_weekly(env, BO)) == 2  # the poll he has not answered is still open

    with env.app.db.transaction() as session:
        for event in session.scalars(select(Event)):
            event.state = "cancelled"
        for poll in session.scalars(select(Poll)):
            poll.state = "closed"
    env.app.clock.set(MONDAY_7 + timedelta(days=14))
    env.cycle()
    assert len(_weekly(env, ANNA)) == 2 and len(_weekly(env, BO)) == 2  # nothing new: no mail


def test_weekly_list_reader_who_opted_out_still_gets_posts(embedded: Build) -> None:
    """Opting out of the update leaves the weekly list digest the member chose."""
    env = _service(embedded)
    env.deliver(f"From: {BO}\nTo: {NETWORK}\nSubject: inget veckobrev\n\n".encode())
    env.cycle()
    env.app.clock.set(MONDAY_7)
    env.cycle()
    (bo,) = _weekly(env, BO)
    text = _text(bo)
    assert "Kokemuksia kutsutakseista" in text
    assert "KOMMANDE EVENEMANG" not in text and "NYTT I MATERIALBANKEN" not in text
    with env.app.db.transaction() as session:
        member = session.scalars(select(Member).where(Member.email == BO)).one()
        assert member.digest_cursor == 1


def test_a_new_installation_starts_with_the_next_monday(embedded: Build) -> None:
    """Members imported days before the service first runs on a Tuesday get no update for
    the Monday before it; the next Monday's comes, and a Monday missed while the daemon was
    down is caught up later that day."""
    env = _service(embedded)  # members and material from Sunday 7.2.
    env.app.clock.set(MONDAY_7 + timedelta(days=1))  # the first run: Tuesday 9.2.
    env.cycle()
    assert all(_weekly(env, a) == [] for a in (ANNA, BO, CLARE))
    assert not any("LISTAN VIESTIT" in _text(m) for m in env.received(BO))

    env.app.clock.set(MONDAY_7 + timedelta(days=7))
    env.cycle()
    assert len(_weekly(env, ANNA)) == 1 and len(_weekly(env, BO)) == 1

    env.app.clock.set(MONDAY_7 + timedelta(days=14, hours=4))  # down at 7.00, up at 11.05
    env.cycle()
    assert len(_weekly(env, ANNA)) == 2 and len(_weekly(env, BO)) == 2


def test_a_new_installation_sends_daily_list_digests_from_the_next_hour(embedded: Build) -> None:
    """A daily reader imported before the first run gets no digest for an hour that passed
    before the service existed; the next morning's comes."""
    env = _service(embedded)
    with env.app.db.transaction() as session:
        session.scalars(select(Member).where(Member.email == CLARE)).one().delivery = "daily"
    env.app.clock.set(MONDAY_7 + timedelta(days=1, hours=2))  # the first run: Tuesday 9.05
    env.cycle()
    digests = [m for m in env.received(CLARE) if "Kokemuksia kutsutakseista" in _text(m)]
    assert digests == []

    env.app.clock.set(MONDAY_7 + timedelta(days=2))
    env.cycle()
    digests = [m for m in env.received(CLARE) if "Kokemuksia kutsutakseista" in _text(m)]
    assert len(digests) == 1
