"""Registration replies in words, and Accept/Decline sent as iCalendar REPLY."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mailer.parsing.rsvp import (
    FROM_TEXT,
    NO_INTENT,
    parse_itip_reply,
    parse_rsvp,
    without_question_label,
)

SAMPLES_DIR = Path(__file__).parent / "samples"


def _table(name: str) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = tomllib.loads((SAMPLES_DIR / name).read_text(encoding="utf-8"))[
        "sample"
    ]
    return samples


SAMPLES = _table("rsvp.toml")
ITIP = _table("itip.toml")


def test_there_are_enough_samples() -> None:
    """At least forty reply samples and four calendar replies, in all three languages."""
    assert len(SAMPLES) >= 40
    assert sum(s.get("reply", True) for s in ITIP) >= 4
    for language in ("fi_", "sv_", "en_"):
        assert sum(s["name"].startswith(language) for s in SAMPLES) >= 8


@pytest.mark.parametrize("sample", [pytest.param(s, id=s["name"]) for s in SAMPLES])
def test_sample(sample: dict[str, Any]) -> None:
    """Each reply gives the expected intent, reason, answer, and whether it goes on."""
    result = parse_rsvp(sample["text"], sample.get("subject", ""), sample.get("signer", ""))
    assert result.intent == sample["intent"]
    for key in ("reason", "answer", "forward", "group"):
        if key in sample:
            assert getattr(result, key) == sample[key], key


@pytest.mark.parametrize("sample", [pytest.param(s, id=s["file"]) for s in ITIP])
def test_itip_sample(sample: dict[str, Any]) -> None:
    """Outlook and Google replies give the attendee, PARTSTAT, UID and SEQUENCE."""
    reply = parse_itip_reply((SAMPLES_DIR / "itip" / sample["file"]).read_bytes())
    if not sample.get("reply", True):
        assert reply is None
        return
    assert reply is not None
    got = (reply.uid, reply.sequence, reply.attendee, reply.name, reply.partstat, reply.comment)
    expected = tuple(
        sample[k] for k in ("uid", "sequence", "attendee", "name", "partstat", "comment")
    )
    assert got == expected
    assert reply.intent == sample["intent"]


def test_itip_with_bare_line_feeds() -> None:
    """A REPLY whose line ends were rewritten to LF on the way still reads."""
    raw = (SAMPLES_DIR / "itip" / "google_en_accepted.ics").read_bytes().replace(b"\r\n", b"\n")
    reply = parse_itip_reply(raw)
    assert reply is not None and reply.partstat == "ACCEPTED"


@pytest.mark.parametrize("raw", [b"", b"not a calendar", b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"])
def test_itip_unreadable(raw: bytes) -> None:
    """Whatever arrives as a calendar part, a non-reply gives None instead of raising."""
    assert parse_itip_reply(raw) is None


def test_later_cancellation_makes_it_unclear() -> None:
    """A yes followed by a plain no further down is not taken as a yes."""
    result = parse_rsvp("Kyllä.\nTai siis en pääse sittenkään.")
    assert result.intent == "unclear"


def test_body_decides_before_subject() -> None:
    """The subject is read only when the text says nothing either way."""
    assert parse_rsvp("Ilmoittaudun", "Hylätty: Webinaari").intent == "yes"
    assert parse_rsvp("", "Re: Kutsu: webinaari").reason == NO_INTENT


def test_short_words_only_as_their_own_clause() -> None:
    """Finnish "ja" (and) and "no" (well) inside a sentence say nothing."""
    assert parse_rsvp("Matti ja Liisa").intent == "unclear"
    assert parse_rsvp("No, tulen!").intent == "yes"
    assert parse_rsvp("No, sorry.").reason == FROM_TEXT


@pytest.mark.parametrize(
    ("answer", "question", "kept"),
    [
        ("Ruokavalio: laktoositon", "Ruokavalio?", "laktoositon"),
        (
            "ruokavalio : gluteeniton, ei sianlihaa",
            "Erityisruokavalio tai ruokavalio?",
            "gluteeniton, ei sianlihaa",
        ),
        ("Kunta: Akaa", "Mistä kunnasta olet? Kunta:", "Akaa"),
        ("Specialkost: vegetarisk", "Specialkost?", "vegetarisk"),
        ("Diet: vegan", "Any special diet?", "vegan"),
        ("Huom: myöhästyn 15 min", "Ruokavalio?", "Huom: myöhästyn 15 min"),
        ("laktoositon", "Ruokavalio?", "laktoositon"),
        ("Akaa\n\nRuokavalio: ei", "Mistä kunnasta olet?", "Akaa\n\nRuokavalio: ei"),
        ("Klo 13: pääsen vasta silloin", "Ruokavalio?", "Klo 13: pääsen vasta silloin"),
    ],
)
def test_answer_loses_a_label_that_repeats_the_question(
    answer: str, question: str, kept: str
) -> None:
    """ "Ruokavalio: laktoositon" to "Ruokavalio?" is kept as "laktoositon"; other labels stay."""
    assert without_question_label(answer, question) == kept


@pytest.mark.parametrize(
    ("text", "question", "kept"),
    [
        ("Count me in. Diet: none", "Any special diet?", "none"),
        ("Ilmoittaudun. Ruokavalio: laktoositon", "Ruokavalio?", "laktoositon"),
        ("Jag kommer, specialkost: vegetarisk", "Specialkost?", "vegetarisk"),
        ("Ilmoittaudun, huom: myöhästyn 15 min", "Ruokavalio?", "huom: myöhästyn 15 min"),
    ],
)
def test_label_on_the_yes_line_is_one_answer(text: str, question: str, kept: str) -> None:
    """ "Count me in. Diet: none" to "Any special diet?" is stored as "none", not "Diet:, none"."""
    answer = parse_rsvp(text).answer
    assert without_question_label(answer, question) == kept
