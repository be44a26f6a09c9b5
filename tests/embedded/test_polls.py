"""Polls and surveys by mail on embedded parts: letters in ballots, survey forms, form errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from integration.mail import gmail_reply, outlook_reply, question
from sqlalchemy import func, select

from mailer.db.models import Ticket
from mailer.db.polls import Ballot, Poll
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki
LIISA = "liisa.laine@uusikaupunki.example.test"
ANDERS = "anders.berg@jakobstad.example.test"
JOHN = "john.smith@riihimaki.example.test"
POLL_FORM = """Kysymys: Mistä aiheesta seuraava webinaari?
1. Joukkoliikenteen tilastot
2. Kutsuliikenne
3. Koulukuljetusten kilpailutus
4. Asiointiliikenne
Valintoja enintään: 2
Päättyy: 11.12.2026 klo 16
"""
SURVEY_FORM = """Otsikko: Ennakkokysely webinaariin
Kysymys: Mitä haluaisit kysyä Akaalta?
Kysymys: Mikä on suurin haasteesi?
Päättyy: 11.12.2026 klo 16
"""


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _service(build: Build) -> Embedded:
    env = build()
    env.app.clock.set(MONDAY)
    with env.app.db.transaction() as session:
        for address, name, language in (
            (LIISA, "Liisa Laine", "fi"),
            (ANDERS, "Anders Berg", "sv"),
            (JOHN, "John Smith", "en"),
        ):
            add_member(
                session,
                address,
                name=name,
                organisation_name=name.split()[1],
                language=language,
                delivery="each",
                now=env.app.clock.now(),
            )
    return env


def _answer(env: Embedded, sender: str, mail: EmailMessage, to: str) -> EmailMessage:
    """``mail`` from ``sender`` delivered to ``to``; the one mail it brings ``sender``."""
    before = {str(m["Message-ID"]) for m in env.received(sender)}
    env.deliver(mail, to=to)
    env.cycle()
    (new,) = [m for m in env.received(sender) if str(m["Message-ID"]) not in before]
    return new


def _form(env: Embedded, what: str, text: str) -> EmailMessage:
    """The coordinator mails a form to ``verkosto+<what>@``; the answer comes back."""
    address = NETWORK.replace("@", f"+{what}@")
    return _answer(env, COORDINATOR, question(COORDINATOR, "Lomake", text, to=address), address)


def _reply(env: Embedded, to: EmailMessage, sender: str, text: str) -> EmailMessage:
    """``sender`` answers ``to`` from Outlook; the answer comes back."""
    return _answer(env, sender, outlook_reply(to, sender, text), str(to["Reply-To"]))


def _open_poll(env: Embedded) -> dict[str, EmailMessage]:
    preview = _form(env, "aanestys", POLL_FORM)
    assert "Esikatselu" in str(preview["Subject"])
    _reply(env, preview, COORDINATOR, "LÄHETÄ")
    return {who: env.received(who)[0] for who in (LIISA, ANDERS, JOHN)}


def _ballots(env: Embedded) -> dict[str, str]:
    with env.app.db.transaction() as session:
        return {b.voter: b.choices for b in session.scalars(select(Ballot))}


def test_a_letter_is_the_option_in_its_place(embedded: Build) -> None:
    """A "B" to a numbered ballot records option 2; "b och d" and "Option C" likewise."""
    env = _service(embedded)
    ballots = _open_poll(env)
    assert "\n2. Kutsuliikenne" in _text(ballots[LIISA])
    confirm = _reply(env, ballots[LIISA], LIISA, "B")
    assert "kirjattu" in str(confirm["Subject"])
    assert "2. Kutsuliikenne" in _text(confirm)
    reply = gmail_reply(ballots[ANDERS], ANDERS, "b och d")
    confirm = _answer(env, ANDERS, reply, str(ballots[ANDERS]["Reply-To"]))
    assert "4. Asiointiliikenne" in _text(confirm)
    _reply(env, ballots[JOHN], JOHN, "Option C, thanks.\n\nJ. Smith\nCity of Riihimäki")
    assert _ballots(env) == {LIISA: "2", ANDERS: "2,4", JOHN: "3"}


def test_letters_beside_numbers_ask_back(embedded: Build) -> None:
    """ "B ja 4" records nothing and says why, showing the numbered options again."""
    env = _service(embedded)
    ballots = _open_poll(env)
    clarify = _reply(env, ballots[LIISA], LIISA, "B ja 4")
    text = _text(clarify)
    assert "sekä kirjaimia että numeroita" in text and "B on 2" in text
    assert "1. Joukkoliikenteen tilastot" in text
    unknown = _reply(env, ballots[JOHN], JOHN, "Option K")
    assert "What we read in your reply: K." in _text(unknown)
    assert "letters are among the options (A-D)" in _text(unknown)
    assert _ballots(env) == {}


def test_survey_form_with_a_question_per_line(embedded: Build) -> None:
    """Repeated "Kysymys:" lines are the survey's questions, all the way to the members."""
    env = _service(embedded)
    preview = _form(env, "kysely", SURVEY_FORM)
    text = _text(preview)
    assert "Esikatselu" in str(preview["Subject"])
    assert "1) Mitä haluaisit kysyä Akaalta?" in text and "2) Mikä on suurin haasteesi?" in text
    _reply(env, preview, COORDINATOR, "LÄHETÄ")
    (survey,) = env.received(LIISA)
    assert "Ennakkokysely webinaariin" in str(survey["Subject"])
    assert "2) Mikä on suurin haasteesi?" in _text(survey)


