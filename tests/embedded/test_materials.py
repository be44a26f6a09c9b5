"""The material bank on embedded parts: filing, receipts, the index, fetching, event mail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select

from mailer.db.events import Event, Invitation, Registration
from mailer.db.materials import Material
from mailer.db.models import OutboxMessage, Ticket
from mailer.materials import Store
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]
BANK = "verkosto+materiaalit@example.test"
MEMBER = "liisa@uusikaupunki.example.test"
OUTSIDER = "someone@elsewhere.example.test"
START = datetime(2027, 2, 8, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _files(msg: EmailMessage) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for part in msg.iter_attachments():
        data = part.get_content()
        out[part.get_filename() or ""] = data if isinstance(data, bytes) else data.encode()
    return out


def _one(env: Embedded, address: str, subject: str) -> EmailMessage:
    """The one message to ``address`` whose subject holds ``subject`` (Maildir has no order)."""
    (found,) = [m for m in env.received(address) if subject in str(m["Subject"])]
    return found


def _mail(
    sender: str,
    subject: str,
    body: str,
    attachments: dict[str, bytes] | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = BANK
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.test")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    for name, data in (attachments or {}).items():
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("text", "plain")
        if maintype == "text":
            msg.add_attachment(data.decode(), subtype=subtype, filename=name)
        else:
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _bank(build: Build, **sections: dict[str, object]) -> Embedded:
    env = build(**sections)
    env.app.clock.set(START)
    with env.app.db.transaction() as session:
        add_member(
            session,
            MEMBER,
            name="Liisa",
            organisation_name="Uusikaupunki",
            language="fi",
            delivery="each",
            now=env.app.clock.now(),
        )
    return env


def _event(env: Embedded, title: str, starts: datetime, people: list[tuple[str, str]]) -> int:
    """An open event with these (address, language) registered."""
    now = env.app.clock.now()
    with env.app.db.transaction() as session:
        event = Event(
            uid=f"{title}@example.test",
            kind="webinar",
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            feedback_at=starts + timedelta(hours=2),
            feedback_closes_at=starts + timedelta(days=14),
            state="open",
            created_at=now,
            updated_at=now,
        )
        session.add(event)
        session.flush()
        for address, language in people:
            invitation = Invitation(
                event_id=event.id, address=address, language=language, created_at=now
            )
            session.add(invitation)
            session.flush()
            session.add(
                Registration(
                    event_id=event.id,
                    invitation_id=invitation.id,
                    email=address,
                    language=language,
                    state="registered",
                    created_at=now,
                    updated_at=now,
                    registered_at=now,
                )
            )
        return event.id


def _materials(env: Embedded) -> list[Material]:
    with env.app.db.transaction() as session:
        return list(session.scalars(select(Material).order_by(Material.id)))


def test_filing_receipt_index_and_fetch(embedded: Build) -> None:
    """Files are stored by content, the receipt lists them, a member gets index and item."""
    env = _bank(embedded)
    env.deliver(
        _mail(
            COORDINATOR,
            "Joukkoliikenteen tilastot 2026",
            "Tässä vuoden tilastot.\n\nTerveisin\nKoordinaattori",
            {"tilastot.pdf": PDF, "lisatiedot.txt": b"Taulukko 1\n"},
        ),
        to=BANK,
    )
    env.cycle()
    (receipt,) = env.received(COORDINATOR)
    assert "tallennettu 2 tiedostoa" in str(receipt["Subject"])
    assert "1. Joukkoliikenteen tilastot 2026 - tilastot.pdf" in _text(receipt)
    items = _materials(env)
    assert [(m.filename, m.event_id, m.sender) for m in items] == [
        ("tilastot.pdf", None, COORDINATOR),
        ("lisatiedot.txt", None, COORDINATOR),
    ]
    assert Store.of(env.app.settings).get(items[0].sha256) == PDF

    env.deliver(f"From: {MEMBER}\nSubject: materiaalit\n\n".encode())
    env.cycle()
    (index,) = env.received(MEMBER)
    text = _text(index)
    assert "=== 2027 ===" in text and "Muut aineistot" in text
    assert "2. Joukkoliikenteen tilastot 2026 - lisatiedot.txt" in text

    env.deliver(f"From: {MEMBER}\nSubject: Re: lähetä 1\n\n".encode())
    env.cycle()
    fetched = _one(env, MEMBER, "Materiaali 1")
    assert _files(fetched) == {"tilastot.pdf": PDF}
    assert "Materiaali 1: Joukkoliikenteen tilastot 2026" in str(fetched["Subject"])


def test_oversize_attachment_refused_clearly(embedded: Build) -> None:
    """An attachment over the limit is not stored; the receipt names it, its size, the limit."""
    env = _bank(embedded, materials={"max_attachment_bytes": 100_000})
    big = b"%PDF-1.4\n" + b"x" * 300_000
    env.deliver(
        _mail(COORDINATOR, "Seminaarin video", "", {"video.pdf": big, "ohjelma.pdf": PDF}),
        to=BANK,
    )
    env.cycle()
    (receipt,) = env.received(COORDINATOR)
    assert "1 liian suuri" in str(receipt["Subject"])
    text = _text(receipt)
    assert "EI tallennettu" in text and "video.pdf (293 kB)" in text and "enintään 98 kB" in text
    assert [m.filename for m in _materials(env)] == ["ohjelma.pdf"]


def test_resent_mail_files_nothing_twice(embedded: Build) -> None:
    """The same bytes under the same title and event are filed once."""
    env = _bank(embedded)
    for _ in range(2):
        env.deliver(_mail(COORDINATOR, "Kalvot", "", {"kalvot.pdf": PDF}), to=BANK)
        env.cycle()
    assert len(env.received(COORDINATOR)) == 2
    _one(env, COORDINATOR, "ei mitään uutta")
    assert len(_materials(env)) == 1


def test_outsider_is_refused_and_files_from_outsider_become_a_question(embedded: Build) -> None:
    """Only members fetch; a non-coordinator's files go to the coordinator as a question."""
    env = _bank(embedded)
    env.deliver(_mail(COORDINATOR, "Kalvot", "", {"kalvot.pdf": PDF}), to=BANK)
    env.cycle()
    env.deliver(f"From: {OUTSIDER}\nSubject: send 1\n\nThanks\n".encode())
    env.cycle()
    (refusal,) = env.received(OUTSIDER)
    assert "members" in str(refusal["Subject"]) or "jäsenille" in str(refusal["Subject"])
    assert not _files(refusal)
    env.deliver(_mail(MEMBER, "Meidän raportti", "Tämäkin pankkiin?", {"r.pdf": PDF}), to=BANK)
    env.cycle()
    with env.app.db.transaction() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.requester_email == MEMBER
    assert len(_materials(env)) == 1


