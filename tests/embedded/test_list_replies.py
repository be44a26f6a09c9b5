"""Members press Reply on a list post: commands act, requests to leave wait, posts go out."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from integration.mail import gmail_reply, outlook_reply
from sqlalchemy import select

from mailer.db.models import ListPost, Member, OutboxMessage
from mailer.roster import add_member

from .conftest import COORDINATOR, Embedded

Build = Callable[..., Embedded]
LIST = "verkosto+lista@example.test"
JOHN = "john.smith@riihimaki.example.test"  # en
LIISA = "liisa.laine@uusikaupunki.example.test"  # fi
ANDERS = "anders.berg@jakobstad.example.test"  # sv
LEAVER = "jasen1@kunta1.example.test"  # fi
POST_ID = "<winter@riihimaki.example.test>"


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _list(build: Build) -> tuple[Embedded, EmailMessage]:
    """Four members and John's post "Winter timetable", as the leaver received it."""
    env = build()
    with env.app.db.transaction() as session:
        for address, name, language in (
            (JOHN, "John Smith", "en"),
            (LIISA, "Liisa Laine", "fi"),
            (ANDERS, "Anders Berg", "sv"),
            (LEAVER, "Jäsen Yksi", "fi"),
        ):
            add_member(
                session,
                address,
                name=name,
                organisation_name="",
                language=language,
                delivery="each",
                now=env.app.clock.now(),
            )
    post = EmailMessage()
    post["From"] = f"John Smith <{JOHN}>"
    post["To"] = LIST
    post["Subject"] = "Winter timetable"
    post["Message-ID"] = POST_ID
    post.set_content("Hi all, any experience with winter timetables?\nJohn\n")
    env.deliver(post, to=LIST)
    env.cycle()
    (received,) = env.received(LEAVER)
    return env, received


def _member(env: Embedded, address: str) -> Member:
    with env.app.db.transaction() as session:
        return session.scalars(select(Member).where(Member.email == address)).one()


def _broadcast(env: Embedded) -> list[str]:
    """Subjects of what reached the other members after John's post."""
    received = env.received(LIISA) + env.received(ANDERS)
    return [str(m["Subject"]) for m in received if m["Message-ID"] != POST_ID]


def _answers(env: Embedded, address: str) -> list[EmailMessage]:
    return [m for m in env.received(address) if m["Message-ID"] != POST_ID]


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("Eroa\n\nJäsen 1", outlook_reply),
        ("Eroa listalta, kiitos\n\nJäsen 1\nKunta 1", gmail_reply),
        ("unsubscribe please", outlook_reply),
        ("Avsluta\n\nMed vänlig hälsning\nJäsen 1", outlook_reply),
    ],
)
def test_leave_command_in_a_reply_to_a_post(
    embedded: Build, text: str, reply: Callable[..., EmailMessage]
) -> None:
    """'Eroa' above the quoted post takes the member off the list and reaches nobody else."""
    env, received = _list(embedded)
    env.deliver(reply(received, LEAVER, text), to=LIST)
    env.cycle()
    assert not _member(env, LEAVER).subscribed
    assert _broadcast(env) == []
    (left,) = _answers(env, LEAVER)
    assert "poistettu" in _text(left)


@pytest.mark.parametrize(
    ("text", "mode"),
    [("Päivittäin kiitos\n\nJäsen 1", "daily"), ("Weekly digest\n\n-- \nJäsen 1", "weekly")],
)
def test_delivery_command_in_a_reply_to_a_post(embedded: Build, text: str, mode: str) -> None:
    env, received = _list(embedded)
    env.deliver(outlook_reply(received, LEAVER, text), to=LIST)
    env.cycle()
    assert _member(env, LEAVER).delivery == mode
    assert _broadcast(env) == []


@pytest.mark.parametrize(
    ("text", "language", "told"),
    [
        ("Poistakaa minut tältä listalta, kiitos.\n\nJäsen 2\nKunta 2", "fi", 'aiheena on "eroa"'),
        ("Please unsubscribe me from this list.", "en", 'subject "unsubscribe"'),
        ("Ta bort mig från listan, tack.\n\nAnders", "sv", 'ämnet "avsluta"'),
        ("Hei,\n\nen halua enää näitä viestejä.\n\nTerveisin\nJäsen 1", "fi", "verkosto+eroa@"),
    ],
)
def test_request_to_leave_in_a_sentence_is_held(
    embedded: Build, text: str, language: str, told: str
) -> None:
    """Mailman's administrivia check: held for the coordinator, the author told how to leave."""
    env, received = _list(embedded)
    with env.app.db.transaction() as session:
        session.scalars(select(Member).where(Member.email == LEAVER)).one().language = language
    env.deliver(outlook_reply(received, LEAVER, text), to=LIST)
    env.cycle()
    assert _broadcast(env) == []
    assert _member(env, LEAVER).subscribed  # a sentence is not a confirmed command
    (notice,) = env.received(COORDINATOR)
    assert "Winter timetable" in str(notice["Subject"])
    (told_mail,) = _answers(env, LEAVER)
    assert told in _text(told_mail).replace("\n", " ")
    with env.app.db.transaction() as session:
        post = session.scalars(select(ListPost).order_by(ListPost.id.desc())).first()
        assert post is not None and post.state == "held" and post.reasons == "leave-request"


