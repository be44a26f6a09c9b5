"""Events by real mail: the form, invitations with a calendar, registrations, the waitlist,
reminders by ``--now``, updates and cancellations, feedback and ratings."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from events.itip_mail import calendar_part, calendar_reply
from harness.servers import MailServers
from sqlalchemy import select

from mailer.app import App
from mailer.cli import main
from mailer.clock import Clock
from mailer.db.events import Event, Feedback, Registration
from mailer.events import manage, registry
from mailer.events.spec import read_spec
from mailer.events.summary import summarise
from mailer.jobs import job_context
from mailer.roster import import_csv

from .conftest import AppFactory, cli_runner, cycle
from .mail import gmail_reply, outlook_reply, question

pytestmark = pytest.mark.servers

HELSINKI = ZoneInfo("Europe/Helsinki")
TODAY = datetime(2027, 1, 10, 10, 0, tzinfo=HELSINKI)
EVENT_AT = datetime(2027, 2, 11, 13, 0, tzinfo=HELSINKI)
TITLE = "Kilpailutuksen kokemuksia"


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _roster(
    app: App, servers: MailServers, tmp_path: Path, users: list[str], languages: str = "fi"
) -> None:
    """Members ``users``; ``languages`` is cycled over them ("fi", or "fisven")."""
    codes = [languages[i : i + 2] for i in range(0, len(languages), 2)]
    lines = ["email,name,organisation,language"]
    for n, user in enumerate(users):
        lines.append(f"{servers.address(user)},Jäsen {n + 1},Kunta {n % 4},{codes[n % len(codes)]}")
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with app.db.transaction() as session:
        assert not import_csv(session, roster, "fi", app.clock.now()).errors


def _open(app: App, *, extra: list[str] | None = None, **fields: str) -> int:
    """An open webinar on EVENT_AT (13-14) with its invitations queued; returns its id."""
    values = {
        "title": TITLE,
        "time": "11.2.2027 klo 13-14",
        "link": "https://teams.example/l/abc",
        **fields,
    }
    with app.db.transaction() as session:
        ctx = job_context(app, session)
        spec, problems = read_spec(values, app.settings, ctx.now)
        assert spec is not None and not problems
        event = manage.create(ctx, spec, extra=extra or [])
        manage.open_event(ctx, event)
        return event.id


def _event(app: App, event_id: int) -> Event:
    with app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        return event


def _states(app: App, event_id: int) -> dict[str, str]:
    with app.db.transaction() as session:
        rows = session.scalars(select(Registration).where(Registration.event_id == event_id))
        return {r.email.split("@")[0]: r.state for r in rows}


def _deliver(servers: MailServers, mails: list[tuple[EmailMessage, str, str]]) -> None:
    """Send (message, sender, recipient) triples and wait until the network has them all."""
    before = len(servers.messages("network"))
    for msg, sender, to in mails:
        servers.send(msg, sender, to)
    servers.wait_for("network", before + len(mails))


def _register(app: App, event_id: int, servers: MailServers, users: list[str]) -> None:
    """Registrations made directly (the reply forms are tested on their own)."""
    with app.db.transaction() as session:
        ctx = job_context(app, session)
        event = session.get(Event, event_id)
        assert event is not None
        for user in users:
            who = registry.person(ctx, servers.address(user), "", "fi")
            registry.register(ctx, event, who, "", "reply")


def _newest(servers: MailServers, user: str, count: int) -> EmailMessage:
    return servers.wait_for(user, count)[count - 1]


def _about(servers: MailServers, user: str, count: int = 0) -> list[EmailMessage]:
    """The mail about the test's event, once there are ``count`` of them: other mail (the
    members' weekly update, the coordinator's digest) arrives too when the clock jumps."""
    deadline = time.monotonic() + 30
    while True:
        found = [m for m in servers.messages(user) if TITLE in str(m["Subject"])]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{user}: {len(found)} of {count} mails about the event")
        time.sleep(0.2)


# ---- the coordinator's form --------------------------------------------------------------


def test_form_bad_then_good_then_preview_then_send(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """A bad form lists its problems; a good one gets a preview; LÄHETÄ sends the invitations."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    _roster(app, servers, tmp_path, ["member1", "member2", "member3"], "fisven")
    coordinator = servers.address("coordinator")
    form_address = servers.address("network+tapahtuma")
    bad = question(
        coordinator,
        "Uusi webinaari",
        "Hei,\n\nOtsikko: Kilpailutuksen kokemuksia\nAika: ensi torstaina\n"
        "Linkki: teams.example/l/abc\n\nTerveisin\nHanna",
        to=form_address,
    )
    _deliver(servers, [(bad, coordinator, form_address)])
    cycle(app)
    (errors,) = servers.wait_for("coordinator", 1)
    text = _body(errors)
    assert "korjattavaa" in str(errors["Subject"])
    assert 'Aikaa "ensi torstaina" en ymmärtänyt' in text
    assert 'Linkin pitää alkaa https://, ei "teams.example/l/abc"' in text
    with app.db.transaction() as session:
        assert session.scalars(select(Event)).first() is None
    good = gmail_reply(
        errors,
        coordinator,
        "Otsikko: Kilpailutuksen kokemuksia\nAika: to 11.2.2027 klo 13.00\u201314.00\n"
        "Linkki: https://teams.example/l/abc\nKuvaus: Kolmen kunnan kokemukset.\n"
        "Paikkoja: 100\nKysymys: Mistä kunnasta olet?",
    )
    _deliver(servers, [(good, coordinator, str(errors["Reply-To"]))])
    cycle(app)
    preview = _newest(servers, "coordinator", 2)
    assert "Esikatselu" in str(preview["Subject"])
    text = _body(preview)
    assert "Kutsu lähtee 3 jäsenelle" in text
    assert "Aika: to 11.2.2027 klo 13.00\u201314.00" in text
    assert "Mistä kunnasta olet?" in text
    (ics,) = [a for a in preview.iter_attachments() if a.get_filename() == "kutsu.ics"]
    assert b"METHOD:REQUEST" in ics.get_content()
    assert servers.messages("member1") == []
    send = outlook_reply(preview, coordinator, "LÄHETÄ")
    _deliver(servers, [(send, coordinator, str(preview["Reply-To"]))])
    cycle(app)
    subjects = {
        "member1": "Kutsu: Kilpailutuksen kokemuksia (to 11.2.2027 klo 13.00)",
        "member2": "Inbjudan: Kilpailutuksen kokemuksia (tors 11.2.2027 kl. 13.00)",
        "member3": "Invitation: Kilpailutuksen kokemuksia (Thu 11 Feb 2027 at 13:00)",
    }
    for user, subject in subjects.items():
        (invitation,) = servers.wait_for(user, 1)
        assert str(invitation["Subject"]) == subject
    sent = _newest(servers, "coordinator", 3)
    assert "lähti 3 vastaanottajalle" in _body(sent)


