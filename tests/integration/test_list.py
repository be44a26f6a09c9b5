"""The members' list by real mail: joining, leaving, posting, moderation, bounces, privacy."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness.servers import MailServers
from sqlalchemy import select

from mailer.app import App
from mailer.clock import Clock
from mailer.db.models import ListPost, Member
from mailer.roster import import_csv

from .conftest import AppFactory, cycle
from .mail import gmail_reply, outlook_reply, question

pytestmark = pytest.mark.servers


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _roster(app: App, servers: MailServers, tmp_path: Path, users: list[str], **extra: str) -> None:
    lines = ["email,name,organisation,language,delivery"]
    for n, user in enumerate(users):
        delivery = extra.get(user, "each")
        lines.append(f"{servers.address(user)},Jäsen {n},Kunta {n % 5},fi,{delivery}")
    csv = tmp_path / "roster.csv"
    csv.write_text("\n".join(lines) + "\n")
    with app.db.transaction() as session:
        report = import_csv(session, csv, "fi", app.clock.now())
    assert not report.errors


def _member(app: App, address: str) -> Member | None:
    with app.db.transaction() as session:
        return session.scalars(select(Member).where(Member.email == address)).first()


def _deliver(servers: MailServers, msg: EmailMessage, sender: str, to: str) -> None:
    servers.send(msg, sender, to)
    servers.wait_for("network", 1)


def test_join_with_confirmation(clean_mail: MailServers, make_app: AppFactory) -> None:
    """liity → a confirmation request → any reply confirms → welcome; subscribed."""
    servers = clean_mail
    app = make_app()
    who = servers.address("member10")
    _deliver(
        servers,
        question(who, "liity", "", name="Matti Meikäläinen"),
        who,
        servers.address("network+liity"),
    )
    cycle(app)
    (confirm,) = servers.wait_for("member10", 1)
    assert "Vahvista" in str(confirm["Subject"])
    assert _member(app, who) is None
    _deliver(servers, gmail_reply(confirm, who, "Kyllä"), who, str(confirm["Reply-To"]))
    cycle(app)
    welcome = servers.wait_for("member10", 2)[1]
    assert "Tervetuloa" in str(welcome["Subject"])
    member = _member(app, who)
    assert member is not None and member.subscribed and member.name == "Matti Meikäläinen"


def test_join_in_swedish_at_the_network_address(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """'Prenumerera' as the subject at the network address: the request is in Swedish."""
    servers = clean_mail
    app = make_app()
    who = servers.address("member11")
    _deliver(
        servers, question(who, "SV: Prenumerera", "Mvh Anders"), who, servers.address("network")
    )
    cycle(app)
    (confirm,) = servers.wait_for("member11", 1)
    assert "Bekräfta" in str(confirm["Subject"]) or "bekräfta" in _body(confirm).lower()


def test_join_for_someone_else_only_asks_them(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """A join forged for another address sends them a request; nobody else can confirm."""
    servers = clean_mail
    app = make_app()
    victim, forger = servers.address("member12"), servers.address("member13")
    _deliver(servers, question(victim, "liity", ""), forger, servers.address("network"))
    cycle(app)
    (confirm,) = servers.wait_for("member12", 1)
    assert servers.messages("member13") == []
    _deliver(servers, gmail_reply(confirm, forger, "kyllä"), forger, str(confirm["Reply-To"]))
    cycle(app)
    assert _member(app, victim) is None


def test_repeated_join_requests_are_rate_limited(
    clean_mail: MailServers, make_app: AppFactory
) -> None:
    """More than join_requests_per_day requests get no more confirmation mails."""
    servers = clean_mail
    app = make_app(list={"join_requests_per_day": 2})
    who = servers.address("member14")
    for _ in range(4):
        servers.send(question(who, "tilaa", ""), who, servers.address("network"))
    servers.wait_for("network", 4)
    cycle(app)
    assert len(servers.wait_for("member14", 2)) == 2
    assert len(servers.messages("network", "Processed")) == 4


def test_join_with_approval(clean_mail: MailServers, make_app: AppFactory) -> None:
    """With require_approval, the coordinator's HYVÄKSY completes the join."""
    servers = clean_mail
    app = make_app(list={"require_approval": True})
    who = servers.address("member15")
    _deliver(servers, question(who, "liity", ""), who, servers.address("network+liity"))
    cycle(app)
    (confirm,) = servers.wait_for("member15", 1)
    _deliver(servers, gmail_reply(confirm, who, "ok"), who, str(confirm["Reply-To"]))
    cycle(app)
    waiting = servers.wait_for("member15", 2)[1]
    assert "hyväksyntää" in str(waiting["Subject"])
    (approval,) = servers.wait_for("coordinator", 1)
    coordinator = servers.address("coordinator")
    _deliver(
        servers,
        outlook_reply(approval, coordinator, "HYVÄKSY"),
        coordinator,
        str(approval["Reply-To"]),
    )
    cycle(app)
    assert "Tervetuloa" in str(servers.wait_for("member15", 3)[2]["Subject"])
    member = _member(app, who)
    assert member is not None and member.subscribed


