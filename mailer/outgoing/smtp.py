"""Outgoing mail over SMTP: a small pool of aiosmtplib connections.

aiosmtplib serialises everything on one connection and has no pipelining, so
throughput comes from several connections used side by side; reusing them saves
the handshake that otherwise halves the rate. This is the only module that
imports aiosmtplib, so its exceptions never leak: every delivery outcome is
reported per recipient as accepted, temporary (retry later) or permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import parse_address
from aiosmtplib.protocol import SMTPProtocol
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import SMTPStatus

from mailer.config import SmtpSettings
from mailer.errors import ConfigError
from mailer.tokens import TokenProvider

log = logging.getLogger("mailer.smtp")

# The server is about to close the connection (RFC 5321 4.2.2): the reply may
# come to any command, and on a connection reused after a long idle it usually
# means the server had already given up on us.
SERVICE_CLOSING = 421

# QUIT and the TLS goodbye on shutdown are a courtesy; a dead server must not
# hold up the daemon's exit.
CLOSE_TIMEOUT = 5.0

# Failures that mean "the connection is unusable", as opposed to a server reply.
_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError)


class _LostInTransaction(Exception):
    """The connection failed after the server had answered MAIL: it was alive, so a
    retry is no cure for a stale pool entry and might deliver a second copy (a slow
    content filter whose final 250 came after our timeout)."""


@dataclass(frozen=True)
class SendResult:
    """What became of each recipient of one message."""

    accepted: tuple[str, ...]
    temporary: dict[str, str]  # recipient -> reason (4xx, connection trouble): retry later
    permanent: dict[str, str]  # recipient -> reason (5xx): do not retry


def _reply(code: int, message: str) -> str:
    return f"{code} {message}".strip()


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


# A plain ASCII address (dot-atom local part, host name) is what nearly every
# copy carries, and aiosmtplib sends it exactly as given. List mail has a
# distinct VERP return path and recipient on every copy, so a cache of checked
# addresses never hits there, and the full parse was a tenth of a copy's cost.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*")


def _sendable(address: str) -> bool:
    """Whether the address can go on the wire exactly as given.

    aiosmtplib raises on some bad addresses and quietly sends others as the
    address it can pick out of them (the text before a line break, the part in
    angle brackets). Checked up front so that a bad address in the outbox is a
    permanent failure for that recipient alone, never mail to someone else.
    """
    return _PLAIN_ADDRESS.fullmatch(address) is not None or _parses_unchanged(address)


@functools.lru_cache(maxsize=4096)  # the envelope sender repeats on most messages
def _parses_unchanged(address: str) -> bool:
    try:
        return parse_address(address) == address
    except ValueError:
        return False


class _Outcome:
    """Collects per-recipient results while one message is being sent."""

    def __init__(self) -> None:
        self.temporary: dict[str, str] = {}
        self.permanent: dict[str, str] = {}

    def refuse(self, recipient: str, code: int, reason: str) -> None:
        if _is_permanent(code):
            self.permanent[recipient] = reason
        else:
            self.temporary[recipient] = reason

    def result(self, recipients: Sequence[str]) -> SendResult:
        refused = self.temporary.keys() | self.permanent.keys()
        return SendResult(
            accepted=tuple(r for r in recipients if r not in refused),
            temporary=self.temporary,
            permanent=self.permanent,
        )


class SmtpSender:
    """Sends pre-rendered messages through up to ``settings.connections`` connections.

    Each ``send()`` borrows one connection for the whole transaction, so as many
    messages go out at once as there are connections; further callers wait for a
    free one. Connections are opened on first use and reopened when the server
    has dropped them, so callers never manage connection state.
    """

    def __init__(self, settings: SmtpSettings, tokens: TokenProvider | None = None) -> None:
        if settings.auth == "xoauth2" and tokens is None:
            raise ValueError("auth = xoauth2 needs a TokenProvider")
        if settings.security not in ("none", "starttls", "ssl"):
            raise ValueError(f"unknown SMTP security mode {settings.security!r}")
        self._settings = settings
        self._tokens = tokens
        tls_context = (
            ssl.create_default_context(cafile=settings.ca_file)
            if settings.security != "none"
            else None
        )
        self._clients = tuple(self._client(tls_context) for _ in range(settings.connections))
        # LIFO so that a light load keeps reusing the one warm connection instead
        # of rotating through (and reopening) every connection in the pool.
        self._idle: asyncio.LifoQueue[tuple[int, aiosmtplib.SMTP]] = asyncio.LifoQueue()
        for number, client in enumerate(self._clients):
            self._idle.put_nowait((number, client))
        # Connections dropped on errors whose TLS shutdown may still be under way.
        self._closing: list[SMTPProtocol] = []

    def _client(self, tls_context: ssl.SSLContext | None) -> aiosmtplib.SMTP:
        s = self._settings
        username: str | None = None
        password: str | None = None
        token_generator: aiosmtplib.SMTPTokenGenerator | None = None
        if s.auth == "password":
            username, password = s.username, s.password
        elif s.auth == "xoauth2":
            username, token_generator = s.username, self._token
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=username,
            password=password,
            oauth_token_generator=token_generator,
            local_hostname=s.local_hostname,
            timeout=s.timeout,
            use_tls=s.security == "ssl",
            # aiosmtplib upgrades whenever STARTTLS is offered unless told False,
            # which would make "none" fail against a server with a broken certificate.
            start_tls=s.security == "starttls",
            tls_context=tls_context,
        )

    async def _token(self) -> str:
        """The token command may spawn a process: keep it off the event loop."""
        assert self._tokens is not None
        return await asyncio.to_thread(self._tokens.token)

    def _extra(self, connection: int, **fields: object) -> dict[str, object]:
        return {
            "smtp_host": self._settings.host,
            "smtp_port": self._settings.port,
            "smtp_connection": connection,
            **fields,
        }

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> SendResult:
        """Send ``data`` as is (CRLF line endings expected) to every recipient.

        Delivery failures never raise: they come back in the result so the outbox
        can retry the temporary ones and record the permanent ones.
        """
        if isinstance(recipients, str):
            raise TypeError("recipients must be a sequence of addresses, not one string")
        if not recipients:
            raise ValueError("a message needs at least one recipient")
        outcome = _Outcome()
        for recipient in recipients:
            if not _sendable(envelope_from):
                outcome.permanent[recipient] = f"invalid envelope sender {envelope_from!r}"
            elif not (recipient and _sendable(recipient)):
                outcome.permanent[recipient] = "invalid recipient address"
        sendable = [r for r in recipients if r not in outcome.permanent]
        number = -1  # no connection was needed
        if sendable:
            number, client = await self._idle.get()
            finished = False
            try:
                await self._transaction(number, client, envelope_from, sendable, data, outcome)
                finished = True
            finally:
                if not finished:
                    # Cancelled or crashed mid-transaction: the server's state is
                    # unknown, so the next user must start from a new connection.
                    self._drop(client)
                self._idle.put_nowait((number, client))
        result = outcome.result(recipients)
        self._log_result(number, envelope_from, result)
        return result

    async def _transaction(
        self,
        number: int,
        client: aiosmtplib.SMTP,
        envelope_from: str,
        recipients: list[str],
        data: bytes,
        outcome: _Outcome,
    ) -> None:
        """One mail transaction, tried a second time if a reused connection was stale.

        A server may drop an idle connection without the client having noticed
        yet (or a NAT may forget it silently). Only a connection that had been
        idle in the pool gets the second try, and only while the server has not
        yet answered MAIL: on a fresh connection, or once the transaction was
        under way, the failure is real and the copy is retried later by the
        outbox like any temporary failure (which may still duplicate a message
        whose final 250 was lost; losing it instead would be worse).
        """
        for attempt in (1, 2):
            reused = client.is_connected
            if not reused:
                failure = await self._connect(number, client)
                if failure is not None:
                    for recipient in recipients:
                        outcome.temporary[recipient] = failure
                    return
            try:
                refused = await self._sendmail(
                    client,
                    envelope_from,
                    recipients,
                    data,
                    self._mail_options(client, envelope_from, recipients, data),
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                for error in exc.recipients:
                    outcome.refuse(error.recipient, error.code, _reply(error.code, error.message))
                return
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code == SERVICE_CLOSING or not 400 <= exc.code < 600:
                    # Closing, or a reply we could not parse: the connection's
                    # state is no longer trustworthy.
                    self._drop(client)
                if exc.code == SERVICE_CLOSING and reused and attempt == 1:
                    self._log_stale(number, _reply(exc.code, exc.message))
                    continue
                for recipient in recipients:
                    outcome.refuse(recipient, exc.code, _reply(exc.code, exc.message))
                return
            except aiosmtplib.SMTPNotSupported as exc:
                # The message needs SMTPUTF8 and this server will never take it.
                for recipient in recipients:
                    outcome.permanent[recipient] = exc.message
                return
            except _LostInTransaction as exc:
                self._drop(client)
                for recipient in recipients:
                    outcome.temporary[recipient] = f"connection lost during DATA: {exc}"
                return
            except _CONNECTION_ERRORS as exc:
                self._drop(client)
                reason = f"connection lost: {exc}"
                if reused and attempt == 1:
                    self._log_stale(number, reason)
                    continue
                for recipient in recipients:
                    outcome.temporary[recipient] = reason
                return
            except aiosmtplib.SMTPException as exc:
                self._drop(client)
                for recipient in recipients:
                    outcome.temporary[recipient] = f"SMTP error: {exc.message}"
                return
            for recipient, response in refused.items():
                outcome.refuse(recipient, response.code, _reply(response.code, response.message))
            return

    @staticmethod
    async def _sendmail(
        client: aiosmtplib.SMTP,
        envelope_from: str,
        recipients: list[str],
        data: bytes,
        options: list[str],
    ) -> dict[str, SMTPResponse]:
        """``SMTP.sendmail`` without parsing the addresses again.

        send() has already made sure each address goes on the wire exactly as
        given; sendmail, mail() and rcpt() parse each two more times, and on
        list mail (a long, distinct return path per copy) that was a tenth of a
        copy's cost. The steps are sendmail's: SIZE where offered (the outbox
        holds CRLF text, so its length is the size), SMTPUTF8 only where
        offered, refused recipients collected one by one, SMTPRecipientsRefused
        when none is left, RSET after any refusal.
        """
        utf8 = "SMTPUTF8" in options
        if utf8 and not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        if client.supports_extension("size"):
            options = [f"SIZE={len(data)}", *options]
        encoding = "utf-8" if utf8 else "ascii"
        refused: list[aiosmtplib.SMTPRecipientRefused] = []
        try:
            reply = await client.execute_command(
                b"MAIL",
                b"FROM:<" + envelope_from.encode(encoding) + b">",
                *(option.encode("ascii") for option in options),
            )
            if reply.code != SMTPStatus.completed:
                raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, envelope_from)
            for recipient in recipients:
                reply = await client.execute_command(
                    b"RCPT", b"TO:<" + recipient.encode(encoding) + b">"
                )
                if reply.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
                    refused.append(
                        aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, recipient)
                    )
            if len(refused) == len(recipients):
                raise aiosmtplib.SMTPRecipientsRefused(refused)
            try:
                await client.data(data)
            except _CONNECTION_ERRORS as exc:
                raise _LostInTransaction(str(exc)) from exc
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await client.rset()
            raise
        return {exc.recipient: SMTPResponse(exc.code, exc.message) for exc in refused}

    @staticmethod
    def _mail_options(
        client: aiosmtplib.SMTP, envelope_from: str, recipients: list[str], data: bytes
    ) -> list[str]:
        """Declare what the message needs, so the server neither mangles nor bounces it."""
        options: list[str] = []
        if not data.isascii() and client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        if not (envelope_from.isascii() and all(r.isascii() for r in recipients)):
            options.append("SMTPUTF8")
        return options

    async def _connect(self, number: int, client: aiosmtplib.SMTP) -> str | None:
        """Open the connection; return why it failed, or None when it is ready.

        A refused XOAUTH2 token is often just expired before the provider's cache
        says so: drop it and try once more with a freshly fetched one.
        """
        for attempt in (1, 2):
            try:
                await client.connect()
                if client.is_ehlo_or_helo_needed:
                    # Done here so _mail_options can see the server's extensions.
                    await client.ehlo()
            except aiosmtplib.SMTPAuthenticationError as exc:
                self._drop(client)
                reason = f"authentication failed: {_reply(exc.code, exc.message)}"
                if self._settings.auth == "xoauth2" and self._tokens and attempt == 1:
                    log.warning(
                        "SMTP server refused the OAuth2 token; fetching a new one",
                        extra=self._extra(number, reason=reason),
                    )
                    self._tokens.invalidate()
                    continue
                log.error("SMTP login failed", extra=self._extra(number, reason=reason))
                return reason
            except (ConfigError, subprocess.SubprocessError) as exc:
                self._drop(client)
                reason = f"no OAuth2 token: {exc}"
                log.error("SMTP login impossible", extra=self._extra(number, reason=reason))
                return reason
            except (aiosmtplib.SMTPException, OSError) as exc:
                self._drop(client)
                reason = f"cannot connect: {exc}"
                log.warning("SMTP connection failed", extra=self._extra(number, reason=reason))
                return reason
            log.info(
                "SMTP connection opened",
                extra=self._extra(number, smtp_security=self._settings.security),
            )
            return None
        raise AssertionError("unreachable")

    def _log_stale(self, number: int, reason: str) -> None:
        log.info(
            "SMTP connection was stale; retrying on a new one",
            extra=self._extra(number, reason=reason),
        )

    def _log_result(self, number: int, envelope_from: str, result: SendResult) -> None:
        failed = bool(result.temporary or result.permanent)
        # A line per copy of a list post is noise at INFO: the outbox logs a
        # summary per batch, and failures stay visible here.
        level = logging.WARNING if failed else logging.DEBUG
        if not log.isEnabledFor(level):
            return  # the hot path of a bulk send: skip building the record
        extra = self._extra(
            number,
            envelope_from=envelope_from,
            accepted=len(result.accepted),
            temporary=result.temporary,
            permanent=result.permanent,
        )
        message = "message not delivered to every recipient" if failed else "message sent"
        log.log(level, message, extra=extra)

    def _drop(self, client: aiosmtplib.SMTP) -> None:
        """Close a connection whose state can no longer be trusted."""
        if client.protocol is not None:
            self._closing.append(client.protocol)
        client.close()

    async def close(self) -> None:
        """Say QUIT on idle connections, drop any still in use, and wait until all are shut.

        The wait matters with TLS: closing only starts the TLS goodbye, and a
        loop that stops before it ends leaves the socket open behind it.
        Meant for shutdown after the callers have finished; the sender stays
        usable afterwards and simply reconnects.
        """
        idle: list[tuple[int, aiosmtplib.SMTP]] = []
        while not self._idle.empty():
            idle.append(self._idle.get_nowait())
        self._closing.extend(c.protocol for c in self._clients if c.protocol is not None)
        await asyncio.gather(*(self._quit(client) for _, client in idle if client.is_connected))
        for client in self._clients:
            client.close()
        for item in idle:
            self._idle.put_nowait(item)
        deadline = asyncio.get_running_loop().time() + CLOSE_TIMEOUT
        while any(protocol.transport is not None for protocol in self._closing):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        self._closing.clear()

    @staticmethod
    async def _quit(client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit(timeout=CLOSE_TIMEOUT)
