"""A rating and free-text feedback read from a reply to the feedback request.

After an event registrants are asked for a rating on the 1-5 scale and two
open questions (what was best, what to improve). People answer however they
like: "4,5", "4/5", "arvosana 4", "★★★★", "neljä ja puoli", often with a
greeting, their answers to the open questions and a full signature. A wrong
rating in the event's average is worse than none, so the rule is: record a
rating only when exactly one value on the scale is clearly meant, and
otherwise say why not (a reason code; the handler asks back politely).

How a number is judged, clause by clause (a clause ends at , ; ! ? ( ) or a
full stop):

* Never a rating: dates, clock times, years, phone numbers, addresses and
  legends ("5 = erinomainen"), and a number followed by a noun ("2 kertaa",
  "3 puhujaa") — it counts something.
* Clearly a rating (*strong*): stars; a number with a scale ("4/5", "4 av 5",
  "4 tähteä"); a number after a rating word ("arvosana", "betyg", "rating",
  "annan", "I'd give"); a number alone in its clause ("4,5", "Hyvä webinaari, 4");
  a number opening its line before an evaluative word ("4 Bra", "5 erinomainen!",
  "4 hyvä webinaari") and a half opening its line before words ("4,5 hyvä
  webinaari", "3,5 Bra men för kort") unless they measure ("1,5 tuntia").
* Perhaps a rating (*weak*): a bare number ending a clause in prose
  ("puhuja 5", "ehkä 4"), and an opening number before praise that may count
  ("4 great talks", "1 hyvä puhuja"). Weak numbers are never recorded; they make a strong
  one ambiguous ("antaisin 4 mutta puhuja 5") or, alone, ask back.

Inside the answers to the open questions only stars, a scale or a rating word
make a rating, and lines that hold nothing but a rating: the answers are prose
about the event, where a number is far more often a count than a score.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from mailer.parsing.written import is_greeting, written_lines

Status = Literal["ok", "clarify", "none"]
Section = Literal["body", "rating", "best", "improve"]

# Reason codes: the handler picks the reply template by these.
RATED = "rated"
NO_RATING = "no_rating"
OUT_OF_RANGE = "out_of_range"  # "6", "0", "45"
NOT_HALF = "not_half"  # "4.3", "4+": only whole and half points exist
RANGE = "range"  # "3-4"
SCALE = "scale"  # "8/10", "★★★★☆☆": another scale than 1-5
CONFLICT = "conflict"  # two different values: "4 tai 5"
UNCERTAIN = "uncertain"  # only a number that may be something else: "ehkä 4", "puhuja 5"

_LOWEST = Decimal(1)
_HIGHEST = Decimal(5)


@dataclass(frozen=True)
class RatingResult:
    """What a feedback reply says: the rating (or why there is none) and the free text."""

    rating: Decimal | None  # 1, 1.5, ... 5 when status is "ok"
    status: Status
    reason: str  # one of the reason codes above
    best: str  # the answer to "what was best?" when written separately, else ""
    improve: str  # the answer to "how would you improve it?" when written separately
    text: str  # all free text: the reply without greeting, closing and rating-only lines


# --- the request quoted back -------------------------------------------------

# "1-5" (with any dash), "(1-5)", "asteikolla 1-5", "on a scale of 1 to 5", "skalan 1 till 5".
_SCALE_MENTION = re.compile(
    r"\(?\s*(?:asteikolla\s+|(?:på\s+)?(?:en\s+)?skala(?:n)?\s+|(?:on\s+)?(?:a\s+)?scale\s+"
    r"(?:of\s+|from\s+)?)?(?<![\d.,/])1\s*(?:[-\u2013\u2014]|\.\.\.?|\u2026|\s+to\s+|\s+till\s+)"
    r"\s*5(?![\d]|[.,]\d)\s*\)?(?:\s*(?:asteikolla|skalan|scale))?",
    re.IGNORECASE,
)
# The prompt itself, left after the scale is taken out.
_PROMPT = re.compile(
    r"^\W*(?:anna\s+arvosana|ge\s+(?:ett\s+)?betyg|give\s+(?:a\s+)?rating|"
    r"arvosana|betyg|rating|arvioi\s+tilaisuus|rate\s+the\s+event)\W*$",
    re.IGNORECASE,
)
# "1 = heikko, 5 = erinomainen": a legend, never an answer.
_LEGEND = re.compile(r"(?<![\d.,])[0-9]\s*=\s*\S+")


def _without_prompt(line: str) -> str | None:
    """The line with the quoted scale taken out; None when only the prompt was left."""
    if not _SCALE_MENTION.search(line):
        return line
    rest = _SCALE_MENTION.sub(" ", line)
    if not rest.strip(" \t:.?!-*()") or _PROMPT.match(rest):
        return None
    return rest


# --- sections ------------------------------------------------------------------

_BEST_LABEL = (
    r"mikä\s+oli\s+parasta|parasta|vad\s+var\s+bäst|det\s+bästa|bästa|bäst"
    r"|what\s+was\s+(?:the\s+)?best|(?:the\s+)?best(?:\s+(?:part|thing))?"
    r"|hyvää|positiivista|plussaa|good|bra"
)
_IMPROVE_LABEL = (
    r"miten\s+kehittäisit(?:\s+tilaisuutta|\s+webinaaria|\s+seminaaria)?|kehitettävää"
    r"|kehitysehdotu(?:s|kset)|kehittämisehdotu(?:s|kset)|parannettavaa|parannusehdotu(?:s|kset)"
    r"|toiveet|toive|hur\s+skulle\s+du\s+utveckla(?:\s+det|\s+evenemanget)?|att\s+utveckla"
    r"|utveckla|förbättra|förbättringar|förbättringsförslag|utvecklingsförslag"
    r"|how\s+would\s+you\s+improve(?:\s+it)?|to\s+improve|improve|improvements?"
    r"|suggestions?|could\s+be\s+improved"
)
_RATING_LABEL = r"arvosana|arvosanani|betyg|mitt\s+betyg|rating|my\s+rating"
# A label ends in ":", "?" or a dash; what follows is the answer.
_LABEL = re.compile(
    rf"^(?:(?P<best>{_BEST_LABEL})|(?P<improve>{_IMPROVE_LABEL})|(?P<rating>{_RATING_LABEL}))"
    r"\s*(?:[:?]+|\s[-\u2013]\s)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
# Sentences that answer a question by their first words; kept whole.
_ANSWER_START = re.compile(
    r"^(?:(?P<best>parasta\s+oli|parasta\s+olivat|paras\s+(?:osuus|anti|asia)|bäst\s+var"
    r"|det\s+bästa\s+var|bästa\s+var|the\s+best\s+(?:part|thing)\s+was|best\s+was)"
    r"|(?P<improve>kehittäisin|kehitettävää\s+olisi|parannettavaa\s+olisi|jag\s+skulle\s+utveckla"
    r"|(?:i\s+)?would\s+improve|i'd\s+improve|next\s+time))\b",
    re.IGNORECASE,
)
# Bullets and Outlook's bold markers before a line's words.
_LEAD = re.compile(r"^[\s*_\-\u2022\u00b7\u2013]*")
_MARKER = re.compile(r"^(?P<n>[1-9])\s*(?:(?P<mark>\.)\s+|(?P<paren>\))\s*)(?P<rest>\S.*)$")


@dataclass
class _Line:
    text: str  # the line as written (prompt scale removed)
    section: Section
    content: str  # the line without its label or list number
    header_only: bool = False


def _label(line: str) -> tuple[Section, str] | None:
    """(section, content) when the line opens an answer: a label is cut, a sentence kept."""
    bare = _LEAD.sub("", line).replace("*", "").strip()
    match = _LABEL.match(bare)
    if match is not None:
        section: Section = (
            "best" if match.group("best") else "improve" if match.group("improve") else "rating"
        )
        return section, match.group("rest").strip()
    start = _ANSWER_START.match(bare)
    if start is not None:
        return ("best" if start.group("best") else "improve"), bare
    return None


def _list_markers(lines: list[str]) -> dict[int, tuple[int, str]]:
    """Line index -> (item number, content) for lines that number the answers.

    Lines numbered 1, 2, ... in order are a list. A single numbered line is a
    list item when it says so ("1) ...", "2. Parasta oli ..."); "4. Hyvä
    webinaari" stays as written, where its number is judged like any other.
    """
    found: dict[int, tuple[int, str, str]] = {}
    for index, line in enumerate(lines):
        match = _MARKER.match(_LEAD.sub("", line).strip())
        if match is not None:
            mark = match.group("mark") or match.group("paren")
            found[index] = (int(match.group("n")), match.group("rest"), mark)
    numbers = [n for n, _, _ in found.values()]
    is_list = len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1))
    return {
        i: (n, rest)
        for i, (n, rest, mark) in found.items()
        if is_list or mark == ")" or _label(rest) is not None
    }


def _layout(lines: list[str]) -> list[_Line]:
    """Every line with the section it answers; labels and list numbers stripped from content."""
    markers = _list_markers(lines)
    items = sorted(markers.items())
    first_is_rating = bool(items) and _rating_only(items[0][1][1])
    order: list[Section] = ["rating", "best", "improve"] if first_is_rating else ["best", "improve"]
    out: list[_Line] = []
    section: Section = "body"
    has_content = False
    for index, line in enumerate(lines):
        if not line.strip():
            if has_content and section != "body":
                section, has_content = "body", False
            out.append(_Line(line, "body", ""))
            continue
        content = line
        if index in markers:
            number, content = markers[index]
            section = order[number - 1] if number <= len(order) else "body"
            has_content = False
        label = _label(content)
        if label is not None:
            section, content = label
            has_content = False
        if not content.strip():
            out.append(_Line(line, section, "", header_only=True))
            continue
        out.append(_Line(line, section, content.strip()))
        has_content = True
    return out


# --- numbers -------------------------------------------------------------------

_MONTH_WORDS = (
    r"(?:tammi|helmi|maalis|huhti|touko|kesä|heinä|elo|syys|loka|marras|joulu)kuuta"
    r"|jan(?:uari|uary)?|feb(?:ruari|ruary)?|mar(?:s|ch)?|apr(?:il)?|maj|may|jun[ie]?|jul[iy]?"
    r"|aug(?:usti|ust)?|sep(?:t|tember)?|okt(?:ober)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_NEVER_RATINGS = re.compile(
    "|".join(
        [
            r"\S+@\S+|https?://\S+|www\.\S+",
            # phone numbers: +358 40 123 4567, 040-123 4567, 09 1234 5678
            r"(?<![\w.,])(?:\+|0)[\d\s()\-]{6,}\d",
            # dates
            r"(?<![\d.,])\d{1,2}\.\d{1,2}\.\d{2,4}(?![\d])",
            r"(?<![\d.,])\d{4}-\d{1,2}-\d{1,2}(?![\d])",
            r"(?<![\d.,])\d{1,2}/\d{1,2}/\d{2,4}(?![\d])",
            rf"(?<![\d.,])\d{{1,2}}\.?\s*(?:{_MONTH_WORDS})\b",
            rf"\b(?:{_MONTH_WORDS})\s+\d{{1,2}}(?![\d])",
            # times
            r"\b(?:klo|kello|kl)\.?\s*\d{1,2}(?:[.:]\d{2})?"
            r"(?:\s*[-\u2013\u2014]\s*\d{1,2}(?:[.:]\d{2})?)?(?![\d])",
            r"(?<![\d.,])\d{1,2}:\d{2}(?![\d])",
            r"(?<![\d.,])\d{1,2}(?:[.:]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)",
            # years, counts glued to a unit or a letter ("2x", "30 %", "5 €")
            r"(?<![\d.,])(?:19|20)\d{2}(?![\d]|[.,]\d)",
            r"(?<![\d.,])\d+(?:[.,]\d+)?\s*(?:%|€|e\b|kpl\b|km\b|krt\b|min\b|h\b)",
            r"(?<![\d.,])\d+[a-zåäö]+",
        ]
    ),
    re.IGNORECASE,
)
# "13.00", "9.30": a clock time unless the hour could be a rating ("4.30" asks back).
_DOT_TIME = re.compile(r"(?<![\d.,])(?P<h>\d{1,2})\.\d{2}(?![\d])")
_FIRST_RATING_HOUR = 6
# "11.2." without a year is a date; "4.5." is as likely a rating and a full stop.
_SHORT_DATE = re.compile(r"(?<![\d.,])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?!\d)")
# "2. kerran": an ordinal between two lower-case words.
_ORDINAL = re.compile(r"(?<=[a-zåäö] )\d{1,2}\.(?= [a-zåäö])")
_MASK = "\u00a7"

_WORD_VALUES: dict[str, int] = {
    "yksi": 1, "kaksi": 2, "kolme": 3, "neljä": 4, "nelja": 4, "viisi": 5,
    "ykkönen": 1, "kakkonen": 2, "kolmonen": 3, "nelonen": 4, "vitonen": 5,
    "ykkösen": 1, "kakkosen": 2, "kolmosen": 3, "nelosen": 4, "vitosen": 5,
    "två": 2, "tre": 3, "fyra": 4, "fem": 5, "etta": 1, "tvåa": 2, "trea": 3, "femma": 5,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
}  # fmt: skip
_WORD_ALTERNATION = "|".join(sorted(_WORD_VALUES, key=len, reverse=True))
_HALF = (
    r"\s*½|\s+1/2|\s+(?:ja\s+puoli|och\s+en\s+halv|och\s+ett\s+halvt|and\s+a\s+half"
    r"|komma\s+fem|pilkku\s+viisi|point\s+five)"
)
_DENOMINATOR = (
    r"\s*(?:/|av|out\s+of|of)\s*(?P<den>\d+(?:[.,]\d+)?)"
    r"|\s+(?P<den5>viidestä|av\s+fem|out\s+of\s+five|of\s+five)"
)
_EXPRESSION = re.compile(
    r"(?<![\w.,/\-\u2013])(?:"
    r"(?P<stars>[\u2605\u2b50\u272a\u272d]+)(?P<empty>[\u2606\u2729]*)(?P<shalf>½)?"
    r"|(?:(?P<num>\d+(?:[.,]\d+)?)(?P<half>" + _HALF + r")?"
    r"(?:\s*(?:[-\u2013\u2014]|\.\.|\s(?:to|till))\s*(?P<num2>\d+(?:[.,]\d+)?))?"
    r"(?P<sign>[+\-](?![\w\d]))?"
    r"|(?P<word>" + _WORD_ALTERNATION + r")(?P<whalf>" + _HALF + r")?)"
    r"(?:" + _DENOMINATOR + r")?"
    r")(?![\w])",
    re.IGNORECASE,
)
_ASTERISK_STARS = re.compile(r"^\s*(?P<stars>\*{1,9})\s*$")
_CLAUSE_END = re.compile(r"[,;!?()\[\]]|\.(?=\s|$)|\s[-\u2013\u2014]\s|\s\u2013|\s-$")
_WORD = re.compile(r"[a-zåäöé']+|" + _MASK)

# A rating word before the number anchors it; a noun anchors it even when more follows.
_NOUN_ANCHORS = (
    "arvosan", "arvio", "kokonaisarv", "yleisarv", "pistee", "pistei", "betyg", "helhetsbetyg",
    "poäng", "rating", "score", "grade", "overall", "kokonaisuu", "sammantaget", "totalt",
)  # fmt: skip
_VERB_ANCHORS = frozenset(
    {
        "annan", "antaisin", "annoin", "annamme", "antaisimme", "ger", "gav", "ge", "sätter",
        "satte", "give", "gave", "rate", "rated", "rates", "rating", "i'd",
    }
)  # fmt: skip
# Words after the number that say it is on a scale.
_SCALE_WORDS = frozenset(
    {
        "tähteä", "tähden", "tähti", "tähtee", "pistettä", "pisteen",
        "stjärnor", "stjärna", "poäng", "stars", "star", "points", "point", "pts",
    }
)  # fmt: skip
# Words after the number that end its clause as well as a comma would.
_CONJUNCTIONS = frozenset(
    {
        "ja", "tai", "mutta", "koska", "sillä", "kun", "eli", "siis", "kiitos", "och", "eller",
        "men", "eftersom", "för", "alltså", "tack", "and", "or", "but", "because", "since",
        "so", "thanks", "thank", "overall", "kokonaisuutena", "kokonaisuudessaan",
        "sammantaget", "totalt",
    }
)  # fmt: skip
# Words that may stand beside a rating without making it prose ("Anna: 4", "Kiitos, 4").
_FILLERS = frozenset(
    {
        "anna", "ge", "give", "ett", "a", "my", "is", "on", "är", "was", "oli", "var", "minun",
        "min", "mitt", "i", "jag", "annan", "antaisin", "kiitos", "tack", "thanks", "thank",
        "you", "siis", "eli", "so", "alltså", "ok", "okei", "yhteensä", "webinaarille",
        "tilaisuudelle", "seminaarille", "webinaarin", "arvosanaksi", "arvosanani",
        "arvosana", "arvosanan", "betyg", "betyget", "rating", "score", "overall", "it",
        "would", "i'd", "rate", "ger", "skulle", "kokonaisuutena", "täysi", "vahva", "solid",
    }
)  # fmt: skip


# A line may open with its rating and go on with the comment: "4 Bra", "5 erinomainen!",
# "4,5 hyvä webinaari". A whole number there is a rating only before one of these words
# (a count takes another form: "3 hyvää vinkkiä", "2 kertaa parempi").
_EVALUATIVE = frozenset(
    {
        "hyvä", "erinomainen", "loistava", "mahtava", "hieno", "kiva", "ok", "okei",
        "asiallinen", "hyödyllinen", "mielenkiintoinen", "upea", "mainio", "onnistunut",
        "antoisa", "informatiivinen", "bra", "jättebra", "utmärkt", "intressant", "lärorik",
        "lärorikt", "toppen", "givande", "nyttig", "nyttigt", "good", "great", "excellent",
        "nice", "useful", "interesting", "fine", "okay", "helpful", "informative", "brilliant",
        "superb", "awesome", "amazing",
    }
)  # fmt: skip
# Of those, the singular forms a count can never take after 2-5: "4 hyvä webinaari" is a
# rating and a comment, where "4 great talks" or "4 bra föreläsare" may count talks.
_SINGULAR_ONLY = frozenset(
    {
        "hyvä", "erinomainen", "loistava", "mahtava", "hieno", "kiva", "asiallinen",
        "hyödyllinen", "mielenkiintoinen", "upea", "mainio", "onnistunut", "antoisa",
        "informatiivinen", "utmärkt", "intressant", "lärorik", "lärorikt", "nyttig", "nyttigt",
    }
)  # fmt: skip
_INTENSIFIERS = frozenset(
    {
        "tosi", "todella", "erittäin", "oikein", "ihan", "varsin", "super", "mycket",
        "väldigt", "riktigt", "very", "really", "pretty", "quite",
    }
)  # fmt: skip
# A half followed by one of these measures something: "1,5 tuntia", "2.5 hours".
_MEASURES = (
    "tunt", "tunn", "minuut", "sekun", "päivä", "viiko", "viikk", "kuuk", "vuot", "vuod",
    "kert", "milj", "mrd", "tuhat", "tuhan", "euro", "eur", "prosen", "metr", "kilo", "litr",
    "henk", "hlö", "timm", "minut", "dag", "veck", "mån", "år", "gång", "tusen", "procent",
    "hour", "hr", "min", "day", "week", "month", "year", "time", "million", "billion",
    "thousand", "percent", "meter", "metre", "mile", "kg", "km",
)  # fmt: skip
_DECIMAL_HALF = re.compile(r"[1-5](?P<sep>[.,])5")


@dataclass(frozen=True)
class _Candidate:
    value: Decimal | None  # None when the expression is not a valid rating
    reason: str  # why it is not valid (a reason code); RATED when it is
    strong: bool


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def _checked(value: Decimal | None) -> tuple[Decimal | None, str]:
    if value is None:
        return None, NOT_HALF
    if not _LOWEST <= value <= _HIGHEST:
        return None, OUT_OF_RANGE
    if (value * 2) % 1:
        return None, NOT_HALF
    return Decimal(int(value * 2)) / 2, RATED


def _value(match: re.Match[str]) -> tuple[Decimal | None, str]:
    """The rating an expression states, or (None, reason) when it states none on the scale."""
    if match.group("stars"):
        filled, empty = len(match.group("stars")), len(match.group("empty") or "")
        if empty and filled + empty != _HIGHEST:
            return None, SCALE
        return _checked(Decimal(filled) + (Decimal("0.5") if match.group("shalf") else 0))
    den = match.group("den")
    if den is not None and _decimal(den) != _HIGHEST:
        return None, SCALE
    if match.group("word"):
        value = Decimal(_WORD_VALUES[match.group("word").casefold()])
        return _checked(value + (Decimal("0.5") if match.group("whalf") else 0))
    if match.group("num2"):
        return None, RANGE
    if match.group("sign"):
        return None, NOT_HALF
    number = _decimal(match.group("num"))
    if match.group("half"):
        if number is None or number % 1:
            return None, NOT_HALF
        number += Decimal("0.5")
    return _checked(number)


def _masked(line: str) -> str:
    """The line with everything that is never a rating replaced by a neutral mark."""

    def mask(match: re.Match[str]) -> str:
        return f" {_MASK} "

    def dot_time(match: re.Match[str]) -> str:
        return mask(match) if int(match.group("h")) >= _FIRST_RATING_HOUR else match.group(0)

    def short_date(match: re.Match[str]) -> str:
        day, month = int(match.group("d")), int(match.group("m"))
        # "4.5." (4th May, or 4.5 and a full stop) stays a number; it is judged
        # like any other, so in prose it can only ever ask back.
        return match.group(0) if month == 5 and day <= _HIGHEST else mask(match)

    line = _LEGEND.sub(mask, line)
    line = _NEVER_RATINGS.sub(mask, line)
    line = _SHORT_DATE.sub(short_date, line)
    line = _DOT_TIME.sub(dot_time, line)
    line = _ORDINAL.sub(mask, line)
    return line.casefold().replace("\ufe0f", "")


def _clause_before(shadow: str, start: int) -> str:
    ends = list(_CLAUSE_END.finditer(shadow, 0, start))
    return shadow[ends[-1].end() if ends else 0 : start]


def _clause_after(shadow: str, end: int) -> str:
    found = _CLAUSE_END.search(shadow, end)
    return shadow[end : found.start() if found else len(shadow)]


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _expressions(line: str) -> Iterator[tuple[re.Match[str], str]]:
    """Every number expression in the line with the line's shadow (expressions blanked)."""
    masked = _masked(line)
    matches = list(_EXPRESSION.finditer(masked))
    shadow = masked
    for match in matches:
        shadow = shadow[: match.start()] + "#" * len(match.group(0)) + shadow[match.end() :]
    for match in matches:
        yield match, shadow


