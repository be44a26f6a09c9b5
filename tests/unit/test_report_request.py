"""Reading ``raportti 2026``: the word and at most a year, in any of the three languages."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mailer.matchers.report import report_year

WORDS = frozenset({"raportti", "vuosiraportti", "rapport", "årsrapport", "report", "annual report"})
COURTESY = frozenset({"kiitos", "tack", "please", "thanks"})


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("raportti 2026", "", "2026"),
        ("Vuosiraportti 2025.", "", "2025"),
        ("Årsrapport 2026", "", "2026"),
        ("", "annual report 2026\n\n-- \nKoordinaattori", "2026"),
        ("RAPORTTI", "", ""),
        ("Raportti kuntien kyydeistä", "", None),
        ("raportti 26", "", None),
        ("Re: kysymys", "Voisitko lähettää raportin?", None),
        ("Raportti 2026, kiitos!", "", "2026"),
        ("", "Tack, årsrapport 2025", "2025"),
        ("please send the report", "", None),
    ],
)
def test_report_year(subject: str, body: str, expected: str | None) -> None:
    """The year asked for, "" for the word alone, None for a sentence that is a question."""
    msg = SimpleNamespace(clean_subject=subject, new_text=body)
    assert report_year(msg, WORDS, COURTESY) == expected  # type: ignore[arg-type]
