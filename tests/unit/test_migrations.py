"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mailer.db.engine import Database
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
