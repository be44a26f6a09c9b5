"""Every template renders in every language, with StrictUndefined catching typos."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mailer.config import LANGUAGES, project_root
from mailer.events.spec import Problem
from mailer.report import (
    HALF_POINTS,
    EventReport,
    Joined,
    Month,
    OrganisationCount,
    PollReport,
    YearReport,
)
from mailer.templates import Templates

ROOT = project_root() / "templates"
TEMPLATES = Templates(ROOT, ZoneInfo("Europe/Helsinki"), "fi")


def _names(language: str) -> set[str]:
    base = ROOT / language
    return {str(p.relative_to(base)) for p in base.rglob("*.j2")}


def _context() -> dict[str, object]:
    """Every variable any template may use, with realistic values."""
    ticket = SimpleNamespace(
        id=12,
        subject="Koulukuljetukset",
        requester_name="Liisa Laine",
        requester_email="liisa@example.test",
        organisation="Uusikaupunki",
        language="fi",
        state="closed",
    )
    network = SimpleNamespace(
        name="Pienet joukot, iso merkitys",
        address="verkosto@example.test",
        sub_address=lambda detail: f"verkosto+{detail}@example.test",
    )
    request = SimpleNamespace(id=3, email="anna@example.test", name="Anna", language="fi")
    member = SimpleNamespace(email="anna@example.test", name="Anna", language="fi")
    post = SimpleNamespace(
        id=7,
        subject="Kutsutaksit",
        author_name="Anna",
        author_email="anna@example.test",
        state="accepted",
        text="Hei kaikki,\nkokemuksia?",
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    poll = SimpleNamespace(
        id=5,
        kind="poll",
        question="Mistä aiheesta seuraava webinaari?",
        description="Kaksi suosituinta aihetta otetaan ohjelmaan.",
        options=[
            SimpleNamespace(position=1, text="Joukkoliikenteen tilastot"),
            SimpleNamespace(position=2, text="Kutsutaksit ja asiointiliikenne"),
            SimpleNamespace(position=3, text="Koulukuljetusten kilpailutus"),
        ],
        max_choices=2,
        closes_at=datetime(2027, 1, 15, 14, 0, tzinfo=UTC),
        state="open",
        one_per_organisation=True,
    )
    tally = SimpleNamespace(
        rows=[
            (2, "Kutsutaksit ja asiointiliikenne", 9, 75.0),
            (1, "Joukkoliikenteen tilastot", 5, 41.7),
            (3, "Koulukuljetusten kilpailutus", 2, 16.7),
        ],
        ballots=12,
        invited=40,
        turnout=30.0,
    )
    return {
        "ticket": ticket,
        "network": network,
        "text": "Kysymys",
        "answer": "Vastaus",
        "commands": ["close", "reopen", "note"],
        "answered": True,
        "subject": "Iso liite",
        "size_mb": "30.0",
        "limit_mb": "25",
        "request": request,
        "days": 7,
        "mode": "daily",
        "member": member,
        "post": post,
        "posts": [post],
        "now": datetime(2026, 11, 28, tzinfo=UTC),
        "reasons": ["not-member", "empty-subject", "a reason written in the rules"],
        "note": "Ei liity verkoston aiheisiin.",
        "poll": poll,
        "tally": tally,
        "for_coordinator": True,
        "closes": poll.closes_at,
        "audience": 42,
        "count": 42,
        "ballot_subject": "Äänestys: Mistä aiheesta seuraava webinaari?",
        "ballot_text": "Hei,\n\nMistä aiheesta seuraava webinaari?\n",
        "errors": ["no-question", "bad-closing-time", "duplicate:question"],
        "survey": False,
        "values": {"question": "", "closes": "ensi viikolla"},
        "unknown": ["Vastaajat: kaikki jäsenet"],
        "reason": "too_many",
        "understood": ["1", "2", "3"],
        "by_letter": False,
        "choices": [1, 2],
        "replaced": True,
        "answers": [
            ("anna@example.test", ["Kutsutaksit", "Ei kysyttävää", ""]),
            ("", ["Tilastot", "", "Kilpailutuksen aikataulu"]),
        ],
        **_event_context(),
        **_materials_context(),
        **_digests_context(),
        **_report_context(),
        **_shared_answers_context(),
        **_guard_context(),
    }


def _guard_context() -> dict[str, object]:
    """The variables of the answers to mail the service could not act on."""
    return {"command": "LÄHETÄ", "year": 2027, "limit": 10}


def _shared_answers_context() -> dict[str, object]:
    """The variables of the shared answers' templates (preview, receipt, refusals, the post)."""
    shared = SimpleNamespace(
        id=3,
        title="Koulukuljetusten yhteiskilpailutus",
        question="Onko kokemusta koulukuljetusten yhteiskilpailutuksesta?",
        answer="Akaa kilpailutti koulu- ja asiointiliikenteen yhdessä.",
        published_at=datetime(2027, 2, 3, 9, 0, tzinfo=UTC),
    )
    return {
        "shared": shared,
        "published": shared,
        "shared_answers": [shared],
        "post_subject": "[Verkosto] Jaettu vastaus: Koulukuljetusten yhteiskilpailutus",
        "post_text": "KYSYMYS\n\nOnko kokemusta?\n\nVASTAUS\n\nOn.\n",
        "missing": ["question", "answer"],
        "form_errors": ["duplicate:question", "empty:answer", "empty:title"],
        "readers": {"each": 30, "daily": 5, "weekly": 7},
        "corrected": True,
        "why": "published",
        "recipients": 30,
        "digest_readers": 12,
    }