def _rating_only(line: str) -> bool:
    """True when the line holds a rating and nothing else a person would call feedback."""
    if _ASTERISK_STARS.match(line):
        return True
    found = list(_expressions(line))
    if not found:
        return False
    shadow = found[0][1]
    return all(w in _FILLERS or w in _SCALE_WORDS for w in _words(shadow.replace("#", " ")))


_PARTS = re.compile(r"\s*(?:[,;]|\s[-\u2013\u2014]|[.!](?!\d))\s+")


def _prose(line: str) -> str:
    """The line without a rating clause at its start or end: "Arvosana 4, hyvä" -> "hyvä".

    Only a clause that says nothing but the rating goes, so the feedback kept
    for the report does not repeat the number the report already counts.
    """
    parts = _PARTS.split(line.strip())
    if len(parts) >= 2 and _rating_only(parts[0]):
        return line.strip()[len(parts[0]) :].lstrip(" ,;-\u2013\u2014.!")
    if len(parts) >= 2 and _rating_only(parts[-1].rstrip(".!")):
        cut = line.rstrip().rfind(parts[-1])
        return line[:cut].rstrip(" ,;-\u2013\u2014")
    return _after_opening_rating(line)


def _after_opening_rating(line: str) -> str:
    """The line without the rating it opens with: "4,5 hyvä webinaari" -> "hyvä webinaari".

    Only a valid rating read as such goes ("★★★★★ Erinomainen!", "4,5/5 Hyvä");
    "3 hyvää vinkkiä" and a number that asks back stay as written.
    """
    first = next(iter(_judged(line, in_answer=False)), None)
    if first is None:
        return line
    match, shadow, candidate = first
    if shadow[: match.start()].strip(" *_-\u2022\u00b7") or not candidate.strong:
        return line
    if candidate.value is None:
        return line
    # The shadow drops emoji variation selectors; walk the line to the expression's end.
    end, left = match.start(), len(match.group(0))
    while end < len(line) and (left or line[end] == "\ufe0f"):
        left -= line[end] != "\ufe0f"
        end += 1
    rest = line[end:].lstrip(" ,;:-\u2013\u2014.!\ufe0f")
    return rest if rest.strip() else line


