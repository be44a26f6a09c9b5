"""List corner cases: expiries, bans, several hold reasons at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from mailer.db.models import ListPost, Member
from mailer.roster import add_member

from .conftest import COORDINATOR, Embedded

Build = Callable[..., Embedded]
LIST = "verkosto+lista@example.test"


def _add(env: Embedded, email: str) -> None:
    with env.app.db.transaction() as session:
        add_member(
            session,
            email,
            name="",
            organisation_name="",
            language="fi",
            delivery="each",
            now=env.app.clock.now(),
        )


def _posts(env: Embedded) -> list[ListPost]:
    with env.app.db.transaction() as session:
        return list(session.scalars(select(ListPost).order_by(ListPost.id)))


def test_confirmation_after_expiry_is_refused(embedded: Build) -> None:
    """A confirmation older than confirm_expiry_days does not subscribe; the person is told."""
    env = embedded(list={"confirm_expiry_days": 2})
    env.deliver(b"From: late@example.test\nSubject: liity\n\n")
    env.cycle()
    (request,) = env.received("late@example.test")
    env.app.clock.advance(timedelta(days=3))
    reply = f"From: late@example.test\nTo: {request['Reply-To']}\nSubject: Re: x\n\nkylla\n"
    env.deliver(reply.encode(), to=str(request["Reply-To"]))
    env.cycle()
    subjects = [str(m["Subject"]) for m in env.received("late@example.test")]
    assert len(subjects) == 2 and any("vanhentunut" in s for s in subjects)
    with env.app.db.transaction() as session:
        assert session.scalars(select(Member)).first() is None


def test_banned_sender_is_discarded_silently(embedded: Build) -> None:
    """A banned domain's post is filed without any mail to anyone."""
    env = embedded()
    _add(env, "reader@example.test")
    with env.app.db.transaction() as session:
        from mailer.db.models import Ban

        session.add(Ban(pattern="@spam.example", created_at=env.app.clock.now()))
    env.deliver(b"From: x@spam.example\nSubject: Osta\n\nhalpaa\n", to=LIST)
    env.cycle()
    assert env.received("x@spam.example") == []
    assert env.received(COORDINATOR) == []
    assert env.received("reader@example.test") == []
    assert _posts(env) == []


def test_every_hold_reason_is_listed_once(embedded: Build) -> None:
    """A non-member's post without a subject to too many people lists all three reasons."""
    env = embedded(list={"max_recipients": 2})
    many = ", ".join(f"p{i}@example.test" for i in range(4))
    env.deliver(f"From: out@example.test\nTo: {LIST}, {many}\nSubject: \n\nhei\n".encode(), to=LIST)
    env.cycle()
    (post,) = _posts(env)
    assert post.state == "held"
    assert post.reasons.split("\n") == ["not-member", "too-many-recipients", "empty-subject"]
    (notice,) = env.received(COORDINATOR)
    body = notice.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "ei ole listan jäsen" in text and "liikaa vastaanottajia" in text


def test_held_post_expires_with_a_notice(embedded: Build) -> None:
    """A post held longer than hold_expiry_days expires and its author is told, once."""
    env = embedded(list={"hold_expiry_days": 3})
    env.deliver(b"From: out@example.test\nSubject: Kysely\n\nhei\n", to=LIST)
    env.cycle()
    env.app.clock.advance(timedelta(days=4))
    env.cycle()
    env.cycle()
    (post,) = _posts(env)
    assert post.state == "expired"
    expired = [m for m in env.received("out@example.test") if "vanheni" in str(m["Subject"])]
    assert len(expired) == 1


def test_post_larger_than_the_list_allows_is_held(embedded: Build) -> None:
    """Attachments pass up to max_post_bytes; a larger post waits for the coordinator."""
    env = embedded(list={"max_post_bytes": 4000})
    _add(env, "m@example.test")
    env.deliver(b"From: m@example.test\nSubject: Liite\n\n" + b"x" * 5000 + b"\n", to=LIST)
    env.cycle()
    (post,) = _posts(env)
    assert post.state == "held" and post.reasons == "post-too-large"
