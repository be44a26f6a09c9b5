"""Recognise the list's one-line commands in a subject or a mail's first line.

A command is the whole subject (after Re:/VS:/SV: prefixes) or the whole first
line of the new text, never a word inside a sentence: "Ohje" is a request for
help, "Onko teillä ohje kutsutaksin tilaamiseen?" is a question for the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailer.parsing.commands import normalise_word, without_courtesy
from mailer.routing.rules import RuleSet

SIMPLE = {
    "list.join": "join",
    "list.leave": "leave",
    "list.help": "help",
    "privacy.export": "export",
    "privacy.erase": "erase",
}
DELIVERY = {"each", "daily", "weekly", "none"}
LANGUAGES = ("fi", "sv", "en")


@dataclass(frozen=True)
class Command:
    name: str  # join | leave | help | export | erase | delivery | language
    argument: str = ""
    # the language of the word used: a one-word mail is answered in it
    language: str | None = field(default=None, compare=False)


def _candidates(subject: str, new_text: str) -> list[str]:
    first = next((line for line in new_text.splitlines() if line.strip()), "")
    return [c for c in (subject, first) if c.strip()]


def command_word(line: str, rules: RuleSet) -> str:
    """A subject or first line as a command: case, punctuation and "kiitos" / "please" aside."""
    return without_courtesy(normalise_word(line), rules.words("command.courtesy"))


def parse_command(subject: str, new_text: str, rules: RuleSet) -> Command | None:
    for candidate in _candidates(subject, new_text):
        word = command_word(candidate, rules)
        for keyword, name in SIMPLE.items():
            if word in rules.words(keyword):
                return Command(name, "", rules.language_of(keyword, word))
        for mode in DELIVERY:
            if word in rules.words(f"delivery.{mode}"):
                return Command("delivery", mode, rules.language_of(f"delivery.{mode}", word))
        head, _, rest = word.partition(" ")
        if head in rules.words("language.word"):
            for code in LANGUAGES:
                if rest.strip() in rules.words(f"language.{code}"):
                    return Command("language", code, code)
            return Command("language", "", rules.language_of("language.word", head))
    return None
