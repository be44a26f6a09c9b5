"""Take the asker out of a question and its answer before the whole list reads them.

A shared answer goes to every member, so the asker's name, address,
municipality, phone numbers and signature must not go with it. The text is
read the way ``written_lines`` reads a short reply: quoted history, client
header blocks and mobile footers off (``reply_text``), then the greeting line
and everything from the closing down ("Ystävällisin terveisin / Matti
Meikäläinen / liikennesuunnittelija / puh. …"), and a trailing signature block
that has no closing. What is left has addresses, phone numbers, and the
asker's name and organisation (with the Finnish case endings most names take)
replaced by marks written in the text's language.

It is a careful best effort, not a guarantee: the coordinator sees the result
in a preview and can rewrite it before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.inbound.reply_text import strip_quoted, strip_signature
from mailer.parsing.written import is_greeting, written_lines


@dataclass(frozen=True)
class Asker:
    """Who must not be recognisable: as the roster (or the mail) names them."""

    name: str
    email: str
    organisation: str


@dataclass(frozen=True)
class Marks:
    """What stands where something was removed, in the text's language ("[nimi]")."""

    name: str
    organisation: str
    email: str
    phone: str


_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Finnish and international numbers: "040 123 4567", "+358 40 123 4567", "(09) 310 1234",
# "040-1234567"; a date ("01.02.2027") or a sum ("0,5 M€") breaks at its dot or comma,
# and "2 000 000" never starts like a number one dials.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}|\(0\d{0,3}\)|0[1-9])[\d ()/\-\u00a0]{4,20}\d(?!\w)")
_PHONE_DIGITS = range(7, 16)
_GREETING_WORDS_MAX = 4
# A signature line: short, not a sentence (no ending punctuation but an abbreviation's).
_SIGNATURE_LINE_MAX = 60
_SIGNATURE_LINES_MAX = 6
_SENTENCE_END = (".", "?", "!", ":")
_WORD = re.compile(r"[^\W\d_][\w\-']*")
# The last words of Finnish place names, and what every case form of them keeps:
# the first word of such a compound inflects too ("Uusikaupunki", "Uudessakaupungissa").
_PLACE_HEADS = {
    "kaupunki": "kaupun", "kunta": "kun", "kyrö": "kyrö", "joki": "jo", "järvi": "järv",
    "maa": "maa", "mäki": "mä", "koski": "kos", "salmi": "salm", "lahti": "lah",
    "niemi": "niem", "saari": "saar", "linna": "linn", "vesi": "ve", "ranta": "ran",
}  # fmt: skip


def _stem(word: str, inflects: bool) -> str:
    """The part of a name its Finnish case forms keep ("Meikäläinen" -> "Meikäläi-sen")."""
    if not inflects or len(word) <= 4:
        return word
    if word.lower().endswith("nen") and len(word) >= 7:
        return word[:-3]
    return word[:-2] if len(word) >= 7 else word[:-1]


def _part(word: str, inflects: bool) -> str:
    """A pattern for one word of a name; words of up to three letters only as themselves."""
    if len(word) <= 3:
        return rf"(?<![\w@]){re.escape(word)}(?![\w@])"
    return rf"(?<![\w@]){re.escape(_stem(word, inflects))}[\w\-]*"


def _compound(word: str) -> str | None:
    """A pattern for a compound place name in any case: "Uu…kaupun…", "Is…kyrö…"."""
    head = next((h for h in _PLACE_HEADS if word.lower().endswith(h)), None)
    first = word[: -len(head)] if head else ""
    if head is None or len(first) < 2:
        return None
    stem = first[:2] if len(first) <= 4 else first[:-2]
    return rf"(?<![\w@]){re.escape(stem)}[\w\-]{{0,5}}{_PLACE_HEADS[head]}[\w\-]*"


def _capitalised(words: Iterable[str]) -> list[str]:
    return [w[0].upper() + w[1:] for w in words]


