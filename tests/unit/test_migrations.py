"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from mailer.db.engine import MIGRATIONS, Database
from mailer.db.models import Base


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    """After upgrading a fresh database there is nothing left for autogenerate to add."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    """Starting the daemon again on an up-to-date database changes nothing."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.upgrade()
    db.upgrade()
    db.dispose()


def test_waitlist_order_is_given_to_those_already_waiting(tmp_path: Path) -> None:
    """Upgrading numbers each event's waiting people in the order the old rule served them."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        at = "2026-12-01 08:00:00.000000"
        conn.execute(
            text(
                "INSERT INTO events (id, uid, sequence, kind, title, description, starts_at,"
                " ends_at, place, link, question, audience_members, audience_extra, feedback_at,"
                " feedback_closes_at, state, coordinator, pending, invited, created_at,"
                " updated_at) VALUES (1, 'u', 0, 'webinar', 'W', '', :at, :at, '', '', '', 1,"
                " '', :at, :at, 'open', '', '', 0, :at, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO event_invitations (id, event_id, address, name, language, sequence,"
                " created_at) VALUES (1, 1, 'a@example.test', '', 'fi', 0, :at)"
            ),
            {"at": at},
        )
        for row_id, state, waited in (
            (1, "registered", None),
            (2, "waitlisted", "2026-12-01 08:05:00.000000"),
            (3, "waitlisted", "2026-12-01 08:01:00.000000"),
            (4, "cancelled", "2026-12-01 08:03:00.000000"),
        ):
            conn.execute(
                text(
                    "INSERT INTO event_registrations (id, event_id, invitation_id, email, name,"
                    " organisation, language, state, answer, source, created_at, updated_at,"
                    " waitlisted_at) VALUES (:id, 1, 1, :email, '', '', 'fi', :state, '',"
                    " 'reply', :at, :at, :waited)"
                ),
                {
                    "id": row_id,
                    "email": f"{row_id}@example.test",
                    "state": state,
                    "at": at,
                    "waited": waited,
                },
            )
    db.upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, waitlist_order FROM event_registrations ORDER BY id")
        ).all()
    db.dispose()
    assert [tuple(r) for r in rows] == [(1, None), (2, 3), (3, 1), (4, 2)]
