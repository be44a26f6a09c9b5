"""The reply rules on small texts: one behaviour per test."""

from __future__ import annotations

import pytest

from mailer.inbound.reply_text import strip_quoted, strip_signature


def test_text_without_history_is_unchanged() -> None:
    """A mail with no quote or header block comes back as written."""
    text = "Hei,\n\nliityn listalle.\n\nTerveisin\nMatti"
    assert strip_quoted(text) == text


def test_quoted_lines_are_removed() -> None:
    """Lines starting with ">" are history."""
    assert strip_quoted("Kyllä.\n\n> Tuletko?\n> Hanna") == "Kyllä."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, 3 Feb 2026 at 10:12, Hanna Laine <koordinaattori@example.test> wrote:",
        "ti 3.2.2026 klo 10.12 Hanna Laine (koordinaattori@example.test) kirjoitti:",
        "ti 3. helmik. 2026 klo 10.12 Hanna Laine <koordinaattori@example.test> kirjoitti:",
        "Hanna Laine kirjoitti 3.2.2026 kello 10.12:",
        "Den 3 feb. 2026 kl. 10:12 skrev Hanna Laine <koordinaattori@example.test>:",
        "Den 2026-02-03 kl. 10:12, skrev Hanna Laine:",
        "Am 03.02.2026 um 10:12 schrieb Hanna Laine <koordinaattori@example.test>:",
        "On 3 Feb 2026, at 10.12, Hanna Laine <koordinaattori@example.test> wrote:",
        "3.2.2026 kello 10.12, Hanna Laine <koordinaattori@example.test> kirjoitti:",
        "3 feb. 2026 kl. 10:12 skrev Hanna Laine <koordinaattori@example.test>:",
    ],
)
def test_attribution_line_before_a_quote_is_removed(attribution: str) -> None:
    """Every client's "… wrote:" line, in each language, goes with the quote it introduces."""
    assert strip_quoted(f"Sopii.\n\n{attribution}\n> Käykö torstai?") == "Sopii."


@pytest.mark.parametrize(
    "wrapped",
    [
        "On Tue, Feb 3, 2026 at 10:12 AM Hanna Laine <koordinaattori@example.test>\nwrote:",
        "ti 3. helmik. 2026 klo 10.12 Hanna Laine <\nkoordinaattori@example.test> kirjoitti:",
        "Den tis 3 feb. 2026 kl 10:12 skrev Hanna Laine <\nkoordinaattori@example.test>:",
        "Hanna Laine kirjoitti\n3.2.2026 klo 10.12:",
    ],
)
def test_attribution_wrapped_over_two_lines_is_removed(wrapped: str) -> None:
    """An attribution a client wrapped onto two lines is removed whole."""
    assert strip_quoted(f"Sopii.\n\n{wrapped}\n\n> Käykö torstai?") == "Sopii."


def test_attribution_at_the_very_end_is_removed() -> None:
    """An attribution followed by nothing (the quote was cut off) is still removed."""
    assert strip_quoted("Kyllä.\n\nHanna Laine kirjoitti 3.2.2026 klo 10.12:\n\n") == "Kyllä."


def test_attribution_like_sentence_before_unquoted_text_is_kept() -> None:
    """A sentence ending in "kirjoitti:" stays when no quote follows it."""
    text = "Kuten Hanna kirjoitti:\n\noptiovuodet kannattavat."
    assert strip_quoted(text) == text


def test_last_sentence_before_an_attribution_is_kept() -> None:
    """The writer's line just above an attribution is not joined to it."""
    text = "On the whole, I agree.\nOn Tue, 3 Feb 2026 at 10:12, Hanna <h@example.test> wrote:\n> x"
    assert strip_quoted(text) == "On the whole, I agree."


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Alkuperäinen viesti-----",
        "-----Ursprungligt meddelande-----",
        "-------- Alkuperäinen viesti --------",
        "-------- Original message --------",
        "---------- Forwarded message ---------",
        "---------- Välitetty viesti ----------",
        "Begin forwarded message:",
    ],
)
def test_separator_line_cuts_everything_below(separator: str) -> None:
    """Outlook's and other clients' separator lines start unquoted history."""
    text = f"Vastaus.\n\n{separator}\nFrom: x@example.test\n\nVanha viesti.\n"
    assert strip_quoted(text) == "Vastaus."


