"""Events' corner cases on embedded parts: who may register, refusals, the coordinator's
mail commands, calendar replies that do not fit, feedback edge cases, the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from events.itip_mail import calendar_part, calendar_reply
from sqlalchemy import func, select

from mailer.cli import main
from mailer.db.events import Event, Invitation, Registration
from mailer.db.models import InboundMail, OutboxRecipient
from mailer.events import manage, registry
from mailer.events.spec import EventSpec, read_spec
from mailer.events.summary import new_registrations, summarise
from mailer.handlers.privacy import collect, erase
from mailer.jobs import job_context
from mailer.roster import add_member

from .conftest import COORDINATOR, Embedded
from .test_cli import _config

Build = Callable[..., Embedded]
HELSINKI = ZoneInfo("Europe/Helsinki")
TODAY = datetime(2027, 1, 10, 10, 0, tzinfo=HELSINKI)
EVENT_AT = datetime(2027, 2, 11, 13, 0, tzinfo=HELSINKI)
FORM = "verkosto+tapahtuma@example.test"


def _env(embedded: Build, members: tuple[str, ...] = ("a@example.test",)) -> Embedded:
    env = embedded()
    env.app.clock.set(TODAY)
    with env.app.db.transaction() as session:
        for address in members:
            add_member(
                session,
                address,
                name="",
                organisation_name="Akaa",
                language="fi",
                delivery="each",
                now=env.app.clock.now(),
            )
    return env


def _open(
    env: Embedded, *, extra: tuple[str, ...] = (), members: bool = True, **fields: str
) -> int:
    values = {"title": "Kilpailutus", "time": "11.2.2027 klo 13-14", "link": "https://x.example"}
    values.update(fields)
    with env.app.db.transaction() as session:
        ctx = job_context(env.app, session)
        spec, problems = read_spec(values, env.app.settings, ctx.now)
        assert spec is not None and not problems
        event = manage.create(ctx, spec, extra=extra, audience_members=members)
        manage.open_event(ctx, event)
        return event.id


def _send(env: Embedded, sender: str, to: str, text: str, subject: str = "Re: kutsu") -> None:
    env.deliver(f"From: {sender}\nTo: {to}\nSubject: {subject}\n\n{text}\n".encode(), to=to)
    env.cycle()


def _mail(env: Embedded, address: str, subject: str) -> EmailMessage:
    """The one mail to ``address`` whose subject holds ``subject``."""
    (found,) = [m for m in env.received(address) if subject in str(m["Subject"])]
    return found


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _states(env: Embedded) -> dict[str, str]:
    with env.app.db.transaction() as session:
        return {r.email: r.state for r in session.scalars(select(Registration))}


def _summary_text(env: Embedded, event_id: int) -> str:
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        return env.app.templates.text("fi", "events/summary", summary=summarise(session, event))


def test_a_lists_invitation_lets_anyone_register(embedded: Build) -> None:
    """A non-member invited through a list registers and gets the reminders."""
    env = _env(embedded)
    _open(env, extra=("ely-lista@example.test",))
    env.cycle()
    invitation = _mail(env, "ely-lista@example.test", "Kutsu")
    _send(env, "outsider@kunta.example", str(invitation["Reply-To"]), "Ilmoittaudun")
    assert _states(env) == {"outsider@kunta.example": "registered"}
    confirmation = _mail(env, "outsider@kunta.example", "vahvistettu")
    assert confirmation["Reply-To"] != invitation["Reply-To"]  # their own invitation now
    env.app.clock.set(EVENT_AT - timedelta(days=1))
    env.cycle()
    assert _mail(env, "outsider@kunta.example", "Muistutus")
    assert len(env.received("ely-lista@example.test")) == 1  # the list is not registered


def test_a_members_event_refuses_an_outsider(embedded: Build) -> None:
    """A forwarded members-only invitation: the outsider is told, nothing is registered."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    invitation = _mail(env, "a@example.test", "Kutsu")
    _send(env, "outsider@kunta.example", str(invitation["Reply-To"]), "Ilmoittaudun")
    assert _states(env) == {}
    assert "jäsenille" in str(_mail(env, "outsider@kunta.example", "jäsenille")["Subject"])


