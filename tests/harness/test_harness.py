"""The test harness itself: real Postfix + Dovecot on loopback, as the other tests use it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import smtplib
import socket
import ssl
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from .servers import MailServers

pytestmark = pytest.mark.servers


def _mail(to: str, subject: str, sender: str = "member1@example.test") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Hei!\n")
    return msg


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _process_tree(roots: list[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return tree


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _masters(servers: MailServers) -> list[int]:
    pid_files = [servers.dir / "run/dovecot/master.pid", servers.dir / "spool/pid/master.pid"]
    return [int(p.read_text().split()[0]) for p in pid_files]


def test_plain_imap_login(clean_mail: MailServers) -> None:
    """A password LOGIN works for every kind of user and the server offers IDLE."""
    for user in ("network", "network2", "coordinator", "coordinator2", "member50"):
        with clean_mail.imap(user) as client:
            assert b"IDLE" in client.capabilities()
            assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_wrong_password_refused(clean_mail: MailServers) -> None:
    """A wrong password is refused quickly (no failure delay, no anvil penalty)."""
    for _ in range(3):
        started = time.monotonic()
        with (
            IMAPClient("127.0.0.1", port=clean_mail.imap_port, ssl=False, timeout=10) as client,
            pytest.raises(LoginError),
        ):
            client.login("member1@example.test", "wrong")
        assert time.monotonic() - started < 1.5


def test_imaps_with_harness_ca(clean_mail: MailServers) -> None:
    """IMAPS on its own port verifies against the harness certificate (ca_file)."""
    context = ssl.create_default_context(cafile=str(clean_mail.ca_file))
    with IMAPClient(
        "127.0.0.1", port=clean_mail.imaps_port, ssl=True, ssl_context=context, timeout=10
    ) as client:
        client.login("member1", clean_mail.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_xoauth2_imap_login(clean_mail: MailServers) -> None:
    """A token minted by the harness logs in with XOAUTH2 and with OAUTHBEARER."""
    address = clean_mail.address("network")
    with IMAPClient("127.0.0.1", port=clean_mail.imap_port, ssl=False, timeout=10) as client:
        client.oauth2_login(address, clean_mail.mint_token("network"))
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    with IMAPClient("127.0.0.1", port=clean_mail.imap_port, ssl=False, timeout=10) as client:
        client.oauthbearer_login(address, clean_mail.mint_token(address))
        client.select_folder("INBOX")


def test_bad_tokens_refused(clean_mail: MailServers) -> None:
    """An expired token and a token for another user are refused over IMAP."""
    address = clean_mail.address("network")
    for token in (
        clean_mail.mint_token("network", ttl=-60),
        clean_mail.mint_token("coordinator"),
    ):
        with (
            IMAPClient("127.0.0.1", port=clean_mail.imap_port, ssl=False, timeout=10) as client,
            pytest.raises(LoginError, match="AUTHENTICATIONFAILED"),
        ):
            client.oauth2_login(address, token)


def test_plus_address_keeps_delivered_to(clean_mail: MailServers) -> None:
    """Mail to network+lista lands in network's INBOX with Delivered-To: network+lista."""
    clean_mail.send(
        _mail("network+lista@example.test", "lista"),
        "member1@example.test",
        ["network+lista@example.test"],
    )
    [msg] = clean_mail.wait_for("network", 1)
    assert msg["Subject"] == "lista"
    assert msg["Delivered-To"] == "network+lista@example.test"


def test_each_recipient_gets_own_delivered_to(clean_mail: MailServers) -> None:
    """One message to several local recipients carries each one's own Delivered-To."""
    rcpts = ["network+liity@example.test", "network+eroa@example.test", "member2@example.test"]
    clean_mail.send(b"Subject: multi\n\nbody\n", "member1@example.test", rcpts)
    inbox = clean_mail.wait_for("network", 2)
    assert sorted(m["Delivered-To"] for m in inbox) == sorted(rcpts[:2])
    [member] = clean_mail.wait_for("member2", 1)
    assert member["Delivered-To"] == "member2@example.test"


def test_other_domain_is_held(clean_mail: MailServers) -> None:
    """Mail to another domain is accepted and held: not delivered, not bounced."""
    clean_mail.send(
        _mail("kirjaamo@kunta.example", "ulos", "coordinator@example.test"),
        "network+bounce-x1@example.test",
        ["kirjaamo@kunta.example"],
    )
    [held] = clean_mail.wait_held(1)
    assert held.recipients == ("kirjaamo@kunta.example",)
    assert held.sender == "network+bounce-x1@example.test"
    assert held.message["Subject"] == "ulos"
    clean_mail.flush_postfix()  # a flush can only defer it again: there is no relay
    deferred = f"{held.queue_id}: to=<kirjaamo@kunta.example>"
    deadline = time.monotonic() + 10
    while deferred not in clean_mail.postfix_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "status=deferred" in clean_mail.postfix_log.read_text()
    assert "status=sent" not in clean_mail.postfix_log.read_text().split(deferred, 1)[-1]
    assert clean_mail.held_count() == 1
    assert clean_mail.messages("network") == []
    assert "kirjaamo@kunta.example" in clean_mail.postfix_queue()


def test_unknown_local_user_refused(clean_mail: MailServers) -> None:
    """An unknown @example.test recipient is refused at RCPT time with 550."""
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        clean_mail.send(
            _mail("nobody@example.test", "x"), "member1@example.test", ["nobody@example.test"]
        )
    assert refused.value.recipients["nobody@example.test"][0] == 550


