"""parse_message: every field read right, and nothing the internet sends makes it raise."""

from __future__ import annotations

import dataclasses
import random
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailer.errors import UnparseableMessage
from mailer.inbound.message import InboundMessage, clean_subject, parse_message

from .samples import sample_bytes, sample_names


def _eml(headers: str, body: str = "Hei.\n", *, encoding: str = "utf-8") -> bytes:
    """A message from header lines and a body, with CRLF line ends as on the wire."""
    text = headers.strip("\n") + "\n\n" + body
    return text.replace("\n", "\r\n").encode(encoding)


PLAIN_HEADERS = """From: Matti <matti@example.fi>
To: verkosto@example.test
Subject: Kysymys
Message-ID: <m1@example.fi>
Content-Type: text/plain; charset=utf-8
"""


# --- the fields of a real reply ------------------------------------------------------------


@pytest.fixture(scope="module")
def outlook() -> InboundMessage:
    return parse_message(sample_bytes("replies", "outlook_desktop_fi_alternative"))


def test_sender_is_lower_cased_and_name_decoded(outlook: InboundMessage) -> None:
    """From gives the lower-cased address and the RFC 2047-decoded display name."""
    assert outlook.sender == "matti.meikalainen@uusikaupunki.example"
    assert outlook.sender_name == "Meikäläinen Matti"


def test_recipients_and_delivery_addresses(outlook: InboundMessage) -> None:
    """To/Cc, Delivered-To and Return-Path are read as addresses."""
    assert outlook.to == ("verkosto@example.test",)
    assert outlook.delivered_to == ("verkosto@example.test",)
    assert outlook.return_path == "matti.meikalainen@uusikaupunki.example"


def test_thread_headers_keep_angle_brackets(outlook: InboundMessage) -> None:
    """Message-ID, In-Reply-To and References are ids with their brackets."""
    assert outlook.message_id == (
        "<DB9PR07MB7156A1B2C3D4E5F60718293A4B5C6D7E8F@DB9PR07MB7156.eurprd07.prod.outlook.com>"
    )
    assert outlook.in_reply_to == ("<CAF3x9kq8dPq0zYH2@mail.riihimaki.example>",)
    assert outlook.references == ("<CAF3x9kq8dPq0zYH2@mail.riihimaki.example>",)


def test_subject_and_clean_subject(outlook: InboundMessage) -> None:
    """The subject is decoded; the clean subject has no "VS:" prefix."""
    assert outlook.subject == "VS: Koulukuljetusten kilpailutus"
    assert outlook.clean_subject == "Koulukuljetusten kilpailutus"


def test_date_is_aware(outlook: InboundMessage) -> None:
    """The Date header becomes an aware datetime."""
    assert outlook.date == datetime(2026, 2, 3, 8, 31, 2, tzinfo=UTC)


def test_authentication_results_are_kept_raw(outlook: InboundMessage) -> None:
    """Authentication-Results values are passed on unfolded, for the caller to judge."""
    assert outlook.authentication_results == (
        "mail.example.test; dkim=pass header.d=uusikaupunki.example; "
        "spf=pass smtp.mailfrom=uusikaupunki.example; dmarc=pass header.from=uusikaupunki.example",
    )


def test_header_lookup_is_case_insensitive_and_decoded(outlook: InboundMessage) -> None:
    """header() finds any header by name, decoded; a missing one is None."""
    assert outlook.header("thread-topic") == "Koulukuljetusten kilpailutus"
    assert outlook.header("Content-Language") == "fi-FI"
    assert outlook.header("X-Not-There") is None


def test_text_comes_from_the_plain_alternative(outlook: InboundMessage) -> None:
    """``text`` is the whole plain body, history included."""
    assert outlook.text.startswith("Hei Liisa,\n\nMeillä Uusikaupungissa")
    assert "Lähettäjä: Liisa Virtanen" in outlook.text


