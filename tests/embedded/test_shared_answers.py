"""Shared answers on embedded parts: JULKAISE, the preview, LÄHETÄ, and every refusal."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from integration.mail import gmail_reply, outlook_reply, question
from sqlalchemy import select

from mailer.db.models import ListPost, Member, OutboxMessage, Ticket, TicketEvent
from mailer.db.shared_answers import SharedAnswer
from mailer.roster import add_member

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]
SUNDAY = datetime(2027, 2, 7, 8, 0, tzinfo=UTC)  # Sunday 10:00 in Helsinki
LIISA = "liisa.laine@uusikaupunki.example.test"  # the asker: each post, fi
ANNA = "anna@akaa.example.test"  # each post, fi
BO = "bo@jakobstad.example.test"  # daily digest, sv
CLARE = "clare@example.test"  # weekly list digest, en
QUESTION = (
    "Hei,\n\nmeillä Uudessakaupungissa mietitään koulukuljetusten ja asiointiliikenteen "
    "yhteiskilpailutusta. Onko jollakin kokemusta?\n\n"
    "Ystävällisin terveisin\nLiisa Laine\nliikennesuunnittelija\nUusikaupunki\n"
    "puh. 040 123 4567\nliisa.laine@uusikaupunki.example.test\n"
)
ANSWER = (
    "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä vuonna 2025; sopimuskausi on neljä "
    "vuotta.\n\nTerveisin\nKoordinaattori\npuh. 050 765 4321"
)
PERSONAL = ("Liisa", "Laine", "liisa.laine", "040 123", "050 765", "Uusikaupunki", "Hei")


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _with(env: Embedded, address: str, words: str) -> list[EmailMessage]:
    return [m for m in env.received(address) if words in str(m["Subject"])]


def _one(env: Embedded, address: str, words: str) -> EmailMessage:
    (found,) = _with(env, address, words)
    return found


def _service(build: Build) -> Embedded:
    env = build(list={"digest_hour": 7, "weekly_digest_day": "monday"})
    env.app.clock.set(SUNDAY)
    with env.app.db.transaction() as session:
        for address, name, org, language, delivery in (
            (LIISA, "Liisa Laine", "Uusikaupunki", "fi", "each"),
            (ANNA, "Anna Aho", "Akaa", "fi", "each"),
            (BO, "Bo Berg", "Jakobstad", "sv", "daily"),
            (CLARE, "Clare Cole", "", "en", "weekly"),
        ):
            add_member(
                session,
                address,
                name=name,
                organisation_name=org,
                language=language,
                delivery=delivery,
                now=env.app.clock.now(),
            )
    return env


def _ask(env: Embedded) -> EmailMessage:
    """Liisa asks; the coordinator's copy of the question comes back."""
    env.deliver(question(LIISA, "Koulukuljetusten kilpailutus", QUESTION, name="Liisa Laine"))
    env.cycle()
    return _one(env, COORDINATOR, "[#1] Koulukuljetusten kilpailutus")


def _reply(env: Embedded, to: EmailMessage, text: str, sender: str = COORDINATOR) -> None:
    env.deliver(outlook_reply(to, sender, text))
    env.cycle()


def _preview(env: Embedded, nth: int = 0) -> EmailMessage:
    """The ``nth`` preview made, by the number in its reply token (``r-s2-…``)."""
    previews = _with(env, COORDINATOR, "Esikatselu")
    number = re.compile(r"\+r-s(\d+)-")
    return sorted(previews, key=lambda m: int(number.findall(str(m["Reply-To"]))[0]))[nth]


def _list_copies(env: Embedded, address: str) -> list[EmailMessage]:
    return _with(env, address, "Jaettu vastaus:")