def _event_context() -> dict[str, object]:
    """The variables of the events templates."""
    starts = datetime(2027, 2, 11, 11, 0, tzinfo=UTC)
    event = SimpleNamespace(
        id=4,
        kind="webinar",
        is_webinar=True,
        title="Kilpailutuksen kokemuksia",
        description="Kolmen kunnan kokemukset koulukuljetusten kilpailutuksesta.",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        place="Teams",
        link="https://teams.example/l/123",
        capacity=100,
        question="Ruokavalio?",
        feedback_closes_at=starts + timedelta(days=15),
        invitations_sent_at=starts - timedelta(days=30),
    )
    before = SimpleNamespace(
        title="Kilpailutus",
        starts_at=starts - timedelta(days=1),
        ends_at=starts - timedelta(days=1) + timedelta(hours=1),
        place="",
        link="https://teams.example/l/123",
        capacity=80,
        question="",
    )
    registration = SimpleNamespace(
        id=9,
        name="Anna Laine",
        email="anna@example.test",
        organisation="Akaa",
        state="registered",
        answer="Gluteeniton",
        registered_at=starts - timedelta(days=10),
        waitlisted_at=None,
        created_at=starts - timedelta(days=10),
    )
    waiting = SimpleNamespace(**{**vars(registration), "id": 10, "state": "waitlisted"})
    summary = SimpleNamespace(
        event=event,
        participants=23,
        waitlisted=2,
        cancelled=1,
        rating=Decimal("4.5"),
        ratings=17,
        best=["Akaan esimerkki", "Keskustelu\nja kysymykset"],
        improve=["Enemmän aikaa kysymyksille"],
        other=["Hyvä webinaari!"],
    )
    fields = ("title", "time", "duration", "place", "link", "capacity", "kind")
    problems = [
        Problem(code, field, "x")
        for code in ("missing", "unreadable", "past", "not_a_link", "duplicate", "empty")
        for field in fields
    ] + [
        Problem("too_long", "title"),
        Problem("kind", "kind", "lecture"),
        Problem("weekday", "time", "ti", date(2027, 1, 15)),
    ]
    return {
        "event": event,
        "before": before,
        "after": event,
        "old": before,
        "new": event,
        "changed": ["title", "starts_at", "place", "link", "capacity", "description", "question"],
        "registration": registration,
        "position": 2,
        "with_link": True,
        "cancelled": False,
        "problems": problems,
        "unknown_lines": ["uusi webinaari:"],
        "invitation": SimpleNamespace(subject="Kutsu: Kilpailutuksen kokemuksia", text="Hei,\n"),
        "members": 40,
        "extra": 1,
        "notes": 23,
        "invitees": 41,
        "registrants": 25,
        "registered": 23,
        "waitlisted": 2,
        "rows": [registration, waiting],
        "ratings": {9: Decimal("4.5")},
        "summary": summary,
        "rating": Decimal("4.5"),
        "earlier": Decimal("4"),
        "forwarded": SimpleNamespace(id=14),
        "group": True,
        "can_register": True,
        "slips": [Problem("weekday", "time", "ti", date(2027, 1, 15))],
        "writer": "Anna Laine",
    }


