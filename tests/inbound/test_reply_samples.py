"""Real-looking replies from the clients members use: what the writer wrote is found.

Each ``tests/samples/replies/<name>.eml`` has a sibling ``<name>.expected.txt``
holding the expected ``reply_text`` (quoted history and header blocks gone,
signature kept). The test ids are the file names, so a run lists every sample
with its result.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from mailer.inbound.html_text import html_to_text
from mailer.inbound.message import parse_message
from mailer.inbound.reply_text import strip_quoted

from .samples import SAMPLES, sample_bytes, sample_names

REPLIES = sample_names("replies")


def _expected(name: str) -> str:
    return (SAMPLES / "replies" / f"{name}.expected.txt").read_text(encoding="utf-8").rstrip("\n")


def _html_alternative(raw: bytes) -> str | None:
    """The HTML alternative's text when the message has both a plain and an HTML body."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    if plain is None or html is None or html.get_content_type() != "text/html":
        return None
    content = html.get_content()
    return content if isinstance(content, str) else None


def _words(text: str) -> str:
    """Text compared word by word: layout and link targets (``<https://…>``) ignored."""
    return " ".join(re.sub(r"<https?://[^>]*>", "", text).split())


def test_there_are_enough_samples() -> None:
    """At least forty reply samples cover the clients and languages in use."""
    assert len(REPLIES) >= 40


@pytest.mark.parametrize("name", REPLIES)
def test_reply_text_matches_expected(name: str) -> None:
    """The reply text of each sample is exactly what its writer wrote."""
    assert parse_message(sample_bytes("replies", name)).reply_text == _expected(name)


@pytest.mark.parametrize("name", REPLIES)
def test_replies_are_from_people(name: str) -> None:
    """No sample reply is taken for an auto-reply or a bounce."""
    msg = parse_message(sample_bytes("replies", name))
    assert (msg.auto_reply, msg.bounce) == (None, None)


@pytest.mark.parametrize(
    "name", [n for n in REPLIES if _html_alternative(sample_bytes("replies", n)) is not None]
)
def test_html_alternative_gives_the_same_reply(name: str) -> None:
    """Read from its HTML alternative instead, a sample gives the same words."""
    html = _html_alternative(sample_bytes("replies", name))
    assert html is not None
    assert _words(strip_quoted(html_to_text(html))) == _words(_expected(name))


@pytest.mark.parametrize(
    ("name", "new_text"),
    [
        (
            "outlook_ios_fi_hanki_outlook",
            "Kyllä, tulen seminaariin. Erityisruokavalio: gluteeniton.",
        ),
        (
            "outlook_android_en_rating",
            "4/5, the part about rural transport was the best. "
            "More time for questions next time please.",
        ),
        (
            "outlook_mobile_sv_datum_variant_8bit",
            "Hej,\njag föreslår ämnet skolskjutsar för nästa webbinarium.",
        ),
        ("iphone_fi_lahetetty_iphonesta_ballot", "2 ja 4"),
        (
            "iphone_sv_skickat_fran_min_iphone",
            "Jag avanmäler mig tyvärr, vi har budgetmöte samma dag.",
        ),
        ("iphone_en_sent_from_my_iphone", "Yes, I'll be there."),
        ("samsung_email_fi_alkuperainen_viesti", "Kyllä, osallistun."),
        (
            "windows_mail_fi_cp1252_base64",
            "Hei,\n\nAkaa on mukana ensi vuonna. Laskun voi "
            "lähettää osoitteeseen laskutus@akaa.example.\n\nPekka",
        ),
        (
            "gmail_web_fi_wrapped_attribution_signature",
            "Hei Hanna,\n\nAkaassa kutsuliikenne "
            "toimii arkisin klo 9-15. Kyytejä on noin 40 viikossa.\n\nTerveisin\nPekka",
        ),
        (
            "thunderbird_fi_flowed_signature",
            "Hei,\n\nmeillä palveluliikenteen kuljettajat on "
            "koulutettu erikseen esteettömyyteen. Voin kertoa tästä lisää seminaarissa, jos "
            "aikaa on.",
        ),
    ],
)
def test_new_text_drops_signature_and_mobile_footer(name: str, new_text: str) -> None:
    """``new_text`` ends before the ``-- `` signature or the client's mobile footer."""
    assert parse_message(sample_bytes("replies", name)).new_text == new_text
