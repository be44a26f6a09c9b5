"""Votes and surveys by real mail: form, preview, send, ballots, revotes, deadline, results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness.servers import MailServers
from sqlalchemy import select

from mailer.app import App
from mailer.clock import Clock
from mailer.db.polls import Ballot, Poll
from mailer.roster import import_csv

from .conftest import AppFactory, cycle
from .mail import gmail_reply, outlook_reply, question

pytestmark = pytest.mark.servers

START = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)  # Sunday 10:00 in Helsinki
FORM = """Kysymys: Mistä aiheesta seuraava webinaari?
1. Joukkoliikenteen tilastot
2. Kutsutaksit ja asiointiliikenne
3. Koulukuljetusten kilpailutus
4. Talvikunnossapito ja pysäkit
Valintoja enintään: 2
Päättyy: 15.1.2027 klo 16

Terveisin
Koordinaattori
"""


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _roster(app: App, servers: MailServers, tmp_path: Path, users: dict[str, str]) -> None:
    lines = ["email,name,organisation,language"]
    lines += [f"{servers.address(u)},{u},{org},fi" for u, org in users.items()]
    csv = tmp_path / "roster.csv"
    csv.write_text("\n".join(lines) + "\n")
    with app.db.transaction() as session:
        assert not import_csv(session, csv, "fi", app.clock.now()).errors


def _open_by_form(servers: MailServers, app: App) -> None:
    """Bad form, then the good form, the preview, LÄHETÄ."""
    coordinator = servers.address("coordinator")
    form_to = servers.address("network+aanestys")
    servers.send(
        question(coordinator, "Webinaariäänestys", "Kysymys: Mitä?\n1. Yksi\n", to=form_to),
        coordinator,
        form_to,
    )
    servers.wait_for("network", 1)
    cycle(app)
    (errors,) = servers.wait_for("coordinator", 1)
    text = _body(errors)
    assert "vähintään kaksi" in text and "päättymisaikaa ei tunnistettu" in text
    with app.db.transaction() as session:
        assert session.scalars(select(Poll)).first() is None
    servers.send(question(coordinator, "Webinaariäänestys", FORM, to=form_to), coordinator, form_to)
    servers.wait_for("network", 1)
    cycle(app)
    preview = servers.wait_for("coordinator", 2)[1]
    assert "Vastaa tähän viestiin valintasi numeroilla, esim. 2 ja 4" in _body(preview)
    assert "4. Talvikunnossapito ja pysäkit" in _body(preview)
    servers.send(
        outlook_reply(preview, coordinator, "LÄHETÄ"), coordinator, str(preview["Reply-To"])
    )
    servers.wait_for("network", 1)
    cycle(app)


def test_form_preview_send_vote_revote_and_results(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """The whole poll by mail: ballots, confirmations, a clarify, a revote, the deadline."""
    servers = clean_mail
    clock = Clock.starting_at(START)
    app = make_app(clock=clock)
    _roster(
        app,
        servers,
        tmp_path,
        {"member1": "Akaa", "member2": "Riihimäki", "member3": "Uusikaupunki"},
    )
    _open_by_form(servers, app)
    ballots = {u: servers.wait_for(u, 1)[0] for u in ("member1", "member2", "member3")}
    assert "Mistä aiheesta" in str(ballots["member1"]["Subject"])
    assert "[#" not in str(ballots["member1"]["Subject"])

    replies = {
        "member1": gmail_reply(ballots["member1"], servers.address("member1"), "2 ja 4"),
        "member2": outlook_reply(
            ballots["member2"],
            servers.address("member2"),
            "Äänestän tilastoja\n\nt. Kaisa\n040 123 4567",
        ),
        "member3": gmail_reply(ballots["member3"], servers.address("member3"), "1, 2 ja 3"),
    }
    for user, reply in replies.items():
        servers.send(reply, servers.address(user), str(ballots[user]["Reply-To"]))
    servers.wait_for("network", 3)
    cycle(app)
    confirm1 = servers.wait_for("member1", 2)[1]
    assert "2. Kutsutaksit" in _body(confirm1) and "4. Talvikunnossapito" in _body(confirm1)
    assert "1. Joukkoliikenteen tilastot" in _body(servers.wait_for("member2", 2)[1])
    clarify = servers.wait_for("member3", 2)[1]
    assert "enintään 2" in _body(clarify)

    revote = gmail_reply(ballots["member1"], servers.address("member1"), "Kolmonen")
    servers.send(revote, servers.address("member1"), str(ballots["member1"]["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    assert "korvasi aiemman" in _body(servers.wait_for("member1", 3)[2])

    clock.set(START + timedelta(days=6))  # past the deadline (Friday 16:00)
    cycle(app)
    coordinator_results = servers.wait_for("coordinator", 4)[3]
    text = _body(coordinator_results)
    assert "Vastauksia 2 / 3" in text
    assert "  1   50 %  3. Koulukuljetusten kilpailutus" in text
    assert text.index("3. Koulukuljetusten") < text.index("2. Kutsutaksit")
    assert "Tulokset" in str(servers.wait_for("member2", 3)[2]["Subject"])

    late = gmail_reply(ballots["member3"], servers.address("member3"), "1")
    servers.send(late, servers.address("member3"), str(ballots["member3"]["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    assert "päättynyt" in str(servers.wait_for("member3", 4)[3]["Subject"])
    with app.db.transaction() as session:
        assert sorted(b.choices for b in session.scalars(select(Ballot))) == ["1", "3"]


def test_outsider_is_refused_and_coordinator_closes_early(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """A vote from outside the audience is refused; SULJE closes at once."""
    servers = clean_mail
    app = make_app(clock=Clock.starting_at(START))
    _roster(app, servers, tmp_path, {"member4": "Akaa"})
    _open_by_form(servers, app)
    (ballot,) = servers.wait_for("member4", 1)
    outsider = servers.address("member40")
    servers.send(gmail_reply(ballot, outsider, "2"), outsider, str(ballot["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    (refusal,) = servers.wait_for("member40", 1)
    assert "vastaajissa" in str(refusal["Subject"])
    sent = servers.wait_for("coordinator", 3)[2]
    coordinator = servers.address("coordinator")
    servers.send(outlook_reply(sent, coordinator, "SULJE"), coordinator, str(sent["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    with app.db.transaction() as session:
        assert session.scalars(select(Poll.state)).one() == "closed"
    assert "Tulokset" in str(servers.wait_for("coordinator", 4)[3]["Subject"])


def test_one_ballot_per_organisation(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """In one-per-organisation mode the municipality's last vote is the one that counts."""
    from mailer.handlers import polls

    servers = clean_mail
    clock = Clock.starting_at(START)
    app = make_app(clock=clock)
    _roster(app, servers, tmp_path, {"member5": "Akaa", "member6": "Akaa", "member7": "Riihimäki"})
    with app.db.transaction() as session:
        poll = polls.new_poll(
            session,
            kind="poll",
            question="Seminaarin paikka?",
            options=["Tampere", "Turku"],
            max_choices=1,
            closes_at=START + timedelta(days=2),
            now=clock.now(),
            coordinator=servers.address("coordinator"),
            one_per_organisation=True,
            state="open",
        )
    cycle(app)  # the job sends the ballots
    ballots = {u: servers.wait_for(u, 1)[0] for u in ("member5", "member6", "member7")}
    for user, choice in (("member5", "Tampere"), ("member7", "Turku"), ("member6", "Turku")):
        servers.send(
            gmail_reply(ballots[user], servers.address(user), choice),
            servers.address(user),
            str(ballots[user]["Reply-To"]),
        )
        servers.wait_for("network", 1)
        cycle(app)
    with app.db.transaction() as session:
        poll = session.get_one(Poll, poll.id)
        result = polls.tally(session, poll)
    assert result.ballots == 2
    assert [(text, votes) for _, text, votes, _ in result.rows] == [("Turku", 2), ("Tampere", 0)]