def _materials_context() -> dict[str, object]:
    """The variables of the material bank's templates."""
    event = SimpleNamespace(
        id=4, title="Kilpailutuksen kokemuksia", starts_at=datetime(2027, 2, 11, 11, tzinfo=UTC)
    )
    slides = SimpleNamespace(
        id=3,
        title="Kilpailutuksen kokemuksia",
        filename="kalvot.pdf",
        size=1_250_000,
        event_id=4,
    )
    other = SimpleNamespace(id=5, title="Tilastot 2026", filename="tilastot.xlsx", size=13)
    filing = SimpleNamespace(
        event=event,
        plan="pending",
        filed=[slides, other],
        duplicates=[other],
        refused=[SimpleNamespace(filename="video.mp4", size=50_600_000)],
    )
    return {
        "filing": filing,
        "limit_bytes": 20 * 1024 * 1024,
        "send_days": 30,
        "reference": "Seminaari",
        "candidates": [event],
        "groups": [
            SimpleNamespace(year=2027, event=event, items=[slides]),
            SimpleNamespace(year=2027, event=None, items=[other]),
            SimpleNamespace(year=2026, event=None, items=[other]),
        ],
        "address": "verkosto+materiaalit@example.test",
        "attached": [slides],
        "later": [other],
        "listed": [other],
        "missing": [99],
        "withheld": [7],
    }


def _digests_context() -> dict[str, object]:
    """The variables of the coordinator's digest and the members' weekly update."""
    now = datetime(2027, 2, 8, 5, 0, tzinfo=UTC)
    ticket = SimpleNamespace(
        id=12,
        subject="Koulukuljetukset",
        requester_name="Liisa Laine",
        requester_email="liisa@example.test",
        organisation="Uusikaupunki",
        state="open",
    )
    event = SimpleNamespace(
        id=4, title="Kilpailutus", starts_at=datetime(2027, 2, 11, 11, tzinfo=UTC), capacity=40
    )
    registration = SimpleNamespace(
        name="Anna", email="anna@example.test", organisation="Akaa", state="waitlisted", answer="-"
    )
    poll = SimpleNamespace(
        title="",
        question="Mistä aiheesta?",
        invited=40,
        closes_at=datetime(2027, 2, 12, 14, tzinfo=UTC),
    )
    material = SimpleNamespace(id=3, title="Kalvot", filename="kalvot.pdf", event=event)
    digest = SimpleNamespace(
        since=now - timedelta(days=1),
        first=False,
        now=now,
        new_tickets=[ticket],
        open_tickets=[
            SimpleNamespace(ticket=ticket, days=3, hours=75),
            SimpleNamespace(ticket=ticket, days=0, hours=5),
        ],
        registrations=[SimpleNamespace(event=event, new=[registration], registered=23)],
        polls=[SimpleNamespace(poll=poll, ballots=12)],
        held=[
            SimpleNamespace(
                subject="Mainos",
                author_name="",
                author_email="x@example.test",
                created_at=now,
            )
        ],
        failures=[SimpleNamespace(address="old@example.test", reason="550 5.1.1 unknown")],
        disabled=[
            SimpleNamespace(name="Pekka", email="pekka@example.test", organisation_name="Akaa")
        ],
        materials=[material],
        filed=[
            SimpleNamespace(
                kind="automatic",
                reason="automatic mail (auto-reply, bulk or another list): never answered",
                shunted=False,
                mails=[
                    SimpleNamespace(sender="liisa@example.test", subject="Poissa: Kutsu", at=now),
                    SimpleNamespace(sender="", subject="", at=now),
                ],
            ),
            SimpleNamespace(kind="error", reason="error: RuntimeError()", shunted=True, mails=[]),
            SimpleNamespace(
                kind="", reason="join request #3 already confirmed", shunted=False, mails=[]
            ),
        ],
        filed_count=2,
        filed_bounces=3,
        per_reason=1,
        limit=1,
    )
    options = [
        SimpleNamespace(position=1, text="Tilastot"),
        SimpleNamespace(position=2, text="Kela"),
    ]
    vote = SimpleNamespace(kind="poll", title="", question="Mistä aiheesta?", options=options)
    survey = SimpleNamespace(kind="survey", title="Ennakkokysely", question="", options=options)
    vote.closes_at = survey.closes_at = poll.closes_at
    event.place = "Teams"
    return {
        "digest": digest,
        "results": [(12, ticket, "closed"), (13, None, "unknown"), (14, ticket, "already_open")],
        "unclear": ["Katso #15 huomenna"],
        "week": 6,
        "events": [(event, state) for state in ("registered", "waitlisted", "declined", "")],
        "polls": [(vote, "verkosto+r-v5-abc@example.test"), (survey, "v@example.test")],
        "materials": [material],
        "sections": True,
        "opt_out": "ei viikkotiedotetta",
        "materials_address": "verkosto+materiaalit@example.test",
        "on": False,
        "list_weekly": True,
    }


