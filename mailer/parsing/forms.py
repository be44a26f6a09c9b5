"""The coordinator's event and poll forms: ``Key: value`` lines typed in a mail client.

The coordinator creates an event or a poll by mailing a short form, in
whichever language she writes, from Outlook: keys come in any case, with
bullets, with Outlook's bold markers (``*Otsikko:*``) when the HTML is turned
into text, a description runs over several lines, and poll options are given
one ``Vaihtoehto:`` line each or as a numbered list, and an advance survey's
questions one ``Kysymys:`` line each or as a numbered list. This module only reads
the form into named values; the handler validates them (required fields,
dates via ``dates``) and shows a preview, so nothing read wrongly here is
broadcast unseen. Lines that belong to no field are returned, not dropped,
so the preview can show them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from mailer.parsing.written import is_greeting, written_lines

# Canonical field name -> the keys that mean it, in fi / sv / en.
EVENT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "title": (
        "otsikko", "nimi", "aihe", "tapahtuma", "rubrik", "titel", "namn", "ämne", "evenemang",
        "title", "name", "topic", "event",
    ),
    "time": (
        "aika", "ajankohta", "päivä ja aika", "tid", "tidpunkt", "datum och tid", "time",
        "when", "date and time",
    ),
    "duration": ("kesto", "pituus", "längd", "varaktighet", "duration", "length"),
    "place": (
        "paikka", "sijainti", "osoite", "plats", "adress", "place", "location", "venue",
        "address",
    ),
    "link": (
        "linkki", "teams-linkki", "liittymislinkki", "kokouslinkki", "länk", "möteslänk",
        "teams-länk", "link", "meeting link", "join link", "teams link", "url",
    ),
    "description": (
        "kuvaus", "lisätiedot", "ohjelma", "beskrivning", "mer information", "program",
        "description", "details", "programme", "agenda",
    ),
    "capacity": (
        "paikkoja", "paikkamäärä", "osallistujia enintään", "enintään osallistujia",
        "platser", "antal platser", "max deltagare", "capacity", "seats", "places",
        "max participants",
    ),
    "question": (
        "kysymys", "lisäkysymys", "kysymys ilmoittautujille", "fråga", "tilläggsfråga",
        "question", "extra question", "question for registrants",
    ),
}  # fmt: skip
POLL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "title": ("otsikko", "rubrik", "titel", "title"),
    "question": ("kysymys", "fråga", "question"),
    "description": ("kuvaus", "lisätiedot", "beskrivning", "description", "details"),
    "option": (
        "vaihtoehto", "vaihtoehdot", "alternativ", "alternativen", "option", "options",
        "choice",
    ),
    "max_choices": (
        "valintoja enintään", "enintään valintoja", "valintoja", "valintojen määrä",
        "högst val", "max val", "antal val", "max antal val", "max choices",
        "maximum choices", "choices allowed",
    ),
    "closes": (
        "päättyy", "sulkeutuu", "vastausaika", "vastaa viimeistään", "viimeinen vastauspäivä",
        "äänestys päättyy", "stänger", "sista dag", "sista svarsdag", "svara senast",
        "closes", "deadline", "ends", "closing",
    ),
}  # fmt: skip
# An advance survey: free-text questions instead of options. "Kysymys:" is given
# once per question; one "Kysymys:" above a numbered list is the survey's heading
# (``survey_questions``).
SURVEY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "title": POLL_FIELDS["title"],
    "question": POLL_FIELDS["question"],
    "questions": ("kysymykset", "frågor", "frågorna", "questions"),
    "description": POLL_FIELDS["description"],
    "closes": POLL_FIELDS["closes"],
}
# A numbered list fills "questions" unless it follows an empty "Kysymys:".
SURVEY_REPEATED: tuple[str, ...] = ("questions", "question")
# The coordinator's wording of a shared answer (``JULKAISE``): the question and the
# answer run over several lines each.
SHARED_ANSWER_FIELDS: Mapping[str, tuple[str, ...]] = {
    "title": ("otsikko", "rubrik", "titel", "title"),
    "question": ("kysymys", "fråga", "question"),
    "answer": ("vastaus", "svar", "answer"),
}
SHARED_ANSWER_MULTILINE: frozenset[str] = frozenset({"question", "answer"})
# Fields whose value may run over the following lines, up to the next key.
MULTILINE: frozenset[str] = frozenset({"description"})
# Fields given once per item; a numbered or bulleted list fills the first of them.
REPEATED: tuple[str, ...] = ("option",)


@dataclass(frozen=True)
class FormResult:
    """The form as read: single values, repeated values, and what fitted nowhere."""

    values: dict[str, str] = field(default_factory=dict)  # canonical name -> value
    lists: dict[str, list[str]] = field(default_factory=dict)  # repeated field -> items
    unknown_lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "duplicate:<name>", "empty:<name>"


# Bullets, and the bold markers Outlook's plain text puts around a word.
_LEAD = re.compile(r"^[\s\-\u2022\u00b7\u2013\u25aa\u25cf]*(?:\*(?=\S)|\s)*")
_KEY_LINE = re.compile(r"^(?P<key>[^\W\d_][^:]{0,48}?)\s*:(?!//)\s*(?P<value>.*)$")
_KEY_NOISE = re.compile(r"[*_]")
_KEY_TAIL = re.compile(r"\s*(?:\([^)]*\)|\d+|#\d+)\s*$")
_LIST_ITEM = re.compile(
    r"^\s*(?:\(?\d{1,2}\s*[.)]|\(?[a-hA-H]\)|[\-\u2022\u00b7\u2013\u25aa\u25cf*])\s+(?P<item>\S.*)$"
)


def _key_lookup(fields: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {word.casefold(): name for name, words in fields.items() for word in words}


def _key(text: str) -> str:
    key = " ".join(_KEY_NOISE.sub(" ", text).casefold().split())
    return _KEY_TAIL.sub("", key)


def _value(text: str) -> str:
    return text.strip().strip("*_").strip()


def _key_line(line: str, lookup: Mapping[str, str]) -> tuple[str, str] | None:
    """(field name, value) when ``line`` is one of the form's ``Key: value`` lines."""
    match = _KEY_LINE.match(_LEAD.sub("", line).strip())
    name = lookup.get(_key(match.group("key"))) if match is not None else None
    return None if match is None or name is None else (name, _value(match.group("value")))


