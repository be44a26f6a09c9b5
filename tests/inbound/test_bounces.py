"""Bounces: which addresses failed, for good or for now, and the VERP token."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from mailer.inbound import bounces
from mailer.inbound.bounces import BounceInfo, parse_bounce, verp_token
from mailer.inbound.message import parse_message

from .samples import sample_bytes, sample_names

# Sample file → (failed recipients, permanent, VERP token, words in the reason).
BOUNCE_SAMPLES = {
    "postfix_rfc3464_user_unknown_verp": (
        ("old.address@kunta.example",),
        True,
        "abc123",
        "5.1.1 <old.address@kunta.example>",
    ),
    "postfix_delayed_4xx": (("pekka.korhonen@akaa.example",), False, "def456", "4.4.1"),
    "microsoft365_ndr_fi_toimittamaton": (
        ("matti.vanha@uusikaupunki.example",),
        True,
        "m365x9",
        "RESOLVER.ADR.RecipientNotFound",
    ),
    "gmail_dsn_failure_5_1_1": (("vanha.jasen@gmail.example",), True, "gm5511", "does not exist"),
    "exim_mail_delivery_failed_text": (
        ("kirjaamo@pienikunta.example",),
        True,
        "ex1m42",
        "550 5.2.2 Mailbox full",
    ),
    "exim_delay_warning_text": (("tekninen@pienikunta.example",), False, "ex1m43", "451 4.3.0"),
    "qmail_failure_notice_text": (("jasen@vanhapalvelin.example",), True, "qm7001", "#5.1.1"),
    "exchange_ndr_sv_olevererbart_relay_denied": (
        ("bengt.holm@jakobstad.example",),
        True,
        "sv5471",
        "5.4.1",
    ),
}


def _eml(headers: str, body: str) -> bytes:
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


def _email(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def test_every_bounce_sample_has_an_expectation() -> None:
    """The table covers every file in tests/samples/bounces."""
    assert sorted(BOUNCE_SAMPLES) == sample_names("bounces")


@pytest.mark.parametrize("name", sorted(BOUNCE_SAMPLES))
def test_bounce_samples_are_read(name: str) -> None:
    """Each bounce gives its failed recipients, permanence, VERP token and reason."""
    recipients, permanent, token, reason = BOUNCE_SAMPLES[name]
    info = parse_message(sample_bytes("bounces", name)).bounce
    assert info is not None
    assert (info.recipients, info.permanent, info.verp_token) == (recipients, permanent, token)
    assert reason in info.reason
    assert len(info.reason) <= 300


@pytest.mark.parametrize("name", sorted(BOUNCE_SAMPLES))
def test_bounces_are_automatic_mail(name: str) -> None:
    """Every bounce also carries an auto-reply reason, so nothing ever answers it."""
    assert parse_message(sample_bytes("bounces", name)).auto_reply is not None


def test_parse_bounce_accepts_a_policy_default_message() -> None:
    """parse_bounce reads an EmailMessage parsed with policy.default just the same."""
    raw = sample_bytes("bounces", "microsoft365_ndr_fi_toimittamaton")
    info = parse_bounce(_email(raw), ["verkosto+bounce-m365x9@example.test"])
    assert info is not None
    assert (info.recipients, info.permanent, info.verp_token) == (
        ("matti.vanha@uusikaupunki.example",),
        True,
        "m365x9",
    )


@pytest.mark.parametrize(
    ("addresses", "token"),
    [
        (["verkosto+bounce-abc123@example.test"], "abc123"),
        (["<verkosto+bounce-ABC.x_y=z-1@example.test>"], "abc.x_y=z-1"),
        (["verkosto@example.test", "verkosto+bounce-k9@example.test"], "k9"),
        (["verkosto+lista@example.test"], None),
        (["verkosto+bounce-@example.test"], None),
        ([], None),
    ],
)
def test_verp_token_is_read_from_the_address(addresses: list[str], token: str | None) -> None:
    """The token after "+bounce-" is found in the first address that has one."""
    assert verp_token(addresses) == token


def test_verp_token_is_found_in_to_when_delivered_to_is_missing() -> None:
    """A bounce without Delivered-To still gets its token from To."""
    raw = sample_bytes("bounces", "postfix_rfc3464_user_unknown_verp").replace(
        b"Delivered-To: verkosto+bounce-abc123@example.test\r\n", b""
    )
    info = parse_message(raw).bounce
    assert info is not None and info.verp_token == "abc123"


def test_only_failed_recipients_of_a_mixed_dsn_are_listed() -> None:
    """Delivered and relayed recipients of a DSN are not failures."""
    raw = _eml(
        """From: MAILER-DAEMON@mail.example.test
