"""SmtpSender against real SMTP servers: in-process aiosmtpd, and Postfix when present."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import random
import ssl
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from aiosmtplib.email import parse_address
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailer.config import OAuth2Settings, SmtpSettings
from mailer.outgoing.smtp import (
    _PLAIN_ADDRESS,
    SendResult,
    SmtpSender,
    _parses_unchanged,
    _sendable,
)
from mailer.tokens import TokenProvider

from .conftest import Server, free_port, message, smtp_settings

T = TypeVar("T")
SENDER = "verkosto@example.test"


def with_sender(
    settings: SmtpSettings,
    body: Callable[[SmtpSender], Awaitable[T]],
    tokens: TokenProvider | None = None,
) -> T:
    """Runs ``body`` in a fresh event loop and always closes the sender afterwards."""

    async def main() -> T:
        sender = SmtpSender(settings, tokens)
        try:
            return await body(sender)
        finally:
            await sender.close()

    return asyncio.run(main())


def send_one(settings: SmtpSettings, recipients: list[str], data: bytes) -> SendResult:
    """Sends one message on a fresh sender."""
    return with_sender(settings, lambda sender: sender.send(SENDER, recipients, data))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (key and cert in one PEM file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("tls") / "server.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def server_tls(certificate: Path) -> ssl.SSLContext:
    """The server side of the test certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate)
    return context


def test_send_one_message(server: Server) -> None:
    """One message reaches the server with the right envelope."""
    data = message()
    result = send_one(smtp_settings(server.port), ["a@example.test", "b@example.test"], data)

    assert result == SendResult(("a@example.test", "b@example.test"), {}, {})
    [got] = server.handler.received
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["a@example.test", "b@example.test"]
    assert got.content == data


def test_bytes_arrive_unchanged(server: Server) -> None:
    """Dot-leading lines, 8-bit text and long lines survive byte for byte."""
    body = (
        ".alkaa pisteellä\r\n"
        "..kaksi pistettä\r\n"
        ".\r\n"
        "Hyvää päivää, välkommen, ÅÄÖ €\r\n" + "x" * 990 + "\r\n"
        "\r\n"
        "loppu\r\n"
    ).encode()
    data = message(body=body)

    result = send_one(smtp_settings(server.port), ["a@example.test"], data)

    assert result.accepted == ("a@example.test",)
    [got] = server.handler.received
    assert got.content == data
    assert "BODY=8BITMIME" in got.mail_options


def test_connections_are_reused(server: Server) -> None:
    """Sequential sends share one connection instead of reconnecting each time."""

    async def body(sender: SmtpSender) -> list[SendResult]:
        return [await sender.send(SENDER, ["a@example.test"], message(n)) for n in range(5)]

    results = with_sender(smtp_settings(server.port), body)

    assert all(r.accepted == ("a@example.test",) for r in results)
    assert len(set(server.handler.mail_peers)) == 1


def test_concurrent_sends_stay_within_the_pool(server: Server) -> None:
    """Fifty concurrent sends all arrive, over at most four connections used in parallel."""
    messages = {n: message(n) for n in range(50)}

    async def body(sender: SmtpSender) -> list[SendResult]:
        return await asyncio.gather(
            *(sender.send(SENDER, [f"m{n}@example.test"], data) for n, data in messages.items())
        )

    results = with_sender(smtp_settings(server.port, connections=4), body)

    assert all(not r.temporary and not r.permanent for r in results)
    received = server.handler.received
    assert sorted(r.content for r in received) == sorted(messages.values())
    assert 2 <= len({r.peer for r in received}) <= 4


def test_per_recipient_outcomes(server: Server) -> None:
    """RCPT replies 250/450/550 split the recipients into accepted, temporary, permanent."""
    server.handler.rcpt_replies = {
        "busy@example.test": "450 4.2.1 mailbox busy",
        "gone@example.test": "550 5.1.1 no such user",
    }
    recipients = ["ok@example.test", "busy@example.test", "gone@example.test"]

    result = send_one(smtp_settings(server.port), recipients, message())

    assert result.accepted == ("ok@example.test",)
    assert result.temporary == {"busy@example.test": "450 4.2.1 mailbox busy"}
    assert result.permanent == {"gone@example.test": "550 5.1.1 no such user"}
    [got] = server.handler.received
    assert got.rcpt_tos == ["ok@example.test"]