def test_late_or_cancelled_registrations_are_refused(embedded: Build) -> None:
    """After the start, or once cancelled, a registration is answered and not taken."""
    env = _env(embedded, ("a@example.test", "b@example.test"))
    event_id = _open(env)
    env.cycle()
    token_a = str(_mail(env, "a@example.test", "Kutsu")["Reply-To"])
    token_b = str(_mail(env, "b@example.test", "Kutsu")["Reply-To"])
    env.app.clock.set(EVENT_AT + timedelta(minutes=5))
    _send(env, "a@example.test", token_a, "Ilmoittaudun")
    assert "alkanut" in _body(_mail(env, "a@example.test", "päättynyt"))
    env.app.clock.set(TODAY)
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        manage.cancel(job_context(env.app, session), event)
    _send(env, "b@example.test", token_b, "Kyllä")
    assert "peruttu" in _body(_mail(env, "b@example.test", "päättynyt"))
    assert _states(env) == {}


def test_coordinator_cancels_by_mail_after_confirming(embedded: Build) -> None:
    """PERUUTA TAPAHTUMA asks for LÄHETÄ first; then invitees get METHOD:CANCEL."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    sent = _mail(env, COORDINATOR, "Kutsut lähtivät")
    _send(env, COORDINATOR, str(sent["Reply-To"]), "PERUUTA TAPAHTUMA")
    preview = _mail(env, COORDINATOR, "Vahvista peruutus")
    assert len(env.received("a@example.test")) == 1
    _send(env, COORDINATOR, str(preview["Reply-To"]), "LÄHETÄ")
    cancel = _mail(env, "a@example.test", "Peruttu")
    assert str(calendar_part(cancel)["METHOD"]) == "CANCEL"
    assert _mail(env, COORDINATOR, "Peruttu:")
    _send(env, COORDINATOR, str(preview["Reply-To"]), "LÄHETÄ")
    assert _mail(env, COORDINATOR, "on peruttu")  # already cancelled: nothing sent
    assert len(env.received("a@example.test")) == 2


def test_registrants_get_one_mail_for_each_change_and_cancellation(embedded: Build) -> None:
    """The registered and the waiting get their own text carrying the calendar update; other
    invitees the plain calendar mail; nobody gets two."""
    env = _env(embedded, ("a@example.test", "b@example.test", "c@example.test"))
    event_id = _open(env, capacity="1")
    env.cycle()
    for address in ("a@example.test", "b@example.test"):
        _send(env, address, str(_mail(env, address, "Kutsu")["Reply-To"]), "Ilmoittaudun")
    with env.app.db.transaction() as session:
        ctx = job_context(env.app, session)
        event = session.get(Event, event_id)
        assert event is not None
        manage.change(ctx, event, replace(EventSpec.of(event), place="Tampere-talo"))
    env.cycle()
    expected = {
        "a@example.test": ("johon olet ilmoittautunut", "Ilmoittautumisesi on edelleen"),
        "b@example.test": ("jonka varasijalla olet", "Olet edelleen varasijalla"),
        "c@example.test": ("Muutos:", "Ilmoittautua voi"),
    }
    for address, (subject, text) in expected.items():
        (update,) = [m for m in env.received(address) if "Muutos" in str(m["Subject"])]
        assert subject in str(update["Subject"]) and text in _body(update)
        (entry,) = calendar_part(update).walk("VEVENT")
        assert int(entry["SEQUENCE"]) == 1 and str(entry["LOCATION"]) == "Tampere-talo"
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        manage.cancel(job_context(env.app, session), event)
    env.cycle()
    expected = {
        "a@example.test": ("Tilaisuus on peruttu", "johon olit ilmoittautunut"),
        "b@example.test": ("Tilaisuus on peruttu", "jonka varasijalla olit"),
        "c@example.test": ("Peruttu:", "valitettavasti tilaisuus on peruttu"),
    }
    for address, (subject, text) in expected.items():
        (cancel,) = [m for m in env.received(address) if "eruttu" in str(m["Subject"])]
        assert subject in str(cancel["Subject"]) and text in _body(cancel)
        assert str(calendar_part(cancel)["METHOD"]) == "CANCEL"
    assert "(2)" in _body(_mail(env, COORDINATOR, "Peruttu:"))


def test_draft_is_changed_by_mail_then_discarded(embedded: Build) -> None:
    """Form lines change a draft with a new preview; a discarded draft sends nothing."""
    env = _env(embedded)
    _send(
        env,
        COORDINATOR,
        FORM,
        "Otsikko: Kilpailutus\nAika: 11.2.2027 klo 13\nLinkki: https://x.example",
        subject="Uusi",
    )
    (preview,) = env.received(COORDINATOR)
    _send(env, COORDINATOR, str(preview["Reply-To"]), "Aika: 12.2.2027 klo 10\nPaikkoja: 30")
    (second,) = [m for m in env.received(COORDINATOR) if "pe 12.2.2027 klo 10.00" in _body(m)]
    assert "Paikkoja: 30" in _body(second)
    _send(env, COORDINATOR, str(second["Reply-To"]), "Peruuta tapahtuma")
    assert "Kutsuja ei ollut lähetetty" in _body(_mail(env, COORDINATOR, "Peruttu"))
    assert env.received("a@example.test") == []


def test_unclear_coordinator_reply_gets_help_and_a_second_send_nothing(embedded: Build) -> None:
    """No command: the list of commands comes back; LÄHETÄ after sending sends nothing."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    sent = _mail(env, COORDINATOR, "Kutsut lähtivät")
    _send(env, COORDINATOR, str(sent["Reply-To"]), "Kiitos, hyvältä näyttää!")
    assert "OSALLISTUJAT" in _body(_mail(env, COORDINATOR, "Ohje"))
    _send(env, COORDINATOR, str(sent["Reply-To"]), "LÄHETÄ")
    assert _mail(env, COORDINATOR, "Ei lähetettävää")
    assert len(env.received("a@example.test")) == 1