def _name_patterns(asker: Asker) -> list[re.Pattern[str]]:
    """The whole name first, then each part as written in a sentence (capitalised).

    Without a name on file, an address of the form "liisa.laine@" is one.
    """
    words = _WORD.findall(asker.name)
    if not words:
        local = [w for w in re.split(r"[._\-+\d]+", asker.email.split("@")[0]) if len(w) >= 3]
        words = local if len(local) >= 2 else []
    words = _capitalised(words)
    patterns = []
    if len(words) > 1:
        phrase = r"\s+".join(_part(w, True) for w in words)
        patterns.append(re.compile(phrase, re.IGNORECASE))
    patterns += [re.compile(_part(w, True)) for w in words if len(w) >= 2]
    return patterns


def _organisation_patterns(asker: Asker) -> list[re.Pattern[str]]:
    """Each name of the organisation ("Pietarsaari/Jakobstad"), whole, then its proper nouns.

    Only the last word of a name inflects ("Esimerkin kaupungin", "Akaassa"); the
    words before it stay as written, so "Esimerkiksi" is not taken for "Esimerkin".
    """
    patterns = []
    for name in re.split(r"[/,;()]", asker.organisation):
        words = _WORD.findall(name)
        if not words:
            continue
        last = len(words) - 1
        phrase = r"\s+".join(_part(w, i == last) for i, w in enumerate(words))
        patterns.append(re.compile(phrase, re.IGNORECASE))
        patterns += [re.compile(_part(w, i == last)) for i, w in enumerate(words) if w[0].isupper()]
        compound = _compound(words[last]) if words[last][0].isupper() else None
        if compound is not None:
            patterns.append(re.compile(compound))
    return patterns


def _phone(match: re.Match[str], mark: str) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return mark if digits in _PHONE_DIGITS else match.group(0)


def _is_signature_line(line: str) -> bool:
    text = line.strip()
    return 0 < len(text) <= _SIGNATURE_LINE_MAX and not text.endswith(_SENTENCE_END)


def _without_greeting(lines: list[str]) -> list[str]:
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    line = lines[first]
    if is_greeting(line) and len(line.split()) <= _GREETING_WORDS_MAX:
        return lines[first + 1 :]
    return lines


def _without_signature(lines: list[str], personal: list[re.Pattern[str]]) -> list[str]:
    """Drop trailing blocks of signature-like lines that name the asker or hold a number.

    People sign without a closing ("Matti Meikäläinen / liikennesuunnittelija / puh.
    040 …"), sometimes in two blocks with a blank line between; a last line that is
    a sentence, or a block naming nobody, stays.
    """
    end = len(lines)
    while True:
        while end and not lines[end - 1].strip():
            end -= 1
        start = end
        while (
            start
            and end - start < _SIGNATURE_LINES_MAX
            and lines[start - 1].strip()
            and _is_signature_line(lines[start - 1])
        ):
            start -= 1
        block = "\n".join(lines[start:end])
        # a text that is all signature-like lines is the message itself
        if start == 0 or start == end or not any(p.search(block) for p in personal):
            return lines[:end]
        end = start


def _mark(text: str, patterns: list[re.Pattern[str]], mark: str) -> str:
    """Replace every match by ``mark``; "[nimi] [nimi]" (first and last name) becomes one."""
    for pattern in patterns:
        text = pattern.sub(lambda _: mark, text)
    return re.sub(rf"{re.escape(mark)}(?:\s+{re.escape(mark)})+", lambda _: mark, text)


def _squeeze(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip()


def anonymise(text: str, asker: Asker, marks: Marks) -> str:
    """``text`` without the asker's history, greeting, signature and personal details."""
    names = _name_patterns(asker)
    organisations = _organisation_patterns(asker)
    personal = [_EMAIL, _PHONE, *names, *organisations]
    lines = written_lines(strip_signature(strip_quoted(text)))
    lines = _without_signature(_without_greeting(lines), personal)
    result = "\n".join(lines)
    result = _EMAIL.sub(marks.email, result)
    result = _PHONE.sub(lambda m: _phone(m, marks.phone), result)
    result = _squeeze(_mark(_mark(result, names, marks.name), organisations, marks.organisation))
    # "Hei,\n\nmeillä on …": without its greeting, the text starts a sentence
    return result[:1].upper() + result[1:]