def test_every_recipient_refused(server: Server) -> None:
    """When RCPT refuses everyone, each recipient still gets its own outcome."""
    server.handler.rcpt_replies = {
        "busy@example.test": "452 4.5.3 too many recipients",
        "gone@example.test": "550 5.1.1 no such user",
    }

    result = send_one(
        smtp_settings(server.port), ["busy@example.test", "gone@example.test"], message()
    )

    assert result.accepted == ()
    assert result.temporary == {"busy@example.test": "452 4.5.3 too many recipients"}
    assert result.permanent == {"gone@example.test": "550 5.1.1 no such user"}
    assert server.handler.received == []


@pytest.mark.parametrize(
    ("reply", "kind"),
    [("451 4.3.0 try again later", "temporary"), ("554 5.6.0 message rejected", "permanent")],
)
def test_data_refused(server: Server, reply: str, kind: str) -> None:
    """A 4xx/5xx answer to DATA applies to every recipient of the message."""
    server.handler.data_reply = reply
    recipients = ["a@example.test", "b@example.test"]

    result = send_one(smtp_settings(server.port), recipients, message())

    assert result.accepted == ()
    assert getattr(result, kind) == dict.fromkeys(recipients, reply)


def test_sender_refused(server: Server) -> None:
    """A 5xx answer to MAIL FROM fails every recipient for good."""
    server.handler.mail_reply = "553 5.7.1 sender not allowed"

    result = send_one(smtp_settings(server.port), ["a@example.test"], message())

    assert result.permanent == {"a@example.test": "553 5.7.1 sender not allowed"}


def test_connection_reused_after_an_error(server: Server) -> None:
    """A refused message leaves the connection clean for the next one."""
    server.handler.data_reply = "554 5.6.0 message rejected"

    async def body(sender: SmtpSender) -> tuple[SendResult, SendResult]:
        first = await sender.send(SENDER, ["a@example.test"], message(1))
        server.handler.data_reply = None
        return first, await sender.send(SENDER, ["a@example.test"], message(2))

    first, second = with_sender(smtp_settings(server.port), body)

    assert first.permanent
    assert second.accepted == ("a@example.test",)
    assert len(set(server.handler.mail_peers)) == 1


def test_connection_reused_after_every_recipient_was_refused(server: Server) -> None:
    """After RCPT refused everyone the envelope is reset: the next message goes on that line."""
    server.handler.rcpt_replies = {"gone@example.test": "550 5.1.1 no such user"}

    async def body(sender: SmtpSender) -> tuple[SendResult, SendResult]:
        first = await sender.send(SENDER, ["gone@example.test"], message(1))
        return first, await sender.send(SENDER, ["a@example.test"], message(2))

    first, second = with_sender(smtp_settings(server.port), body)

    assert first.permanent == {"gone@example.test": "550 5.1.1 no such user"}
    assert second.accepted == ("a@example.test",)
    assert [r.rcpt_tos for r in server.handler.received] == [["a@example.test"]]
    assert len(set(server.handler.mail_peers)) == 1


def test_size_is_declared_and_an_oversized_message_refused(
    start_server: Callable[..., Server],
) -> None:
    """MAIL carries the message's SIZE, so a server with a limit refuses before the data."""
    data = message(body=(b"x" * 70 + b"\r\n") * 40)
    small = start_server(data_size_limit=1000)
    large = start_server(data_size_limit=100_000)

    refused = send_one(smtp_settings(small.port), ["a@example.test"], data)
    taken = send_one(smtp_settings(large.port), ["a@example.test"], data)

    assert list(refused.permanent) == ["a@example.test"]
    assert refused.permanent["a@example.test"].startswith("552")
    assert small.handler.received == []
    assert taken.accepted == ("a@example.test",)
    assert f"SIZE={len(data)}" in large.handler.received[0].mail_options


