"""Every bad input gets an outcome: answered, filed or shunted with a reason; no crash."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from mailer import handlers
from mailer.db.models import InboundMail, Ticket

from .conftest import COORDINATOR, NETWORK, Embedded

Build = Callable[..., Embedded]


def _claims(env: Embedded) -> list[InboundMail]:
    with env.app.db.transaction() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def _tickets(env: Embedded) -> list[Ticket]:
    with env.app.db.transaction() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def _text(msg: object) -> str:
    from email.message import EmailMessage

    assert isinstance(msg, EmailMessage)
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


@pytest.mark.parametrize(
    ("raw", "language_marker"),
    [
        (b"From: John Smith <john@example.test>\nTo: verkosto@example.test\n\n", "no subject"),
        (
            b"From: a@example.test\nSubject: \nContent-Language: sv-SE\n"
            b"Content-Type: text/html; charset=utf-8\n\n<html><body><p>&nbsp;</p></body></html>\n",
            "varken",
        ),
    ],
)
def test_mail_with_no_subject_and_no_text_is_asked_about(
    embedded: Build, raw: bytes, language_marker: str
) -> None:
    """An empty mail opens no ticket: the sender is asked what they meant, the mail is filed."""
    env = embedded(network={"language": "en"} if b"john" in raw else {})
    env.deliver(raw)
    env.cycle()
    assert _tickets(env) == []
    assert env.received(COORDINATOR) == []
    sender = "john@example.test" if b"john" in raw else "a@example.test"
    (asked,) = env.received(sender)
    assert language_marker in _text(asked)
    (claim,) = _claims(env)
    assert claim.outcome == "filed" and "empty" in claim.reason


def test_empty_message_is_shunted(embedded: Build) -> None:
    """Zero bytes cannot be read: the message moves to Shunt with the reason recorded."""
    env = embedded()
    env.inbox.add(b"")
    env.cycle()
    (claim,) = _claims(env)
    assert claim.outcome == "shunted" and claim.reason
    assert len(env.folder("Shunt")) == 1
    assert len(env.inbox) == 0


def test_binary_garbage_does_not_crash(embedded: Build) -> None:
    """Random bytes are handled or shunted, and the next message is still handled."""
    env = embedded()
    env.deliver(bytes(range(256)) * 40)
    env.deliver(b"From: a@example.test\nSubject: ok\n\nKysymys\n")
    env.cycle()
    assert len(_claims(env)) == 2
    assert len(env.inbox) == 0
    assert any(t.requester_email == "a@example.test" for t in _tickets(env))


def test_too_large_message_is_answered_and_shunted(embedded: Build) -> None:
    """Over the size limit: the sender is told, the message kept in Shunt."""
    env = embedded(security={"max_message_bytes": 5000})
    env.deliver(b"From: Iso Liite <iso@example.test>\nSubject: Liite\n\n" + b"x" * 10_000 + b"\n")
    env.cycle()
    (reply,) = env.received("iso@example.test")
    assert "liian suuri" in str(reply["Subject"])
    assert len(env.folder("Shunt")) == 1
    assert _tickets(env) == []


def test_unknown_charset_is_read_with_replacement(embedded: Build) -> None:
    """A body in an unknown charset becomes a question, undecodable bytes replaced."""
    env = embedded()
    env.deliver(
        b"From: a@example.test\nSubject: Outo\nContent-Type: text/plain; charset=x-unknown\n"
        b"\nHei \xe4\xf6 kysymys\n"
    )
    env.cycle()
    (forward,) = env.received(COORDINATOR)
    assert "kysymys" in _text(forward)


def test_latin1_quoted_printable_is_decoded(embedded: Build) -> None:
    """ISO-8859-1 in quoted-printable arrives at the coordinator as proper text."""
    env = embedded()
    env.deliver(
        b"From: =?iso-8859-1?q?P=E4ivi_M=E4kel=E4?= <paivi@example.test>\n"
        b"Subject: =?iso-8859-1?q?K=E4ytt=E4j=E4t?=\n"
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        b"\nMit=E4 tehd=E4=E4n =E4=E4nest=E4misest=E4?\n"
    )
    env.cycle()
    (forward,) = env.received(COORDINATOR)
    assert "Mitä tehdään äänestämisestä?" in _text(forward)
    assert "Käyttäjät" in str(forward["Subject"])
    assert "Päivi Mäkelä" in _text(forward)


def test_html_only_question(embedded: Build) -> None:
    """An HTML-only question reaches the coordinator as readable text."""
    env = embedded()
    env.deliver(
        b"From: h@example.test\nSubject: HTML\nContent-Type: text/html; charset=utf-8\n\n"
        b"<html><body><p>Hei,</p><p>miten <b>kutsutaksi</b> toimii?</p></body></html>\n"
    )
    env.cycle()
    (forward,) = env.received(COORDINATOR)
    assert "kutsutaksi" in _text(forward)
    assert "<b>" not in _text(forward)


def test_no_sender_is_forwarded_without_acknowledgement(embedded: Build) -> None:
    """A message without From still reaches the coordinator; nobody can be acknowledged."""
    env = embedded()
    env.deliver("Subject: Kuka olen\n\nNimetön kysymys\n".encode())
    env.cycle()
    (forward,) = env.received(COORDINATOR)
    assert "Nimetön kysymys" in _text(forward)
    assert [t.requester_email for t in _tickets(env)] == [""]


def test_header_injection_in_subject_goes_nowhere(embedded: Build) -> None:
    """A subject carrying CR/LF and a Bcc line cannot add a header to our replies."""
    env = embedded()
    env.deliver(
        b"From: a@example.test\nSubject: =?utf-8?q?Hei=0D=0ABcc=3A_victim=40example=2Etest?=\n"
        b"\nKysymys\n"
    )
    env.cycle()
    (ack,) = env.received("a@example.test")
    assert ack["Bcc"] is None
    assert env.received("victim@example.test") == []


def test_handler_error_shunts_and_daemon_goes_on(
    embedded: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error rolls back, shunts that message, and the next one is handled."""
    env = embedded()
    real = handlers.HANDLERS["question"]

    def explode(ctx: object, msg: object) -> None:
        from mailer.inbound.message import InboundMessage

        assert isinstance(msg, InboundMessage)
        if "RÄJÄHDÄ" in msg.subject:
            raise RuntimeError("handler bug")
        real(ctx, msg)  # type: ignore[arg-type]

    monkeypatch.setitem(handlers.HANDLERS, "question", explode)
    env.deliver(b"From: a@example.test\nSubject: =?utf-8?q?R=C3=84J=C3=84HD=C3=84?=\n\nx\n")
    env.deliver(b"From: b@example.test\nSubject: Normaali\n\nKysymys\n")
    env.cycle()
    claims = _claims(env)
    assert [c.outcome for c in claims] == ["shunted", "handled"]
    assert "handler bug" in claims[0].reason
    assert [t.requester_email for t in _tickets(env)] == ["b@example.test"]
    assert env.received("a@example.test") == []
    assert len(env.folder("Shunt")) == 1


