"""A local SMTP server that delivers into one Maildir per address.

This is the mail server of the embedded mode (``mailer demo``, trying the service
without a real mailbox): plus-addresses land in the base address's Maildir with
``Delivered-To`` set to the full address, as Postfix + Dovecot do.
"""

from __future__ import annotations

import mailbox
import re
import socket
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_DETAIL = re.compile(r"\+[^@]*@")


def maildir_for(root: Path, address: str) -> Path:
    return root / _DETAIL.sub("@", address.lower())


class MaildirDelivery:
    """aiosmtpd handler: every accepted recipient gets its own copy."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        for rcpt in envelope.rcpt_tos:
            box = mailbox.Maildir(maildir_for(self.root, rcpt), create=True)
            box.add(f"Delivered-To: {rcpt.lower()}\r\n".encode() + data)
        return "250 OK delivered"


def start_sink(root: Path, port: int = 0) -> Controller:
    """Start the sink on 127.0.0.1 (``port=0``: a free port); ``.port`` tells which."""
    root.mkdir(parents=True, exist_ok=True)
    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    controller = Controller(MaildirDelivery(root), hostname="127.0.0.1", port=port)
    controller.start()
    return controller