def test_view_is_immutable(outlook: InboundMessage) -> None:
    """The parsed view cannot be changed by a handler."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        outlook.sender = "someone@else.example"  # type: ignore[misc]


# --- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Kokous", "Kokous"),
        ("RE: VS: Kokous", "Kokous"),
        ("Re[2]: Kokous", "Kokous"),
        ("Re(3): Kokous", "Kokous"),
        ("SV: Sv: Kokous", "Kokous"),
        ("AW: WG: Kokous", "Kokous"),
        ("Fwd: FW: Fw: Kokous", "Kokous"),
        ("VL: VB: Kokous", "Kokous"),
        ("Antw: TR: Kokous", "Kokous"),
        ("Vs:VS:  Kokous", "Kokous"),
        ("re : Kokous", "Kokous"),
        ("Re:", ""),
        ("Tre: Kokous", "Tre: Kokous"),
        ("Svar på frågan", "Svar på frågan"),
        ("Kokous: Re: asialista", "Kokous: Re: asialista"),
        ("[Verkosto] Re: Kokous", "[Verkosto] Re: Kokous"),
    ],
)
def test_clean_subject_strips_any_run_of_prefixes(subject: str, expected: str) -> None:
    """Leading reply/forward prefixes of every client and language go; the rest stays."""
    assert clean_subject(subject) == expected


def test_encoded_line_breaks_do_not_survive_in_subject_or_name() -> None:
    """CR/LF smuggled in through encoded words are removed (no header injection)."""
    raw = _eml(
        """From: =?utf-8?q?Matti=0D=0ABcc=3A_x=40evil=2Eexample?= <matti@example.fi>
To: verkosto@example.test
Subject: =?utf-8?q?Hei=0D=0ABcc=3A_victim=40example=2Eorg?= =?utf-8?b?DQpYOiB5?=
X-Custom: =?utf-8?q?a=0Ab?=
"""
    )
    msg = parse_message(raw)
    for value in (msg.subject, msg.clean_subject, msg.sender_name, msg.header("x-custom")):
        assert value is not None
        assert "\r" not in value and "\n" not in value
    assert msg.subject == "Hei Bcc: victim@example.org X: y"
    assert msg.sender == "matti@example.fi"


def test_unicode_line_separators_are_removed_from_subject() -> None:
    """U+2028, U+0085 and NUL in a subject become spaces too."""
    raw = _eml("Subject: =?utf-8?b?YQDigKhiwoVj?=\nFrom: m@example.fi")
    assert parse_message(raw).subject == "a b c"


def test_raw_8bit_utf8_headers_are_decoded() -> None:
    """Unencoded UTF-8 in Subject and From is read as UTF-8."""
    raw = _eml("From: Matti Mäkinen <matti@example.fi>\nSubject: Kysymys työstä", encoding="utf-8")
    msg = parse_message(raw)
    assert (msg.sender_name, msg.subject) == ("Matti Mäkinen", "Kysymys työstä")


def test_raw_8bit_latin1_headers_are_decoded() -> None:
    """Unencoded Latin-1 in a header (not valid UTF-8) is read as Windows-1252."""
    raw = _eml(
        "From: Matti Mäkinen <matti@example.fi>\nSubject: Kysymys työstä", encoding="latin-1"
    )
    msg = parse_message(raw)
    assert (msg.sender_name, msg.subject) == ("Matti Mäkinen", "Kysymys työstä")


def test_undecodable_encoded_word_is_kept_as_written() -> None:
    """An encoded word in an unknown charset is decoded by sniffing, never raises."""
    raw = _eml("From: m@example.fi\nSubject: =?x-unknown?q?Ty=C3=B6t?= ja =?utf-8?q?a?=")
    assert parse_message(raw).subject == "Työt ja a"


def test_missing_from_gives_empty_sender() -> None:
    """No From header: sender and name are empty and the defect is listed."""
    msg = parse_message(_eml("To: verkosto@example.test\nSubject: x"))
    assert (msg.sender, msg.sender_name) == ("", "")
    assert "no From header" in msg.defects


def test_unreadable_from_gives_empty_sender() -> None:
    """A From with no address in it gives an empty sender, not a crash."""
    assert parse_message(_eml("From: undisclosed-recipients:;\nSubject: x")).sender == ""


def test_from_with_several_addresses_is_not_trusted() -> None:
    """A From naming two mailboxes gives no sender: it is a spoofing trick as often as not."""
    raw = _eml("From: koordinaattori@example.test, attacker@evil.example\nSubject: x")
    msg = parse_message(raw)
    assert msg.sender == ""
    assert "From has 2 readable addresses" in msg.defects


def test_display_name_spoofing_an_address_keeps_the_real_address() -> None:
    """A display name that looks like an address does not become the sender."""
    raw = _eml('From: "koordinaattori@example.test" <attacker@evil.example>\nSubject: x')
    msg = parse_message(raw)
    assert (msg.sender, msg.sender_name) == ("attacker@evil.example", "koordinaattori@example.test")


def test_delivered_to_lists_every_delivery_header_top_first() -> None:
    """Delivered-To and X-Original-To are all collected, in header order."""
    raw = _eml(
        """Delivered-To: Verkosto+Lista@Example.test