def test_international_address_needs_smtputf8(start_server: Callable[..., Server]) -> None:
    """An address in UTF-8 goes with SMTPUTF8 where offered, and fails for good where not."""
    plain = start_server(enable_SMTPUTF8=False)  # aiosmtpd's Controller offers it by default
    utf8 = start_server()

    refused = send_one(smtp_settings(plain.port), ["jäsen@esimerkki.test"], message())
    taken = send_one(smtp_settings(utf8.port), ["jäsen@esimerkki.test"], message())

    assert refused.permanent == {"jäsen@esimerkki.test": "SMTPUTF8 is not supported by this server"}
    assert plain.handler.mail_peers == []
    assert taken.accepted == ("jäsen@esimerkki.test",)
    assert utf8.handler.received[0].rcpt_tos == ["jäsen@esimerkki.test"]
    assert "SMTPUTF8" in utf8.handler.received[0].mail_options


def test_server_down_is_temporary() -> None:
    """Nothing listening: every recipient is temporary and nothing is raised."""
    port = free_port()

    result = send_one(smtp_settings(port), ["a@example.test", "b@example.test"], message())

    assert result.accepted == ()
    assert result.permanent == {}
    assert set(result.temporary) == {"a@example.test", "b@example.test"}
    assert all("cannot connect" in reason for reason in result.temporary.values())


def test_silent_server_times_out() -> None:
    """A server that accepts but never greets fails the send as temporary after the timeout."""

    async def body() -> SendResult:
        connections: list[asyncio.StreamWriter] = []

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(writer)
            await reader.read()

        listener = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        sender = SmtpSender(smtp_settings(port, timeout=0.3))
        try:
            return await sender.send(SENDER, ["a@example.test"], message())
        finally:
            await sender.close()
            listener.close()
            for writer in connections:
                writer.close()
                await writer.wait_closed()
            await listener.wait_closed()

    result = asyncio.run(body())

    assert list(result.temporary) == ["a@example.test"]
    assert "cannot connect" in result.temporary["a@example.test"]


def test_reconnects_after_server_closed_idle_connection(
    start_server: Callable[..., Server],
) -> None:
    """The server's idle timeout closes the pooled connection; the next send reconnects."""
    server = start_server(timeout=0.5)

    async def body(sender: SmtpSender) -> tuple[SendResult, SendResult]:
        first = await sender.send(SENDER, ["a@example.test"], message(1))
        await asyncio.sleep(1.0)
        return first, await sender.send(SENDER, ["a@example.test"], message(2))

    first, second = with_sender(smtp_settings(server.port), body)

    assert first.accepted == second.accepted == ("a@example.test",)
    assert len(server.handler.received) == 2
    assert len({r.peer for r in server.handler.received}) == 2


def test_stale_connection_is_retried_once(server: Server) -> None:
    """A pooled connection that dies on use is replaced and the message still goes out."""

    async def body(sender: SmtpSender) -> SendResult:
        await sender.send(SENDER, ["a@example.test"], message(1))
        server.handler.drop_at_mail = 1
        return await sender.send(SENDER, ["a@example.test"], message(2))

    result = with_sender(smtp_settings(server.port), body)

    assert result.accepted == ("a@example.test",)
    assert len(server.handler.received) == 2
    assert len(server.handler.mail_peers) == 3  # ok, dropped, retried


def test_stale_retry_happens_only_once(server: Server) -> None:
    """If the fresh connection dies too, the send is temporary after exactly one retry."""

    async def body(sender: SmtpSender) -> SendResult:
        await sender.send(SENDER, ["a@example.test"], message(1))
        server.handler.drop_at_mail = 99
        return await sender.send(SENDER, ["a@example.test"], message(2))

    result = with_sender(smtp_settings(server.port), body)

    assert list(result.temporary) == ["a@example.test"]
    assert len(server.handler.mail_peers) == 3  # ok, dropped, dropped on the retry