def test_event_command_from_anyone_else_is_filed(embedded: Build) -> None:
    """A reply with the event's token from a non-coordinator does nothing and answers nobody."""
    env = _env(embedded)
    event_id = _open(env)
    env.cycle()
    sent = _mail(env, COORDINATOR, "Kutsut lähtivät")
    _send(env, "a@example.test", str(sent["Reply-To"]), "PERUUTA TAPAHTUMA\nLÄHETÄ")
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None and event.state == "open" and event.pending == ""
        (claim,) = session.scalars(
            select(InboundMail).where(InboundMail.sender == "a@example.test")
        )
        assert claim.outcome == "filed"
    assert len(env.received("a@example.test")) == 1


def test_tentative_asks_and_unknown_calendar_reply_is_filed(embedded: Build) -> None:
    """Tentative is asked about; a calendar reply for no event of ours is filed."""
    env = _env(embedded)
    _open(env)
    env.cycle()
    invitation = _mail(env, "a@example.test", "Kutsu")
    env.deliver(calendar_reply(invitation, "a@example.test", "TENTATIVE"))
    env.cycle()
    assert _mail(env, "a@example.test", "Tarkoititko ilmoittautua")
    assert _states(env) == {}
    stranger = calendar_reply(invitation, "a@example.test", "ACCEPTED")
    payload = stranger.get_payload()
    assert isinstance(payload, list)
    calendar = payload[1]
    calendar.set_content(
        calendar.get_content().replace("UID:", "UID:someone-else-"),
        subtype="calendar",
        params={"method": "REPLY"},
    )
    env.deliver(stranger)
    env.cycle()
    assert _states(env) == {}
    with env.app.db.transaction() as session:
        reasons = session.scalars(select(InboundMail.reason)).all()
    assert any("unknown event" in r for r in reasons)


def _feedback_request(env: Embedded, event_id: int) -> EmailMessage:
    with env.app.db.transaction() as session:
        ctx = job_context(env.app, session)
        event = session.get(Event, event_id)
        assert event is not None
        registry.register(ctx, event, registry.person(ctx, "a@example.test", "", "fi"), "", "reply")
    env.app.clock.set(EVENT_AT + timedelta(hours=3))
    env.cycle()
    return _mail(env, "a@example.test", "Palaute:")


def test_feedback_without_a_rating_is_thanked_and_kept(embedded: Build) -> None:
    """Text without a rating is kept and thanked for, with a word on how to rate."""
    env = _env(embedded)
    event_id = _open(env)
    request = _feedback_request(env, event_id)
    _send(env, "a@example.test", str(request["Reply-To"]), "Hyvä tilaisuus, kiitos!")
    thanks = _mail(env, "a@example.test", "Kiitos palautteesta")
    assert "Vastauksessa ei ollut arvosanaa" in _body(thanks)
    assert "Muuta palautetta:\n- Hyvä tilaisuus, kiitos!" in _summary_text(env, event_id)