def test_event_line_and_after_event_mail(embedded: Build) -> None:
    """``Tapahtuma: 1`` ties the material; after the event each registrant gets it once."""
    env = _bank(embedded)
    starts = START + timedelta(days=2)
    event_id = _event(
        env, "Kutsutaksit", starts, [(MEMBER, "fi"), ("guest@kunta.example.test", "en")]
    )
    env.deliver(
        _mail(COORDINATOR, "Kalvot", f"Tapahtuma: {event_id}\n", {"kalvot.pdf": PDF}), to=BANK
    )
    env.cycle()
    (receipt,) = env.received(COORDINATOR)
    assert "tapahtuman päätyttyä" in _text(receipt)
    assert env.received(MEMBER) == []

    env.app.clock.set(starts + timedelta(hours=2))
    env.cycle()
    env.cycle()
    mail = _one(env, MEMBER, "Tilaisuuden materiaalit: Kutsutaksit")
    assert _files(mail) == {"kalvot.pdf": PDF}
    _one(env, "guest@kunta.example.test", "Event materials: Kutsutaksit")
    # a registrant who is not a member may fetch the event's own material
    env.deliver(b"From: guest@kunta.example.test\nSubject: send 1\n\n")
    env.cycle()
    assert _files(_one(env, "guest@kunta.example.test", "Material 1")) == {"kalvot.pdf": PDF}


