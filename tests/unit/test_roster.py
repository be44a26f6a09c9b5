"""Roster import from CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from mailer.db.engine import Database
from mailer.db.models import Member
from mailer.roster import import_csv

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.upgrade()
    return db


def test_import_keeps_good_rows_and_reports_bad_ones(tmp_path: Path) -> None:
    """Bad rows are reported with their line numbers; good rows are stored normalised."""
    csv = tmp_path / "roster.csv"
    csv.write_text(
        "email,name,organisation,language\n"
        "Liisa.Laine@Uusikaupunki.example.test,Liisa Laine,Uusikaupunki,fi\n"
        "not-an-address,Bad Row,Akaa,fi\n"
        "anders@jakobstad.example.test,Anders Berg,Jakobstad,sv\n"
        "x@akaa.example.test,X,Akaa,de\n"
    )
    db = _db(tmp_path)
    with db.transaction() as session:
        report = import_csv(session, csv, "fi", NOW)
    assert (report.added, report.updated) == (2, 0)
    assert [line for line, _ in report.errors] == [3, 5]
    with db.transaction() as session:
        emails = sorted(m.email for m in session.scalars(select(Member)))
    assert emails == ["anders@jakobstad.example.test", "liisa.laine@uusikaupunki.example.test"]


def test_reimport_updates_without_duplicating(tmp_path: Path) -> None:
    """Importing again with changed data updates the member; no duplicate appears."""
    csv = tmp_path / "roster.csv"
    csv.write_text("email,name,organisation,language\na@akaa.example.test,A,Akaa,fi\n")
    db = _db(tmp_path)
    with db.transaction() as session:
        import_csv(session, csv, "fi", NOW)
    csv.write_text("email;name;organisation;language\nA@akaa.example.test;A B;Akaa;sv\n")
    with db.transaction() as session:
        report = import_csv(session, csv, "fi", NOW)
    assert (report.added, report.updated) == (0, 1)
    with db.transaction() as session:
        members = list(session.scalars(select(Member)))
    assert [(m.email, m.name, m.language) for m in members] == [
        ("a@akaa.example.test", "A B", "sv")
    ]


def test_missing_header_column_is_reported(tmp_path: Path) -> None:
    """A file without the required header is one clear error on line 1."""
    csv = tmp_path / "roster.csv"
    csv.write_text("address,name\na@example.test,A\n")
    db = _db(tmp_path)
    with db.transaction() as session:
        report = import_csv(session, csv, "fi", NOW)
    assert report.errors and report.errors[0][0] == 1