X-Original-To: verkosto+lista@example.test
Delivered-To: alias@example.test
From: m@example.fi
To: "Verkosto" <verkosto+lista@example.test>, muut@example.fi
Cc: cc@example.fi
Reply-To: Matti <Matti.Reply@example.fi>
"""
    )
    msg = parse_message(raw)
    assert msg.delivered_to == ("verkosto+lista@example.test", "alias@example.test")
    assert msg.to == ("verkosto+lista@example.test", "muut@example.fi", "cc@example.fi")
    assert msg.reply_to == ("matti.reply@example.fi",)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Return-Path: <>", ""),
        ("Return-Path: <Bounce@Example.fi>", "bounce@example.fi"),
        ("", None),
    ],
)
def test_return_path(header: str, expected: str | None) -> None:
    """Return-Path: "" for the null path, lower-cased address, None when absent."""
    assert parse_message(_eml(f"{header}\nFrom: m@example.fi")).return_path == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Message-ID: <abc@x.example>", "<abc@x.example>"),
        ("Message-ID: abc@x.example", "<abc@x.example>"),
        ("Message-ID:  <abc@x.example> (comment)", "<abc@x.example>"),
        ("Message-ID: garbage", None),
        ("", None),
    ],
)
def test_message_id(header: str, expected: str | None) -> None:
    """The Message-ID comes with brackets; a bare one gets them; none gives None."""
    assert parse_message(_eml(f"{header}\nFrom: m@example.fi")).message_id == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "Date: Tue, 3 Feb 2026 10:12:00 +0200",
            datetime(2026, 2, 3, 10, 12, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("Date: Tue, 3 Feb 2026 10:12:00 -0000", datetime(2026, 2, 3, 10, 12, tzinfo=UTC)),
        ("Date: 3 Feb 2026 10:12", datetime(2026, 2, 3, 10, 12, tzinfo=UTC)),
        ("Date: eilen iltapäivällä", None),
        ("", None),
    ],
)
def test_date_is_aware_or_none(header: str, expected: datetime | None) -> None:
    """Dates parse to aware datetimes (no zone means UTC); garbage gives None."""
    assert parse_message(_eml(f"{header}\nFrom: m@example.fi")).date == expected


def test_unreadable_date_is_a_defect() -> None:
    """An unparseable Date is listed among the defects."""
    msg = parse_message(_eml("Date: eilen\nFrom: m@example.fi"))
    assert "unreadable Date 'eilen'" in msg.defects


def test_loop_ids_are_collected() -> None:
    """Every X-Mailer-Loop value is listed."""
    raw = _eml("X-Mailer-Loop: verkosto@example.test\nX-Mailer-Loop: other@x.example\nFrom: a@b.c")
    assert parse_message(raw).loop_ids == ("verkosto@example.test", "other@x.example")


# --- bodies --------------------------------------------------------------------------------


def test_empty_input_is_unparseable() -> None:
    """Empty or blank input is the only thing that raises."""
    for raw in (b"", b"\r\n\r\n  \n"):
        with pytest.raises(UnparseableMessage):
            parse_message(raw)


def test_empty_body() -> None:
    """A message without a body gives empty texts."""
    msg = parse_message(b"From: m@example.fi\r\nSubject: Tyhja\r\n\r\n")
    assert (msg.text, msg.reply_text, msg.new_text, msg.attachments) == ("", "", "", ())


def test_bytes_without_headers_are_read_as_text() -> None:
    """Input with no header block is still read; its text is kept."""
    msg = parse_message("pelkkää tekstiä ilman otsakkeita\n".encode())
    assert msg.text == "pelkkää tekstiä ilman otsakkeita"
    assert msg.sender == ""


def test_multipart_without_boundary_is_read_as_text() -> None:
    """A multipart whose boundary parameter is missing gives its raw text, with a defect."""
    raw = _eml("From: m@example.fi\nContent-Type: multipart/mixed", "Hei vaan.\n")
    msg = parse_message(raw)
    assert msg.text == "Hei vaan."
    assert any("NoBoundaryInMultipartDefect" in d for d in msg.defects)


def test_multipart_without_closing_boundary_keeps_parts() -> None:
    """A truncated multipart still yields its text part."""
    raw = _eml(
        'From: m@example.fi\nContent-Type: multipart/alternative; boundary="b1"',
        "--b1\nContent-Type: text/plain; charset=utf-8\n\nKatkennut viesti.\n",
    )
    msg = parse_message(raw)
    assert msg.text == "Katkennut viesti."
    assert msg.defects


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("x-unknown", "Työt".encode(), "Työt"),
        ("x-unknown", "Työt".encode("latin-1"), "Työt"),
        ("windows-1252", b"\x80 \x93lainaus\x94", "€ “lainaus”"),
        ("iso-8859-1", b"\x80 12 \xe4", "€ 12 ä"),
        ("utf8", "Työt".encode(), "Työt"),
        ("UTF-8", b"bad \xff byte", "bad \ufffd byte"),
        ("us-ascii", "Työt".encode(), "Työt"),
        ("base64", "Työt".encode(), "Työt"),
        ("", "Työt".encode("cp1252"), "Työt"),
    ],
)
def test_charsets_are_decoded_leniently(charset: str, body: bytes, expected: str) -> None:
    """Odd, wrong and unknown charset labels still give readable text."""
    head = f"From: m@example.fi\r\nContent-Type: text/plain; charset={charset}\r\n"
    head += "Content-Transfer-Encoding: 8bit\r\n\r\n"
    assert parse_message(head.encode() + body).text == expected


def test_unknown_charset_is_a_defect() -> None:
    """A charset Python does not know is listed among the defects."""
    raw = _eml("From: m@example.fi\nContent-Type: text/plain; charset=x-unknown")
    assert "unknown charset 'x-unknown'" in parse_message(raw).defects


def test_bad_base64_does_not_raise() -> None:
    """Broken base64 decodes as far as it goes, with the defect listed."""
    raw = _eml(
        "From: m@example.fi\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64",
        "SGVpIG1hYWlsbWE=!!!*** not base64 at all ===\nSGVp\n",
    )
    msg = parse_message(raw)
    assert msg.text.startswith("Hei maailma")
    assert msg.defects


def test_uuencoded_body_does_not_raise() -> None:
    """An x-uuencode transfer encoding is decoded or passed through, never raised."""
    raw = _eml(
        "From: m@example.fi\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode",
        "begin 644 x.txt\n#2&5I\n`\nend\n",
    )
    assert parse_message(raw).text in ("Hei", "begin 644 x.txt\n#2&5I\n`\nend")


def test_html_only_body_is_converted() -> None:
    """An HTML-only message's text is the converted HTML."""
    raw = _eml(
        "From: m@example.fi\nContent-Type: text/html; charset=utf-8",
        "<p>Hei <b>kaikki</b></p><blockquote>vanha</blockquote>",
    )
    msg = parse_message(raw)
    assert (msg.text, msg.reply_text) == ("Hei kaikki\n> vanha", "Hei kaikki")