def test_gone_user_bounces_to_envelope_sender(clean_mail: MailServers) -> None:
    """Mail to gone@example.test is accepted and then bounced as a DSN to the sender."""
    clean_mail.send(
        _mail("gone@example.test", "hukassa"),
        "network+bounce-t1@example.test",
        ["gone@example.test"],
    )
    [dsn] = clean_mail.wait_for("network", 1)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn["Delivered-To"] == "network+bounce-t1@example.test"
    assert "gone@example.test" in dsn.as_string()


def test_idle_sees_new_message(clean_mail: MailServers) -> None:
    """An IDLE session gets EXISTS within a few seconds of delivery."""
    with clean_mail.imap("network") as client:
        client.select_folder("INBOX")
        client.idle()
        sent = time.monotonic()
        clean_mail.send(
            _mail("network@example.test", "idle"), "member1@example.test", ["network@example.test"]
        )
        seen = False
        while not seen and time.monotonic() - sent < 5:
            seen = any(len(r) > 1 and r[1] == b"EXISTS" for r in client.idle_check(timeout=1))
        client.idle_done()
    assert seen, "no EXISTS within 5 s"


def test_smtp_xoauth2_on_auth_port(clean_mail: MailServers) -> None:
    """XOAUTH2 SMTP AUTH on the auth port sends mail; without AUTH it is refused."""
    address = clean_mail.address("network")

    async def token() -> str:
        return clean_mail.mint_token(address)

    async def exchange() -> None:
        smtp = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=clean_mail.smtp_auth_port,
            username=address,
            oauth_token_generator=token,
            start_tls=False,
            local_hostname="client.example.test",
            timeout=10,
        )
        async with smtp:
            await smtp.send_message(_mail("member3@example.test", "oauth", address))
        anonymous = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=clean_mail.smtp_auth_port,
            start_tls=False,
            local_hostname="client.example.test",
            timeout=10,
        )
        async with anonymous:
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await anonymous.send_message(_mail("member3@example.test", "anon", address))

    asyncio.run(exchange())
    [msg] = clean_mail.wait_for("member3", 1)
    assert msg["Subject"] == "oauth"


def test_smtp_bad_token_refused(clean_mail: MailServers) -> None:
    """An expired token gets 535 on the SMTP auth port."""
    address = clean_mail.address("network")

    async def token() -> str:
        return clean_mail.mint_token(address, ttl=-60)

    async def attempt() -> None:
        smtp = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=clean_mail.smtp_auth_port,
            username=address,
            oauth_token_generator=token,
            start_tls=False,
            local_hostname="client.example.test",
            timeout=10,
        )
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as failed:
            await smtp.connect()
        smtp.close()
        assert failed.value.code == 535

    asyncio.run(attempt())


@pytest.mark.slow
def test_dovecot_outage_and_recovery(clean_mail: MailServers) -> None:
    """With Dovecot stopped IMAP is refused and Postfix defers; after start mail arrives."""
    with clean_mail.imap("network") as watcher:
        clean_mail.stop_dovecot()
        assert not _port_open(clean_mail.imap_port)
        with pytest.raises((OSError, watcher.AbortError)):
            watcher.noop()
        clean_mail.send(
            _mail("network@example.test", "outage"),
            "member1@example.test",
            ["network@example.test"],
        )
        with pytest.raises(ConnectionRefusedError):
            clean_mail.imap("network")
        clean_mail.start_dovecot()
        [msg] = clean_mail.wait_for("network", 1, timeout=10)
    assert msg["Subject"] == "outage"


@pytest.mark.slow
def test_postfix_outage_and_recovery(clean_mail: MailServers) -> None:
    """With Postfix stopped both SMTP ports refuse connections; after start sending works."""
    clean_mail.stop_postfix()
    assert not _port_open(clean_mail.smtp_port)
    assert not _port_open(clean_mail.smtp_auth_port)
    with pytest.raises(ConnectionRefusedError):
        clean_mail.send(
            _mail("member4@example.test", "x"), "member1@example.test", ["member4@example.test"]
        )
    clean_mail.start_postfix()
    clean_mail.send(
        _mail("member4@example.test", "back"), "member1@example.test", ["member4@example.test"]
    )
    assert clean_mail.wait_for("member4", 1)[0]["Subject"] == "back"


@pytest.mark.slow
def test_restart_after_crash_and_clean_stop(mail_servers: MailServers) -> None:
    """Start works over a SIGKILLed instance (stale pid files); stop leaves nothing behind."""
    offset = 40  # clear of the slot ports (SLOTS = 20) of any concurrent session
    other = MailServers(
        tempfile.mkdtemp(prefix="mailer-hx", dir="/tmp"),
        imap_port=mail_servers.imap_port + offset,
        imaps_port=mail_servers.imaps_port + offset,
        smtp_port=mail_servers.smtp_port + offset,
        smtp_auth_port=mail_servers.smtp_auth_port + offset,
        members=2,
    )
    ports = [other.imap_port, other.imaps_port, other.smtp_port, other.smtp_auth_port]
    try:
        other.start()
        for pid in _process_tree(_masters(other)):
            with contextlib.suppress(ProcessLookupError):  # a child may just have exited
                os.kill(pid, signal.SIGKILL)
        other.start()
        other.send(
            _mail("member2@example.test", "again"), "member1@example.test", ["member2@example.test"]
        )
        assert other.wait_for("member2", 1)[0]["Subject"] == "again"
        tree = _process_tree(_masters(other))
        other.stop()
        assert [pid for pid in tree if _alive(pid)] == []
        assert [port for port in ports if _port_open(port)] == []
        other.stop()  # a no-op when nothing runs
    finally:
        other.stop()
        shutil.rmtree(other.dir, ignore_errors=True)
