"""The list's footer is where every client shows it: in the post's own text parts."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from mailer.config import settings_from_dict
from mailer.inbound.message import parse_message
from mailer.outgoing.list_copy import build_list_copy

SETTINGS = settings_from_dict(
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
)
FOOTER = '--\nEroa listalta: verkosto+eroa@example.test · Ohje: aiheeksi "ohje" <tässä>'
HTML = (
    "<html><body><p>Hei kaikki,</p><p>talviaikataulut ovat liitteenä &amp; "
    "verkkosivuilla.</p><p>Liisa</p></body></html>"
)


def _post(*, plain: bool, html: bool, attachment: bool = False) -> EmailMessage:
    post = EmailMessage()
    post["From"] = "Liisa Laine <liisa@uusikaupunki.example.test>"
    post["To"] = "verkosto+lista@example.test"
    post["Subject"] = "Talviaikataulut"
    post["Message-ID"] = "<talvi@uusikaupunki.example.test>"
    if plain:
        post.set_content("Hei kaikki,\n\ntalviaikataulut ovat liitteenä.\n\nLiisa\n")
    if html:
        if plain:
            post.add_alternative(HTML, subtype="html")
        else:
            post.set_content(HTML, subtype="html")
    if attachment:
        post.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    return post


def _copy(post: EmailMessage) -> EmailMessage:
    parsed = parse_message(post.as_bytes())
    copy = build_list_copy(
        parsed, SETTINGS.network, SETTINGS.list, FOOTER, rewrite_from=False, message_id="<p@x>"
    )
    msg = message_from_bytes(copy.raw, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def _texts(msg: EmailMessage) -> dict[str, str]:
    texts: dict[str, str] = {}
    for part in msg.walk():
        if isinstance(part, EmailMessage) and part.get_content_maintype() == "text":
            texts[part.get_content_type()] = texts.get(part.get_content_type(), "")
            texts[part.get_content_type()] += part.get_content().replace("\r\n", "\n")
    return texts


def test_html_only_post_carries_the_footer_in_its_html() -> None:
    """No separate plain footer part that a text-preferring client would show alone."""
    copy = _copy(_post(plain=False, html=True))
    assert copy.get_content_type() == "text/html"
    html = copy.get_content()
    assert "talviaikataulut ovat liitteenä &amp; verkkosivuilla" in html
    assert "Eroa listalta: verkosto+eroa@example.test" in html
    assert "&quot;ohje&quot; &lt;tässä&gt;" in html
    assert html.index("Eroa listalta") < html.lower().index("</body>")


def test_both_parts_of_an_alternative_post_carry_the_footer() -> None:
    copy = _copy(_post(plain=True, html=True))
    assert copy.get_content_type() == "multipart/alternative"
    texts = _texts(copy)
    assert texts["text/plain"].rstrip().endswith(FOOTER)
    assert texts["text/plain"].startswith("Hei kaikki,")
    assert "Eroa listalta" in texts["text/html"] and "<p>Liisa</p>" in texts["text/html"]


def test_post_with_an_attachment_keeps_the_footer_in_its_body() -> None:
    copy = _copy(_post(plain=True, html=True, attachment=True))
    kinds = [part.get_content_type() for part in copy.walk()]
    assert kinds.count("text/plain") == 1 and "application/pdf" in kinds
    assert "Eroa listalta" in _texts(copy)["text/plain"]
    assert "Eroa listalta" in _texts(copy)["text/html"]


def test_plain_post_ends_with_the_footer() -> None:
    copy = _copy(_post(plain=True, html=False))
    assert copy.get_content().replace("\r\n", "\n").rstrip().endswith(FOOTER)


def test_signed_post_keeps_its_signature_and_gets_a_footer_part() -> None:
    """Changing signed content would break the signature: the footer goes beside it."""
    raw = (
        b"From: a@example.test\r\nSubject: Allekirjoitettu\r\nMessage-ID: <s@example.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nHei\r\n--b\r\n"
        b"Content-Type: application/pgp-signature\r\n\r\nSIG\r\n--b--\r\n"
    )
    copy = build_list_copy(
        parse_message(raw),
        SETTINGS.network,
        SETTINGS.list,
        FOOTER,
        rewrite_from=False,
        message_id="<s@example.test>",
    )
    msg = message_from_bytes(copy.raw, policy=default)
    assert msg.get_content_type() == "multipart/mixed"
    assert b"\r\nHei\r\n--b" in copy.raw
    assert "Eroa listalta" in _texts(msg)["text/plain"]
