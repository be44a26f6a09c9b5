"""Composed mail reads back exactly as drafted, in any language, with safe headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from mailer.config import settings_from_dict
from mailer.outgoing.compose import Draft, OutgoingAttachment, compose

NETWORK = settings_from_dict(
    {
        "network": {
            "name": "Pienet joukot, iso merkitys",
            "address": "verkosto@example.test",
            "coordinators": ["k@example.test"],
        },
        "maildir": {"path": "/tmp/unused"},
        "smtp": {"host": "localhost"},
    },
    {},
).network
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LONG = "Koulukuljetusten ja asiointiliikenteen yhteiskilpailutus " * 6


def _read(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize(
    ("subject", "name", "text"),
    [
        ("Kysymyksesi on vastaanotettu", "Liisa Laine", "Hei,\n\nkiitos.\n"),
        ("Äänesi on kirjattu: Mistä aiheesta?", "Päivi Mäkelä", "Ääkköset: åäö ÅÄÖ\n"),
        (LONG, "Anders Berg", "x" * 300 + "\n" + "y " * 200),
        ("Hej 👋 och välkommen", "Åsa Öberg", "Rad ett\r\nRad två\rRad tre\n.\n.punkt\n"),
        ("Trailing space ", "", "ends with spaces   \nand tabs\t\n"),
    ],
)
def test_plain_message_reads_back(subject: str, name: str, text: str) -> None:
    """Subject, names and body decode to what was drafted; every line ends in CRLF."""
    draft = Draft(
        to=["liisa@example.test"],
        to_name=name,
        subject=subject,
        text=text,
        kind="t",
        reply_to="verkosto+r-t1-abcdefghij@example.test",
        in_reply_to="<a@x>",
        references=["<b@x>"],
        automatic=True,
        language="fi",
    )
    message_id, raw = compose(draft, NETWORK, NOW)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 or b" " not in line.strip() for line in head.split(b"\r\n"))
    msg = _read(raw)
    assert msg["Subject"] == " ".join(subject.split())
    assert msg["Message-ID"] == message_id
    assert msg["To"].addresses[0].display_name == name
    assert msg["From"].addresses[0].display_name == "Pienet joukot, iso merkitys"
    assert msg["References"] == "<b@x> <a@x>"
    assert msg["Auto-Submitted"] == "auto-replied"
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert body.get_content().replace("\r\n", "\n") == expected


def test_header_injection_is_impossible() -> None:
    """CR/LF in a subject or name cannot start a header of its own."""
    draft = Draft(
        to=["a@example.test"],
        to_name="Evil\r\nBcc: x@example.test",
        subject="Hi\r\nBcc: victim@example.test",
        text="x",
        kind="t",
    )
    msg = _read(compose(draft, NETWORK, NOW)[1])
    assert msg["Bcc"] is None


def test_message_with_attachments_uses_mime() -> None:
    """Attachments (and a forwarded message) travel as MIME parts."""
    draft = Draft(
        to=["a@example.test"],
        subject="Liite",
        text="Tässä",
        kind="t",
        attachments=[
            OutgoingAttachment("ohje.pdf", "application/pdf", b"%PDF"),
            OutgoingAttachment(
                "post.eml", "message/rfc822", b"From: a@x\r\nSubject: s\r\n\r\nb\r\n"
            ),
        ],
    )
    msg = _read(compose(draft, NETWORK, NOW)[1])
    assert [p.get_filename() for p in msg.iter_attachments()] == ["ohje.pdf", "post.eml"]


def test_text_attachments_say_their_charset() -> None:
    """A UTF-8 text attachment (survey answers, the report) is labelled so, and reads back
    as written; a Latin-1 file passed on is left unlabelled rather than mislabelled."""
    survey = "Mistä haluaisit kuulla?\nSkärgården på landsbygden\n"
    draft = Draft(
        to=["a@example.test"],
        subject="Tulokset",
        text="Vastaukset ovat liitteenä.",
        kind="t",
        attachments=[
            OutgoingAttachment("kysely-3.txt", "text/plain", survey.encode()),
            OutgoingAttachment("raportti.html", "text/html", "<p>Äänet</p>".encode()),
            OutgoingAttachment("vanha.txt", "text/plain", "Hyvä".encode("latin-1")),
            OutgoingAttachment("ohje.pdf", "application/pdf", b"%PDF"),
        ],
    )
    parts = list(_read(compose(draft, NETWORK, NOW)[1]).iter_attachments())
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8", None, None]
    assert parts[0].get_content() == survey