def test_answer_publish_preview_send(embedded: Build) -> None:
    """JULKAISE beside the answer: the asker gets the answer, the coordinator a preview
    without personal data, LÄHETÄ sends it as a list post and the ticket records it."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(env, forward, f"{ANSWER}\n\nJULKAISE")

    answer = _one(env, LIISA, "Re: [#1]")
    assert "Akaa kilpailutti molemmat yhdessä" in _text(answer)
    assert "JULKAISE" not in _text(answer)
    preview = _preview(env)
    assert "[#1]" not in str(preview["Subject"])
    assert "verkosto+r-s1-" in str(preview["Reply-To"])
    text = _text(preview)
    assert "Vastauksesi lähetettiin kysyjälle." in text
    assert "[Verkosto] Jaettu vastaus: Koulukuljetusten kilpailutus" in text
    assert "Meillä [kunta] mietitään koulukuljetusten" in text
    assert "Akaa kilpailutti molemmat yhdessä vuonna 2025" in text
    assert "heti 2 jäsenelle, ja 2 jäsentä saa sen koosteessaan" in text
    shown = text.split("=" * 70)[1]
    assert not [p for p in PERSONAL if p in shown]
    assert _list_copies(env, ANNA) == []  # nothing goes out before LÄHETÄ

    env.deliver(gmail_reply(preview, COORDINATOR, "LÄHETÄ"))
    env.cycle()
    for member in (ANNA, LIISA):
        (copy,) = _list_copies(env, member)
        assert copy["List-Id"] == "Verkosto <verkosto.example.test>"
        assert str(copy["Subject"]).startswith("[Verkosto] Jaettu vastaus:")
        assert copy["From"].addresses[0].addr_spec == NETWORK
        body = _text(copy)
        assert "KYSYMYS" in body and "Akaa kilpailutti" in body
        assert "Eroa listalta" in body  # the list's footer
        assert not [p for p in PERSONAL if p in body]
    assert _list_copies(env, BO) == [] and _list_copies(env, CLARE) == []
    receipt = _one(env, COORDINATOR, "Jaettu vastaus lähetetty")
    assert "Se lähti 2 jäsenelle, ja 2 jäsentä saa sen koosteessaan." in _text(receipt)
    with env.app.db.transaction() as session:
        (shared,) = session.scalars(select(SharedAnswer)).all()
        assert shared.state == "published"
        assert shared.published_at is not None and shared.published_at.date() == SUNDAY.date()
        post = session.get(ListPost, shared.list_post_id)
        assert post is not None and post.recipients == 2
        kinds = session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == 1))
        assert "publish" in list(kinds)
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.state == "answered"


def test_digest_readers_get_it_in_their_digests(embedded: Build) -> None:
    """The daily reader finds the shared answer in the daily digest, the weekly reader in
    the weekly update with the title under the new shared answers."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(env, forward, f"{ANSWER}\nJULKAISE")
    env.deliver(gmail_reply(_preview(env), COORDINATOR, "LÄHETÄ"))
    env.cycle()

    env.app.clock.set(datetime(2027, 2, 8, 5, 5, tzinfo=UTC))  # Monday 07:05
    env.cycle()
    (daily,) = [m for m in env.received(BO) if "Jaettu vastaus" in _text(m)]
    assert "Akaa kilpailutti" in _text(daily)
    weekly = _one(env, CLARE, "weekly update")
    text = _text(weekly)
    assert "NEW SHARED ANSWERS\n  - Koulukuljetusten kilpailutus\n" in text
    assert "LIST POSTS (1)" in text and "Akaa kilpailutti" in text
    anna = _one(env, ANNA, "viikkotiedote")
    assert "UUDET JAETUT VASTAUKSET\n  - Koulukuljetusten kilpailutus\n" in _text(anna)

    env.app.clock.set(datetime(2027, 2, 15, 5, 5, tzinfo=UTC))  # the next Monday
    env.cycle()
    assert len(_with(env, ANNA, "viikkotiedote")) == 1  # nothing new: no second update


def test_unanswered_ticket_cannot_be_published(embedded: Build) -> None:
    """JULKAISE alone on a question nobody has answered says so and sends nothing."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(env, forward, "JULKAISE")
    refusal = _one(env, COORDINATOR, "Kysymykseen ei ole vielä vastattu")
    assert "verkosto+r-t1-" in str(refusal["Reply-To"])  # answering it answers the asker
    assert _with(env, COORDINATOR, "Esikatselu") == []
    assert len(env.received(LIISA)) == 1  # only the acknowledgement
    with env.app.db.transaction() as session:
        assert session.scalars(select(SharedAnswer)).all() == []

    _reply(env, refusal, f"{ANSWER}\n\nJULKAISE")
    assert len(_with(env, LIISA, "Re: [#1]")) == 1
    assert "Akaa kilpailutti" in _text(_preview(env))


def test_coordinator_wording_replaces_and_corrects(embedded: Build) -> None:
    """Kysymys:/Vastaus: in the JULKAISE reply replace the automatic text and are not
    relayed; a corrected reply to the preview gives a new one; the old one is replaced."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(
        env,
        forward,
        f"{ANSWER}\n\nJULKAISE\nOtsikko: Yhteiskilpailutus\n"
        "Kysymys: Kannattaako koulu- ja asiointiliikenne kilpailuttaa yhdessä?\n"
        "Vastaus: Kyllä. Akaa teki niin, ja sopimuskausi on neljä vuotta.\n",
    )
    relayed = _text(_one(env, LIISA, "Re: [#1]"))
    assert "Akaa kilpailutti" in relayed and "Kannattaako" not in relayed
    first = _preview(env)
    assert "Jaettu vastaus: Yhteiskilpailutus" in _text(first)
    assert "Kannattaako koulu- ja asiointiliikenne" in _text(first)
    assert "Vastauksesi lähetettiin kysyjälle." in _text(first)

    _reply(env, first, "Vastaus:\nKyllä. Akaa ja Sastamala tekivät niin.\n\nTerveisin\nK")
    second = _preview(env, 1)
    text = _text(second)
    assert "Muutit tekstiä, joten mitään ei vielä lähetetty." in text
    assert "Akaa ja Sastamala tekivät niin." in text and "Terveisin" not in text
    assert "Kannattaako koulu- ja asiointiliikenne" in text  # the question stayed

    _reply(env, first, "LÄHETÄ")
    stale = _one(env, COORDINATOR, "Jaettua vastausta ei lähetetty")
    assert "uudempi esikatselu" in _text(stale)
    assert _list_copies(env, ANNA) == []

    _reply(env, second, "LÄHETÄ")
    (copy,) = _list_copies(env, ANNA)
    assert "Akaa ja Sastamala tekivät niin." in _text(copy)


