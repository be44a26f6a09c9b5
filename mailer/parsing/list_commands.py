"""Recognise the list's one-line commands in a subject or a mail's first line.

A command is the whole subject (after Re:/VS:/SV: prefixes) or the whole first
line of the new text, never a word inside a sentence: "Ohje" is a request for
help, "Onko teillä ohje kutsutaksin tilaamiseen?" is a question for the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailer.parsing.commands import normalise_word, phrase_pattern, without_courtesy
from mailer.parsing.written import is_greeting, written_lines
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
# Mailman's "administrivia" bound: a mail to the list with more of the writer's
# own words than this is a post, whatever its first line or a sentence in it says.
SHORT_MAIL_WORDS = 30
SUBJECT_ONLY_WORDS = 5  # a command in the subject alone: over a signature at most
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'"})


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


def _own_text(new_text: str) -> str:
    """The writer's words: quote, greeting and closing aside (the signature counts, it is short)."""
    return " ".join(line for line in written_lines(new_text) if not is_greeting(line))


def is_short(new_text: str) -> bool:
    return len(_own_text(new_text).split()) <= SHORT_MAIL_WORDS


def list_command(subject: str, new_text: str, rules: RuleSet) -> Command | None:
    """A command mailed to the list address: only when the mail says little besides it.

    "Eroa" above a quoted post is a request to leave; a post titled "Ohje" with
    a sentence under it shares a guide and goes to the list: a command in the
    subject alone counts only over a name or a signature.
    """
    command = parse_command(subject, new_text, rules)
    if command is None or not is_short(new_text):
        return None
    if parse_command("", new_text, rules) is None and (
        len(_own_text(new_text).split()) > SUBJECT_ONLY_WORDS
    ):
        return None  # "Ohje" over a sentence or two is a post that shares a guide
    return command


def leave_request(subject: str, new_text: str, rules: RuleSet) -> str | None:
    """The words, when a mail to the list asks to be taken off it rather than to be read.

    "Poistakaa minut tältä listalta, kiitos." is not a one-line command, but
    broadcasting it to every member is what a list must never do (Mailman's
    administrivia check); a longer post that quotes such a sentence is a post.
    A leave command over a long mail is either, so it is not broadcast either.
    """
    command = parse_command(subject, new_text, rules)
    if command is not None and command.name == "leave":
        leave = rules.words("list.leave")
        return next(c for c in _candidates(subject, new_text) if command_word(c, rules) in leave)
    if not is_short(new_text):
        return None
    own = f"{subject}\n{_own_text(new_text)}"
    text = " ".join(own.translate(_APOSTROPHES).casefold().split())
    found = phrase_pattern(rules.words("list.leave_phrases")).search(text)
    return found.group(0) if found else None