def test_survey_with_free_text_answers(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """An advance survey by form: numbered answers are collected into one document."""
    servers = clean_mail
    clock = Clock.starting_at(START)
    app = make_app(clock=clock)
    _roster(app, servers, tmp_path, {"member8": "Akaa", "member9": "Akaa"})
    coordinator = servers.address("coordinator")
    to = servers.address("network+kysely")
    servers.send(
        question(
            coordinator,
            "Ennakkokysely",
            (
                "Kysymys: Ennakkokysely kevään webinaariin\n"
                "1. Mitä haluaisit käsitellä?\n2. Mitä kysyisit asiantuntijalta?\n"
                "Päättyy: 12.1.2027 klo 12\n"
            ),
            to=to,
        ),
        coordinator,
        to,
    )
    servers.wait_for("network", 1)
    cycle(app)
    preview = servers.wait_for("coordinator", 1)[0]
    servers.send(gmail_reply(preview, coordinator, "LÄHETÄ"), coordinator, str(preview["Reply-To"]))
    servers.wait_for("network", 1)
    cycle(app)
    (survey,) = servers.wait_for("member8", 1)
    answer = "1) Kutsutaksien kilpailutus\n2) Miten hinnoittelette?\n\nTerveisin\nMatti"
    servers.send(
        outlook_reply(survey, servers.address("member8"), answer),
        servers.address("member8"),
        str(survey["Reply-To"]),
    )
    servers.wait_for("network", 1)
    cycle(app)
    assert "kirjattu" in str(servers.wait_for("member8", 2)[1]["Subject"])
    clock.set(START + timedelta(days=3))
    cycle(app)
    results = servers.wait_for("coordinator", 3)[2]
    (document,) = list(results.iter_attachments())
    text = document.get_content()
    assert "Kutsutaksien kilpailutus" in text and "Miten hinnoittelette?" in text
    assert text.index("Kutsutaksien") < text.index("Miten hinnoittelette")
    assert servers.messages("member9")[-1]["Subject"] != results["Subject"]