def test_form_errors_speak_plainly_and_a_reply_reaches_the_form(embedded: Build) -> None:
    """A survey form in error: words, not codes, a survey's example, and a Reply-To that
    takes LÄHETÄ or the corrected form back to the survey form, never to the question queue."""
    env = _service(embedded)
    errors = _form(env, "kysely", "Otsikko: Ennakkokysely\nPäättyy: 11.12.2026 klo 16\n")
    text = _text(errors)
    assert str(errors["Subject"]) == "Kyselylomakkeessa on virheitä"
    assert "Kyselyä ei luotu" in text and "äänestys" not in text.casefold()
    assert "Kysymys: Mikä on kuntasi suurin joukkoliikenteen haaste nyt?" in text
    assert "no-survey-questions" not in text and "+r-" in str(errors["Reply-To"])

    again = _reply(env, errors, COORDINATOR, "LÄHETÄ")
    assert str(again["Subject"]) == "Kyselylomakkeessa on virheitä"
    assert "lähetettävää ei ole" in _text(again)
    preview = _reply(env, again, COORDINATOR, SURVEY_FORM)
    assert str(preview["Subject"]) == "Esikatselu: Ennakkokysely webinaariin"
    with env.app.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        (poll,) = session.scalars(select(Poll))
        assert (poll.kind, poll.state, len(poll.options)) == ("survey", "draft", 2)


def test_poll_form_errors_name_the_field(embedded: Build) -> None:
    """Two "Kysymys:" lines in a poll: the mail says a poll has one question, in words."""
    env = _service(embedded)
    errors = _form(env, "aanestys", "Kysymys: Mikä aihe?\nKysymys: Entä aika?\n1. A\n2. B\n")
    text = _text(errors)
    assert str(errors["Subject"]) == "Äänestyslomakkeessa on virheitä"
    assert "duplicate" not in text and "äänestyksessä on yksi kysymys" in text
    assert "päättymisaikaa ei tunnistettu" in text
    fixed = POLL_FORM.replace("Kysymys: Mistä", "Kysymys: Mistä aiheesta, kun")
    assert "Esikatselu" in str(_reply(env, errors, COORDINATOR, fixed)["Subject"])


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Äänestys: kevään webinaarin aihe", "kevään webinaarin aihe"),
        ("Omröstning: vårens tema", "vårens tema"),
        ("Äänestys", "Äänestys"),
        ("Vuoden 2027 teema: mikä kiinnostaa?", "Vuoden 2027 teema: mikä kiinnostaa?"),
    ],
)
def test_a_label_in_the_subject_is_no_part_of_the_question(
    embedded: Build, subject: str, expected: str
) -> None:
    """A form without a Kysymys: line takes the subject as the question, without the
    "Äänestys:" the ballot puts there itself (no "Äänestys: Äänestys: …" to members)."""
    env = _service(embedded)
    address = NETWORK.replace("@", "+aanestys@")
    form = "Vaihtoehdot:\n1. Tilastot\n2. Kutsuliikenne\nPäättyy: 11.12.2026 klo 16\n"
    preview = _answer(env, COORDINATOR, question(COORDINATOR, subject, form, to=address), address)
    assert str(preview["Subject"]) == f"Esikatselu: {expected}", _text(preview)