def test_empty_plain_alternative_falls_back_to_html() -> None:
    """When the plain alternative is blank, the HTML alternative is used."""
    raw = _eml(
        'From: m@example.fi\nContent-Type: multipart/alternative; boundary="b"',
        "--b\nContent-Type: text/plain\n\n \n"
        "--b\nContent-Type: text/html\n\n<p>Sisältö</p>\n--b--\n",
    )
    assert parse_message(raw).text == "Sisältö"


def test_outlook_image_placeholders_are_dropped() -> None:
    """Outlook's "[cid:…]" lines for inline images are not part of the text."""
    raw = _eml(PLAIN_HEADERS, "Sari\n[cid:image001.png@01DC9612.4A1B2C30]\nRiihimäki\n")
    assert parse_message(raw).text == "Sari\nRiihimäki"


def test_format_flowed_lines_are_joined() -> None:
    """format=flowed soft breaks (and delsp=yes) are undone, quote depth respected."""
    body = "Pitkä rivi joka \njatkuu tässä.\n> Lainattu rivi \n> jatkuu.\n-- \nNimi\n"
    raw = _eml("From: m@example.fi\nContent-Type: text/plain; charset=utf-8; format=flowed", body)
    assert parse_message(raw).text == (
        "Pitkä rivi joka jatkuu tässä.\n> Lainattu rivi jatkuu.\n-- \nNimi"
    )
    raw = _eml(
        "From: m@example.fi\nContent-Type: text/plain; format=flowed; delsp=yes", "Yhdys \nsana\n"
    )
    assert parse_message(raw).text == "Yhdyssana"