def test_every_language_has_the_same_templates() -> None:
    """fi, sv and en hold exactly the same template files."""
    names = {lang: _names(lang) for lang in LANGUAGES}
    assert names["sv"] == names["fi"]
    assert names["en"] == names["fi"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATES.names())
def test_template_renders(language: str, name: str) -> None:
    """The template renders without undefined names and says something."""
    if (ROOT / language / f"{name}.subject.j2").exists():
        rendered = TEMPLATES.render(language, name, **_context())
        assert rendered.subject.strip()
        assert "\n" not in rendered.subject
        assert rendered.text.strip()
    else:
        assert TEMPLATES.text(language, name, **_context()).strip()


def test_finnish_datetime() -> None:
    """Times are written the Finnish way in Finnish texts."""
    moment = datetime(2027, 2, 11, 11, 0, tzinfo=UTC)
    assert TEMPLATES.env.filters["datetime"](moment, "fi") == "to 11.2.2027 klo 13.00"


@pytest.mark.parametrize(
    ("size", "language", "shown"),
    [
        (13, "fi", "1 kB"),
        (51_200, "sv", "50 kB"),
        (1_048_575, "fi", "1024 kB"),
        (1_250_000, "fi", "1,2 MB"),
        (1_250_000, "en", "1.2 MB"),
        (20 * 1024 * 1024, "sv", "20 MB"),
    ],
)
def test_file_sizes_as_outlook_shows_them(size: int, language: str, shown: str) -> None:
    """A 13-byte file is "1 kB", never "0,1 MB"; megabytes with the language's decimal mark."""
    assert TEMPLATES.env.filters["filesize"](size, language) == shown


def test_templates_are_files_not_code() -> None:
    """There is at least one template per language folder on disk."""
    assert all(any((ROOT / lang).rglob("*.txt.j2")) for lang in LANGUAGES)
    assert isinstance(ROOT, Path)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["unsubscribe", "unsubscribed", "not_found"])
def test_web_pages_render_escaped(language: str, name: str) -> None:
    """The unsubscribe pages render in every language, escaping what they show."""
    context = _context()
    context["member"] = SimpleNamespace(email="<b>x</b>@example.test", language=language)
    page = TEMPLATES.env.get_template(f"{language}/web/{name}.html.j2").render(
        token="u1-abcdefghij", **context
    )
    assert "<html" in page
    assert "<b>x</b>" not in page