def test_a_timeout_after_data_is_not_retried_at_once(server: Server) -> None:
    """A pooled connection that answered MAIL was alive: a DATA whose final reply comes
    too late is a temporary failure, not a stale connection to retry on a fresh one
    (which would hand a slow content filter the same message twice)."""

    async def body(sender: SmtpSender) -> SendResult:
        await sender.send(SENDER, ["a@example.test"], message(1))
        server.handler.data_delay = 1.5
        return await sender.send(SENDER, ["a@example.test"], message(2))

    result = with_sender(smtp_settings(server.port, timeout=0.5), body)

    assert list(result.temporary) == ["a@example.test"]
    assert "during DATA" in result.temporary["a@example.test"]
    assert len(server.handler.mail_peers) == 2  # the first message and this one, no retry


def test_fresh_connection_failure_is_not_retried(server: Server) -> None:
    """A drop on a brand-new connection is a real failure, not a stale pool entry."""
    server.handler.drop_at_mail = 99

    result = send_one(smtp_settings(server.port), ["a@example.test"], message())

    assert list(result.temporary) == ["a@example.test"]
    assert len(server.handler.mail_peers) == 1


def test_invalid_address_fails_only_that_recipient(server: Server) -> None:
    """An address that cannot go on the wire is permanent; the rest are still sent."""
    bad = "evil@example.test\r\nRCPT TO:<x@example.test>"

    result = send_one(smtp_settings(server.port), ["a@example.test", bad], message())

    assert result.accepted == ("a@example.test",)
    assert list(result.permanent) == [bad]
    assert server.handler.received[0].rcpt_tos == ["a@example.test"]


def test_invalid_sender_fails_everyone(server: Server) -> None:
    """A sender address that cannot go on the wire fails every recipient without connecting."""
    result = with_sender(
        smtp_settings(server.port),
        lambda sender: sender.send("x@example.test\r\nDATA", ["a@example.test"], message()),
    )

    assert list(result.permanent) == ["a@example.test"]
    assert server.handler.mail_peers == []


def test_every_verp_return_path_goes_out_as_given(server: Server) -> None:
    """List copies, each with its own return path and recipient, keep both exactly."""
    envelopes = [
        (f"verkosto+bounce-m{n}-{n * 7919:08x}@example.test", f"jasen{n}@kunta{n}.example.test")
        for n in range(20)
    ]

    async def send_all(sender: SmtpSender) -> list[SendResult]:
        return [
            await sender.send(env, [rcpt], message(n)) for n, (env, rcpt) in enumerate(envelopes)
        ]

    results = with_sender(smtp_settings(server.port), send_all)

    assert all(r.accepted for r in results)
    assert [(r.mail_from, r.rcpt_tos) for r in server.handler.received] == [
        (env, [rcpt]) for env, rcpt in envelopes
    ]


@pytest.mark.parametrize(
    "address",
    [
        "verkosto+bounce-m12-3f2a@example.test",
        "o'brien.x_y=z/w@sub-domain.example.test",
        "a@b",
        "Jasen <jasen@example.test>",
        "jasen@example.test\r\nRCPT TO:<x@example.test>",
        '"quoted local"@example.test',
        "a..b@example.test",
        "a@-example.test",
        "a@example.test.",
        "jäsen@esimerkki.test",
        "<jasen@example.test>",
        "",
    ],
)
def test_plain_address_pattern_agrees_with_aiosmtplib(address: str) -> None:
    """The quick check for plain addresses says "as given" only where aiosmtplib's parse would."""
    if _PLAIN_ADDRESS.fullmatch(address):
        assert parse_address(address) == address
    assert _sendable(address) == _parses_unchanged(address)


def test_plain_address_pattern_never_disagrees_on_random_addresses() -> None:
    """Thousands of address-like strings: a quick "yes" is always aiosmtplib's "as given"."""
    rng = random.Random(20261127)
    local, host = "aZ09!#$%&'*+/=?^_`{|}~-..\"<> ", "aZ09-..[]"
    quick = 0
    for _ in range(40000):
        address = "".join(rng.choice(local) for _ in range(rng.randint(0, 12)))
        address += "@" + "".join(rng.choice(host) for _ in range(rng.randint(0, 10)))
        if _PLAIN_ADDRESS.fullmatch(address):
            quick += 1
            assert _parses_unchanged(address), address
    assert quick > 500