def test_huge_plain_body_is_handled() -> None:
    """A multi-megabyte body parses; reply rules look at its opening only."""
    body = "Vastaus alussa.\n\n" + ("> lainattu rivi joka toistuu\n" * 200_000)
    msg = parse_message(_eml(PLAIN_HEADERS, body))
    assert msg.reply_text == "Vastaus alussa."
    assert len(msg.text) > 5_000_000


def test_huge_html_body_is_cut_with_a_defect() -> None:
    """HTML beyond the conversion window is cut, and the cut is listed."""
    html = "<p>Uutiskirje</p><p>" + "sana " * 500_000 + "</p>"
    raw = _eml("From: m@example.fi\nContent-Type: text/html", html)
    msg = parse_message(raw)
    assert msg.text.startswith("Uutiskirje")
    assert any("HTML body" in d for d in msg.defects)


# --- attachments ---------------------------------------------------------------------------


def _mixed(*parts: str) -> bytes:
    body = "".join(f"--XX\n{p}\n" for p in parts) + "--XX--\n"
    return _eml('From: m@example.fi\nContent-Type: multipart/mixed; boundary="XX"', body)


TEXT_PART = "Content-Type: text/plain; charset=utf-8\n\nLiitteet ohessa.\n"


def test_attachment_filenames_are_decoded() -> None:
    """RFC 2231 and RFC 2047 encoded filenames come out as text."""
    raw = _mixed(
        TEXT_PART,
        "Content-Type: application/pdf\nContent-Disposition: attachment; "
        "filename*=utf-8''P%C3%B6yt%C3%A4kirja.pdf\nContent-Transfer-Encoding: base64\n\nJVBERg==",
        'Content-Type: application/pdf; name="=?utf-8?q?M=C3=A4=C3=A4r=C3=A4ys.pdf?="\n'
        'Content-Disposition: attachment; filename="=?utf-8?q?M=C3=A4=C3=A4r=C3=A4ys.pdf?="'
        "\n\n%PDF",
    )
    msg = parse_message(raw)
    assert msg.text == "Liitteet ohessa."
    assert [a.filename for a in msg.attachments] == ["Pöytäkirja.pdf", "Määräys.pdf"]
    assert msg.attachments[0].data == b"%PDF"
    assert msg.attachments[0].content_type == "application/pdf"