def test_twice_needs_a_new_confirmation(embedded: Build) -> None:
    """A used preview sends nothing again; JULKAISE again previews with the first date."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(env, forward, f"{ANSWER}\nJULKAISE")
    preview = _preview(env)
    _reply(env, preview, "LÄHETÄ")
    _reply(env, preview, "LÄHETÄ")
    assert len(_list_copies(env, ANNA)) == 1
    assert "lähetettiin listalle jo su 7.2.2027 klo 10.00" in _text(
        _one(env, COORDINATOR, "Jaettua vastausta ei lähetetty")
    )

    env.app.clock.set(SUNDAY + timedelta(days=3))
    _reply(env, forward, "JULKAISE")
    again = _preview(env, 1)
    assert "julkaistiin listalla jo su 7.2.2027 klo 10.00" in _text(again)
    assert "Vastauksesi lähetettiin" not in _text(again)
    _reply(env, again, "SEND")
    assert len(_list_copies(env, ANNA)) == 2


def test_expired_preview_and_unclear_reply(embedded: Build) -> None:
    """A preview older than hold_expiry_days sends nothing; a reply without a command helps;
    JULKAISE in reply to the refusal gives a fresh preview that can be sent."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(env, forward, f"{ANSWER}\nJULKAISE")
    preview = _preview(env)
    _reply(env, preview, "Kiitos, katson tämän huomenna.")
    help_mail = _one(env, COORDINATOR, "Jaettua vastausta ei lähetetty")
    assert "ei löytynyt sanaa LÄHETÄ" in _text(help_mail)

    env.app.clock.set(SUNDAY + timedelta(days=15))
    _reply(env, preview, "LÄHETÄ")
    (expired,) = [
        m
        for m in _with(env, COORDINATOR, "Jaettua vastausta ei lähetetty")
        if "yli 14 päivää vanha" in _text(m)
    ]
    assert _list_copies(env, ANNA) == []

    _reply(env, expired, "JULKAISE")
    _reply(env, _preview(env, 1), "LÄHETÄ")
    assert len(_list_copies(env, ANNA)) == 1


def test_others_cannot_publish(embedded: Build) -> None:
    """JULKAISE from a member is a new question (or the asker's follow-up); LÄHETÄ to a
    preview from anyone but a coordinator is filed; nothing reaches the list."""
    env = _service(embedded)
    forward = _ask(env)
    _reply(env, forward, f"{ANSWER}\nJULKAISE")
    preview = _preview(env)

    _reply(env, forward, "JULKAISE", sender=ANNA)
    _reply(env, preview, "LÄHETÄ", sender=ANNA)
    answer = _one(env, LIISA, "Re: [#1]")
    env.deliver(gmail_reply(answer, LIISA, "JULKAISE"))
    env.cycle()

    assert _list_copies(env, ANNA) == [] and _list_copies(env, LIISA) == []
    assert len(_with(env, COORDINATOR, "Esikatselu")) == 1
    with env.app.db.transaction() as session:
        assert session.scalar(select(Ticket.id).order_by(Ticket.id.desc())) == 2  # Anna's
        kinds = list(session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == 1)))
        assert kinds[-1] == "followup"
        assert session.scalars(select(SharedAnswer.state)).all() == ["preview"]


def test_each_member_reads_the_shared_answer_in_their_language(embedded: Build) -> None:
    """Swedish and English each-post readers get the post's own words and the footer in
    their language; the copies are stored once per language, not once per member."""
    env = _service(embedded)
    with env.app.db.transaction() as session:
        for member in session.scalars(select(Member).where(Member.email.in_([BO, CLARE]))):
            member.delivery = "each"
    _reply(env, _ask(env), f"{ANSWER}\n\nJULKAISE")
    env.deliver(gmail_reply(_preview(env), COORDINATOR, "LÄHETÄ"))
    env.cycle()
    (swedish,) = _with(env, BO, "Delat svar:")
    assert "Lämna listan:" in _text(swedish) and "Eroa listalta" not in _text(swedish)
    (english,) = _with(env, CLARE, "Shared answer:")
    assert "Leave the list:" in _text(english) and "KYSYMYS" not in _text(english)
    (finnish,) = _list_copies(env, ANNA)
    assert "KYSYMYS" in _text(finnish) and "Eroa listalta" in _text(finnish)
    with env.app.db.transaction() as session:
        stored = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "list-post")
        ).all()
        assert len(stored) == 3
