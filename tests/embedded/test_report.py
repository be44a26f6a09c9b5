"""The yearly report: every figure against a seeded year, the CLI, the mail command, the
charts rendered by a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer import report as yearly
from mailer.cli import main
from mailer.db.events import Event, Feedback, Invitation, Registration
from mailer.db.models import ListPost, Ticket
from mailer.db.polls import Ballot, Poll, PollOption
from mailer.db.shared_answers import SharedAnswer
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded
from .test_cli import _config

Build = Callable[..., Embedded]
HELSINKI = ZoneInfo("Europe/Helsinki")
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=HELSINKI)
CHROMIUM = Path("/usr/bin/chromium")


def _at(*parts: int) -> datetime:
    """A moment in network time."""
    return datetime(*parts, tzinfo=HELSINKI)  # type: ignore[misc]


def _member(
    session: Session, email: str, org: str, joined: datetime, left: datetime | None = None
) -> None:
    member = add_member(
        session,
        email,
        name=email.split("@")[0].title(),
        organisation_name=org,
        language="fi",
        delivery="each",
        now=joined,
    )
    if left is not None:
        member.subscribed, member.updated_at = False, left


def _event(session: Session, title: str, starts: datetime, state: str = "open") -> Event:
    event = Event(
        uid=f"{title}@example.test",
        kind="webinar",
        title=title,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        feedback_at=starts + timedelta(hours=2),
        feedback_closes_at=starts + timedelta(days=14),
        state=state,
        created_at=starts - timedelta(days=30),
        updated_at=starts - timedelta(days=30),
    )
    session.add(event)
    session.flush()
    return event


def _register(
    session: Session, event: Event, email: str, state: str = "registered"
) -> Registration:
    invitation = Invitation(
        event_id=event.id, address=email, language="fi", created_at=event.created_at
    )
    session.add(invitation)
    session.flush()
    reg = Registration(
        event_id=event.id,
        invitation_id=invitation.id,
        email=email,
        language="fi",
        state=state,
        created_at=event.created_at,
        updated_at=event.created_at,
    )
    session.add(reg)
    session.flush()
    return reg


def _rate(
    session: Session,
    reg: Registration,
    halves: int,
    best: str = "",
    improve: str = "",
    text: str = "",
) -> None:
    session.add(
        Feedback(
            event_id=reg.event_id,
            registration_id=reg.id,
            rating_halves=halves,
            status="ok",
            best=best,
            improve=improve,
            text=text,
            created_at=NOW - timedelta(days=100),
        )
    )
    session.flush()


def _ticket(session: Session, created: datetime, answered_after: timedelta | None) -> None:
    session.add(
        Ticket(
            requester_email="kysyja@example.test",
            language="fi",
            subject="Kysymys",
            state="answered" if answered_after else "open",
            created_at=created,
            updated_at=created,
            first_answered_at=created + answered_after if answered_after else None,
        )
    )


def _post(session: Session, author: str, created: datetime, state: str = "accepted") -> None:
    session.add(
        ListPost(author_email=author, subject="Aihe", raw=b"", state=state, created_at=created)
    )


def seed(session: Session) -> None:
    """A year of the network, 2026, with known figures (the assertions below spell them out)."""
    # Members: 4 at the start (one of them leaves in June), 2 join, 1 left already in 2025.
    _member(session, "a1@example.test", "Akaa", _at(2024, 5, 1))
    _member(session, "a2@example.test", "Akaa", _at(2025, 3, 1))
    _member(session, "s1@example.test", "Sastamala", _at(2025, 12, 31, 23, 0))
    _member(session, "s2@example.test", "Sastamala", _at(2025, 2, 1), left=_at(2026, 6, 1))
    _member(session, "old@example.test", "Sastamala", _at(2024, 1, 1), left=_at(2025, 6, 1))
    _member(session, "k1@example.test", "Kemi", _at(2026, 3, 15))
    _member(session, "a3@example.test", "Akaa", _at(2026, 10, 2))
    _member(session, "future@example.test", "Kemi", _at(2027, 1, 5))
    # Events: two held in 2026; a cancelled one and one from 2025 are not in the report.
    first = _event(session, "Kutsutaksit", _at(2026, 2, 11, 13))
    regs = [_register(session, first, f"p{n}@example.test") for n in range(3)]
    _register(session, first, "w@example.test", state="waitlisted")
    _rate(session, regs[0], 6)  # replaced by the later 4,5 below
    _rate(session, regs[0], 9, best="Akaan esimerkki", improve="Enemmän aikaa")
    _rate(session, regs[1], 10, text="Hyvä webinaari!")
    _rate(session, regs[2], 8, best="Keskustelu")
    second = _event(session, "Tilastot", _at(2026, 9, 3, 9))
    _rate(session, _register(session, second, "p0@example.test"), 8)
    _register(session, second, "p1@example.test")
    _event(session, "Peruttu", _at(2026, 4, 1, 13), state="cancelled")
    _rate(
        session,
        _register(session, _event(session, "Viime vuosi", _at(2025, 11, 1, 13)), "p0@example.test"),
        2,
    )
    # Polls: one closed in 2026 (3 ballots), a draft that is not.
    poll = Poll(
        question="Seuraavan webinaarin aihe?",
        closes_at=_at(2026, 5, 20, 16),
        state="closed",
        invited=6,
        created_at=_at(2026, 5, 1),
        closed_at=_at(2026, 5, 20, 16),
        options=[
            PollOption(position=n, text=t)
            for n, t in enumerate(["Tilastot", "Kutsutaksit", "Kilpailutus"], 1)
        ],
    )
    session.add_all(
        [
            poll,
            Poll(
                question="Luonnos?",
                closes_at=_at(2026, 8, 1),
                state="draft",
                created_at=_at(2026, 7, 1),
            ),
        ]
    )
    session.flush()
    for voter, choices in (("a1", "1"), ("a2", "1,2"), ("s1", "3")):
        session.add(
            Ballot(
                poll_id=poll.id,
                voter=f"{voter}@example.test",
                choices=choices,
                created_at=_at(2026, 5, 5),
                updated_at=_at(2026, 5, 5),
            )
        )
    # Questions: January has 5 (one sent 00:30 on New Year's night), February 1; 2025 not.
    for hours in (1, 2, 6):
        _ticket(session, _at(2026, 1, 10, 9), timedelta(hours=hours))
    _ticket(session, _at(2026, 1, 20, 9), None)
    _ticket(session, datetime(2025, 12, 31, 22, 30, tzinfo=UTC), None)
    _ticket(session, _at(2026, 2, 3, 9), timedelta(minutes=30))
    _ticket(session, _at(2025, 12, 31, 23, 0), timedelta(hours=1))
    # Shared answers: 2 published in 2026; one in 2025 and a preview never sent are not.
    session.flush()
    first_ticket = session.scalars(select(Ticket.id).order_by(Ticket.id)).first()
    assert first_ticket is not None
    for state, published in (
        ("published", _at(2026, 1, 11)),
        ("published", _at(2026, 12, 31, 23)),
        ("published", _at(2025, 12, 31, 23)),
        ("preview", None),
    ):
        session.add(
            SharedAnswer(
                ticket_id=first_ticket,
                state=state,
                title="Kysymys",
                question="?",
                answer="!",
                coordinator=COORDINATOR,
                created_at=_at(2025, 12, 1),
                published_at=published,
            )
        )
    # The list: 3 accepted posts by 2 authors; a held post is not list activity.
    _post(session, "a1@example.test", _at(2026, 3, 1))
    _post(session, "A1@example.test", _at(2026, 3, 2))
    _post(session, "s1@example.test", _at(2026, 5, 2))
    _post(session, "k1@example.test", _at(2026, 5, 3), state="held")


@pytest.fixture
def seeded(embedded: Build) -> Embedded:
    env = embedded()
    with env.app.db.transaction() as session:
        seed(session)
    return env


def test_every_figure_matches_the_seeded_year(seeded: Embedded) -> None:
    """Events, ratings, polls, questions by month, list and membership: each counted right."""
    with seeded.app.db.transaction() as session:
        report = yearly.build(session, 2026, NOW, HELSINKI)
        first, second = report.events
        assert [e.summary.event.title for e in report.events] == ["Kutsutaksit", "Tilastot"]
        assert (first.summary.participants, first.summary.waitlisted) == (3, 1)
        assert (first.summary.rating, first.summary.ratings) == (Decimal("4.5"), 3)
        assert [(str(v), n) for v, n in first.distribution if n] == [("4", 1), ("4.5", 1), ("5", 1)]
        assert sum(n for _, n in first.distribution) == 3
        assert (second.summary.participants, second.summary.rating, second.summary.ratings) == (
            2,
            Decimal(4),
            1,
        )
        assert report.participants == 5
        (poll,) = report.polls
        assert poll.tally.ballots == 3
        assert [(text, votes) for _, text, votes, _ in poll.tally.rows] == [
            ("Tilastot", 2),
            ("Kutsutaksit", 1),
            ("Kilpailutus", 1),
        ]
        jan, feb, *rest = report.months
        assert (jan.received, jan.answered, jan.median_hours) == (5, 3, Decimal("2.0"))
        assert (feb.received, feb.answered, feb.median_hours) == (1, 1, Decimal("0.5"))
        assert all(m.received == 0 and m.median_hours is None for m in rest)
        assert (report.received, report.answered, report.median_hours) == (6, 4, Decimal("1.5"))
        assert report.shared_answers == 2
        assert [m.posts for m in report.months] == [0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        assert (report.posts, report.posters) == (3, 2)
        assert (report.members_start, report.members_end) == (4, 5)
        assert [(o.name, o.start, o.end) for o in report.organisations] == [
            ("Akaa", 2, 3),
            ("Sastamala", 2, 1),
            ("Kemi", 0, 1),
        ]
        assert (report.organisations_start, report.organisations_end) == (2, 3)
        assert report.new_organisations == ["Kemi"]
        assert [j.email for j in report.joined] == ["k1@example.test", "a3@example.test"]


def test_text_report_reads_like_the_grant_report(seeded: Embedded) -> None:
    """The text form says the figures the Finnish way: "4,5/5", decimal commas, months by name."""
    app = seeded.app
    with app.db.transaction() as session:
        report = yearly.build(session, 2026, NOW, HELSINKI)
        text = yearly.render(app.templates, report, "fi", "txt", {}, app.settings.network)
    assert "Tapahtumia 2, osallistujia yhteensä 5." in text
    assert "Osallistujia 3. Osallistujien antama arvosana: 4,5/5 (3 vastausta)" in text
    assert "Osallistujia 2. Osallistujien antama arvosana: 4/5 (1 vastaus)" in text
    assert "Arvosanat: 4: 1, 4,5: 1, 5: 1" in text
    assert "Akaan esimerkki" in text and "Enemmän aikaa" in text and "Hyvä webinaari!" in text
    assert "- Tilastot: 2 (66,7 %)" in text
    assert (
        "Kysymyksiä 6, joista vastattu 4. Ensimmäiseen vastaukseen kului mediaanina 1,5 tuntia."
        " Niistä 2 julkaistiin listalla jaettuna vastauksena." in text
    )
    assert "- tammikuu: 5, 3, 2 h" in text and "- helmikuu: 1, 1, 0,5 h" in text
    assert "- maaliskuu: 2\n- toukokuu: 1\n" in text  # the posts' months only
    assert "- joulukuu:" not in text  # a month with nothing to say is left out
    assert "Listalle lähetettiin 3 viestiä 2 kirjoittajalta." in text
    assert (
        "Vuoden alussa 4 jäsentä 2 organisaatiosta, vuoden lopussa 5 jäsentä 3 organisaatiosta."
        in text
    )
    assert "Uudet organisaatiot: Kemi." in text
    assert "- Sastamala: 2 → 1" in text
    assert "{{" not in text and "\n\n\n" not in text
    english = yearly.render(app.templates, report, "en", "txt", {}, app.settings.network)
    assert "Participants' rating: 4.5/5 (3 answers)" in english


def test_cli_writes_every_format(seeded: Embedded, tmp_path: Path) -> None:
    """`mailer report` writes HTML with its PNG charts inside, Markdown with chart files, text."""
    config = str(_config(seeded, tmp_path))
    out = tmp_path / "out"
    argv = [
        "--config",
        config,
        "--now",
        "2027-01-10 12:00",
        "report",
        "--year",
        "2026",
        "--out",
        str(out),
    ]
    assert main([*argv, "--format", "html", "--format", "md", "--format", "txt"]) == 0
    html = (out / "vuosiraportti-2026.html").read_text()
    assert len(re.findall(r'<img class="chart" src="data:image/png;base64,', html)) == 6
    assert "4,5/5" in html
    md = (out / "vuosiraportti-2026.md").read_text()
    charts = sorted(p.name for p in (out / "vuosiraportti-2026-png").iterdir())
    assert charts == [
        "event-1.png",
        "event-2.png",
        "list.png",
        "members.png",
        "poll-1.png",
        "questions.png",
    ]
    assert "![" in md and "vuosiraportti-2026-png/questions.png" in md
    assert (out / "vuosiraportti-2026-png" / "questions.png").read_bytes().startswith(b"\x89PNG")
    assert "Osallistujien antama arvosana: 4,5/5" in (out / "vuosiraportti-2026.txt").read_text()


def test_cli_refuses_bad_options(
    seeded: Embedded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown format or language is bad usage: exit 2 with one line."""
    config = str(_config(seeded, tmp_path))
    assert main(["--config", config, "report", "--year", "2026", "--format", "pdf"]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["--config", config, "report", "--year", "2026", "--language", "de"]) == 2