@pytest.mark.parametrize(
    "block",
    [
        "Lähettäjä: Hanna Laine <h@example.test>\nLähetetty: tiistai 3. helmikuuta 2026 10.12\n"
        "Vastaanottaja: Matti <m@example.test>\nAihe: Kysymys",
        "From: Hanna Laine <h@example.test>\nSent: Tuesday, February 3, 2026 10:12 AM\n"
        "To: Matti <m@example.test>\nCc: Pekka <p@example.test>\nSubject: Question",
        "Från: Hanna Laine <h@example.test>\nSkickat: den 3 februari 2026 10:12\n"
        "Till: Anna <a@example.test>\nÄmne: Fråga",
        "From: Hanna Laine <h@example.test>\nDate: Tuesday, 3 February 2026 at 10.12\n"
        "To: Matti <m@example.test>\nSubject: Question",
        "Lähettäjä: Hanna Laine <h@example.test>\nPäivämäärä: tiistaina 3. helmikuuta 2026 "
        "klo 10.12\nVastaanottaja: Matti <m@example.test>\nAihe: Kysymys",
        "*From:* Hanna Laine <h@example.test>\n*Sent:* Tuesday, February 3, 2026 10:12 AM\n"
        "*To:* Matti <m@example.test>\n*Subject:* Question",
    ],
)
def test_bare_header_block_cuts_everything_below(block: str) -> None:
    """An unquoted Outlook header block (fi, sv, en, mobile and Mac variants) starts history."""
    assert strip_quoted(f"Vastaus.\n\n{block}\n\nVanha viesti.") == "Vastaus."


def test_underscore_line_before_from_cuts_everything_below() -> None:
    """Outlook on the web's line of underscores followed by "Lähettäjä:" starts history."""
    text = "Vastaus.\n\n________________________________\nLähettäjä: Hanna\nVanha viesti."
    assert strip_quoted(text) == "Vastaus."


def test_underscore_line_without_header_is_kept() -> None:
    """A line of underscores that a person drew is not a separator."""
    text = "Vastaus.\n\n__________\nAllekirjoitus"
    assert strip_quoted(text) == text


def test_header_lookalike_without_subject_is_kept() -> None:
    """Lines like "From: / To: / Date:" without a Subject are a person's text, not a header."""
    text = "Kyyti:\n\nFrom: Turku\nTo: Pori\nDate: 5.2.\n\nTervetuloa."
    assert strip_quoted(text) == text


def test_inline_answers_between_quotes_are_kept() -> None:
    """Answers written between quoted blocks are all kept, the quotes dropped."""
    text = "Vastaukset alla.\n\n> Kysymys 1?\nVastaus 1.\n> Kysymys 2?\nVastaus 2.\n"
    assert strip_quoted(text) == "Vastaukset alla.\n\nVastaus 1.\nVastaus 2."


def test_bottom_posted_answer_is_kept() -> None:
    """An answer below the only quote, with nothing above it, is the reply."""
    assert strip_quoted("Hanna wrote:\n> Kysymys?\n\nVastaus.") == "Vastaus."


def test_text_after_a_top_posted_quote_is_dropped() -> None:
    """Below a top-posted reply's quote, trailing unquoted lines (list footers) are history."""
    text = "Vastaus.\n\nHanna kirjoitti 3.2.2026 klo 10.12:\n> Kysymys?\n\nListan alatunniste"
    assert strip_quoted(text) == "Vastaus."


def test_crlf_and_trailing_blank_lines_are_normalised() -> None:
    """CRLF line ends, trailing spaces and runs of blank lines are tidied."""
    assert strip_quoted("Rivi 1  \r\n\r\n\r\nRivi 2\r\n\r\n") == "Rivi 1\n\nRivi 2"


def test_signature_after_dash_dash_space_is_removed() -> None:
    """The "-- " delimiter and everything below it are the signature."""
    assert strip_signature("Kyllä.\n\n-- \nMatti\nUusikaupunki") == "Kyllä."


def test_signature_delimiter_without_trailing_space_is_removed() -> None:
    """A "--" delimiter whose space a client trimmed still starts the signature."""
    assert strip_signature("Kyllä.\n--\nMatti") == "Kyllä."


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Lähetetty iPhonesta",
        "Skickat från min iPhone",
        "Hanki Outlook for Android<https://aka.ms/ghei36>",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Skaffa Outlook för Android",
        "Lähetetty Samsung Galaxy -älypuhelimesta.",
        "Lähetetty Windowsin Sähköposti-sovelluksesta",
        "Skickades från E-post för Windows",
    ],
)
def test_mobile_footer_is_removed(footer: str) -> None:
    """Mail client footers in each language end the new text."""
    assert strip_signature(f"4,5\n\n{footer}\n") == "4,5"


def test_closing_and_name_are_kept() -> None:
    """A closing with a name is not stripped: only the caller knows if it matters."""
    text = "Kyllä kiitos.\n\nYstävällisin terveisin\nMatti Meikäläinen"
    assert strip_signature(text) == text


def test_footer_phrase_inside_a_long_text_is_kept() -> None:
    """A footer-like sentence followed by many more lines is the writer's text."""
    text = "Sent from my office in Akaa:\n" + "\n".join(f"rivi {n}" for n in range(10))
    assert strip_signature(text) == text
