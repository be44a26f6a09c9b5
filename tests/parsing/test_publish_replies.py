"""JULKAISE and the coordinator's wording read from replies as mail clients write them.

Each reply goes through what the handlers do with it: ``parse_message``, the
command lines of ``reply_text`` (``questions``), the form split off the answer
that is relayed to the asker, and the form read into title, question and answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mailer.config import project_root
from mailer.inbound.message import parse_message
from mailer.matchers import MATCHERS
from mailer.parsing.commands import command_lines
from mailer.parsing.forms import (
    SHARED_ANSWER_FIELDS,
    SHARED_ANSWER_MULTILINE,
    parse_form,
    split_at_form,
)
from mailer.routing.rules import load_rules

RULES = load_rules(project_root() / "rules", "verkosto", "example.test", set(MATCHERS))
WORDS = {name: RULES.words(f"ticket.{name}") for name in ("close", "reopen", "note", "publish")}
HEAD = (
    "From: Koordinaattori <koordinaattori@example.test>\n"
    "To: verkosto+r-t1-abcdefghij@example.test\n"
    "Subject: VS: [#1] Koulukuljetusten kilpailutus\n"
    "Message-ID: <reply@example.test>\nMIME-Version: 1.0\n"
)


@dataclass(frozen=True)
class Read:
    commands: set[str]
    answer: str  # what the asker gets
    values: dict[str, str]  # the coordinator's wording


def _read(raw: bytes) -> Read:
    msg = parse_message(raw)
    commands, text = command_lines(msg.reply_text, WORDS)
    answer, form = split_at_form(text, SHARED_ANSWER_FIELDS)
    parsed = parse_form(form, SHARED_ANSWER_FIELDS, multiline=SHARED_ANSWER_MULTILINE, repeated=())
    return Read(commands, answer, parsed.values)


def _plain(body: str, charset: str = "utf-8", cte: str = "8bit") -> bytes:
    head = f'{HEAD}Content-Type: text/plain; charset="{charset}"\n'
    head += f"Content-Transfer-Encoding: {cte}\n"
    return f"{head}\n{body}".encode(charset if cte == "8bit" else "ascii")


def test_outlook_desktop_answer_command_and_wording() -> None:
    """Outlook: answer on top, JULKAISE, the wording, then the unquoted original below."""
    raw = _plain(
        "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä.\n\nTerveisin\nKoordinaattori\n\n"
        "JULKAISE\nKysymys: Kannattaako koulu- ja asiointiliikenne kilpailuttaa yhdessä?\n"
        "Vastaus: Kyllä. Akaa teki niin,\nja sopimuskausi on neljä vuotta.\n\n"
        "________________________________\n"
        "Lähettäjä: Pienet joukot <verkosto@example.test>\n"
        "Lähetetty: sunnuntai 7. helmikuuta 2027 10.00\n"
        "Vastaanottaja: Koordinaattori <koordinaattori@example.test>\n"
        "Aihe: [#1] Koulukuljetusten kilpailutus\n\n"
        "Uusi kysymys #1\nKysymys: tämä rivi on lainausta eikä korjaus\n"
    )
    read = _read(raw)
    assert read.commands == {"publish"}
    assert read.answer == (
        "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä.\n\nTerveisin\nKoordinaattori"
    )
    assert read.values == {
        "question": "Kannattaako koulu- ja asiointiliikenne kilpailuttaa yhdessä?",
        "answer": "Kyllä. Akaa teki niin,\nja sopimuskausi on neljä vuotta.",
    }


def test_gmail_command_only() -> None:
    """Gmail: JULKAISE alone above the 'kirjoitti:' quote; nothing to relay, no wording."""
    raw = _plain(
        "JULKAISE\n\nsu 7.2.2027 klo 10.00 Pienet joukot <verkosto@example.test> kirjoitti:\n"
        "> Uusi kysymys #1\n> Vastaus: lainattu\n"
    )
    assert _read(raw) == Read({"publish"}, "", {})


def test_apple_mail_english() -> None:
    """Apple Mail: PUBLISH with Title/Question/Answer above 'On … wrote:' and '>' lines."""
    raw = _plain(
        "Yes, both were tendered together.\n\nPUBLISH\nTitle: Joint tendering\n"
        "Question: Should school and service transport be tendered together?\n"
        "Answer: Yes, as Akaa did.\n\nBest regards,\nCoordinator\n\n"
        "On 7 Feb 2027, at 10.00, Pienet joukot <verkosto@example.test> wrote:\n\n"
        "> New question #1\n"
    )
    read = _read(raw)
    assert read.commands == {"publish"}
    assert read.answer == "Yes, both were tendered together."
    assert read.values == {
        "title": "Joint tendering",
        "question": "Should school and service transport be tendered together?",
        "answer": "Yes, as Akaa did.",
    }


def test_thunderbird_swedish_flowed() -> None:
    """Thunderbird: format=flowed soft breaks, PUBLICERA and Fråga/Svar, 'skrev:' quote."""
    raw = (
        HEAD + 'Content-Type: text/plain; charset="utf-8"; format=flowed\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        "PUBLICERA\nFråga: Hur ordnar ni anropstrafiken \npå landsbygden?\n"
        "Svar: Med en ringlinje två dagar i veckan.\n\n"
        "Den 2027-02-07 kl. 10:00, skrev Pienet joukot:\n> Ny fråga #1\n"
    ).encode()
    read = _read(raw)
    assert read.commands == {"publish"}
    assert read.values == {
        "question": "Hur ordnar ni anropstrafiken på landsbygden?",
        "answer": "Med en ringlinje två dagar i veckan.",
    }


def test_outlook_mobile_with_close() -> None:
    """Outlook for iOS: JULKAISE and SULJE, the app's footer, the header block below."""
    raw = _plain(
        "Kyllä, molemmat kerralla.\nJulkaise.\nSULJE\n\nHanki Outlook for iOS\n"
        "________________________________\nLähettäjä: Pienet joukot <verkosto@example.test>\n"
        "Lähetetty: sunnuntai, helmikuuta 7, 2027 10.00\nVastaanottaja: Koordinaattori\n"
        "Aihe: [#1] Koulukuljetusten kilpailutus\n\nUusi kysymys #1\n"
    )
    read = _read(raw)
    assert read.commands == {"publish", "close"}
    assert read.answer.startswith("Kyllä, molemmat kerralla.")
    assert read.values == {}