def test_forged_coordinator_form_gets_no_preview(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """A form whose From is not a coordinator becomes a question; no event, no preview."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    outsider = servers.address("member9")
    form_address = servers.address("network+tapahtuma")
    form = question(
        outsider,
        "Webinaari",
        "Otsikko: Mainos\nAika: 11.2.2027 klo 13\nLinkki: https://spam.example",
        to=form_address,
    )
    _deliver(servers, [(form, outsider, form_address)])
    cycle(app)
    (forwarded,) = servers.wait_for("coordinator", 1)
    assert "Esikatselu" not in str(forwarded["Subject"])
    with app.db.transaction() as session:
        assert session.scalars(select(Event)).first() is None


# ---- the invitation --------------------------------------------------------------------------


def test_invitation_calendar_is_valid(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Each invitation's .ics parses: REQUEST, UID, DTSTART in Helsinki, ATTENDEE, VTIMEZONE."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    _roster(app, servers, tmp_path, ["member4", "member5"])
    event_id = _open(app)
    uid = _event(app, event_id).uid
    cycle(app)
    for user in ("member4", "member5"):
        (invitation,) = servers.wait_for(user, 1)
        assert invitation.get_content_type() == "multipart/mixed"
        calendar = calendar_part(invitation)
        assert str(calendar["METHOD"]) == "REQUEST"
        (zone,) = calendar.walk("VTIMEZONE")
        assert str(zone["TZID"]) == "Europe/Helsinki"
        (entry,) = calendar.walk("VEVENT")
        assert str(entry["UID"]) == uid
        assert int(entry["SEQUENCE"]) == 0
        start = entry["DTSTART"]
        assert start.params["TZID"] == "Europe/Helsinki"
        assert start.dt == EVENT_AT
        assert entry["DTEND"].dt == EVENT_AT + timedelta(hours=1)
        attendee = entry["ATTENDEE"]
        assert str(attendee) == f"mailto:{servers.address(user)}"
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert str(entry["ORGANIZER"]) == f"mailto:{servers.address('network')}"
        assert list(entry.walk("VALARM"))
        (attached,) = [a for a in invitation.iter_attachments() if a.get_filename() == "kutsu.ics"]
        assert uid.encode() in attached.get_content()
        assert invitation["Reply-To"].startswith("network+r-i")
        assert "Aika: to 11.2.2027 klo 13.00\u201314.00" in _body(invitation)


# ---- registration and cancellation ------------------------------------------------------------

REGISTRATIONS = {
    "member1": ("fi", "Ilmoittaudun\nGluteeniton ruokavalio", outlook_reply),
    "member2": ("fi", "Kyllä", gmail_reply),
    "member3": ("fi", "Tulen!", outlook_reply),
    "member4": ("sv", "Ja", gmail_reply),
    "member5": ("sv", "Hej,\n\njag kommer gärna.\n\nMvh Anders", outlook_reply),
    "member6": ("en", "Yes", gmail_reply),
    "member7": ("en", "Count me in!", outlook_reply),
}
CONFIRMED = {
    "fi": "Ilmoittautuminen vahvistettu",
    "sv": "Anmälan bekräftad",
    "en": "Registration confirmed",
}


def test_registration_by_each_reply_form(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Each reply form registers and is confirmed; the next line answers the question."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    users = list(REGISTRATIONS)
    _roster(app, servers, tmp_path, users, "fififisvsvenen")
    event_id = _open(app, question="Ruokavalio?")
    cycle(app)
    replies = []
    for user, (_, text, client) in REGISTRATIONS.items():
        (invitation,) = servers.wait_for(user, 1)
        who = servers.address(user)
        replies.append((client(invitation, who, text), who, str(invitation["Reply-To"])))
    _deliver(servers, replies)
    cycle(app)
    assert _states(app, event_id) == dict.fromkeys(users, "registered")
    for user, (language, _, _) in REGISTRATIONS.items():
        confirmation = _newest(servers, user, 2)
        assert str(confirmation["Subject"]).startswith(CONFIRMED[language])
    with app.db.transaction() as session:
        answer = session.scalars(
            select(Registration.answer).where(Registration.email == servers.address("member1"))
        ).one()
    assert answer == "Gluteeniton ruokavalio"
    assert "Ruokavalio? Gluteeniton ruokavalio" in _body(_newest(servers, "member1", 2))


def test_cancellation_forms_and_idempotent_repeat(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Cancel words cancel; a repeat changes nothing; an unreadable reply is asked about."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    users = ["member1", "member2", "member3", "member4", "member5", "member6"]
    _roster(app, servers, tmp_path, users, "fififisvenfi")
    event_id = _open(app)
    _register(app, event_id, servers, users[:5])
    cycle(app)
    texts = {
        "member1": "En pääse, valitettavasti.",
        "member2": "Peru",
        "member3": "Ilmoittaudun",
        "member4": "Nej",
        "member5": "No, sorry.",
        "member6": "Mikä tämä on? Kuka järjestää?\nOnko tämä sama kuin viime vuonna",
    }
    replies = []
    for user, text in texts.items():
        (invitation,) = servers.wait_for(user, 1)
        who = servers.address(user)
        replies.append((gmail_reply(invitation, who, text), who, str(invitation["Reply-To"])))
    _deliver(servers, replies)
    cycle(app)
    assert _states(app, event_id) == {
        "member1": "cancelled",
        "member2": "cancelled",
        "member3": "registered",
        "member4": "cancelled",
        "member5": "cancelled",
    }
    assert "peruttu" in str(_newest(servers, "member1", 2)["Subject"])
    assert "Olet jo ilmoittautunut" in str(_newest(servers, "member3", 2)["Subject"])
    assert "avbokad" in str(_newest(servers, "member4", 2)["Subject"])
    # member6 asked questions: the coordinator gets them as a question, nothing changes
    assert any("Mikä tämä on?" in _body(m) for m in servers.wait_for("coordinator", 2))
    unclear = gmail_reply(servers.wait_for("member6", 1)[0], servers.address("member6"), "Hmm")
    _deliver(servers, [(unclear, servers.address("member6"), str(unclear["To"]))])
    cycle(app)
    asked = [m for m in servers.wait_for("member6", 3) if "Tarkoititko" in str(m["Subject"])]
    assert asked and "Tarkoititko ilmoittautua?" in _body(asked[0])
    assert "member6" not in _states(app, event_id)


def test_outlook_and_gmail_calendar_buttons(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Accept in Outlook (auto-reply headers) and Gmail registers; Decline cancels."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    users = ["member1", "member2", "member3"]
    _roster(app, servers, tmp_path, users)
    event_id = _open(app)
    _register(app, event_id, servers, ["member3"])
    cycle(app)
    network = servers.address("network")
    mails = []
    for user, partstat, client in (
        ("member1", "ACCEPTED", "outlook"),
        ("member2", "ACCEPTED", "google"),
        ("member3", "DECLINED", "outlook"),
    ):
        (invitation,) = servers.wait_for(user, 1)
        who = servers.address(user)
        reply = calendar_reply(invitation, who, partstat, name=f"Jäsen {user}", client=client)
        mails.append((reply, who, network))
    _deliver(servers, mails)
    cycle(app)
    assert _states(app, event_id) == {
        "member1": "registered",
        "member2": "registered",
        "member3": "cancelled",
    }
    assert "vahvistettu" in str(_newest(servers, "member1", 2)["Subject"])
    assert "vahvistettu" in str(_newest(servers, "member2", 2)["Subject"])
    assert "peruttu" in str(_newest(servers, "member3", 2)["Subject"])
    with app.db.transaction() as session:
        sources = set(session.scalars(select(Registration.source)))
    assert sources == {"calendar"}


def test_waitlist_and_promotion(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """A full event waitlists and says so; a cancellation promotes the first, who is told."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    users = ["member1", "member2", "member3", "member4"]
    _roster(app, servers, tmp_path, users)
    event_id = _open(app, capacity="2")
    cycle(app)
    invitations = {u: servers.wait_for(u, 1)[0] for u in users}

    def yes(user: str, text: str = "Ilmoittaudun") -> tuple[EmailMessage, str, str]:
        who = servers.address(user)
        return gmail_reply(invitations[user], who, text), who, str(invitations[user]["Reply-To"])

    _deliver(servers, [yes("member1"), yes("member2")])
    cycle(app)
    _deliver(servers, [yes("member3")])
    cycle(app)
    _deliver(servers, [yes("member4")])
    cycle(app)
    assert _states(app, event_id) == {
        "member1": "registered",
        "member2": "registered",
        "member3": "waitlisted",
        "member4": "waitlisted",
    }
    assert "varasijalla 1" in str(_newest(servers, "member3", 2)["Subject"])
    assert "varasijalla 2" in str(_newest(servers, "member4", 2)["Subject"])
    _deliver(servers, [yes("member1", "En pääse")])
    cycle(app)
    assert _states(app, event_id)["member3"] == "registered"
    assert _states(app, event_id)["member4"] == "waitlisted"
    promoted = _newest(servers, "member3", 3)
    assert "Sait paikan" in str(promoted["Subject"])
    assert len(servers.messages("member4")) == 2


# ---- reminders by --now ---------------------------------------------------------------------


@pytest.fixture
def run_at(clean_mail: MailServers, tmp_path: Path) -> Callable[[str], None]:
    return cli_runner(clean_mail, tmp_path)


def _cli_app(make_app: AppFactory, tmp_path: Path) -> App:
    return make_app(database_url=f"sqlite:///{tmp_path / 'cli.db'}", clock=Clock.starting_at(TODAY))


def _subjects(servers: MailServers, user: str) -> list[str]:
    return [str(m["Subject"]) for m in _about(servers, user)]


def test_reminders_at_the_right_moments(
    clean_mail: MailServers,
    make_app: AppFactory,
    tmp_path: Path,
    run_at: Callable[[str], None],
) -> None:
    """7 d, 1 d and the link 1 h before, to registrants only, never twice (--now)."""
    servers = clean_mail
    app = _cli_app(make_app, tmp_path)
    _roster(app, servers, tmp_path, ["member1", "member2", "member3"])
    event_id = _open(app)
    _register(app, event_id, servers, ["member1", "member2"])
    run_at("2027-01-10 10:05")
    servers.wait_for("member3", 1)
    expected = 1
    for when, new in (
        ("2027-02-04 12:59", None),
        ("2027-02-04 13:00", "Muistutus: Kilpailutuksen kokemuksia"),
        ("2027-02-04 13:30", None),
        ("2027-02-10 13:01", "Muistutus: Kilpailutuksen kokemuksia"),
        ("2027-02-10 15:00", None),
        ("2027-02-11 12:00", "Alkaa pian: Kilpailutuksen kokemuksia"),
        ("2027-02-11 12:30", None),
    ):
        run_at(when)
        if new is not None:
            expected += 1
            for user in ("member1", "member2"):
                reminder = _about(servers, user, expected)[-1]
                assert str(reminder["Subject"]).startswith(new), when
        for user in ("member1", "member2"):
            assert len(_about(servers, user)) == expected, when
        assert len(_about(servers, "member3")) == 1, when
    link = _about(servers, "member1", expected)[-1]
    assert "https://teams.example/l/abc" in _body(link)


def test_reminder_missed_while_down_is_caught_up_once_and_never_after(
    clean_mail: MailServers,
    make_app: AppFactory,
    tmp_path: Path,
    run_at: Callable[[str], None],
) -> None:
    """After downtime one reminder catches up; none once the event is over."""
    servers = clean_mail
    app = _cli_app(make_app, tmp_path)
    _roster(app, servers, tmp_path, ["member1"])
    event_id = _open(app)
    _register(app, event_id, servers, ["member1"])
    run_at("2027-01-10 10:05")
    servers.wait_for("member1", 1)
    run_at("2027-02-10 18:00")
    assert str(_about(servers, "member1", 2)[1]["Subject"]).startswith("Muistutus")
    run_at("2027-02-10 18:30")
    assert len(_about(servers, "member1")) == 2
    run_at("2027-02-11 14:30")
    run_at("2027-02-11 15:01")
    assert str(_about(servers, "member1", 3)[2]["Subject"]).startswith("Palaute")
    assert len(_about(servers, "member1")) == 3
    with app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        assert {(r.kind, r.minutes_before): r.state for r in event.reminders} == {
            ("reminder", 7 * 24 * 60): "skipped",
            ("reminder", 24 * 60): "sent",
            ("link", 60): "skipped",
        }


# ---- changes -------------------------------------------------------------------------------


def test_update_and_cancel_by_cli(
    clean_mail: MailServers,
    make_app: AppFactory,
    tmp_path: Path,
    run_at: Callable[[str], None],
) -> None:
    """Update: same UID, SEQUENCE 1; cancel: METHOD:CANCEL, SEQUENCE 2; the registrant gets
    each in their own text, one mail each."""
    servers = clean_mail
    app = _cli_app(make_app, tmp_path)
    _roster(app, servers, tmp_path, ["member1", "member2"])
    event_id = _open(app)
    uid = _event(app, event_id).uid
    _register(app, event_id, servers, ["member1"])
    run_at("2027-01-10 10:05")
    servers.wait_for("member2", 1)
    config = str(tmp_path / "mailer.toml")
    now = ["--config", config, "--now", "2027-01-11 09:00"]
    assert main([*now, "events", "update", str(event_id), "--start", "12.2.2027 klo 14"]) == 0
    run_at("2027-01-11 09:01")
    updates = {"member1": "Muutos tilaisuuteen, johon olet ilmoittautunut", "member2": "Muutos:"}
    for user, subject in updates.items():
        mails = _about(servers, user, 2)
        (update,) = [m for m in mails if str(m["Subject"]).startswith(subject)]
        (entry,) = calendar_part(update).walk("VEVENT")
        assert str(entry["UID"]) == uid and int(entry["SEQUENCE"]) == 1
        assert entry["DTSTART"].dt == datetime(2027, 2, 12, 14, 0, tzinfo=HELSINKI)
        assert "aiemmin to 11.2.2027 klo 13.00\u201314.00" in _body(update)
    assert "Ilmoittautumisesi on edelleen voimassa" in _body(_about(servers, "member1")[1])
    assert main([*now, "events", "cancel", str(event_id)]) == 0
    run_at("2027-01-11 09:02")
    cancels = {"member1": "Tilaisuus on peruttu:", "member2": "Peruttu:"}
    for user, subject in cancels.items():
        mails = _about(servers, user, 3)
        (cancel,) = [m for m in mails if str(m["Subject"]).startswith(subject)]
        calendar = calendar_part(cancel)
        assert str(calendar["METHOD"]) == "CANCEL"
        (entry,) = calendar.walk("VEVENT")
        assert str(entry["UID"]) == uid and int(entry["SEQUENCE"]) == 2
        assert str(entry["STATUS"]) == "CANCELLED"
    run_at("2027-02-11 12:00")
    assert len(_about(servers, "member1")) == 3  # one mail a change; no reminders after


def test_change_and_participants_by_coordinator_mail(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """A change by reply is previewed, sent on LÄHETÄ; OSALLISTUJAT returns a CSV."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(TODAY))
    _roster(app, servers, tmp_path, ["member1", "member2"])
    event_id = _open(app, question="Ruokavalio?")
    with app.db.transaction() as session:
        ctx = job_context(app, session)
        event = session.get(Event, event_id)
        assert event is not None
        registry.register(
            ctx,
            event,
            registry.person(ctx, servers.address("member1"), "", "fi"),
            "Vegaani",
            "reply",
        )
    cycle(app)
    (sent,) = servers.wait_for("coordinator", 1)
    coordinator = servers.address("coordinator")
    change = outlook_reply(sent, coordinator, "Aika: 11.2.2027 klo 14-15\nPaikka: Tampere-talo")
    _deliver(servers, [(change, coordinator, str(sent["Reply-To"]))])
    cycle(app)
    preview = _newest(servers, "coordinator", 2)
    assert "Vahvista muutos" in str(preview["Subject"])
    assert "- Paikka: Tampere-talo (aiemmin -)" in _body(preview)
    assert len(servers.messages("member2")) == 1
    confirm = outlook_reply(preview, coordinator, "LÄHETÄ\nOSALLISTUJAT")
    _deliver(servers, [(confirm, coordinator, str(preview["Reply-To"]))])
    cycle(app)
    update = _newest(servers, "member2", 2)
    (entry,) = calendar_part(update).walk("VEVENT")
    assert str(entry["LOCATION"]) == "Tampere-talo" and int(entry["SEQUENCE"]) == 1
    mails = servers.wait_for("coordinator", 4)
    (listing,) = [m for m in mails if str(m["Subject"]).startswith("Osallistujat")]
    (attachment,) = list(listing.iter_attachments())
    assert attachment.get_filename() == "osallistujat.csv"
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Nimi", "Sähköposti", "Organisaatio", "Tila", "Vastaus"]
    assert rows[1][1:5] == [servers.address("member1"), "Kunta 0", "ilmoittautunut", "Vegaani"]
    assert any(str(m["Subject"]).startswith("Muutos lähetetty") for m in mails)


# ---- feedback and ratings -------------------------------------------------------------------

RATINGS: list[tuple[str, str, str, Decimal | str]] = [
    # user, language, reply, the rating recorded or the reason asked about
    ("member1", "fi", "4", Decimal("4")),
    ("member2", "fi", "4,5", Decimal("4.5")),
    ("member3", "en", "4.5", Decimal("4.5")),
    ("member4", "fi", "4/5\n\nTerveisin\nJäsen 4\np. 040 123 4567", Decimal("4")),
    ("member5", "fi", "4,5 / 5, kiitos hyvästä webinaarista!", Decimal("4.5")),
    ("member6", "fi", "Hei,\n\narvosana 4. Hyvä tilaisuus.", Decimal("4")),
    ("member7", "sv", "Betyg 4", Decimal("4")),
    ("member8", "fi", "★★★★", Decimal("4")),
    ("member9", "fi", "4½", Decimal("4.5")),
    ("member10", "fi", "neljä", Decimal("4")),
    ("member11", "sv", "fyra", Decimal("4")),
    ("member12", "en", "four", Decimal("4")),
    (
        "member13",
        "fi",
        "Arvosana: 5\nMikä oli parasta? Akaan esimerkki\n"
        "Miten kehittäisit? Enemmän aikaa kysymyksille",
        Decimal("5"),
    ),
    ("member14", "fi", "6", "out_of_range"),
    ("member15", "fi", "3-4", "range"),
]
SAVED = {"fi": "Arvosanasi {}/5", "sv": "Ditt betyg {}/5", "en": "Your rating {}/5"}


def test_feedback_requests_and_ratings(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Ratings recorded or asked about, the last one counts, the summary in the report's words."""
    servers = clean_mail
    clock = Clock.starting_at(TODAY)
    app = make_app(clock=clock)
    users = [user for user, *_ in RATINGS]
    languages = "".join(language for _, language, _, _ in RATINGS)
    _roster(app, servers, tmp_path, [*users, "member16"], languages + "fi")
    event_id = _open(app)
    _register(app, event_id, servers, users)
    cycle(app)
    for user in [*users, "member16"]:
        servers.wait_for(user, 1)
    clock.set(EVENT_AT + timedelta(hours=1, minutes=59))
    cycle(app)
    assert not any(s.startswith("Palaute") for u in users for s in _subjects(servers, u))
    clock.set(EVENT_AT + timedelta(hours=2, minutes=1))
    cycle(app)
    replies = []
    for n, (user, _, text, _) in enumerate(RATINGS):
        request = _about(servers, user, 2)[-1]
        assert str(request["Subject"]).startswith(("Palaute", "Respons", "Feedback")), user
        assert "1\u20135" in _body(request)
        client = gmail_reply if n % 2 else outlook_reply
        who = servers.address(user)
        replies.append((client(request, who, text), who, str(request["Reply-To"])))
    assert len(_about(servers, "member16")) == 1  # not registered: not asked
    _deliver(servers, replies)
    cycle(app)
    for user, language, _, expected in RATINGS:
        answer = _about(servers, user, 3)[-1]
        if isinstance(expected, Decimal):
            shown = f"{expected.normalize():f}".replace(".", "," if language != "en" else ".")
            assert SAVED[language].format(shown) in _body(answer), user
        else:
            assert "Tarkoititko arvosanaa?" in str(answer["Subject"]), user
    with app.db.transaction() as session:
        best = session.scalars(select(Feedback.best).where(Feedback.best != "")).all()
    assert best == ["Akaan esimerkki"]
    # member1 changes their mind; member14 clarifies
    again = []
    for user, text in (("member1", "Arvosana 5 sittenkin"), ("member14", "5")):
        last = _about(servers, user, 3)[-1]
        who = servers.address(user)
        again.append((gmail_reply(last, who, text), who, str(last["Reply-To"])))
    _deliver(servers, again)
    cycle(app)
    with app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        summary = summarise(session, event)
    given = [e for *_, e in RATINGS if isinstance(e, Decimal)]
    values = [Decimal(5), *given[1:], Decimal(5)]
    assert summary.ratings == len(values) == 14
    assert summary.rating == (sum(values) / len(values)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    clock.set(EVENT_AT + timedelta(days=15, hours=3))
    cycle(app)
    (report,) = [m for m in _about(servers, "coordinator", 2) if "Yhteenveto" in str(m["Subject"])]
    rating = f"{summary.rating}".replace(".", ",")
    assert f"Osallistujia 15. Osallistujien antama arvosana: {rating}/5 (14 vastausta)" in _body(
        report
    )
    assert "Mikä oli parasta:\n- Akaan esimerkki" in _body(report)
    assert "Miten kehittäisit:\n- Enemmän aikaa kysymyksille" in _body(report)
    late = _about(servers, "member2", 3)[-1]
    who = servers.address("member2")
    _deliver(servers, [(gmail_reply(late, who, "1"), who, str(late["Reply-To"]))])
    cycle(app)
    assert "suljettu" in str(_about(servers, "member2", 4)[-1]["Subject"])
    with app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        assert summarise(session, event).rating == summary.rating


@pytest.mark.postgres
def test_event_round_trip_on_postgresql(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path, postgres_url: str
) -> None:
    """Invitations, a registration, a reminder and a rating with PostgreSQL."""
    servers = clean_mail
    clock = Clock.starting_at(TODAY)
    app = make_app(database_url=postgres_url, clock=clock)
    assert app.db.engine.dialect.name == "postgresql"
    _roster(app, servers, tmp_path, ["member1", "member2"])
    event_id = _open(app, capacity="5")
    cycle(app)
    (invitation,) = servers.wait_for("member1", 1)
    who = servers.address("member1")
    _deliver(servers, [(gmail_reply(invitation, who, "Kyllä"), who, str(invitation["Reply-To"]))])
    cycle(app)
    assert _states(app, event_id) == {"member1": "registered"}
    clock.set(EVENT_AT - timedelta(days=1, minutes=-1))
    cycle(app)
    assert any(s.startswith("Muistutus") for s in _subjects(servers, "member1"))
    assert not any(s.startswith("Muistutus") for s in _subjects(servers, "member2"))
    clock.set(EVENT_AT + timedelta(hours=3))
    cycle(app)
    (request,) = [m for m in servers.messages("member1") if str(m["Subject"]).startswith("Palaute")]
    _deliver(servers, [(outlook_reply(request, who, "4,5"), who, str(request["Reply-To"]))])
    cycle(app)
    (thanks,) = [m for m in servers.messages("member1") if "arvosanasta" in str(m["Subject"])]
    assert "Arvosanasi 4,5/5" in _body(thanks)
    with app.db.transaction() as session:
        event = session.get(Event, event_id)
        assert event is not None
        assert summarise(session, event).rating == Decimal("4.5")