def test_feedback_without_a_rating_after_a_rating_says_the_rating_stands(
    embedded: Build,
) -> None:
    """ "Great, 4 out of 5", then "excellent!": the text is kept, the answer says 4/5 stands
    and does not ask for a rating."""
    env = _env(embedded)
    event_id = _open(env)
    request = _feedback_request(env, event_id)
    _send(env, "a@example.test", str(request["Reply-To"]), "Great, 4 out of 5")
    _send(env, "a@example.test", str(request["Reply-To"]), "excellent!")
    text = _body(_mail(env, "a@example.test", "Kiitos palautteesta"))
    assert "arvosana 4/5 on edelleen voimassa" in text
    assert "ei ollut arvosanaa" not in text
    summary = _summary_text(env, event_id)
    assert "excellent!" in summary and "4/5" in summary


def test_feedback_after_the_deadline_is_refused(embedded: Build) -> None:
    """A rating after the feedback closed is answered and not counted."""
    env = _env(embedded)
    event_id = _open(env)
    request = _feedback_request(env, event_id)
    env.app.clock.set(EVENT_AT + timedelta(days=30))
    _send(env, "a@example.test", str(request["Reply-To"]), "5")
    assert _mail(env, "a@example.test", "suljettu")
    assert "Ei arvosanoja" in _summary_text(env, event_id)


def test_more_seats_promote_the_waitlist_and_new_registrations_are_listed(
    embedded: Build,
) -> None:
    """More seats promote the waitlist; new_registrations lists the new seats."""
    env = _env(embedded, ("a@example.test", "b@example.test", "c@example.test"))
    event_id = _open(env, capacity="1")
    env.cycle()
    for address in ("a@example.test", "b@example.test", "c@example.test"):
        _send(env, address, str(_mail(env, address, "Kutsu")["Reply-To"]), "Ilmoittaudun")
    assert sorted(_states(env).values()) == ["registered", "waitlisted", "waitlisted"]
    since = env.app.clock.now()
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        ctx = job_context(env.app, session)
        spec, _ = read_spec({"capacity": "2"}, env.app.settings, ctx.now, base=event)
        assert spec is not None
        assert manage.change(ctx, event, spec) == ["capacity"]
        fresh = new_registrations(session, since)
    env.cycle()
    assert sorted(_states(env).values()) == ["registered", "registered", "waitlisted"]
    (promoted,) = fresh
    assert promoted.state == "registered" and promoted.event_title == "Kilpailutus"
    assert _mail(env, promoted.email, "Sait paikan")


