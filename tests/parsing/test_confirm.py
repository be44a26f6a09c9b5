"""Replies to a confirmation request: a clear yes or a neutral reply confirms, a clear no
cancels, anything that could be either is asked back."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mailer.config import project_root
from mailer.inbound.message import parse_message
from mailer.matchers import MATCHERS
from mailer.parsing.confirm import read_confirmation
from mailer.routing.rules import load_rules

RULES = load_rules(project_root() / "rules", "verkosto", "example.test", set(MATCHERS))
SAMPLES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parent / "samples" / "confirm.toml").read_text(encoding="utf-8")
)["sample"]


def _new_text(sample: dict[str, Any]) -> str:
    if "mail" not in sample:
        return str(sample["text"])
    raw = sample["mail"].lstrip("\n").replace("\n", "\r\n").encode()
    return parse_message(raw).new_text


def test_there_are_enough_samples() -> None:
    """Every answer in every language, and whole mails from several clients."""
    for language in ("fi_", "sv_", "en_"):
        mine = [s for s in SAMPLES if s["name"].startswith(language)]
        assert {s["answer"] for s in mine} == {"yes", "no", "unclear"}
    assert sum("mail" in s for s in SAMPLES) >= 6


@pytest.mark.parametrize("sample", [pytest.param(s, id=s["name"]) for s in SAMPLES])
def test_sample(sample: dict[str, Any]) -> None:
    """Each reply reads as the answer its writer meant."""
    assert read_confirmation(_new_text(sample), RULES) == sample["answer"]
