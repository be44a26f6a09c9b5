"""The flood limit's ``CONFIRMATIONS`` name kinds the handlers really send.

Several handlers build the kind from a template's name ("events/already_registered"
becomes "event-already-registered"); a kind renamed on one side only would turn a
confirmation into a rationed reply without any other test failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.handlers.context import CONFIRMATIONS

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "\n".join(
    path.read_text(encoding="utf-8")
    for path in (ROOT / "mailer").rglob("*.py")
    if path.name != "context.py"
)
# kind prefix -> the template folder whose names a handler turns into kinds
FOLDERS = {"event": "events", "list": "list", "privacy": "privacy"}


@pytest.mark.parametrize("kind", sorted(CONFIRMATIONS))
def test_each_confirmation_is_a_kind_that_is_sent(kind: str) -> None:
    prefix, _, rest = kind.partition("-")
    template = ROOT / "templates" / "fi" / FOLDERS.get(prefix, prefix) / f"{rest}.txt.j2"
    from_template = template.with_name(template.name.replace("-", "_")).exists()
    assert f'"{kind}"' in SOURCE or from_template, f"no handler sends {kind!r}"