@pytest.mark.parametrize(
    "text",
    [
        # a post that quotes a resident's request among its own words
        "Hei kaikki,\n\nmeillä kuntalaiset kirjoittavat usein 'poistakaa minut tiedotelistalta' "
        "kun kutsutaksin aikataulutiedotteita tulee liian usein. Miten te olette rajanneet "
        "tiedotteiden määrää, ja kerrotteko muutoksista tekstiviestillä vai sähköpostilla? "
        "Kaikki kokemukset kiinnostavat, myös huonot.\n\nTerveisin\nLiisa",
        # short, and about unsubscribing, but nobody asks to leave
        "Tiedoksi: uutiskirjeen voi nyt tilata ja perua kunnan sivuilla.\n\nLiisa",
        # a guide titled "Ohje" is a post, not a request for help
        "Ohje\n\nTässä meidän ohjeemme kutsutaksin tilaamiseen: soita palvelunumeroon "
        "edellisenä arkipäivänä ennen kello 15, kerro osoite ja paluuaika, ja kuljettaja "
        "soittaa kymmenen minuuttia ennen. Sama ohje on liitteenä myös ruotsiksi ja "
        "selkokielellä, saa käyttää vapaasti omissa tiedotteissanne.\n\nLiisa",
    ],
)
def test_post_that_mentions_leaving_goes_out(embedded: Build, text: str) -> None:
    env, received = _list(embedded)
    env.deliver(outlook_reply(received, LIISA, text), to=LIST)
    env.cycle()
    assert len(_answers(env, ANDERS)) == 1
    assert env.received(COORDINATOR) == []
    assert _member(env, LIISA).subscribed


def test_leave_command_over_a_long_mail_is_held(embedded: Build) -> None:
    """'Eroa' over a paragraph could be either: held for the coordinator, never broadcast."""
    env, received = _list(embedded)
    text = (
        "Eroa\n\nOlen siirtymässä uusiin tehtäviin vuoden alusta, ja liikenneasiat hoitaa "
        "jatkossa kollegani Matti Meikäläinen. Hän ottaa teihin yhteyttä itse, kun "
        "ehtii. Kiitos kaikille näistä vuosista, verkostosta on ollut valtavasti apua "
        "koulukuljetusten ja asiointiliikenteen suunnittelussa.\n\nJäsen 1"
    )
    env.deliver(outlook_reply(received, LEAVER, text), to=LIST)
    env.cycle()
    assert _broadcast(env) == []
    assert len(env.received(COORDINATOR)) == 1


def test_footer_in_each_members_language(embedded: Build) -> None:
    """John's post reaches Anders with the Swedish footer and John with the English one,
    from one stored copy per language."""
    env, _ = _list(embedded)
    (swedish,) = env.received(ANDERS)
    assert "Lämna listan: verkosto+eroa@example.test" in _text(swedish)
    assert "Eroa listalta" not in _text(swedish)
    (english,) = env.received(JOHN)
    assert "Leave the list: verkosto+eroa@example.test" in _text(english)
    (finnish,) = env.received(LIISA)
    assert "Eroa listalta: verkosto+eroa@example.test" in _text(finnish)
    assert {str(m["Message-ID"]) for m in (swedish, english, finnish)} == {POST_ID}
    with env.app.db.transaction() as session:
        stored = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "list-post"))
        assert len(stored.all()) == 3


@pytest.mark.parametrize("title", ["Ohje", "Päivittäin", "Help"])
def test_short_reply_to_a_post_titled_like_a_command_goes_out(embedded: Build, title: str) -> None:
    """ "Kiitos, hyvä ohje!" under "VS: Ohje" answers the post: the inherited subject
    commands nothing, so the reply reaches the list and nobody's settings change."""
    env = embedded()
    with env.app.db.transaction() as session:
        for address, name in ((LIISA, "Liisa Laine"), (ANDERS, "Anders Berg")):
            add_member(
                session,
                address,
                name=name,
                organisation_name="",
                language="fi",
                delivery="each",
                now=env.app.clock.now(),
            )
    post = EmailMessage()
    post["From"] = f"Liisa Laine <{LIISA}>"
    post["To"] = LIST
    post["Subject"] = title
    post["Message-ID"] = "<titled@kunta.example.test>"
    post.set_content("Tässä meidän kunnan kutsutaksiohje liitteenä, saa käyttää.\nLiisa\n")
    env.deliver(post, to=LIST)
    env.cycle()
    (received,) = env.received(ANDERS)
    reply = outlook_reply(received, ANDERS, "Hyvä!\n\nAnders")
    del reply["Subject"]
    reply["Subject"] = f"VS: {title}"  # the list's tag taken out, as some people do
    env.deliver(reply, to=LIST)
    env.cycle()
    assert f"[Verkosto] VS: {title}" in [str(m["Subject"]) for m in env.received(LIISA)]
    assert len(env.received(LIISA)) == 2
    assert _member(env, ANDERS).subscribed and _member(env, ANDERS).delivery == "each"


def test_a_post_without_message_id_has_one_in_every_language(embedded: Build) -> None:
    """Readers of each language's copy reply to the same Message-ID, also when the post
    came without one and the service had to give it one."""
    env, _ = _list(embedded)
    env.deliver(
        f"From: Liisa Laine <{LIISA}>\nTo: {LIST}\nSubject: Talviaikataulut\n\n"
        "Onko kellään kokemusta talviaikatauluista?\nLiisa\n".encode(),
        to=LIST,
    )
    env.cycle()
    ids = {
        str(m["Message-ID"])
        for who in (JOHN, ANDERS, LEAVER)
        for m in env.received(who)
        if "Talviaikataulut" in str(m["Subject"])
    }
    assert len(ids) == 1 and None not in ids
    with env.app.db.transaction() as session:
        stored = session.scalars(select(ListPost.message_id).order_by(ListPost.id)).all()
    assert stored[-1] in ids
