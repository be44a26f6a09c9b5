"""Real SMTP servers for the outgoing tests: aiosmtpd in-process, recording and misbehaving."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mailer.config import SmtpSettings


def message(number: int = 0, body: bytes = b"Hei!\r\n") -> bytes:
    """A pre-rendered message with CRLF line endings, as the outbox holds them."""
    return (
        b"From: Verkosto <verkosto@example.test>\r\n"
        b"To: jasen@example.test\r\n"
        b"Subject: viesti %d\r\n"
        b"Message-ID: <%d.%s@example.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n" % (number, number, uuid.uuid4().hex.encode())
    ) + body


@dataclass
class Received:
    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]
    tls: bool
    login: bytes | None


@dataclass
class Recorder:
    """aiosmtpd handler: records every delivery and misbehaves when told to."""

    received: list[Received] = field(default_factory=list)
    mail_peers: list[Any] = field(default_factory=list)  # one entry per MAIL command
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    data_reply: str | None = None
    drop_at_mail: int = 0  # how many coming MAIL commands hang up instead of answering
    data_delay: float = 0.0  # seconds to think before answering DATA
    good_token: str = "fresh-token"
    tokens_seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.mail_peers.append(session.peer)
            drop = self.drop_at_mail > 0
            self.drop_at_mail -= drop
        if drop:
            server.transport.close()
            return "421 4.4.2 hanging up"
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.received.append(
                Received(
                    peer=session.peer,
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    content=envelope.original_content,
                    mail_options=list(envelope.mail_options),
                    tls=session.ssl is not None,
                    login=session.login_data,
                )
            )
        return "250 2.0.0 OK: queued"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """The XOAUTH2 mechanism, which aiosmtpd lacks: accept only ``good_token``."""
        fields = base64.b64decode(args[1]).decode().split("\x01")
        token = fields[1].removeprefix("auth=Bearer ")
        with self.lock:
            self.tokens_seen.append(token)
        if token == self.good_token:
            return AuthResult(success=True, auth_data=fields[0])
        return AuthResult(success=False, handled=False, message="535 5.7.8 token rejected")


@dataclass
class Server:
    handler: Recorder
    port: int


def free_port() -> int:
    """A loopback port nothing listens on (the OS just handed it out)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HangingUpController(Controller):
    """A Controller whose ``stop()`` also closes the server side of open connections.

    ``Controller.stop()`` only stops the loop: a connection the client had just
    closed (or left open) keeps its server-side socket, which surfaces later as an
    "unclosed transport" ResourceWarning in some unrelated test.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.protocols: list[Any] = []

    def factory(self) -> Any:
        protocol = super().factory()  # type: ignore[no-untyped-call]
        self.protocols.append(protocol)
        return protocol

    async def _hang_up(self) -> None:
        for protocol in self.protocols:
            if protocol.transport is not None:
                protocol.transport.close()
        for _ in range(200):
            if all(protocol.transport is None for protocol in self.protocols):
                return
            await asyncio.sleep(0.01)

    def stop(self, no_assert: bool = False) -> None:
        asyncio.run_coroutine_threadsafe(self._hang_up(), self.loop).result(timeout=5)
        super().stop(no_assert)


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Starts aiosmtpd servers with extra SMTP options; stops them after the test."""
    controllers: list[HangingUpController] = []

    def start(**options: Any) -> Server:
        handler = Recorder()
        controller = HangingUpController(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return Server(handler, controller.port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    """A plain, well-behaved server."""
    return start_server()


def smtp_settings(port: int, **overrides: Any) -> SmtpSettings:
    """Settings for a loopback server; short timeout so a failing test fails fast."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "auth": "none",
        "connections": 4,
        "timeout": 5.0,
        "local_hostname": "mailer.example.test",
    }
    values.update(overrides)
    return SmtpSettings(**values)