def test_latin1_quoted_printable_outlook_2010() -> None:
    """ISO-8859-1, quoted-printable, '-----Alkuperäinen viesti-----': umlauts intact."""
    raw = _plain(
        "Hei,\n\nmolemmat kilpailutettiin yhdess=E4.\n\nJULKAISE\n"
        "Kysymys: Miten j=E4rjest=E4tte asiointiliikenteen?\n"
        "Vastaus: Yhteishankintana, kes=E4st=E4 2025 alkaen.\n\n"
        "-----Alkuper=E4inen viesti-----\nL=E4hett=E4j=E4: Pienet joukot\n"
        "Aihe: [#1] Koulukuljetusten kilpailutus\n\nKysymys: lainattua\n",
        charset="iso-8859-1",
        cte="quoted-printable",
    )
    read = _read(raw)
    assert read.commands == {"publish"}
    assert read.answer == "Hei,\n\nmolemmat kilpailutettiin yhdessä."
    assert read.values == {
        "question": "Miten järjestätte asiointiliikenteen?",
        "answer": "Yhteishankintana, kesästä 2025 alkaen.",
    }


def test_outlook_html_only_bold_keys() -> None:
    """Outlook HTML only: bold keys ('*Kysymys:*') and paragraphs become the wording."""
    html = (
        "<html><body><p>Vastaus kysyjälle.</p><p>JULKAISE</p>"
        "<p><b>Kysymys:</b> Mistä saa tilastot?</p><p><b>Vastaus:</b> Traficomilta.</p>"
        '<div id="divRplyFwdMsg"><hr><b>Lähettäjä:</b> Pienet joukot<br>'
        "<b>Lähetetty:</b> sunnuntai 7. helmikuuta 2027 10.00<br>"
        "<b>Vastaanottaja:</b> Koordinaattori<br><b>Aihe:</b> [#1] Tilastot</div>"
        "<p>Uusi kysymys #1</p></body></html>"
    )
    raw = (HEAD + 'Content-Type: text/html; charset="utf-8"\n\n' + html).encode()
    read = _read(raw)
    assert read.commands == {"publish"}
    assert read.answer == "Vastaus kysyjälle."
    assert read.values == {"question": "Mistä saa tilastot?", "answer": "Traficomilta."}


@pytest.mark.parametrize(
    "line", ["JULKAISE", "julkaise", "Julkaise!", "*JULKAISE*", "PUBLICERA", "Publish.", "SHARE"]
)
def test_publish_words(line: str) -> None:
    """A line holding only a publish word, in any language, case or punctuation."""
    assert command_lines(f"Vastaus.\n{line}", WORDS) == ({"publish"}, "Vastaus.")


def test_publish_in_a_sentence_is_no_command() -> None:
    """'Voit julkaista tämän' or 'please publish this' are text."""
    text = "Voit julkaista tämän.\nPlease publish this on the list."
    assert command_lines(text, WORDS) == (set(), text)


def test_split_without_a_form() -> None:
    """No key line: everything is the answer."""
    assert split_at_form("Hei,\nvastaus.", SHARED_ANSWER_FIELDS) == ("Hei,\nvastaus.", "")
