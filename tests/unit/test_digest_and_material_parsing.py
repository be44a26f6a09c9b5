"""The material bank's and the digest reply's one-line readings."""

from __future__ import annotations

import pytest

from mailer.parsing.digest_reply import ticket_commands
from mailer.parsing.materials import event_reference, fetch_numbers

SEND = frozenset({"lähetä", "skicka", "send"})
COURTESY = frozenset({"kiitos", "kiitos paljon", "tack", "please", "thanks"})
LABELS = frozenset({"tapahtuma", "evenemang", "event"})
COMMANDS = {"close": frozenset({"sulje", "stäng", "close"}), "reopen": frozenset({"avaa"})}


@pytest.mark.parametrize(
    ("subject", "text", "numbers"),
    [
        ("lähetä 3", "", [3]),
        ("Lähetä 3.", "", [3]),
        ("", "skicka #3 och 5\n\nHälsningar", [3, 5]),
        ("send 3, 4, 3", "", [3, 4]),
        ("Kiitos", "Lähetä 12 ja 14\n--\nLiisa", [12, 14]),
        ("Lähetä 3, kiitos!", "", [3]),
        ("", "Kiitos paljon, lähetä 2\n\nt. Matti", [2]),
        ("Skicka 4 tack", "", [4]),
        ("please send 1 and 2", "", [1, 2]),
    ],
)
def test_fetch_requests(subject: str, text: str, numbers: list[int]) -> None:
    """The word and nothing but item numbers, in the subject or on the first line."""
    assert fetch_numbers(subject, text, SEND, COURTESY) == numbers


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Lähetä 3 esitettä Akaaseen", ""),
        ("lähetä", ""),
        ("Kysymys", "Voisitko lähettää 3 kalvoa?"),
        ("Send", "3"),
        ("Kiitos", "lähetä kiitos"),
    ],
)
def test_not_fetch_requests(subject: str, text: str) -> None:
    """A sentence that starts with the word stays a question."""
    assert fetch_numbers(subject, text, SEND, COURTESY) is None


def test_event_line_in_any_language_and_outlook_bold() -> None:
    """``Tapahtuma:``, ``*Evenemang:*`` and ``Event:`` all name the event."""
    assert event_reference("Hei\nTapahtuma: 3\n", LABELS) == "3"
    assert event_reference("*Evenemang:* Seminariet 2026", LABELS) == "Seminariet 2026"
    assert event_reference("- Event: #4", LABELS) == "#4"
    assert event_reference("Aika: huomenna\nTapahtuma:\n", LABELS) is None


def test_digest_reply_lines() -> None:
    """References and one command word in any order; mentions without one are unclear."""
    found, unclear = ticket_commands(
        "#12 SULJE\nsulje #13 ja #14\n#15, #16: close\nAVAA 7\nKatso #20 huomenna\nSULJE\n",
        COMMANDS,
    )
    assert found == [
        ("close", 12),
        ("close", 13),
        ("close", 14),
        ("close", 15),
        ("close", 16),
        ("reopen", 7),
    ]
    assert unclear == ["Katso #20 huomenna"]
