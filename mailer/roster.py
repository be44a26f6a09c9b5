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
from mailer.db.models import Member, Organisation
from mailer.errors import ConfigError
from mailer.list_archive import latest_post_id

REQUIRED = ("email", "name", "organisation", "language")
DELIVERY_MODES = ("each", "daily", "weekly", "none")
ROLES = ("member", "observer")


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


def organisation(session: Session, name: str, now: datetime) -> Organisation | None:
    """The organisation of that name, created on first mention; None for no name."""
    name = " ".join(name.split())
    if not name:
        return None
    found = session.scalars(select(Organisation).where(Organisation.name == name)).first()
    if found is None:
        found = Organisation(name=name, status="member", created_at=now)
        session.add(found)
        session.flush()
    return found


def _read(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _choice(values: dict[str, str], key: str, allowed: tuple[str, ...]) -> str | None:
    """The column's value if given and allowed; raises ValueError naming the column."""
    value = values.get(key, "").lower()
    if not value:
        return None
    if value not in allowed:
        raise ValueError(f"unknown {key} {value!r} ({', '.join(allowed)})")
    return value


def import_csv(session: Session, path: Path, default_language: str, now: datetime) -> ImportReport:
    """Header ``email,name,organisation,language`` plus optional ``delivery`` and ``role``."""
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
    cursor = latest_post_id(session)
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        try:
            email = normalise_address(values.get("email", ""))
        except EmailNotValidError as exc:
            report.errors.append((line, f"bad address {values.get('email', '')!r}: {exc}"))
            continue
        try:
            language = _choice(values, "language", LANGUAGES) or default_language
            delivery = _choice(values, "delivery", DELIVERY_MODES)
            role = _choice(values, "role", ROLES)
        except ValueError as exc:
            report.errors.append((line, str(exc)))
            continue
        org = organisation(session, values.get("organisation", ""), now)
        name = values.get("name", "")
        member = existing.get(email)
        if member is None:
            member = Member(
                email=email,
                name=name,
                organisation=org,
                language=language,
                delivery=delivery or "each",
                role=role or "member",
                subscribed=True,
                digest_cursor=cursor,
                created_at=now,
                updated_at=now,
            )
            session.add(member)
            existing[email] = member
            report.added += 1
            continue
        wanted = {
            "name": name,
            "organisation_id": org.id if org else None,
            "language": language,
            "delivery": delivery or member.delivery,
            "role": role or member.role,
        }
        if any(getattr(member, k) != v for k, v in wanted.items()):
            for key, value in wanted.items():
                setattr(member, key, value)
            member.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1
    return report


def add_member(
    session: Session,
    email: str,
    *,
    name: str,
    organisation_name: str,
    language: str,
    delivery: str,
    now: datetime,
) -> Member:
    """One member by hand (the administrator vouches: no confirmation mail)."""
    try:
        address = normalise_address(email)
    except EmailNotValidError as exc:
        raise ConfigError(f"bad address {email!r}: {exc}") from None
    if language not in LANGUAGES:
        raise ConfigError(f"unknown language {language!r} (fi, sv or en)")
    if delivery not in DELIVERY_MODES:
        raise ConfigError(f"unknown delivery {delivery!r} ({', '.join(DELIVERY_MODES)})")
    member = session.scalars(select(Member).where(Member.email == address)).first()
    if member is None:
        member = Member(
            email=address, created_at=now, updated_at=now, digest_cursor=latest_post_id(session)
        )
        session.add(member)
    member.name = name or member.name or ""
    org = organisation(session, organisation_name, now)
    if org is not None:
        member.organisation = org
    member.language, member.delivery = language, delivery
    member.subscribed, member.disabled_at, member.updated_at = True, None, now
    session.flush()
    return member