def test_attachment_without_filename_gets_a_numbered_name() -> None:
    """A nameless part is called attachment-N with an extension from its type."""
    raw = _mixed(
        TEXT_PART,
        "Content-Type: application/pdf\nContent-Disposition: attachment\n\n%PDF",
        "Content-Type: application/x-unheard-of\n\nxx",
    )
    names = [a.filename for a in parse_message(raw).attachments]
    assert names == ["attachment-1.pdf", "attachment-2.bin"]


def test_attachment_filename_cannot_carry_a_path() -> None:
    """Directory parts and control characters are removed from filenames."""
    raw = _mixed(
        TEXT_PART,
        "Content-Type: text/plain\nContent-Disposition: attachment; "
        "filename*=utf-8''..%5C..%5Cevil%0D%0A.txt\n\nx",
        'Content-Type: text/plain\nContent-Disposition: attachment; filename="/etc/passwd"\n\nx',
        'Content-Type: text/plain\nContent-Disposition: attachment; filename=".."\n\nx',
    )
    names = [a.filename for a in parse_message(raw).attachments]
    assert names == ["evil .txt", "passwd", "attachment-3.txt"]


def test_inline_image_with_content_id_is_marked_inline() -> None:
    """A signature logo (inline, with a Content-ID) is inline; a real file is not."""
    msg = parse_message(sample_bytes("replies", "apple_mail_fi_html_related_inline_image"))
    assert [(a.filename, a.content_type, a.inline) for a in msg.attachments] == [
        ("bussi.jpg", "image/jpeg", True)
    ]
    pdf = parse_message(sample_bytes("replies", "gmail_fi_pdf_attachment")).attachments
    assert [(a.filename, a.inline) for a in pdf] == [
        ("Valtuustoaloite_palveluliikenne_Riihimäki.pdf", False)
    ]


def test_nested_message_is_an_eml_attachment() -> None:
    """A forwarded message/rfc822 part becomes an .eml attachment; its text stays out."""
    msg = parse_message(sample_bytes("replies", "outlook_fi_forward_message_rfc822_attachment"))
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        ("attachment-1.eml", "message/rfc822")
    ]
    inner = parse_message(msg.attachments[0].data)
    assert inner.subject == "Palautetta bussireitista"
    assert inner.text == "Bussireitti 3 ei palvele koululaisia aamulla."
    assert "Bussireitti" not in msg.text


def test_deeply_nested_messages_are_parsed() -> None:
    """Messages attached inside attached messages do not upset the parser."""
    raw = _eml("From: a@b.example\nSubject: sisin", "sisin teksti\n")
    for depth in range(30):
        head = (
            f"From: a@b.example\nSubject: taso {depth}\n"
            f'Content-Type: multipart/mixed; boundary="L{depth}"'
        )
        body = f"--L{depth}\n{TEXT_PART}\n--L{depth}\nContent-Type: message/rfc822\n\n"
        raw = _eml(head, body + raw.decode() + f"\n--L{depth}--\n")
    msg = parse_message(raw)
    assert msg.text == "Liitteet ohessa."
    assert len(msg.attachments) == 1


@pytest.mark.parametrize("kind", ["multipart", "message"])
def test_hostile_nesting_depth_is_read_shallowly(kind: str) -> None:
    """Thousands of nested parts (which exhaust the stdlib's recursion) still parse."""
    if kind == "multipart":
        levels = [
            f'Content-Type: multipart/mixed; boundary="B{n}"\n\n--B{n}\n' for n in range(1200)
        ]
        raw = _eml("From: a@b.example\n" + "".join(levels) + "Content-Type: text/plain", "x")
    else:
        raw = _eml("Content-Type: text/plain", "x")
        for _ in range(1200):
            raw = b"From: a@b.example\r\nContent-Type: message/rfc822\r\n\r\n" + raw
    msg = parse_message(raw)
    assert msg.sender == "a@b.example"
    assert "MIME nesting too deep: body read as plain text" in msg.defects


