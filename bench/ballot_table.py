"""The ballot parse table: every sample reply with what it should give and what it gives.

Reads ``tests/parsing/samples/ballots.toml`` and runs ``parse_ballot`` on each
reply. A row is ``ok`` when the result is exactly the expected one; the
summary counts the rows and, separately, the wrong ballots: replies recorded
with choices other than the expected ones (asking back where a ballot was
expected is a miss, recording a wrong one is the failure that must never
happen).

    /work/venv/bin/python bench/ballot_table.py            # the whole table
    /work/venv/bin/python bench/ballot_table.py --misses   # only rows that differ
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

from mailer.parsing.ballots import BallotResult, parse_ballot

TABLE = Path(__file__).resolve().parent.parent / "tests" / "parsing" / "samples" / "ballots.toml"
TEXT_WIDTH = 58


def _expected(sample: dict[str, Any]) -> str:
    if "expect" in sample:
        return "ok " + ",".join(str(c) for c in sample["expect"])
    return f"ask {sample['clarify']}"


def _got(result: BallotResult) -> str:
    if result.status == "ok":
        return "ok " + ",".join(str(c) for c in result.choices)
    return f"ask {result.reason}"


def _shown(text: str) -> str:
    flat = text.strip().replace("\r", "").replace("\n", " / ")
    return flat if len(flat) <= TEXT_WIDTH else flat[: TEXT_WIDTH - 1] + "\u2026"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="print only rows that differ")
    args = parser.parse_args()
    data = tomllib.loads(TABLE.read_text(encoding="utf-8"))
    polls: dict[str, dict[str, Any]] = data["polls"]
    rows = matched = wrong = 0
    print(f"{'sample':<40} {'poll':<9} {'reply':<{TEXT_WIDTH}} {'expected':<20} {'got':<20}")
    for sample in data["ballot"]:
        poll = polls[sample["poll"]]
        result = parse_ballot(sample["text"], poll["options"], poll["max_choices"])
        expected, got = _expected(sample), _got(result)
        rows += 1
        matched += expected == got
        wrong += result.status == "ok" and expected != got
        if args.misses and expected == got:
            continue
        mark = "ok" if expected == got else "MISS"
        print(
            f"{sample['name']:<40} {sample['poll']:<9} {_shown(sample['text']):<{TEXT_WIDTH}} "
            f"{expected:<20} {got:<20} {mark}"
        )
    print(
        f"\n{rows} samples, {matched} as expected ({100 * matched / rows:.1f}%), "
        f"{wrong} wrong ballots recorded"
    )
    return 0 if matched == rows else 1


if __name__ == "__main__":
    sys.exit(main())
