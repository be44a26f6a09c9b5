"""Robots and loops on embedded parts: what must be filed, never answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailer.cli import main
from mailer.db.events import Registration
from mailer.db.models import InboundMail, Ticket
from mailer.events import manage
from mailer.events.spec import read_spec
from mailer.jobs import job_context
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded
from .test_cli import _config

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


def _poll(env: Embedded, tmp_path: Path) -> EmailMessage:
    """A four-option poll sent to MEMBER; returns the ballot mail."""
    _member(env)
    options = ["Tammikuu", "Helmikuu", "Maaliskuu", "Huhtikuu"]
    create = ["--config", str(_config(env, tmp_path)), "polls", "create", "--question", "Kuu?"]
    create += [arg for option in options for arg in ("--option", option)]
    assert main([*create, "--closes", "2099-01-15 16:00"]) == 0
    env.cycle()
    (ballot,) = env.received(MEMBER)
    return ballot


def _reply(env: Embedded, to: EmailMessage, text: str) -> list[EmailMessage]:
    """One Outlook-style reply from MEMBER; the mails that came back."""
    seen = {str(m["Message-ID"]) for m in env.received(MEMBER)}
    env.deliver(
        (
            f"From: Jäsen 11 <{MEMBER}>\nTo: {to['Reply-To']}\nSubject: VS: {to['Subject']}\n"
            f"In-Reply-To: {to['Message-ID']}\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{text}\n\n________________________________\nLähettäjä: {to['From']}\n"
            f"Aihe: {to['Subject']}\n\n{_text(to)}\n"
        ).encode(),
        to=str(to["Reply-To"]),
    )
    env.cycle()
    return [m for m in env.received(MEMBER) if str(m["Message-ID"]) not in seen]


def test_a_member_changing_a_ballot_twelve_times_gets_every_confirmation(
    embedded: Build, tmp_path: Path
) -> None:
    """Distinct ballots in one day are confirmed past auto_reply_limit_per_day (10)."""
    env = embedded()
    env.app.clock.set(TODAY)
    ballot = _poll(env, tmp_path)
    texts = ["1", "2", "3", "4", "Tammikuu", "Helmikuu", "Maaliskuu", "Huhtikuu", "1."]
    texts += ["Äänestän 2", "Vaihtoehto 3", "4\n\nTerveisin\nJäsen 11"]
    for text in texts:
        (confirmation,) = _reply(env, ballot, text)
        assert "limit" not in str(confirmation["Subject"]).lower()
    assert len(env.received(MEMBER)) == 1 + 12


def test_unreadable_ballots_are_answered_up_to_the_limit_then_told_once(
    embedded: Build, tmp_path: Path
) -> None:
    """Replies the service cannot act on are rationed: three answers, one notice that says
    why, then silence; the unanswered ones are filed with the reason."""
    env = embedded(security={"auto_reply_limit_per_day": 3})
    env.app.clock.set(TODAY)
    ballot = _poll(env, tmp_path)
    answers = [_reply(env, ballot, text) for text in ("en tiedä", "kumpi?", "hmm", "ehkä")]
    assert [len(a) for a in answers[:3]] == [1, 1, 1]
    (notice,) = answers[3]
    assert "tauolla" in str(notice["Subject"]) and "koordinaattori näkee" in _text(notice)
    assert _reply(env, ballot, "mikä tämä on") == []
    (confirmation,) = _reply(env, ballot, "2")  # a ballot that counts is still confirmed
    assert "tauolla" not in str(confirmation["Subject"])
    withheld = [c for c in _claims(env) if "withheld" in c.reason]
    assert len(withheld) == 2 and all(c.outcome == "filed" for c in withheld)


def test_an_auto_responder_without_headers_does_not_loop(embedded: Build) -> None:
    """A responder that answers everything with the same text, no headers and no thread:
    the repeats are rationed, so the exchange ends after the limit and one notice."""
    env = embedded(security={"auto_reply_limit_per_day": 3})
    responder = "lomalla@kunta.example.test"
    away = f"From: {responder}\nTo: {NETWORK}\nSubject: Lomalla\n\nOlen lomalla 7.1. asti.\n"
    env.deliver(away.encode())
    handled = 0
    for _ in range(20):
        env.cycle()
        answered = len(env.received(responder))
        if answered == handled:
            break
        for _ in range(answered - handled):
            env.deliver(away.encode())
        handled = answered
    assert len(env.received(responder)) == 3 + 2  # the first, three repeats, the notice
    env.cycle()
    assert len(env.received(responder)) == 5 and len(env.inbox) == 0


def test_a_coordinator_correcting_a_form_again_and_again_is_always_answered(
    embedded: Build,
) -> None:
    """Distinct faulty forms from the coordinator each get their list of errors past the
    limit; the same faulty form over and over is rationed like anyone's repeats."""
    env = embedded(security={"auto_reply_limit_per_day": 2})
    form = "verkosto+aanestys@example.test"

    def send(text: str) -> None:
        env.deliver(
            f"From: {COORDINATOR}\nTo: {form}\nSubject: Äänestys\n\n{text}\n".encode(), to=form
        )
        env.cycle()

    for n in range(5):
        send(f"Kysymys: Mikä aihe {n}?\nVaihtoehto: Tilastot\nPäättyy: eilen")
    assert len(env.received(COORDINATOR)) == 5
    for _ in range(5):
        send("Kysymys: Sama aihe?\nVaihtoehto: Tilastot\nPäättyy: eilen")
    assert len(env.received(COORDINATOR)) == 5 + 1 + 2 + 1  # first, two repeats, the notice


def test_empty_mails_over_the_limit_are_filed_as_withheld(embedded: Build) -> None:
    """A handler that files its mail after the limit held its answer back keeps the limit's
    reason: the coordinator's digest must list those mails as withheld, not as "empty"."""
    env = embedded(security={"auto_reply_limit_per_day": 2})
    env.app.clock.set(TODAY)
    for n in range(4):
        env.deliver(f"From: {MEMBER}\nTo: {NETWORK}\nMessage-ID: <e{n}@x>\n\n".encode())
        env.cycle()
    reasons = [c.reason for c in _claims(env)]
    assert [r.startswith("an empty mail") for r in reasons] == [True, True, False, False]
    assert all(r.startswith("automatic reply withheld") for r in reasons[2:])
