"""XOAUTH2 for both IMAP and SMTP, as Microsoft 365 and Gmail require, on real servers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from harness.servers import MailServers

from .conftest import AppFactory, cycle
from .mail import question

pytestmark = pytest.mark.servers


def test_round_trip_with_oauth2_tokens_from_a_command(
    clean_mail: MailServers, make_app: AppFactory, tmp_path: Path
) -> None:
    """The daemon logs in to IMAP and submits over SMTP AUTH with tokens a command prints."""
    servers = clean_mail
    network = servers.address("network")
    helper = tmp_path / "get-token"
    helper.write_text(f"#!/bin/sh\necho '{servers.mint_token(network)}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    app = make_app(
        imap={"auth": "xoauth2", "password": "", "oauth2_command": str(helper)},
        smtp={
            "port": servers.smtp_auth_port,
            "auth": "xoauth2",
            "username": network,
            "oauth2_command": str(helper),
        },
    )
    member = servers.address("member6")
    servers.send(question(member, "OAuth", "Toimiiko?"), member, network)
    servers.wait_for("network", 1)
    cycle(app)
    (ack,) = servers.wait_for("member6", 1)
    assert "[#1]" in ack["Subject"]
    assert len(servers.messages("network", "Processed")) == 1


def test_expired_token_is_a_clear_failure(clean_mail: MailServers, make_app: AppFactory) -> None:
    """A refused token stops the cycle with a mailbox error, and the mail stays in the inbox."""
    from mailer.errors import MailboxError

    servers = clean_mail
    network = servers.address("network")
    app = make_app(
        imap={
            "auth": "xoauth2",
            "password": "",
            "oauth2_token": servers.mint_token(network, ttl=-60),
        },
    )
    servers.send(question(network, "x", "y"), servers.address("member7"), network)
    servers.wait_for("network", 1)
    with pytest.raises(MailboxError):
        cycle(app)
    assert len(servers.messages("network")) == 1