def _candidates(line: str, in_answer: bool) -> Iterator[_Candidate]:
    stars = _ASTERISK_STARS.match(line)
    if stars is not None:
        value, reason = _checked(Decimal(len(stars.group("stars"))))
        yield _Candidate(value, reason, strong=True)
        return
    for _match, _shadow, candidate in _judged(line, in_answer):
        yield candidate


def _judged(line: str, in_answer: bool) -> Iterator[tuple[re.Match[str], str, _Candidate]]:
    """Each number expression of the line read as a rating, with its match and shadow."""
    whole_line = _rating_only(line)
    # "4. Hyvä webinaari": a list number as often as a rating.
    numbered = _MARKER.match(_LEAD.sub("", line).strip()) is not None
    for match, shadow in _expressions(line):
        value, reason = _value(match)
        before = _words(_clause_before(shadow, match.start()))
        after = _words(_clause_after(shadow, match.end()))
        first_after = after[0] if after else None
        noun = any(w.startswith(_NOUN_ANCHORS) for w in before)
        verb = any(w in _VERB_ANCHORS for w in before)
        counts = first_after is not None and first_after not in _CONJUNCTIONS
        scaled = bool(match.group("stars") or match.group("den") or match.group("den5"))
        scaled = scaled or first_after in _SCALE_WORDS
        if counts and not scaled and not noun:
            opening = not in_answer and not numbered and not before
            opening = opening and not shadow[: match.start()].strip(" *_-\u2022\u00b7")
            judged = _opening(match, value, after) if opening else None
            if judged is not None:
                yield match, shadow, _Candidate(value, reason, strong=judged)
            elif not in_answer and value is not None and _evaluative(after):
                # "4 hyvä 5 loistava": a number before praise is never taken as a count
                # beside an opening rating, so the two make the reply ask back.
                yield match, shadow, _Candidate(value, reason, strong=False)
            continue  # "2 kertaa", "annan 2 vinkkiä"
        alone = all(w in _FILLERS for w in before) and not counts
        if numbered and not shadow[: match.start()].strip(" *_-\u2022"):
            alone = False
        strong = scaled or noun or verb or (alone and not in_answer) or whole_line
        if strong:
            yield match, shadow, _Candidate(value, reason, strong=True)
        elif match.group("word") is None and value is not None and not in_answer:
            # Number words in prose ("the best one") are words; only digits may be weak.
            yield match, shadow, _Candidate(value, reason, strong=False)