def _mail(sender: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, NETWORK, subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@example.test>"
    msg.set_content("\n")
    return msg


def test_coordinator_gets_the_report_by_mail(seeded: Embedded) -> None:
    """`raportti 2026` from the coordinator brings the HTML and the text as attachments."""
    seeded.deliver(_mail(COORDINATOR, "raportti 2026"))
    seeded.cycle()
    (reply,) = [m for m in seeded.received(COORDINATOR) if "Vuosiraportti" in str(m["Subject"])]
    assert str(reply["Subject"]).startswith("Vuosiraportti 2026")
    files = {part.get_filename(): part for part in reply.iter_attachments()}
    assert set(files) == {"vuosiraportti-2026.html", "vuosiraportti-2026.txt"}
    assert b"data:image/png;base64," in files["vuosiraportti-2026.html"].get_payload(decode=True)
    body = reply.get_body(("plain",))
    assert (
        body is not None
        and "Osallistujien antama arvosana: 4,5/5 (3 vastausta)" in body.get_content()
    )


def test_member_asking_for_the_report_is_a_question(seeded: Embedded) -> None:
    """From anyone else `raportti 2026` is a question for the coordinator, not the report."""
    with seeded.app.db.transaction() as session:
        before = session.scalar(select(func.count(Ticket.id)))
    seeded.deliver(_mail("a1@example.test", "raportti 2026"))
    seeded.cycle()
    with seeded.app.db.transaction() as session:
        assert session.scalar(select(func.count(Ticket.id))) == (before or 0) + 1
    for reply in seeded.received("a1@example.test"):
        assert not list(reply.iter_attachments())


def _chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail("CI must have Debian's chromium (.ci/run installs it)")
    pytest.skip("no /usr/bin/chromium: apt-get install --no-install-recommends chromium")


_PROBE = """<script>
window.addEventListener("load", () => {
  const sizes = [...document.images].map((img) => img.complete ? img.naturalWidth : 0);
  document.body.setAttribute("data-images", sizes.join(","));
});
</script></body>"""


def test_charts_render_in_headless_chromium(seeded: Embedded, tmp_path: Path) -> None:
    """Debian's chromium opens the HTML report and every chart decodes to a real image."""
    browser = _chromium()
    config = str(_config(seeded, tmp_path))
    out = tmp_path / "out"
    assert (
        main(
            [
                "--config",
                config,
                "--now",
                "2027-01-10 12:00",
                "report",
                "--year",
                "2026",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    page = out / "probe.html"
    page.write_text((out / "vuosiraportti-2026.html").read_text().replace("</body>", _PROBE))
    result = subprocess.run(
        [
            str(browser),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'data-images="([^"]*)"', result.stdout)
    assert found, result.stdout[-2000:]
    widths = [int(w) for w in found.group(1).split(",")]
    assert len(widths) == 6 and all(w > 100 for w in widths), widths
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
