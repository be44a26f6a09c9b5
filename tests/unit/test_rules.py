"""Loading rules/*.toml: the shipped rules load, bad rules fail with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.config import project_root
from mailer.errors import RulesError
from mailer.matchers import MATCHERS
from mailer.routing.rules import AddressPattern, load_rules

KNOWN = set(MATCHERS)


def test_shipped_rules_load() -> None:
    """Every shipped rules file and keyword list loads."""
    rules = load_rules(project_root() / "rules", "verkosto", "example.test", KNOWN)
    assert "inbound" in rules.chains
    assert "sulje" in rules.words("ticket.close")
    assert "stäng" in rules.words("ticket.close")


def test_address_pattern_captures_token() -> None:
    """{local}+r-{token}@{domain} captures the token, for the network's own address only."""
    pattern = AddressPattern.compile("{local}+r-{token}@{domain}", "verkosto", "example.test")
    match = pattern.regex.match("verkosto+r-t12-abcdefghij@example.test")
    assert match is not None and match.group("token") == "t12-abcdefghij"
    assert pattern.regex.match("other+r-t12-abcdefghij@example.test") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[[link]]\naction = "explode"\n', "action must be"),
        ('[[link]]\nrule = "no-such-rule"\naction = "file"\nreason = "x"\n', "unknown rule"),
        ('[[link]]\naction = "handle"\n', "needs a handler"),
        ('[[link]]\nrule = "bounce"\naction = "file"\nreason = "x"\n', "unconditional"),
        ('[[link]]\naction = "jump"\nchain = "nowhere"\n', "unknown chain"),
        ('[[link]]\naction = "file"\nreason = "x"\ncolour = "red"\n', "unknown key"),
        ("[[link\n", "not valid TOML"),
    ],
)
def test_bad_rules_are_refused(tmp_path: Path, text: str, error: str) -> None:
    """A malformed rules file fails at load with the file, link and reason."""
    (tmp_path / "inbound.toml").write_text(text)
    with pytest.raises(RulesError, match=error):
        load_rules(tmp_path, "verkosto", "example.test", KNOWN)
