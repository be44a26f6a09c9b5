"""Authentication-Results are trusted only from the configured server."""

from __future__ import annotations

import pytest

from mailer.auth_results import sender_authenticated, strict_dmarc
from mailer.inbound.message import parse_message

MX = "mx.example.test"


def _msg(*results: str, sender: str = "a@kunta.example") -> bytes:
    head = "".join(f"Authentication-Results: {r}\n" for r in results)
    return f"From: {sender}\n{head}Subject: x\n\nx\n".encode()


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ((f"{MX}; dmarc=pass (p=reject dis=none) header.from=kunta.example",), True),
        ((f"{MX}; dmarc=pass (p=quarantine) header.from=kunta.example",), True),
        ((f"{MX}; dmarc=pass (p=none) header.from=kunta.example",), False),
        (("other.example; dmarc=pass (p=reject) header.from=kunta.example",), False),
        (
            (f"{MX}; dmarc=pass policy.published-domain-policy=reject header.from=kunta.example",),
            True,
        ),
        ((), False),
    ],
)
def test_strict_dmarc_from_trusted_results(results: tuple[str, ...], expected: bool) -> None:
    """p=reject/quarantine counts only in a header from the trusted authserv-id."""
    assert strict_dmarc(parse_message(_msg(*results)), MX, ()) is expected


def test_strict_dmarc_from_configured_domains() -> None:
    """A domain on the configured list is strict without any header."""
    assert strict_dmarc(parse_message(_msg(sender="x@gmail.example")), None, ("gmail.example",))


def test_forged_header_does_not_authenticate() -> None:
    """A pass from another authserv-id does not make the sender authenticated."""
    msg = parse_message(_msg("evil.example; dkim=pass header.d=kunta.example"))
    assert not sender_authenticated(msg, MX)
    good = parse_message(_msg(f"{MX}; dkim=pass header.d=kunta.example"))
    assert sender_authenticated(good, MX)
