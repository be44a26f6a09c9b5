"""``mailer demo``, the README's first command: every step it shows really happened."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from mailer.db.engine import Database
from mailer.db.events import Registration
from mailer.db.models import Member, Ticket
from mailer.db.polls import Ballot
from mailer.demo import COORDINATOR, MEMBER, NEWCOMER, _inbox, run_demo


def _subjects(root: Path, address: str) -> list[str]:
    return [str(m["Subject"]) for m in _inbox(root, address)]


def test_demo_walks_question_join_vote_event_and_rating(tmp_path: Path) -> None:
    out = io.StringIO()
    run_demo(tmp_path, Console(file=out, width=100))
    shown = out.getvalue()
    assert str(tmp_path) in shown.replace("\n", "")

    member = _subjects(tmp_path, MEMBER)
    assert any(s.startswith("[#1] Kysymyksesi on vastaanotettu") for s in member)
    assert "Re: [#1] Koulukuljetusten kilpailutus" in member
    assert any(s.startswith("Äänesi on kirjattu") for s in member)
    assert any(s.startswith("Tulokset") for s in member)
    assert any(s.startswith("Kutsu") for s in member)
    assert any(s.startswith("Palaute") for s in member)
    assert any(s.startswith("Tervetuloa") for s in _subjects(tmp_path, NEWCOMER))
    assert any(s.startswith("Esikatselu") for s in _subjects(tmp_path, COORDINATOR))

    db = Database(f"sqlite:///{tmp_path / 'mailer.db'}")
    try:
        with db.transaction() as session:
            assert session.scalars(select(Ticket.state)).one() == "closed"
            assert session.scalars(select(Ballot.choices)).one() == "1,2"
            assert session.scalar(select(Member).where(Member.email == NEWCOMER)) is not None
            assert session.scalars(select(Registration)).one().state == "registered"
    finally:
        db.dispose()