def test_leave_by_mail(clean_mail: MailServers, make_app: AppFactory, tmp_path: Path) -> None:
    """eroa at +eroa removes the member at once and says so; no confirmation."""
    servers = clean_mail
    app = make_app()
    _roster(app, servers, tmp_path, ["member16"])
    who = servers.address("member16")
    _deliver(servers, question(who, "eroa", ""), who, servers.address("network+eroa"))
    cycle(app)
    (told,) = servers.wait_for("member16", 1)
    assert "eronnut" in str(told["Subject"])
    member = _member(app, who)
    assert member is not None and not member.subscribed


def test_post_reaches_fifty_members_with_list_headers(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """A member's post goes to all 50 members, tagged, with List-* headers, VERP and footer."""
    servers = clean_mail
    app = make_app()
    users = [f"member{i}" for i in range(1, 51)]
    _roster(app, servers, tmp_path, users)
    author = servers.address("member1")
    post = question(
        author,
        "Kokemuksia kutsutaksista?",
        "Hei kaikki,\nmiten teillä?",
        name="Jäsen 0",
        to=servers.address("network+lista"),
    )
    _deliver(servers, post, author, servers.address("network+lista"))
    cycle(app)
    for user in ("member1", "member25", "member50"):
        (copy,) = servers.wait_for(user, 1)
        assert str(copy["Subject"]) == "[Verkosto] Kokemuksia kutsutaksista?"
        assert copy["List-Id"] == "Verkosto <network.example.test>"
        assert copy["List-Post"] == "<mailto:network+lista@example.test>"
        assert "network+eroa@example.test" in str(copy["List-Unsubscribe"])
        assert copy["Reply-To"] == "network+lista@example.test"
        assert copy["Message-ID"] == post["Message-ID"]
        assert re.fullmatch(
            r"<network\+bounce-b\d+-[a-z2-7]{10}@example\.test>", str(copy["Return-Path"])
        )
        body = _body(copy)
        assert "miten teillä?" in body and "Eroa listalta" in body
    with app.db.transaction() as session:
        (stored,) = session.scalars(select(ListPost))
        assert stored.state == "accepted" and stored.recipients == 50
    total = sum(len(servers.messages(u)) for u in users)
    assert total == 50


def test_dmarc_reject_domain_rewrites_from(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """An author from a p=reject domain appears as 'Name via Verkosto', the author in Cc."""
    servers = clean_mail
    app = make_app(list={"dmarc_domains": ["example.test"]})
    _roster(app, servers, tmp_path, ["member2", "member3"])
    author = servers.address("member2")
    _deliver(
        servers,
        question(
            author, "Tilastot", "Hei", name="Anna Virtanen", to=servers.address("network+lista")
        ),
        author,
        servers.address("network+lista"),
    )
    cycle(app)
    (copy,) = servers.wait_for("member3", 1)
    (sender,) = copy["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "Anna Virtanen via Verkosto",
        "network+lista@example.test",
    )
    assert author in str(copy["Cc"])


def test_held_posts_approved_and_rejected(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """A non-member's post is held with its reasons; HYVÄKSY sends it, HYLKÄÄ tells why."""
    servers = clean_mail
    app = make_app()
    _roster(app, servers, tmp_path, ["member4", "member5"])
    outsider = servers.address("coordinator2")
    for subject in ("Mainos", "Tärkeä tiedote"):
        servers.send(
            question(outsider, subject, "Hei", to=servers.address("network+lista")),
            outsider,
            servers.address("network+lista"),
        )
    servers.wait_for("network", 2)
    cycle(app)
    notices = servers.wait_for("coordinator", 2)
    assert all("ei ole listan jäsen" in _body(n) for n in notices)
    assert all(
        any(p.get_content_type() == "message/rfc822" for p in n.iter_attachments()) for n in notices
    )
    assert len(servers.wait_for("coordinator2", 2)) == 2  # "your post waits"
    assert servers.messages("member4") == []
    by_subject = {str(n["Subject"]): n for n in notices}
    ad = next(n for s, n in by_subject.items() if "Mainos" in s)
    news = next(n for s, n in by_subject.items() if "Tärkeä" in s)
    coordinator = servers.address("coordinator")
    servers.send(
        outlook_reply(ad, coordinator, "HYLKÄÄ\nEi mainoksia listalle."),
        coordinator,
        str(ad["Reply-To"]),
    )
    servers.send(outlook_reply(news, coordinator, "HYVÄKSY"), coordinator, str(news["Reply-To"]))
    servers.wait_for("network", 2)
    cycle(app)
    (copy,) = servers.wait_for("member4", 1)
    assert "Tärkeä tiedote" in str(copy["Subject"])
    outcomes = servers.wait_for("coordinator2", 4)[2:]
    rejected = next(m for m in outcomes if "Mainos" in str(m["Subject"]))
    assert "Ei mainoksia listalle." in _body(rejected)


def test_daily_and_weekly_digests_with_now(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Digest members get one digest at the hour, once; weekly ones on the weekday."""
    servers = clean_mail
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 11:00 in Helsinki
    clock = Clock.starting_at(start)
    app = make_app(clock=clock, list={"digest_hour": 7, "weekly_digest_day": "monday"})
    _roster(
        app, servers, tmp_path, ["member6", "member7", "member8"], member7="daily", member8="weekly"
    )
    author = servers.address("member6")
    for subject in ("Ensimmäinen", "Toinen"):
        servers.send(
            question(author, subject, f"{subject} viesti", to=servers.address("network+lista")),
            author,
            servers.address("network+lista"),
        )
    servers.wait_for("network", 2)
    cycle(app)
    assert servers.messages("member7") == []  # not yet: today's 07:00 was before the posts
    clock.set(start + timedelta(days=1))  # Tuesday 11:00: the daily digest is due
    cycle(app)
    (daily,) = servers.wait_for("member7", 1)
    assert "Ensimmäinen" in _body(daily) and "Toinen viesti" in _body(daily)
    cycle(app)
    assert len(servers.messages("member7")) == 1  # never twice
    assert servers.messages("member8") == []
    clock.set(start + timedelta(days=7))  # next Monday, after a week "down"
    cycle(app)
    (weekly,) = servers.wait_for("member8", 1)
    assert "Toinen" in _body(weekly)
    assert len(servers.messages("member7")) == 1  # no posts since: no empty daily digest


def test_bounces_disable_member_after_threshold_and_probe(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """Real bounces of list mail to a dead address count; a bounced probe disables."""
    servers = clean_mail
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    clock = Clock.starting_at(start)
    app = make_app(clock=clock, list={"bounce_threshold": 2})
    _roster(app, servers, tmp_path, ["member9", "gone"])
    author = servers.address("member9")
    for day in range(2):
        clock.set(start + timedelta(days=day))
        servers.send(
            question(author, f"Päivä {day}", "x", to=servers.address("network+lista")),
            author,
            servers.address("network+lista"),
        )
        servers.wait_for("network", 1)
        cycle(app)  # the copy to gone@ bounces back to its VERP address
        servers.wait_for("network", 1, timeout=60)
        cycle(app)
    gone = _member(app, servers.address("gone"))
    assert gone is not None and gone.bounce_score == 2 and gone.probe_sent_at is not None
    assert gone.disabled_at is None
    servers.wait_for("network", 1, timeout=60)  # the probe bounced too
    cycle(app)
    gone = _member(app, servers.address("gone"))
    assert gone is not None and gone.disabled_at is not None
    member9 = _member(app, author)
    assert member9 is not None and member9.bounce_score == 0


def test_out_of_office_to_the_bounce_address_is_not_a_bounce(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """An out-of-office reply sent to a VERP address counts nothing."""
    servers = clean_mail
    app = make_app()
    _roster(app, servers, tmp_path, ["member17"])
    member = _member(app, servers.address("member17"))
    assert member is not None
    verp = f"network+bounce-{app.tokens.make('b', member.id)}@example.test"
    ooo = question(
        servers.address("member17"), "Automaattinen vastaus: Tiedote", "Olen lomalla.", to=verp
    )
    ooo["Auto-Submitted"] = "auto-replied"
    _deliver(servers, ooo, servers.address("member17"), verp)
    cycle(app)
    member = _member(app, servers.address("member17"))
    assert member is not None and member.bounce_score == 0
    assert servers.messages("member17") == []


def test_data_export_and_erase(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """'tietoni' returns everything stored as JSON; 'poista tietoni' + a reply erases it."""
    servers = clean_mail
    app = make_app()
    _roster(app, servers, tmp_path, ["member18"])
    who = servers.address("member18")
    _deliver(servers, question(who, "Kysymys", "Miten?"), who, servers.address("network"))
    cycle(app)
    servers.wait_for("member18", 1)
    _deliver(servers, question(who, "tietoni", ""), who, servers.address("network"))
    cycle(app)
    export = servers.wait_for("member18", 2)[1]
    (attachment,) = list(export.iter_attachments())
    data = json.loads(attachment.get_content())
    assert data["member"]["email"] == who and data["questions"][0]["subject"] == "Kysymys"
    _deliver(servers, question(who, "poista tietoni", ""), who, servers.address("network"))
    cycle(app)
    confirm = servers.wait_for("member18", 3)[2]
    _deliver(servers, gmail_reply(confirm, who, "kyllä"), who, str(confirm["Reply-To"]))
    cycle(app)
    assert "poistettu" in str(servers.wait_for("member18", 4)[3]["Subject"])
    assert _member(app, who) is None
    with app.db.transaction() as session:
        from mailer.handlers.privacy import collect
        from mailer.jobs import job_context

        left = collect(job_context(app, session), who)
    assert left["member"] is None and left["questions"] == [] and left["messages"] == []


def test_one_click_unsubscribe_by_post(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """The List-Unsubscribe URL answers a GET with a button and a One-Click POST unsubscribes."""
    import urllib.request

    from mailer.web import WebServer

    servers = clean_mail
    app = make_app(list={"base_url": "https://lista.example.test"})
    _roster(app, servers, tmp_path, ["member19", "member20"])
    author = servers.address("member19")
    _deliver(
        servers,
        question(author, "Tiedote", "x", to=servers.address("network+lista")),
        author,
        servers.address("network+lista"),
    )
    cycle(app)
    (copy,) = servers.wait_for("member20", 1)
    assert copy["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.search(
        r"<https://lista\.example\.test(/unsubscribe/[a-z0-9-]+)>", str(copy["List-Unsubscribe"])
    )
    assert match is not None
    web = WebServer(app, "127.0.0.1", 0, lambda: None)
    web.start()
    try:
        url = f"http://127.0.0.1:{web.port}{match.group(1)}"
        with urllib.request.urlopen(url, timeout=10) as page:
            assert b'<form method="post"' in page.read()
        member = _member(app, servers.address("member20"))
        assert member is not None and member.subscribed  # a GET changes nothing
        request = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(request, timeout=10) as done:
            assert done.status == 200
    finally:
        web.stop()
    member = _member(app, servers.address("member20"))
    assert member is not None and not member.subscribed
    cycle(app)
    assert "eronnut" in str(servers.wait_for("member20", 2)[1]["Subject"])