def test_event_by_title_unknown_event_and_too_large_for_one_mail(embedded: Build) -> None:
    """A title names the event; an unknown one files nothing; big material is listed."""
    env = _bank(embedded, materials={"max_mail_bytes": 5_000})
    starts = START - timedelta(days=1)
    _event(env, "Koulukuljetusten kilpailutus", starts, [(MEMBER, "fi")])
    env.deliver(_mail(COORDINATOR, "Kalvot", "Tapahtuma: Seminaari\n", {"k.pdf": PDF}), to=BANK)
    env.cycle()
    (unknown,) = env.received(COORDINATOR)
    assert "ei löytynyt" in str(unknown["Subject"])
    assert "#1 Koulukuljetusten kilpailutus" in _text(unknown)
    assert _materials(env) == []

    env.deliver(
        _mail(COORDINATOR, "Kalvot", "*Tapahtuma:* koulukuljetusten\n", {"k.pdf": PDF}), to=BANK
    )
    env.cycle()
    assert "pian" in _text(_one(env, COORDINATOR, "tallennettu 1"))
    mail = _one(env, MEMBER, "Tilaisuuden materiaalit")
    assert _files(mail) == {}
    assert "lähetä 1" in _text(mail)


def test_reply_to_event_preview_files_for_that_event(embedded: Build) -> None:
    """Files in the coordinator's reply to an event's mail (its token) belong to the event."""
    env = _bank(embedded)
    event_id = _event(env, "Talvikunnossapito", START + timedelta(days=3), [])
    reply_to = env.app.settings.network.sub_address(f"r-{env.app.tokens.make('x', event_id)}")
    env.deliver(
        _mail(
            COORDINATOR, "VS: Esikatselu: Talvikunnossapito", "Kalvot liitteenä.", {"a.pdf": PDF}
        ),
        to=reply_to,
    )
    env.cycle()
    (receipt,) = env.received(COORDINATOR)
    assert "tallennettu 1 tiedosto" in str(receipt["Subject"])
    (item,) = _materials(env)
    assert (item.event_id, item.title) == (event_id, "Talvikunnossapito")


def test_thread_reply_at_bank_address_ties_event(embedded: Build) -> None:
    """A reply in the thread of a mail about an event, sent to the bank, is for that event."""
    env = _bank(embedded)
    event_id = _event(env, "Tilastot", START + timedelta(days=3), [])
    with env.app.db.transaction() as session:
        session.add(
            OutboxMessage(
                message_id="<preview-1@example.test>",
                kind="event-preview",
                related=f"event:{event_id}",
                envelope_from=NETWORK,
                raw=b"",
                created_at=START,
            )
        )
    env.deliver(
        _mail(
            COORDINATOR,
            "VS: Esikatselu: Tilastot",
            "Materiaali",
            {"t.pdf": PDF},
            In_Reply_To="<preview-1@example.test>",
        ),
        to=BANK,
    )
    env.cycle()
    (item,) = _materials(env)
    assert (item.event_id, item.title) == (event_id, "Tilastot")


def test_subject_naming_an_event_ties_the_material(embedded: Build) -> None:
    """SPEC 6, "tagged to an event where it is named": the subject "Koulukuljetusten
    kilpailutus: diat" names the event; a subject naming none files it untied."""
    env = _bank(embedded)
    starts = START + timedelta(days=3)
    event_id = _event(env, "Koulukuljetusten kilpailutus", starts, [(MEMBER, "fi")])
    _event(env, "Kutsuliikenne", starts + timedelta(days=7), [])
    env.deliver(
        _mail(COORDINATOR, "Koulukuljetusten kilpailutus: diat", "", {"d.pdf": PDF}), to=BANK
    )
    env.deliver(_mail(COORDINATOR, "Tilastot 2026", "", {"t.pdf": PDF + b"2"}), to=BANK)
    env.cycle()
    assert [(m.title, m.event_id) for m in _materials(env)] == [
        ("Koulukuljetusten kilpailutus: diat", event_id),
        ("Tilastot 2026", None),
    ]