def _evaluative(after: list[str]) -> list[str] | None:
    """The words after the evaluative word that follows a number, None when none follows."""
    words = list(after)
    while words and words[0] in _INTENSIFIERS:
        words.pop(0)
    if not words or words[0] not in _EVALUATIVE:
        return None
    return words


def _opening(match: re.Match[str], value: Decimal | None, after: list[str]) -> bool | None:
    """How a number opening its line before words is read: strong, weak or not a rating.

    "4 Bra", "5 erinomainen!", "4 hyvä webinaari", "3,5 Bra men för kort" and
    "4.5 great session" rate; "4 great talks" may count talks and asks back;
    "2 kertaa parempi", "3 hyvää vinkkiä" and "1,5 tuntia" count.
    """
    if value is None or match.group("num") is None:
        return None
    half = bool(match.group("half")) or _DECIMAL_HALF.fullmatch(match.group("num")) is not None
    praise = _evaluative(after)
    if praise is not None:
        rest = praise[1:]
        if not rest or rest[0] in _CONJUNCTIONS or half:
            return True
        return praise[0] in _SINGULAR_ONLY and value >= 2
    if not half or after[0].startswith(_MEASURES):
        return None
    # "4,5 webinaari oli hyvä" rates; "4.5 alkoi" may be the 4th of May.
    decimal = _DECIMAL_HALF.fullmatch(match.group("num"))
    return decimal is None or decimal.group("sep") == ","