def _report_context() -> dict[str, object]:
    """The variables of the yearly report's templates: one event, one poll, one survey."""
    summary = SimpleNamespace(
        event=_event_context()["event"],
        participants=23,
        waitlisted=0,
        cancelled=1,
        rating=Decimal("4.5"),
        ratings=17,
        best=["Akaan <esimerkki>"],
        improve=["Enemmän aikaa"],
        other=["Hyvä!"],
    )
    closes = datetime(2026, 5, 20, 13, 0, tzinfo=UTC)
    poll = SimpleNamespace(id=5, kind="poll", question="Seuraava aihe?", closes_at=closes)
    survey = SimpleNamespace(id=6, kind="survey", question="Toiveet?", closes_at=closes)
    tally = SimpleNamespace(
        rows=[(1, "Tilastot", 9, 75.0), (2, "Kutsutaksit", 3, 25.0)], ballots=12, invited=40
    )
    report = YearReport(
        year=2026,
        generated_at=datetime(2027, 1, 10, tzinfo=UTC),
        events=[EventReport(summary, [(v, 2 if v >= 4 else 0) for v in HALF_POINTS])],  # type: ignore[arg-type]
        polls=[PollReport(poll, tally), PollReport(survey, tally)],  # type: ignore[arg-type]
        months=[Month(m, 10, 9, Decimal("2.5"), 3) for m in range(1, 12)]
        + [Month(12, 0, 0, None, 0)],
        received=110,
        answered=99,
        median_hours=Decimal("2.5"),
        shared_answers=4,
        posts=33,
        posters=12,
        members_start=100,
        members_end=120,
        organisations=[OrganisationCount("Akaa", 5, 6), OrganisationCount("Kemi", 0, 2)],
        joined=[Joined("Anna", "anna@example.test", "Kemi", datetime(2026, 3, 1, tzinfo=UTC))],
        new_organisations=["Kemi"],
    )
    names = ("questions.png", "list.png", "members.png", "event-4.png", "poll-5.png")
    return {"report": report, "year": 2026, "images": {n: f"{n}?src" for n in names}}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_report_pages_render_escaped(language: str, fmt: str) -> None:
    """The yearly report's HTML and Markdown render in every language; the HTML escapes feedback."""
    page = TEMPLATES.env.get_template(f"{language}/report/report.{fmt}.j2").render(
        lang=language, **_context()
    )
    assert "4,5/5" in page if language != "en" else "4.5/5" in page
    assert "poll-5.png?src" in page and "event-4.png?src" in page
    if fmt == "html":
        assert "<html" in page and "Akaan &lt;esimerkki&gt;" in page


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("fi", "(1 listaviesti)", "(2 listaviestiä)"),
        ("sv", "(1 listmeddelande)", "(2 listmeddelanden)"),
        ("en", "(1 list post)", "(2 list posts)"),
    ],
)
def test_weekly_subject_counts_posts_in_the_right_number(language: str, one: str, two: str) -> None:
    """One post takes the singular ("1 listaviesti", not "1 listaviestiä") in every language."""
    network = SimpleNamespace(name="Verkosto")
    for posts, shown in ((["p"], one), (["p", "q"], two)):
        template = TEMPLATES.env.get_template(f"{language}/digests/weekly.subject.j2")
        subject = template.render(network=network, week=50, posts=posts).strip()
        assert subject.endswith(shown), subject


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("fi", "ja 1 jäsen saa sen", "ja 2 jäsentä saa sen"),
        ("sv", "till 1 medlem, och 1 medlem får", "till 2 medlemmar, och 2 medlemmar får"),
        ("en", "to 1 member, and 1 member gets", "to 2 members, and 2 members get"),
    ],
)
def test_shared_answer_sent_counts_members_in_the_right_number(
    language: str, one: str, two: str
) -> None:
    """The coordinator's notice agrees with the count, verb and all."""
    for count, shown in ((1, one), (2, two)):
        text = TEMPLATES.text(
            language,
            "shared_answers/sent",
            ticket=SimpleNamespace(id=3),
            recipients=count,
            digest_readers=count,
        )
        assert shown in " ".join(text.split()), text
