"""Shared fixtures: the real mail servers (Postfix + Dovecot) and PostgreSQL.

Outside CI a missing prerequisite (not root, no PostgreSQL) skips the test with the
reason; in CI (CI=true) it fails it, so a broken CI machine cannot pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import psycopg
import pytest
from harness.servers import MailServers, claimed_servers
from psycopg import sql

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mail_servers() -> Iterator[MailServers]:
    """Private Postfix + Dovecot for the session (ports 11143/11993/12525/12587 in slot 0)."""
    if os.geteuid() != 0:
        _unavailable("the Postfix + Dovecot harness needs root (tests/harness/mailserver.sh)")
    with claimed_servers() as servers:
        yield servers


@pytest.fixture
def clean_mail(mail_servers: MailServers) -> MailServers:
    """The session's servers, both running, every mailbox and the Postfix queue empty."""
    mail_servers.ensure_running()
    mail_servers.clear_all()
    return mail_servers


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database, dropped after the test."""
    name = f"mailer_test_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {PG_ADMIN_URL} is not usable: {exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            # FORCE: a connection pool the test left open must not block the drop
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# ----------------------------------------------------------------------------
# Fixtures shared by several test modules go below this line.
