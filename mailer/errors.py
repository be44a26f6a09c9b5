"""The exception tree.

    MailerError
    ├── ConfigError            bad or missing configuration key (exit 2)
    ├── RulesError             a rules/*.toml file does not load
    ├── MailboxError           the mailbox cannot be reached or used
    │   └── MailboxGone        connection dropped: reconnect with backoff
    ├── UnparseableMessage     raw bytes that are not a message we can read
    └── DeliveryError          one SMTP attempt failed
        ├── TemporaryDelivery  4xx, connection refused, timeout: retry later
        └── PermanentDelivery  5xx: record and show the coordinator

``StopDaemon`` derives from ``BaseException`` so that a broad ``except Exception``
around one message's handling can never swallow a shutdown request.
"""

from __future__ import annotations


class MailerError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(MailerError):
    """A configuration key is missing or wrong; the message names the key."""


class RulesError(MailerError):
    """A rules file is malformed; the message names the file and the link."""


class MailboxError(MailerError):
    """The mailbox refused an operation."""


class MailboxGone(MailboxError):
    """The connection is gone (BYE, reset, timeout): reconnect with backoff."""


class UnparseableMessage(MailerError):
    """The raw bytes cannot be read as a message at all."""


class DeliveryError(MailerError):
    """One delivery attempt failed."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryDelivery(DeliveryError):
    """Worth trying again later (4xx, network trouble)."""


class PermanentDelivery(DeliveryError):
    """The server said no for good (5xx)."""


class StopDaemon(BaseException):
    """Raised inside the daemon to unwind cleanly between messages."""
