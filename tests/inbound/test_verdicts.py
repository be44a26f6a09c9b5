"""Auto-reply, bulk and loop detection: robots are recognised, people are not."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from mailer.inbound.message import parse_message
from mailer.inbound.verdicts import auto_reply_reason, is_bounce

from .samples import sample_bytes, sample_names

# Sample file → the start of the reason it must give.
AUTO_SAMPLES = {
    "outlook_oof_fi_exchange_online": "Auto-Submitted: auto-generated",
    "outlook_oof_sv_exchange2013_suppress_only": "X-Auto-Response-Suppress: All",
    "outlook_oof_en_subject_only": "out-of-office subject",
    "gmail_vacation_responder_fi": "Auto-Submitted: auto-replied",
    "ticket_system_auto_submitted": "Auto-Submitted: auto-replied",
    "newsletter_precedence_bulk": "Precedence: bulk",
    "other_list_ely_list_id": "List-Id: ELY-alueen liikenneryhma <ely-liikenne.lists.example.fi>",
    "x_autoreply_hosting_panel": "X-Autoreply",
    "poissa_toimistolta_subject_only_latin1": "out-of-office subject",
    "outlook_read_receipt_mdn_fi": "multipart/report: disposition-notification",
}


def _headers_only(headers: str, body: str = "Hei.\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


def _email(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def test_every_auto_sample_has_an_expectation() -> None:
    """The table below covers every file in tests/samples/auto."""
    assert sorted(AUTO_SAMPLES) == sample_names("auto")


@pytest.mark.parametrize("name", sorted(AUTO_SAMPLES))
def test_auto_samples_give_their_reason(name: str) -> None:
    """Each auto-reply, bulk or list sample is recognised, with the expected reason."""
    msg = parse_message(sample_bytes("auto", name))
    assert msg.auto_reply is not None
    assert msg.auto_reply.startswith(AUTO_SAMPLES[name])


@pytest.mark.parametrize("name", sorted(AUTO_SAMPLES))
def test_auto_samples_are_not_bounces(name: str) -> None:
    """Out-of-office replies, lists and receipts are never counted as bounces."""
    assert parse_message(sample_bytes("auto", name)).bounce is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: auto-notified; owner=x", "Auto-Submitted: auto-notified"),
        ("X-Auto-Response-Suppress: OOF, AutoReply", "X-Auto-Response-Suppress: OOF, AutoReply"),
        ("X-Auto-Response-Suppress: DR", "X-Auto-Response-Suppress: DR"),
        ("Precedence: junk", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("Precedence: auto_reply", "Precedence: auto_reply"),
        ("X-Autorespond: yes", "X-Autorespond"),
        ("List-Id: <muu.lista.example.org>", "List-Id: <muu.lista.example.org>"),
        ("List-Unsubscribe: <mailto:u@example.org>", "List-Unsubscribe"),
        ("X-Loop: tiketit@kunta.example", "X-Loop: tiketit@kunta.example"),
        ("X-MS-Exchange-Inbox-Rules-Loop: m@example.fi", "X-MS-Exchange-Inbox-Rules-Loop"),
        ("X-Failed-Recipients: x@example.fi", "X-Failed-Recipients"),
    ],
)
def test_headers_mark_automatic_mail(header: str, reason: str) -> None:
    """Each robot header in the spec gives a reason naming it."""
    raw = _headers_only(f"From: m@example.fi\nSubject: Asia\n{header}")
    found = auto_reply_reason(_email(raw), "Hei.", "Asia")
    assert found is not None and found.startswith(reason)


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Kokous",
        "Automaattinen vastaus: Kokous",
        "Automatiskt svar: Möte",
        "Autosvar: Möte",
        "Out of Office: Meeting",
        "Out of Office",
        "RE: Kokous (Out of office)",
        "Auto-reply: Möte",
        "Poissa toimistolta",
        "Frånvaro: Möte",
    ],
)
def test_out_of_office_subjects_mark_automatic_mail(subject: str) -> None:
    """Outlook's and others' out-of-office subjects in fi/sv/en are recognised."""
    raw = _headers_only(f"From: m@example.fi\nSubject: {subject}")
    assert auto_reply_reason(_email(raw), "Olen lomalla.", subject) == "out-of-office subject"


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: no",
        "X-Auto-Response-Suppress: RN, NRN",
        "Precedence: normal",
        "Subject: Frånvaro från webbinariet",
        "Subject: Out of office next week: who covers the webinar?",
        "Subject: Kysymys: automaattinen vastaus ei toimi",
        "Subject: Kutsuliikenne ja automaattiset vastaukset",
    ],
)
def test_ordinary_mail_is_not_automatic(headers: str) -> None:
    """A person's mail (even asking only not to get read receipts) is not automatic."""
    raw = _headers_only(f"From: m@example.fi\n{headers}")
    msg = parse_message(raw)
    assert msg.auto_reply is None


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("MAILER-DAEMON@mx.example.fi", "sent by mailer-daemon"),
        ("no-reply@palvelu.example.fi", "sent from a no-reply address"),
        ("Kuntapalvelu <noreply@kunta.example>", "sent from a no-reply address"),
    ],
)
def test_daemon_and_no_reply_senders_are_automatic(sender: str, reason: str) -> None:
    """Mail from a mail server or a no-reply address is never answered."""
    raw = _headers_only(f"From: {sender}\nSubject: Ilmoitus")
    assert parse_message(raw).auto_reply == reason


def test_automatic_text_opening_marks_automatic_mail() -> None:
    """A mail whose text opens by saying it is automatic is treated as automatic."""
    raw = _headers_only(
        "From: info@kunta.example\nSubject: Kiitos", "Tämä on automaattinen viesti.\n"
    )
    assert parse_message(raw).auto_reply == "text says it is an automatic reply"


def test_helpers_accept_a_policy_default_message() -> None:
    """auto_reply_reason and is_bounce work on an EmailMessage parsed by any policy."""
    raw = sample_bytes("auto", "outlook_oof_fi_exchange_online")
    msg = _email(raw)
    assert (
        auto_reply_reason(msg, "", "Automaattinen vastaus: x") == "Auto-Submitted: auto-generated"
    )
    assert is_bounce(msg, "") is False


def test_finnish_out_of_office_at_the_bounce_address_is_not_a_bounce() -> None:
    """An Exchange OOF sent to the VERP address with an empty Return-Path is not a bounce."""
    msg = parse_message(sample_bytes("auto", "outlook_oof_fi_exchange_online"))
    assert msg.delivered_to == ("verkosto+bounce-m7q2k9@example.test",)
    assert msg.return_path == ""
    assert msg.bounce is None
    assert msg.auto_reply is not None


def test_read_receipt_from_null_sender_is_not_a_bounce() -> None:
    """A read receipt (MDN) is a report but not a delivery failure."""
    raw = sample_bytes("auto", "outlook_read_receipt_mdn_fi")
    assert is_bounce(_email(raw), "") is False