def test_cancelled_send_does_not_poison_the_pool(server: Server) -> None:
    """A send cancelled mid-DATA leaves no half-used connection for the next caller."""
    server.handler.data_delay = 0.5

    async def body(sender: SmtpSender) -> SendResult:
        task = asyncio.create_task(sender.send(SENDER, ["a@example.test"], message(1)))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        server.handler.data_delay = 0.0
        return await sender.send(SENDER, ["a@example.test"], message(2))

    result = with_sender(smtp_settings(server.port, connections=1), body)

    assert result.accepted == ("a@example.test",)
    assert len(set(server.handler.mail_peers)) == 2


def test_password_auth(start_server: Callable[..., Server]) -> None:
    """Password login succeeds with the right credentials and is temporary with wrong ones."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"pw")
        return AuthResult(success=ok, handled=False, auth_data=data)

    server = start_server(authenticator=authenticator, auth_require_tls=False)
    good = smtp_settings(server.port, auth="password", username="bot", password="pw")
    bad = smtp_settings(server.port, auth="password", username="bot", password="wrong")

    assert send_one(good, ["a@example.test"], message()).accepted == ("a@example.test",)
    assert server.handler.received[0].login == b"bot"
    refused = send_one(bad, ["a@example.test"], message())
    assert list(refused.temporary) == ["a@example.test"]
    assert "authentication failed" in refused.temporary["a@example.test"]
    assert "wrong" not in refused.temporary["a@example.test"]
    assert len(server.handler.received) == 1


def token_command(tmp_path: Path, tokens: list[str]) -> str:
    """A real oauth2_command that prints the given tokens one per run, then the last."""
    script = tmp_path / "token.py"
    state = tmp_path / "runs"
    script.write_text(
        "import pathlib, sys\n"
        f"state = pathlib.Path({str(state)!r})\n"
        "runs = int(state.read_text()) if state.exists() else 0\n"
        "state.write_text(str(runs + 1))\n"
        f"tokens = {tokens!r}\n"
        "print(tokens[min(runs, len(tokens) - 1)])\n"
    )
    return f"{sys.executable} {script}"


def test_xoauth2_refreshes_a_refused_token(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    """An expired cached token is invalidated and a fresh one is fetched and used."""
    server = start_server(auth_require_tls=False)
    settings = smtp_settings(server.port, auth="xoauth2", username="network@example.test")
    tokens = TokenProvider(
        OAuth2Settings(command=token_command(tmp_path, ["stale", "fresh-token"]))
    )

    result = with_sender(
        settings, lambda sender: sender.send(SENDER, ["a@example.test"], message()), tokens
    )

    assert result.accepted == ("a@example.test",)
    assert server.handler.tokens_seen == ["stale", "fresh-token"]


def test_xoauth2_gives_up_after_one_refresh(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    """A token the server never accepts makes the send temporary after two tries."""
    server = start_server(auth_require_tls=False)
    settings = smtp_settings(server.port, auth="xoauth2", username="network@example.test")
    tokens = TokenProvider(OAuth2Settings(command=token_command(tmp_path, ["bad"])))

    result = with_sender(
        settings, lambda sender: sender.send(SENDER, ["a@example.test"], message()), tokens
    )

    assert "authentication failed" in result.temporary["a@example.test"]
    assert server.handler.tokens_seen == ["bad", "bad"]


def test_failing_token_command_is_temporary(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    """A token helper that fails (identity provider down) delays mail instead of crashing."""
    server = start_server(auth_require_tls=False)
    settings = smtp_settings(server.port, auth="xoauth2", username="network@example.test")
    tokens = TokenProvider(OAuth2Settings(command=f"{sys.executable} -c 'raise SystemExit(3)'"))

    result = with_sender(
        settings, lambda sender: sender.send(SENDER, ["a@example.test"], message()), tokens
    )

    assert "no OAuth2 token" in result.temporary["a@example.test"]
    assert server.handler.tokens_seen == []


def test_security_none_ignores_offered_starttls(
    start_server: Callable[..., Server], certificate: Path
) -> None:
    """With security none the session stays plain even when the server offers STARTTLS."""
    server = start_server(tls_context=server_tls(certificate), require_starttls=False)

    result = send_one(smtp_settings(server.port), ["a@example.test"], message())

    assert result.accepted == ("a@example.test",)
    assert server.handler.received[0].tls is False


def test_starttls_with_ca_file(start_server: Callable[..., Server], certificate: Path) -> None:
    """STARTTLS verifies the server against the configured CA file."""
    server = start_server(tls_context=server_tls(certificate), require_starttls=True)
    settings = smtp_settings(server.port, security="starttls", ca_file=str(certificate))

    result = send_one(settings, ["a@example.test"], message())

    assert result.accepted == ("a@example.test",)
    assert server.handler.received[0].tls is True


def test_implicit_tls_with_ca_file(start_server: Callable[..., Server], certificate: Path) -> None:
    """security = ssl speaks TLS from the first byte."""
    server = start_server(ssl_context=server_tls(certificate))
    settings = smtp_settings(server.port, security="ssl", ca_file=str(certificate))

    result = send_one(settings, ["a@example.test"], message())

    assert result.accepted == ("a@example.test",)


def test_untrusted_certificate_is_temporary(
    start_server: Callable[..., Server], certificate: Path
) -> None:
    """A certificate that does not verify is a (configuration) failure to retry, not a crash."""
    server = start_server(tls_context=server_tls(certificate), require_starttls=True)

    result = send_one(
        smtp_settings(server.port, security="starttls"), ["a@example.test"], message()
    )

    assert "cannot connect" in result.temporary["a@example.test"]
    assert server.handler.received == []


def message_id(data: bytes) -> str:
    """The Message-ID header of a rendered test message."""
    return data.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()


@pytest.mark.servers
def test_postfix_delivers_to_dovecot(clean_mail: Any) -> None:
    """A message sent through the real Postfix arrives intact in the Dovecot mailbox."""
    user = clean_mail.address("network")
    data = message(body="Hyvää päivää\r\n.piste\r\n".encode())
    settings = smtp_settings(clean_mail.smtp_port)

    result = send_one(settings, [user, clean_mail.address("member1")], data)

    assert result.accepted == (user, clean_mail.address("member1"))
    [got] = clean_mail.wait_for(user, 1)
    assert got["Message-ID"] == message_id(data)
    assert got.get_content().splitlines() == ["Hyvää päivää", ".piste"]
    assert len(clean_mail.wait_for("member1", 1)) == 1


@pytest.mark.servers
def test_postfix_xoauth2_submission(clean_mail: Any) -> None:
    """XOAUTH2 SMTP AUTH against Postfix (SASL via Dovecot) with a minted token."""
    user = clean_mail.address("network")
    tokens = TokenProvider(OAuth2Settings(token=clean_mail.mint_token(user)))
    settings = smtp_settings(clean_mail.smtp_auth_port, auth="xoauth2", username=user)
    data = message()

    result = with_sender(settings, lambda sender: sender.send(user, [user], data), tokens)

    assert result.accepted == (user,)
    [got] = clean_mail.wait_for(user, 1)
    assert got["Message-ID"] == message_id(data)


@pytest.mark.servers
def test_postfix_refuses_expired_token(clean_mail: Any) -> None:
    """An expired token is refused by Dovecot's SASL: temporary, and nothing is delivered."""
    user = clean_mail.address("network")
    tokens = TokenProvider(OAuth2Settings(token=clean_mail.mint_token(user, ttl=-60)))
    settings = smtp_settings(clean_mail.smtp_auth_port, auth="xoauth2", username=user)

    result = with_sender(settings, lambda sender: sender.send(user, [user], message()), tokens)

    assert "authentication failed" in result.temporary[user]
    assert clean_mail.messages(user) == []


@pytest.mark.servers
def test_postfix_password_submission(clean_mail: Any) -> None:
    """Password SMTP AUTH on the submission port, as most providers still offer."""
    user = clean_mail.address("network")
    settings = smtp_settings(
        clean_mail.smtp_auth_port, auth="password", username=user, password=clean_mail.password
    )

    result = send_one(settings, [clean_mail.address("member2")], message())

    assert result.accepted == (clean_mail.address("member2"),)
    assert len(clean_mail.wait_for("member2", 1)) == 1