def test_calendar_reply_is_exposed() -> None:
    """An Outlook Accept (text/calendar METHOD:REPLY) is in ``calendar`` and attachments."""
    ics = (
        "BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nUID:ev-1@example.test\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    raw = _eml(
        "From: m@example.fi\nSubject: Accepted: Webinaari\n"
        'Content-Type: multipart/alternative; boundary="c"',
        "--c\nContent-Type: text/plain; charset=utf-8\n\nHyväksytty\n--c\n"
        'Content-Type: text/calendar; charset="utf-8"; method=REPLY\n'
        f"Content-Transfer-Encoding: 7bit\n\n{ics}--c--\n",
    )
    msg = parse_message(raw)
    assert msg.calendar is not None and msg.calendar.startswith(b"BEGIN:VCALENDAR")
    assert b"METHOD:REPLY" in msg.calendar
    assert [a.filename for a in msg.attachments] == ["attachment-1.ics"]
    assert msg.text == "Hyväksytty"


def test_other_weird_structures_do_not_raise() -> None:
    """Odd content types, a top-level message/rfc822 and empty multiparts are all read."""
    samples = [
        _eml("From: a@b.example\nContent-Type: text", "Teksti\n"),
        _eml('From: a@b.example\nContent-Type: ;;;="', "Teksti\n"),
        _eml("From: a@b.example\nContent-Type: message/rfc822", "Subject: sisempi\n\nsisältö\n"),
        _eml('From: a@b.example\nContent-Type: multipart/mixed; boundary="e"', "--e--\n"),
        _eml("From: a@b.example\nContent-Type: application/pdf", "%PDF"),
        _eml("From: a@b.example\nContent-Type: text/plain; charset*=utf-8''%FF%FE", "x\n"),
        _eml(
            'From: a@b.example\nContent-Disposition: attachment; filename*0="a"; filename*1="b"',
            "x",
        ),
    ]
    for raw in samples:
        parse_message(raw)


@pytest.mark.parametrize(
    "value",
    [
        "a." * 50_000 + "!",
        "Name" + " " * 100_000 + "x",
        '"' + "x" * 100_000,
        " " * 100_000 + "<a@b.example",
        "=?utf-8?q?" * 20_000,
        "Re: " * 30_000 + "x",
        "<" * 100_000,
    ],
    ids=["dots", "spaces", "open-quote", "open-angle", "encoded-words", "prefixes", "brackets"],
)
def test_pathological_header_values_parse_quickly(value: str) -> None:
    """Headers built to trigger regex backtracking parse in well under a second each."""
    headers = "\n".join(
        f"{name}: {value}" for name in ("From", "To", "Subject", "References", "Return-Path")
    )
    started = time.process_time()
    parse_message(_eml(headers))
    assert time.process_time() - started < 2.0


# --- fuzzing -------------------------------------------------------------------------------


def _mutations(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 40)):
        choice = rng.random()
        pos = rng.randrange(len(data)) if data else 0
        if choice < 0.4 and data:
            data[pos] = rng.randrange(256)
        elif choice < 0.6:
            data[pos:pos] = rng.choice(
                [b"\r\n", b"\n\n", b"=?", b"?=", b"--", b"\x00", b"\xff", b";"]
            )
        elif choice < 0.8 and data:
            del data[pos : pos + rng.randint(1, 50)]
        else:
            data[pos:pos] = bytes(data[pos : pos + rng.randint(1, 200)])
    return bytes(data)


@pytest.mark.parametrize("name", sample_names("malformed"))
def test_inputs_that_once_crashed_the_parser_parse(name: str) -> None:
    """Corrupted messages found by fuzzing (kept in tests/samples/malformed) parse."""
    parse_message(sample_bytes("malformed", name))


@pytest.mark.parametrize("kind", ["replies", "auto", "bounces"])
def test_mutated_samples_never_raise(kind: str) -> None:
    """Thousands of randomly corrupted samples parse without an exception."""
    rng = random.Random(20260203)
    for name in sample_names(kind):
        raw = sample_bytes(kind, name)
        for _ in range(40):
            mutated = _mutations(raw, rng)
            if mutated.strip():
                parse_message(mutated)