def test_cli_create_list_show_and_bad_options(
    embedded: Build, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """events create, list --json and show --json; bad options exit 2 on one line."""
    env = _env(embedded)
    config = str(_config(env, tmp_path))
    now = ["--config", config, "--now", "2027-01-10 10:00"]
    create = [
        *now,
        "events",
        "create",
        "--title",
        "Vuosiseminaari",
        "--kind",
        "seminar",
        "--start",
        "26.11.2027 klo 9-16",
        "--place",
        "Tampere-talo",
        "--capacity",
        "60",
        "--question",
        "Ruokavalio?",
        "--audience",
        "members",
        "--audience",
        "ely@example.test",
        "--remind",
        "14d",
    ]
    assert main(create) == 0
    capsys.readouterr()
    assert main([*now, "events", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["kind"], row["starts"], row["invited"]) == ("seminar", "2027-11-26 09:00", 2)
    assert main([*now, "events", "show", str(row["id"]), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ends"] == "2027-11-26 16:00"
    assert [r["kind"] for r in shown["reminders"]] == ["reminder"]
    env.cycle()
    assert _mail(env, "ely@example.test", "Vuosiseminaari")
    bad = [*now, "events", "create", "--title", "X", "--start", "huomenna", "--link", "x.fi"]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "could not read the time" in err and "https://" in err
    with env.app.db.transaction() as session:
        assert session.scalar(select(func.count(Event.id))) == 1
        assert session.scalar(select(func.count(Invitation.id))) == 2


def test_export_and_erasure_keep_the_numbers(embedded: Build) -> None:
    """Export holds registrations and feedback; erasure keeps the count and rating."""
    env = _env(embedded)
    event_id = _open(env)
    request = _feedback_request(env, event_id)
    _send(env, "a@example.test", str(request["Reply-To"]), "4,5\nParasta: Akaan esimerkki")
    with env.app.db.transaction() as session:
        ctx = job_context(env.app, session)
        (exported,) = collect(ctx, "a@example.test")["events"]
        assert exported["event"] == "Kilpailutus" and exported["state"] == "registered"
        assert exported["feedback"][0]["rating"] == Decimal("4.5")
        erase(ctx, "a@example.test")
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        summary = summarise(session, event)
        assert (summary.participants, summary.rating, summary.best) == (1, Decimal("4.5"), [])
        assert session.scalars(select(Registration.email)).one().startswith("erased-")
        assert not session.scalars(
            select(Invitation).where(Invitation.address == "a@example.test")
        ).all()


def test_erasure_gives_a_coming_seat_to_the_waitlist(embedded: Build) -> None:
    """ "Poista tietoni", confirmed: the seat goes to the first waiting, who is told; no
    reminder, change or participant list names the erased person any more."""
    env = _env(embedded, ("a@example.test", "b@example.test"))
    event_id = _open(env, capacity="1")
    env.cycle()
    for address in ("a@example.test", "b@example.test"):
        _send(env, address, str(_mail(env, address, "Kutsu")["Reply-To"]), "Ilmoittaudun")
    assert _states(env) == {"a@example.test": "registered", "b@example.test": "waitlisted"}
    _send(env, "a@example.test", "verkosto@example.test", "", subject="poista tietoni")
    confirm = _mail(env, "a@example.test", "poisto")
    _send(env, "a@example.test", str(confirm["Reply-To"]), "Kyllä")
    assert _states(env)["b@example.test"] == "registered"
    assert "Sait paikan" in str(_mail(env, "b@example.test", "paikan")["Subject"])
    with env.app.db.transaction() as session:
        ctx = job_context(env.app, session)
        event = session.get(Event, event_id)
        assert event is not None
        assert [r.email for r in registry.registrations(ctx, event, "registered")] == [
            "b@example.test"
        ]
        assert registry.seats_taken(ctx, event) == 1
        manage.change(ctx, event, replace(EventSpec.of(event), title="Kilpailutus 2"))
    env.app.clock.set(EVENT_AT - timedelta(days=1))
    env.cycle()
    assert _mail(env, "b@example.test", "Muistutus")
    with env.app.db.transaction() as session:
        sent_to = set(session.scalars(select(OutboxRecipient.address)))
    assert not any(address.startswith("erased-") for address in sent_to)


def test_cli_draft_is_sent_later_but_not_after_its_start(
    embedded: Build, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --draft waits for events send, which refuses a draft whose time has passed."""
    env = _env(embedded)
    config = str(_config(env, tmp_path))
    for title in ("Ensimmäinen", "Toinen"):
        args = ["--title", title, "--start", "2027-02-11 13:00", "--link", "https://x.example"]
        assert (
            main(
                [
                    "--config",
                    config,
                    "--now",
                    "2027-01-10 10:00",
                    "events",
                    "create",
                    *args,
                    "--draft",
                ]
            )
            == 0
        )
    env.cycle()
    assert env.received("a@example.test") == []
    assert main(["--config", config, "--now", "2027-01-11 10:00", "events", "send", "1"]) == 0
    env.app.clock.set(datetime(2027, 1, 11, 10, 1, tzinfo=HELSINKI))
    env.cycle()
    assert _mail(env, "a@example.test", "Ensimmäinen")
    capsys.readouterr()
    assert main(["--config", config, "--now", "2027-02-12 10:00", "events", "send", "2"]) == 2
    assert "already passed" in capsys.readouterr().err


def test_waitlist_keeps_the_order_of_arrival_whatever_the_clock_says(embedded: Build) -> None:
    """Runs that each start at the same --now (or a daemon whose clock is behind) cannot let a
    later arrival jump the waitlist; one who leaves it and comes back goes to its end."""
    people = ("liisa@example.test", "anders@example.test", "matti@example.test")
    env = _env(embedded, (*people, "john@example.test"))
    event_id = _open(env, capacity="2")
    env.cycle()
    tokens = {a: str(_mail(env, a, "Kutsu")["Reply-To"]) for a in (*people, "john@example.test")}
    for address in people:
        env.app.clock.set(TODAY)
        _send(env, address, tokens[address], "Ilmoittaudun")
    env.app.clock.set(TODAY - timedelta(minutes=1))  # John's run reads an earlier time
    _send(env, "john@example.test", tokens["john@example.test"], "Count me in")
    assert "varasijalla 1" in str(_mail(env, "matti@example.test", "varasijalla")["Subject"])
    assert "varasijalla 2" in str(_mail(env, "john@example.test", "varasijalla")["Subject"])
    env.app.clock.set(TODAY)
    _send(env, "liisa@example.test", tokens["liisa@example.test"], "En pääse")
    assert _states(env)["matti@example.test"] == "registered"
    assert _states(env)["john@example.test"] == "waitlisted"
    assert _mail(env, "matti@example.test", "Sait paikan")
    _send(env, "liisa@example.test", tokens["liisa@example.test"], "Ilmoittaudun sittenkin")
    _send(env, "john@example.test", tokens["john@example.test"], "Count me in")
    assert "varasijalla 1" in _body(_mail(env, "john@example.test", "jo"))
    _send(env, "anders@example.test", tokens["anders@example.test"], "En pääse")
    assert _states(env) == {
        "liisa@example.test": "waitlisted",
        "anders@example.test": "cancelled",
        "matti@example.test": "registered",
        "john@example.test": "registered",
    }
    with env.app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None and registry.seats_taken(job_context(env.app, session), event) == 2


def test_a_weekday_that_does_not_fit_the_date_is_pointed_out(
    embedded: Build, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A weekday that does not fit its date ("ti 15.1.", a Friday): the preview says so before
    anything is sent, a change by mail too; the CLI, which sends at once, refuses."""
    env = _env(embedded)
    form = "Otsikko: Kilpailutus\nAika: ti 15.1. klo 13.00\u201314.30\nLinkki: https://x.example"
    _send(env, COORDINATOR, FORM, form, subject="Uusi webinaari")
    (preview,) = env.received(COORDINATOR)
    assert "tarkista päivä" in str(preview["Subject"])
    assert 'Kirjoitit "ti", mutta 15.1.2027 on perjantai' in _body(preview)
    assert "Aika: pe 15.1.2027 klo 13.00\u201314.30" in _body(preview)  # nothing silently moved
    _send(env, COORDINATOR, str(preview["Reply-To"]), "Aika: ti 19.1.2027 klo 13.00\u201314.30")
    (fixed,) = [m for m in env.received(COORDINATOR) if "ti 19.1.2027 klo" in _body(m)]
    assert "tarkista" not in str(fixed["Subject"]) and "Kirjoitit" not in _body(fixed)
    _send(env, COORDINATOR, str(fixed["Reply-To"]), "LÄHETÄ")
    assert env.received("a@example.test")
    _send(env, COORDINATOR, str(fixed["Reply-To"]), "Aika: ke 21.1.2027 klo 9")
    (change,) = [m for m in env.received(COORDINATOR) if "Vahvista muutos" in str(m["Subject"])]
    assert "tarkista päivä" in str(change["Subject"])
    assert 'Kirjoitit "ke", mutta 21.1.2027 on torstai' in _body(change)
    config = str(_config(env, tmp_path))
    capsys.readouterr()
    create = ["--config", config, "--now", "2027-01-10 10:00", "events", "create"]
    args = ["--title", "X", "--start", "ti 15.1.2027 klo 13", "--link", "https://x.example"]
    assert main([*create, *args]) == 2
    assert 'You wrote "ti", but 15 January 2027 is a Friday' in capsys.readouterr().err


def test_events_list_tells_where_each_event_stands(
    embedded: Build, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event is not "open" once it took place: running, held, feedback, done."""
    env = _env(embedded)
    config = str(_config(env, tmp_path))
    event_id = _open(env)
    draft = ["--title", "Luonnos", "--start", "2027-03-01 13:00", "--link", "https://x.example"]
    assert (
        main(
            ["--config", config, "--now", "2027-01-10 10:00", "events", "create", *draft, "--draft"]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["--config", config, "events", "show", str(event_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    feedback, closes = shown["feedback"], shown["feedback_closes"]

    def states(now: str) -> list[str]:
        assert main(["--config", config, "--now", now, "events", "list", "--json"]) == 0
        return [row["state"] for row in json.loads(capsys.readouterr().out)]

    assert states("2027-01-10 10:00") == ["open", "draft"]
    assert states("2027-02-11 13:30") == ["running", "draft"]
    assert states("2027-02-11 14:00") == ["held", "draft"]
    assert states(feedback) == ["feedback", "draft"]
    assert states(closes) == ["done", "draft"]
    assert states("2027-12-31 12:00") == ["done", "draft"]
    assert main(["--config", config, "--now", "2027-12-31 12:00", "events", "list"]) == 0
    assert "done" in capsys.readouterr().out
