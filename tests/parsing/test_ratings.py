"""Ratings read from feedback replies: the sample table, then the rules one by one.

``samples/ratings.toml`` holds replies as members' clients leave them after
quote stripping; every one must come out as expected — a recorded rating, a
reason to ask back, or no rating — and no sample may ever yield a rating other
than the expected one.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailer.inbound.message import parse_message
from mailer.parsing.ratings import (
    CONFLICT,
    NO_RATING,
    OUT_OF_RANGE,
    RATED,
    UNCERTAIN,
    parse_rating,
)

TABLE = Path(__file__).parent / "samples" / "ratings.toml"
SAMPLES: list[dict[str, Any]] = tomllib.loads(TABLE.read_text(encoding="utf-8"))["sample"]


def _expected(sample: dict[str, Any]) -> tuple[str, Decimal | None, str]:
    if "rating" in sample:
        return "ok", Decimal(sample["rating"]), RATED
    if "clarify" in sample:
        return "clarify", None, sample["clarify"]
    return "none", None, NO_RATING


def _params() -> list[Any]:
    return [pytest.param(sample, id=sample["name"]) for sample in SAMPLES]


def test_there_are_enough_samples() -> None:
    """At least sixty samples, with each language well represented."""
    assert len(SAMPLES) >= 60
    for language in ("fi_", "sv_", "en_"):
        assert sum(s["name"].startswith(language) for s in SAMPLES) >= 12


def test_sample_names_are_unique() -> None:
    """Test ids are the sample names, so a duplicate would hide a sample."""
    names = [s["name"] for s in SAMPLES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("sample", _params())
def test_sample_rating(sample: dict[str, Any]) -> None:
    """Each sample gives the expected rating, or the expected reason to ask back."""
    result = parse_rating(sample["text"])
    assert (result.status, result.rating, result.reason) == _expected(sample)


@pytest.mark.parametrize("sample", [p for p in _params() if {"best", "improve"} & set(p.values[0])])
def test_sample_answers(sample: dict[str, Any]) -> None:
    """Answers written under the open questions are kept per question."""
    result = parse_rating(sample["text"])
    assert result.best == sample.get("best", "")
    assert result.improve == sample.get("improve", "")


@pytest.mark.parametrize("sample", [p for p in _params() if "feedback" in p.values[0]])
def test_sample_feedback(sample: dict[str, Any]) -> None:
    """The free text kept for the report holds what was said, not the rating again."""
    assert parse_rating(sample["text"]).text == sample["feedback"]


def test_no_sample_records_a_wrong_rating() -> None:
    """A recorded rating is always the expected one: asking back is fine, guessing is not."""
    wrong = []
    for sample in SAMPLES:
        result = parse_rating(sample["text"])
        if result.status == "ok" and result.rating != _expected(sample)[1]:
            wrong.append(sample["name"])
    assert wrong == []


def test_clarify_never_carries_a_rating() -> None:
    """A reply that is asked back has no rating attached for a careless caller to store."""
    for sample in SAMPLES:
        result = parse_rating(sample["text"])
        if result.status != "ok":
            assert result.rating is None


@pytest.mark.parametrize(
    "prompt", ["Anna arvosana 1\u20135", "Ge ett betyg 1\u20135", "Give a rating 1-5"]
)
def test_unquoted_prompt_is_not_a_rating(prompt: str) -> None:
    """The request's own scale, copied into the reply without ">", is never read as an answer."""
    assert parse_rating(f"{prompt}\n\nKiitos!").status == "none"
    assert parse_rating(f"{prompt}\n4").rating == Decimal(4)


def test_signature_phone_and_title_are_never_ratings() -> None:
    """Digits in a signature (phone, extension) do not count, with or without a closing."""
    signature = "Matti Virtanen\nliikennesuunnittelija\np. 040 123 4567\nvaihde 02 1234 5"
    assert parse_rating(f"Hyvä tilaisuus.\n\n{signature}").status == "none"
    assert parse_rating(f"4\n\nTerveisin\n{signature}").rating == Decimal(4)


def test_rating_only_lines_leave_the_free_text() -> None:
    """The free text is what was written besides the rating, without greeting and closing."""
    result = parse_rating("Hei!\n\n4,5\n\nHyvä webinaari.\n\nTerveisin\nMatti")
    assert result.text == "Hyvä webinaari."
    assert (result.best, result.improve) == ("", "")


def test_windows_line_ends() -> None:
    """CRLF text (a caller that did not normalise) reads the same."""
    result = parse_rating("4\r\n\r\nMikä oli parasta?\r\nPuhujat\r\n")
    assert (result.rating, result.best) == (Decimal(4), "Puhujat")


def test_empty_reply() -> None:
    """An empty reply has no rating and no text."""
    assert parse_rating("") == parse_rating("\n \n")
    assert parse_rating("").status == "none"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("5 ja 4", CONFLICT), ("Ehkä 4", UNCERTAIN), ("5,5", OUT_OF_RANGE), ("★★★★★★", OUT_OF_RANGE)],
)
def test_reason_codes(text: str, reason: str) -> None:
    """Each way of not giving one clear rating has its own reason code."""
    result = parse_rating(text)
    assert (result.status, result.reason) == ("clarify", reason)


def test_through_the_inbound_parser() -> None:
    """A Gmail-style reply read by parse_message gives new_text that parse_rating reads."""
    msg = EmailMessage()
    msg["From"] = "Matti Virtanen <matti.virtanen@uusikaupunki.example>"
    msg["To"] = "verkosto+r-abc@example.test"
    msg["Subject"] = "Re: Palaute: Webinaari"
    msg.set_content(
        "4,5\n\nParasta: Akaan esimerkki\n\n-- \nMatti Virtanen\np. 040 123 4567\n\n"
        "ke 11.2.2027 klo 15.02 Verkosto <verkosto@example.test> kirjoitti:\n"
        "> Anna arvosana 1\u20135\n> Mikä oli parasta?\n"
    )
    result = parse_rating(parse_message(msg.as_bytes()).new_text)
    assert (result.rating, result.best) == (Decimal("4.5"), "Akaan esimerkki")
