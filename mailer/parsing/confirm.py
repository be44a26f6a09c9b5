"""Is a reply to a confirmation request (a join, an erasure) a yes, a no, or unclear?

Double opt-in only needs proof that the address's owner answered, so an empty
or neutral reply ("Kiitos!", a signature) confirms. But a person who writes
"Ei kiitos, en pyytänyt tätä" must never end up subscribed, so a clear no
cancels, and a reply that hedges, contradicts itself or only asks something
("Mikä lista tämä on?") is asked back instead of guessed.

The words come from ``rules/keywords.toml``: ``confirm.yes`` / ``confirm.no``
are answers that count only as a clause of their own ("Ei kiitos", "Ja!"), since
Finnish "en", "ei" and Swedish "en", "ja" mean other things inside a sentence;
``confirm.yes_phrases``, ``confirm.no_phrases`` and ``confirm.unsure`` count
anywhere in a clause ("…en pyytänyt tätä", "I didn't ask for this").
"""

from __future__ import annotations

import re
from typing import Literal

from mailer.parsing.commands import phrase_pattern, without_courtesy
from mailer.parsing.written import written_lines
from mailer.routing.rules import RuleSet

Answer = Literal["yes", "no", "unclear"]

_CLAUSE = re.compile(r"[^,;.!?\n]+[,;.!?]*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'"})
_PUNCTUATION = " \t.,;:!?-*_()\"'\u2013\u2014"


def _signals(clause: str, rules: RuleSet) -> set[str]:
    text = clause.translate(_APOSTROPHES).casefold().strip()
    if text.endswith("?"):
        return {"asked"}
    found: set[str] = set()
    for signal in ("unsure", "yes_phrases", "no_phrases"):
        if phrase_pattern(rules.words(f"confirm.{signal}")).search(text):
            found.add(signal.removesuffix("_phrases"))
    bare = without_courtesy(text.strip(_PUNCTUATION), rules.words("command.courtesy"))
    if bare in rules.words("confirm.yes"):
        found.add("yes")
    elif bare == "no":
        found.add("bare-no")  # English "no", or Finnish "well" before a yes ("No, kyllä")
    elif bare in rules.words("confirm.no"):
        found.add("no")
    return found


def read_confirmation(text: str, rules: RuleSet) -> Answer:
    """What the writer's own lines (``new_text``) say to "please confirm"."""
    found: set[str] = set()
    for line in written_lines(text):
        for clause in _CLAUSE.findall(line):
            found |= _signals(clause, rules)
    if "unsure" in found or ("yes" in found and "no" in found):
        return "unclear"
    if "yes" in found:
        return "yes"
    if "no" in found or "bare-no" in found:
        return "no"
    return "unclear" if "asked" in found else "yes"
