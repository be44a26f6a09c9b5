"""The roster: who is a member, their organisation and language.

Import keeps every good row and reports every bad one with its line number, so
one typo in a 300-row export from the municipality's system costs one row, not
the import. Addresses are normalised by email-validator, which is what makes a
re-import update instead of duplicate.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config import LANGUAGES
from mailer.db.models import Member

REQUIRED = ("email", "name", "organisation", "language")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def normalise_address(address: str) -> str:
    """Raises ``EmailNotValidError`` with an English reason."""
    result = validate_email(address.strip(), check_deliverability=False, test_environment=True)
    return result.normalized.lower()


def _read(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def import_csv(session: Session, path: Path, default_language: str, now: datetime) -> ImportReport:
    text = _read(path)
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [h for h in REQUIRED if h not in header]
    report = ImportReport()
    if missing:
        report.errors.append((1, f"header lacks {', '.join(missing)}"))
        return report
    reader.fieldnames = header
    existing = {m.email: m for m in session.scalars(select(Member))}
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        try:
            email = normalise_address(values.get("email", ""))
        except EmailNotValidError as exc:
            report.errors.append((line, f"bad address {values.get('email', '')!r}: {exc}"))
            continue
        language = (values.get("language") or default_language).lower()
        if language not in LANGUAGES:
            report.errors.append((line, f"unknown language {language!r} (fi, sv or en)"))
            continue
        name, organisation = values.get("name", ""), values.get("organisation", "")
        member = existing.get(email)
        if member is None:
            member = Member(
                email=email,
                name=name,
                organisation=organisation,
                language=language,
                created_at=now,
                updated_at=now,
            )
            session.add(member)
            existing[email] = member
            report.added += 1
        elif (member.name, member.organisation, member.language) != (name, organisation, language):
            member.name, member.organisation, member.language = name, organisation, language
            member.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1
    return report