To: verkosto+bounce-mix1@example.test
Return-Path: <>
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="r"
""",
        """--r
Content-Type: text/plain

Some recipients failed.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.test

Final-Recipient: rfc822; ok@example.fi
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822; <Gone@Example.fi>
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; later@example.fi
Action: delayed
Status: 4.2.2
--r--
""",
    )
    info = parse_message(raw).bounce
    assert info == BounceInfo(("gone@example.fi",), True, "5.1.1", "mix1")


def test_delivery_status_without_status_codes_uses_action() -> None:
    """A DSN block with Action: failed and no Status counts as permanent."""
    raw = _eml(
        """From: postmaster@example.fi
Return-Path: <>
Subject: Delivery failure
Content-Type: multipart/report; report-type=delivery-status; boundary="r"
""",
        "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
        "Final-Recipient: rfc822;x@example.fi\nAction: failed\n--r--\n",
    )
    info = parse_message(raw).bounce
    assert info is not None and (info.recipients, info.permanent) == (("x@example.fi",), True)


def test_unreadable_bounce_still_counts_with_its_token() -> None:
    """A server's failure notice naming nobody is a bounce with no recipients."""
    raw = _eml(
        """Return-Path: <>
Delivered-To: verkosto+bounce-t0k3n@example.test
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.fi>
Subject: Returned mail: see transcript for details
""",
        "The original message was received but could not be delivered.\n",
    )
    info = parse_message(raw).bounce
    assert info == BounceInfo((), True, "Returned mail: see transcript for details", "t0k3n")


def test_delay_wording_makes_an_unreadable_bounce_temporary() -> None:
    """A notice that says it will retry is temporary even without status codes."""
    raw = _eml(
        "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.fi\nSubject: Delivery delayed\n",
        "Your message has not yet been delivered. The server will retry.\n",
    )
    info = parse_message(raw).bounce
    assert info is not None and info.permanent is False


def test_person_writing_to_the_bounce_address_is_not_a_bounce() -> None:
    """A human reply that lands on the VERP address is not a bounce."""
    raw = _eml(
        """Return-Path: <m@example.fi>
Delivered-To: verkosto+bounce-abc123@example.test
From: Matti <m@example.fi>
Subject: Re: [Verkosto] Optiovuodet
""",
        "Hyvä pointti!\n",
    )
    assert parse_message(raw).bounce is None


def test_forwarded_bounce_from_a_person_is_not_a_bounce() -> None:
    """A member forwarding an NDR to ask about it is asking a question."""
    raw = _eml(
        "Return-Path: <m@example.fi>\nFrom: Matti <m@example.fi>\n"
        "Subject: VL: Toimittamaton: [Verkosto] Optiovuodet\n",
        "Mikä tämä on?\n",
    )
    msg = parse_message(raw)
    assert (msg.bounce, msg.auto_reply) == (None, None)


def test_crash_in_flufl_bounce_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    """If flufl.bounce's heuristics raise, the bounce is still read from its text."""

    def explode(msg: object) -> tuple[frozenset[bytes], frozenset[bytes]]:
        raise IndexError("detector bug")

    boom: Callable[[object], tuple[frozenset[bytes], frozenset[bytes]]] = explode
    monkeypatch.setattr(bounces, "all_failures", boom)
    info = parse_message(sample_bytes("bounces", "exim_mail_delivery_failed_text")).bounce
    assert info is not None
    assert (info.recipients, info.permanent) == (("kirjaamo@pienikunta.example",), True)