class _Reader:
    """Line-by-line state: which field the lines now belong to."""

    def __init__(
        self,
        fields: Mapping[str, Sequence[str]],
        multiline: Collection[str],
        repeated: Collection[str],
    ) -> None:
        self.lookup = _key_lookup(fields)
        self.multiline = multiline
        self.repeated = repeated
        self.list_field = next((f for f in repeated if f in fields), None)
        self.values: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.unknown: list[str] = []
        self.errors: list[str] = []
        self.current: str | None = None
        self.heading: str | None = None  # a repeated field whose key line had no value
        self.awaiting = False  # the heading's value may come on the next line (HTML cells)
        self.started = False

    def key(self, name: str, value: str) -> None:
        self.started = True
        self.current = name
        self.heading = None
        if name in self.repeated:
            items = self.lists.setdefault(name, [])
            if value:
                items.append(value)
            else:
                self.heading, self.awaiting = name, True
        elif name in self.values:
            self.errors.append(f"duplicate:{name}")
            self.current = None
        else:
            self.values[name] = value

    def list_item(self, item: str) -> bool:
        """Take a numbered/bulleted line as an option when one can follow here."""
        if self.list_field is None or self.current in self.multiline or self.current is None:
            return False
        if self.current != self.list_field and self.values.get(self.current) == "":
            return False  # "Otsikko:" with its value on the next line
        target = self.heading or self.list_field  # "Kysymys:" above a list takes it
        self.awaiting = False
        self.lists.setdefault(target, []).append(item)
        self.current = target
        return True

    def other(self, line: str) -> None:
        current = self.current
        if current in self.multiline and current is not None:
            self.values[current] = f"{self.values[current]}\n{line}".strip("\n")
        elif current is not None and self.values.get(current) == "":
            self.values[current] = _value(line)  # HTML cells put the value on its own line
        elif current is not None and current == self.heading and self.awaiting:
            self.lists[current].append(_value(line))
            self.awaiting = False
        elif not (not self.started and is_greeting(line)):
            self.unknown.append(line)

    def blank(self) -> None:
        if self.current in self.multiline and self.current is not None:
            self.values[self.current] += "\n"

    def result(self) -> FormResult:
        values = {k: re.sub(r"\n{3,}", "\n\n", v).strip() for k, v in self.values.items()}
        errors = list(self.errors)
        errors += [f"empty:{name}" for name, value in values.items() if not value]
        errors += [f"empty:{name}" for name, items in self.lists.items() if not items]
        return FormResult(values, dict(self.lists), list(self.unknown), errors)


def parse_form(
    text: str,
    fields: Mapping[str, Sequence[str]],
    *,
    multiline: Collection[str] = MULTILINE,
    repeated: Collection[str] = REPEATED,
) -> FormResult:
    """Read a form (``new_text`` of the coordinator's mail) against a field table.

    ``fields`` maps canonical names to their keys (``EVENT_FIELDS``,
    ``POLL_FIELDS``); keys match whole, case-insensitively, with a trailing
    number ("Vaihtoehto 2:") or parenthesis ("Kesto (min):") ignored.
    """
    reader = _Reader(fields, multiline, repeated)
    for line in written_lines(text):
        if not line.strip():
            reader.blank()
            continue
        field_value = _key_line(line, reader.lookup)
        if field_value is not None:
            reader.key(*field_value)
            continue
        item = _LIST_ITEM.match(line)
        if item is not None and reader.list_item(_value(item.group("item"))):
            continue
        reader.other(line.strip())
    return reader.result()


def survey_questions(form: FormResult) -> tuple[str, list[str]]:
    """(the survey's heading, its questions) from a form read with ``SURVEY_FIELDS``.

    Several "Kysymys:" lines are the questions; one above a numbered list is the
    heading the list's questions come under (an empty heading: the caller uses
    the title).
    """
    asked = form.lists.get("question", [])
    listed = form.lists.get("questions", [])
    if listed and len(asked) == 1:
        return asked[0], listed
    return "", [*asked, *listed]


def split_at_form(text: str, fields: Mapping[str, Sequence[str]]) -> tuple[str, str]:
    """(the text above the form's first key line, the form from that line on).

    A reply may carry a message and a form at once (an answer to the asker, then
    the shared answer's ``Kysymys:`` / ``Vastaus:``): the form is never relayed.
    """
    lookup = _key_lookup(fields)
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _key_line(line, lookup)), len(lines))
    return "\n".join(lines[:start]).rstrip(), "\n".join(lines[start:]).strip("\n")