def test_automatic_replies_to_repeats_are_rate_limited(embedded: Build) -> None:
    """The same question again and again: acknowledged up to auto_reply_limit_per_day
    repeats, then one notice and silence; every copy still reaches the coordinator."""
    env = embedded(security={"auto_reply_limit_per_day": 3})
    for _ in range(7):
        env.deliver(b"From: a@example.test\nSubject: Kysymys\n\nHei\n")
    env.cycle()
    assert len(env.received("a@example.test")) == 1 + 3 + 1
    assert len(env.received(COORDINATOR)) == 7


def test_distinct_questions_are_all_acknowledged(embedded: Build) -> None:
    """A person asking many different things in a day is no flood: every one is answered."""
    env = embedded(security={"auto_reply_limit_per_day": 3})
    for n in range(5):
        env.deliver(f"From: a@example.test\nSubject: Kysymys {n}\n\nHei\n".encode())
    env.cycle()
    assert len(env.received("a@example.test")) == 5
    assert len(env.received(COORDINATOR)) == 5


def test_duplicate_delivery_is_handled_once(embedded: Build) -> None:
    """The same Message-ID delivered twice to the same address makes one ticket."""
    env = embedded()
    raw = b"From: a@example.test\nMessage-ID: <dup-1@example.test>\nSubject: Dup\n\nHei\n"
    env.deliver(raw)
    env.deliver(raw)
    env.cycle()
    assert len(_tickets(env)) == 1
    assert len(env.received(COORDINATOR)) == 1
    assert len(env.inbox) == 0
    assert NETWORK


def test_other_constraint_clash_is_shunted_not_filed_as_duplicate(
    embedded: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unique clash other than the claim's own is shunted with its reason, never dropped."""
    from mailer.db.models import Member

    env = embedded()
    real = handlers.HANDLERS["question"]

    def clash(ctx: object, msg: object) -> None:
        from mailer.handlers.context import HandlerContext

        assert isinstance(ctx, HandlerContext)
        now = ctx.now
        for _ in range(2):  # two daemons inserting the same new person
            ctx.session.add(Member(email="same@example.test", created_at=now, updated_at=now))
        ctx.session.flush()
        real(ctx, msg)  # type: ignore[arg-type]

    monkeypatch.setitem(handlers.HANDLERS, "question", clash)
    env.deliver(b"From: a@example.test\nMessage-ID: <c1@example.test>\nSubject: x\n\ny\n")
    env.cycle()
    (claim,) = _claims(env)
    assert claim.outcome == "shunted" and "UNIQUE" in claim.reason
    assert len(env.folder("Shunt")) == 1
