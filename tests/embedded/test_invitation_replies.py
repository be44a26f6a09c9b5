"""Replies to an invitation that say more than yes or no reach the coordinator: a question,
a colleague coming instead, more people than one; the member gets one mail saying what was
recorded and where the rest went. And an answer to the event's question on the yes line."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from integration.mail import gmail_reply, outlook_reply
from sqlalchemy import select

from mailer.db.events import Registration
from mailer.db.models import Ticket

from .conftest import COORDINATOR, Embedded
from .test_events import _body, _env, _mail, _open, _states

Build = Callable[..., Embedded]
MEMBER = "a@example.test"


def _reply(
    env: Embedded,
    text: str,
    client: Callable[[EmailMessage, str, str], EmailMessage] = outlook_reply,
) -> None:
    """The member answers the invitation from their mail client, the invitation quoted."""
    invitation = _mail(env, MEMBER, "Kutsu")
    reply = client(invitation, f"Matti Meikäläinen <{MEMBER}>", text)
    env.deliver(reply, to=str(invitation["Reply-To"]))
    env.cycle()


def _tickets(env: Embedded) -> list[tuple[int, str]]:
    with env.app.db.transaction() as session:
        return [(t.id, t.requester_email) for t in session.scalars(select(Ticket))]


def _to_coordinator(env: Embedded) -> list[str]:
    return [_body(m) for m in env.received(COORDINATOR) if "Uusi kysymys" in _body(m)]


def test_a_question_with_a_maybe_goes_to_the_coordinator(embedded: Build) -> None:
    """A question with a maybe ("Onko tallenne tulossa? En ehkä pääse") becomes a ticket; the
    member is told so and how to register, and "Ilmoittaudun" under that mail registers."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    _reply(env, "Onko webinaarista tulossa tallenne? En ehkä pääse paikalle.")
    assert _states(env) == {}
    ((ticket_id, asker),) = _tickets(env)
    assert asker == MEMBER
    (forwarded,) = _to_coordinator(env)
    assert "Onko webinaarista tulossa tallenne?" in forwarded
    (ack,) = [m for m in env.received(MEMBER) if "Kutsu" not in str(m["Subject"])]
    text = _body(ack)
    assert f"[#{ticket_id}]" in str(ack["Subject"]) and "koordinaattorille" in text
    assert '"Ilmoittaudun"' in text and "Tarkoititko" not in text
    env.deliver(gmail_reply(ack, MEMBER, "Ilmoittaudun"), to=str(ack["Reply-To"]))
    env.cycle()
    assert _states(env) == {MEMBER: "registered"}
    assert len(_tickets(env)) == 1


def test_the_coordinator_gets_the_question_without_the_quoted_invitation(
    embedded: Build,
) -> None:
    """A question under the quoted invitation (Outlook, Gmail) reaches the coordinator as the
    member wrote it: no "Lähettäjä:" block, no invitation text below it."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    invitation = _body(_mail(env, MEMBER, "Kutsu")).splitlines()[2]
    for client in (outlook_reply, gmail_reply):
        _reply(env, "Tuleeko webinaarista tallenne? Ilmoittaudun joka tapauksessa.", client)
    forwarded = _to_coordinator(env)
    assert len(forwarded) == 2
    for text in forwarded:
        assert "Tuleeko webinaarista tallenne?" in text
        assert invitation not in text and "kutsuu sinut" not in text and "wrote:" not in text


def test_a_decline_naming_a_colleague_is_recorded_and_passed_on(embedded: Build) -> None:
    """A decline naming a substitute is noted and the coordinator gets the text; the member's
    one answer says both."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    _reply(
        env,
        "En pääse, mutta kollegani Pekka Virtanen (pekka.virtanen@akaa.example.test) tulee.",
    )
    assert _states(env) == {MEMBER: "declined"}
    ((ticket_id, _),) = _tickets(env)
    (forwarded,) = _to_coordinator(env)
    assert "pekka.virtanen@akaa.example.test" in forwarded
    (answer,) = [m for m in env.received(MEMBER) if "Kiitos tiedosta" in str(m["Subject"])]
    assert "ettet pääse" in _body(answer) and f"viite #{ticket_id}" in _body(answer)
    with env.app.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.last_member_message_id == answer["Message-ID"]


def test_a_plain_decline_or_a_bare_maybe_bothers_nobody(embedded: Build) -> None:
    """A softened decline ("En valitettavasti pääse") is a decline without a ticket; a bare
    "Ehkä" is asked about."""
    env = _env(embedded, (MEMBER, "b@example.test"))
    _open(env)
    env.cycle()
    _reply(env, "En valitettavasti pääse\n\nYstävällisin terveisin\nMatti\nAkaan kaupunki")
    assert _states(env) == {MEMBER: "declined"}
    token = str(_mail(env, "b@example.test", "Kutsu")["Reply-To"])
    env.deliver(
        f"From: b@example.test\nTo: {token}\nSubject: Re: Kutsu\n\nEhkä\n".encode(), to=token
    )
    env.cycle()
    assert _mail(env, "b@example.test", "Tarkoititko")
    assert _tickets(env) == [] and _to_coordinator(env) == []


def test_registering_two_people_takes_one_seat_and_says_why(embedded: Build) -> None:
    """Registering two people ("kahdella henkilöllä") registers the writer, who is told
    registration is personal; the coordinator hears of the second person."""
    env = _env(embedded)
    _open(env, capacity="10")
    env.cycle()
    _reply(env, "ilmoittaudun kahdella henkilöllä")
    assert _states(env) == {MEMBER: "registered"}
    confirmation = _body(_mail(env, MEMBER, "vahvistettu"))
    assert "henkilökohtainen" in confirmation and "viite #1" in confirmation
    (forwarded,) = _to_coordinator(env)
    assert "ilmoittaudun kahdella henkilöllä" in forwarded


def test_the_answer_on_the_yes_line_is_kept_without_the_signature(embedded: Build) -> None:
    """An answer on the yes line ("osallistun. Akaa") answers the event's question, also in
    the waitlist's mail; the signature is not part of it and nothing goes to the coordinator."""
    env = _env(embedded, (MEMBER, "b@example.test"))
    _open(env, capacity="1", question="Mistä kunnasta olet?")
    env.cycle()
    token = str(_mail(env, "b@example.test", "Kutsu")["Reply-To"])
    env.deliver(
        f"From: b@example.test\nTo: {token}\nSubject: Re\n\nIlmoittaudun\n".encode(), to=token
    )
    env.cycle()
    _reply(env, "Kyllä kiitos, osallistun. Akaa\n\nMatti", gmail_reply)
    with env.app.db.transaction() as session:
        answer = session.scalars(
            select(Registration.answer).where(Registration.email == MEMBER)
        ).one()
    assert answer == "Akaa"
    assert "Mistä kunnasta olet? Akaa" in _body(_mail(env, MEMBER, "varasijalla"))
    assert _tickets(env) == []


def test_many_questions_about_the_event_are_all_answered(embedded: Build) -> None:
    """Eleven different questions in a day each reach the coordinator and each get the
    member's "forwarded" answer: acting on mail is no flood, whatever the daily limit."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    questions = [f"Onko tilaisuudessa käsittelyssä kysymys numero {n}?" for n in range(11)]
    for question in questions:
        _reply(env, question)
    assert len(_tickets(env)) == 11
    answers = [m for m in env.received(MEMBER) if "Kutsu" not in str(m["Subject"])]
    assert len(answers) == 11
    assert all("koordinaattorille" in _body(m) for m in answers)