def _decide(candidates: list[_Candidate]) -> tuple[Decimal | None, Status, str]:
    strong = [c for c in candidates if c.strong]
    weak = [c for c in candidates if not c.strong]
    if not strong:
        return (None, "clarify", UNCERTAIN) if weak else (None, "none", NO_RATING)
    invalid = next((c for c in strong if c.value is None), None)
    if invalid is not None:
        return None, "clarify", invalid.reason
    values = {c.value for c in candidates}
    if len(values) > 1:
        return None, "clarify", CONFLICT
    return strong[0].value, "ok", RATED


def _joined(lines: list[str]) -> str:
    """Lines joined, runs of blank lines squeezed to one, ends trimmed."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out).strip()


def parse_rating(text: str) -> RatingResult:
    """Read a feedback reply (``InboundMessage.new_text``): the rating and the free text."""
    lines: list[str] = []
    for line in written_lines(text):
        kept = _without_prompt(line)
        if kept is not None:
            lines.append(kept)
    candidates: list[_Candidate] = []
    kept_text: list[str] = []
    answers: dict[Section, list[str]] = {"best": [], "improve": []}
    for item in _layout(lines):
        if not item.content:
            if not item.header_only or item.section != "rating":
                kept_text.append(item.text)
            continue
        in_answer = item.section in ("best", "improve")
        candidates.extend(_candidates(item.content, in_answer))
        if _rating_only(item.content) or is_greeting(item.text):
            continue
        kept_text.append(_prose(item.text))
        if in_answer:
            answers[item.section].append(item.content)
    rating, status, reason = _decide(candidates)
    return RatingResult(
        rating=rating,
        status=status,
        reason=reason,
        best=_joined(answers["best"]),
        improve=_joined(answers["improve"]),
        text=_joined(kept_text),
    )
