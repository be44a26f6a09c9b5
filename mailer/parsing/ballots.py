"""Which options a member chose, read from their reply to a ballot.

The ballot mail lists the options numbered 1..N and asks for the choices by
number. People answer however they like, in Finnish, Swedish or English
whatever their own language: "2 ja 4", "#2", "Nro 3", "Kakkonen 👍", "Jag röstar
på 3", "I'd vote for 2 and 5", the option's own words ("tilastot",
"koulukuljetuksista"), or a letter for its place in the list ("B", "b ja d",
"Vaihtoehto B"): many think of a list as A, B, C whatever it is numbered with.
A wrong ballot in the result is worse than a question back, so the rule is:
record choices only when every choice is clearly meant and nothing in the reply
speaks against it; otherwise return a reason code and record nothing (the
handler asks back in the member's language).

How a reply is read:

* What the writer did not write never counts: ``>`` lines, the quoted history
  and footers (``strip_quoted`` / ``strip_signature``, so a caller may pass a
  whole reply), everything from a closing ("Terveisin", "Med vänlig hälsning",
  "Best regards") on, a last paragraph with contact details (cut from its
  first name-like or contact line: "Sari Nieminen / Riihimäen kaupunki |
  Eteläinen Asemakatu 2"), and the ballot's own option list when it is pasted
  back whole. An option line copied from the ballot ("2. Kutsutaksit ja
  asiointiliikenne") is a choice only when nothing else in the reply is.
* Numbers that are something else are set aside first: dates ("11.2.",
  "27.11.2026"), times, years, phone numbers, postcodes with the town, street
  addresses, counts with a unit ("2 h", "3 henkilöä"), limits ("enintään 2"),
  the ballot's example ("esim. 2 ja 4"). A range or pair ("1-3", "2/4") cannot
  be read and asks back.
* The text is cut into clauses: sentences, then at "mutta", "koska", "but",
  parentheses, and a comma that does not continue a list. In a clause a list
  of choices ("2 ja 4", "kakkosta ja nelosta", "B och D") counts when it is
  clearly a vote: alone in its clause ("2!", "2 ja 4 kiitos"), after an option
  word ("vaihtoehto 2", "alternativ 1 och 4", "option B"), next to a voting
  word ("äänestän", "jag röstar på", "I'd vote for", "kiinnostaa"), or a digit
  or an option's words before an evaluation ("2 on hyvä"). A digit or a
  numeral word ("kakkonen", "tvåan") anywhere else asks back: "meitä on 2",
  "kohta 3 oli epäselvä" may be a count or a vote. Ordinals, cardinal words
  and letters ("toinen", "andra", "first", "kaksi", "a") are everyday words
  ("toinen asia", "andra är bra", "jos vain yksi"), so outside a clear vote
  they are not read; see ``_lists`` for the exact rules.
* An option's words count like a number, matched by stem so that Finnish case
  endings still match ("tilastoista" for "Joukkoliikenteen tilastot",
  "koulukuljetuksista"), with a small allowance for typos (``difflib``). Words
  every option and every mail in this network uses ("joukkoliikenne", "kunta",
  "webinaari") never select an option on their own. A word that fits two
  options equally, or a phrase joining two options' words
  ("koulukuljetusten kilpailutus"), asks back ("ambiguous"). An option named in
  prose outside the vote ("tilastot oli hyvä viime vuonna") must agree with the
  choices, and numbers and words must agree ("äänestän 3 eli tilastot" when
  tilastot is option 1 asks back: a second choice or a numbering slip, and
  only the writer knows). A choice made only by an evaluation ("3 on myös
  hyvä") next to a clear vote for another asks back too.
* A clause with a negation ("ei 2", "inte 3", "not 4", "kaikki paitsi 3",
  "mieluummin 2 kuin 3") or an alternative ("2 tai 3", "2 eller 3", even when
  both could be chosen) next to a choice asks back: those are detected, not
  interpreted, and so is a choice in a question ("onko 2 vielä mahdollinen?").
  A correction ("2, ei kun 3", "2 eller nej 3", "2, I mean 3") is taken when
  it is unambiguous: the part after the marker is read alone and replaces what
  came before if that was one choice, or if the correction names at least as
  many ("2 ja 4, ei kun 3" asks back: 3 instead of 4, or 3 alone?).
* A letter is read as the option in that place (A the first), and only
  where it can be nothing else: alone or in a list of letters in its clause
  ("B", "b, d", "B kiitos"), after an option word ("Vaihtoehto B") or a voting
  word ("Valitsen C"). The English "I" is never a choice, "a" before a word is
  an article, "B-luokan" a word; a closing on the vote's own line ("B, t.
  Matti") ends the reply there, and a name line with initials ("A. Virtanen",
  "M. V.", "-M") is a signature. Letters and digits in one reply ("B ja 4")
  ask back: the writer may be counting from another list than the ballot's.
* "Kaikki" / "alla" / "all", alone ("Kaikki!", "All of them", "Kaikki kolme")
  or after a voting word ("äänestän kaikkia"), chooses every option; with
  ``max_choices`` below the number of options that is too many ("too_many").
  "Kaikki hyvin", "all good" and "Hei kaikki" are not votes.
* Words of an option are matched as the option is written: a translation
  ("Jakobstad" for "Pietarsaari", "statistics") or the tail of a compound
  ("tilastot" for "Liikennetilastot") is not recognised and asks back. A reply
  longer than ``_OWN_TEXT_MAX`` characters is not read as a ballot.

The caller passes ``InboundMessage.new_text``. A member who answered in the
subject only ("Re: Äänestys" changed to "2 ja 4") is read when the caller passes
the cleaned subject as the first line, ``f"{clean_subject}\\n{new_text}"``; it
should do so only when the subject is not the ballot's own (a ballot subject
with a number in it, "Äänestys 3: aiheet", would otherwise read as a vote).
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum, auto
from typing import Literal

from mailer.inbound.reply_text import strip_quoted, strip_signature
from mailer.parsing.written import is_closing

Status = Literal["ok", "clarify"]
# Reason codes: the handler picks the reply template by these.
Reason = Literal[
    "ok",
    "nothing_found",  # no choice in the reply
    "too_many",  # more choices than max_choices (also "kaikki" when that is too many)
    "unknown_option",  # a number or letter outside the ballot: "7" of 5
    "either_or",  # "2 tai 3", "B eller C"
    "negation",  # "ei 2", "inte 3", "not 4", "kaikki paitsi 3"
    "correction",  # "2 ja 4, ei kun 3": which of the earlier choices is replaced is unclear
    "ambiguous",  # an option word that fits two options equally
    "mixed",  # "B ja 4": letters and numbers in one reply
    "unreadable",  # numbers or words that may or may not be choices, or that disagree
]


@dataclass(frozen=True)
class BallotResult:
    """A ballot as read: the choices to record, or why nothing is recorded."""

    choices: tuple[int, ...]  # 1-based, sorted, unique; empty unless status is "ok"
    status: Status
    reason: Reason
    understood: tuple[int, ...]  # what was read (may hold 7 of 5), for the clarify message
    by_letter: bool = False  # the choices were written as letters ("B ja D")

    @property
    def written(self) -> tuple[str, ...]:
        """``understood`` as the member wrote it ("B", "D" or "2", "4"), to show it back."""
        if self.by_letter:
            return tuple(chr(ord("A") + choice - 1) for choice in self.understood)
        return tuple(str(choice) for choice in self.understood)


class _K(Enum):
    REF = auto()  # a choice by number, numeral, ordinal or letter
    WORD = auto()  # an option's own word
    ALL = auto()  # "kaikki", "alla", "all"
    COUNT = auto()  # a number that counts choices: "valitsen kaksi: 2 ja 4"
    JUNK = auto()  # a number that cannot be read: "1-3", "2/4"
    CONN = auto()  # "ja", "och", "and", ",", "&"
    PREFIX = auto()  # "vaihtoehto", "nro", "alternativ", "option", "#"
    FILLER = auto()  # words that neither vote nor break a vote: "kiitos", "ehkä", "the"
    FUNCTION = auto()  # "on", "på", "is": part of a vote only next to a voting word
    VOTE = auto()  # "äänestän", "valitsen", "röstar", "vote", "kiinnostaa"
    EVAL = auto()  # "hyvä", "bra", "good", "käy": binds a number before it ("2 on hyvä")
    NEG = auto()
    OR = auto()
    BREAK = auto()  # "mutta", "koska", "men", "but": a new clause
    EXAMPLE = auto()  # "esim.", "t.ex.", "e.g.": the ballot's own example
    OTHER = auto()


_REFS = frozenset({_K.REF, _K.WORD, _K.ALL, _K.JUNK})
_IN_RUN = frozenset(
    {_K.REF, _K.WORD, _K.ALL, _K.JUNK, _K.COUNT, _K.CONN, _K.PREFIX, _K.FILLER, _K.FUNCTION}
)


@dataclass(frozen=True)
class _Tok:
    kind: _K
    text: str
    value: int = 0  # REF, COUNT
    weak: bool = False  # REF read from an ordinary word (ordinal, cardinal, letter)
    letter: bool = False  # REF written as a letter ("B")
    digit: bool = False  # REF written in digits
    cardinal: bool = False  # REF from a cardinal word ("kaksi", "two")
    options: frozenset[int] = frozenset()  # WORD


# --- vocabulary (casefolded) -------------------------------------------------------------

_CONN = frozenset({"ja", "sekä", "ynnä", "och", "samt", "and", "plus", "&", "+", ","})
_AND = _CONN - {","}  # "2, tilastot" may name option 2; "2 ja tilastot" adds a choice
_OR = frozenset({"tai", "vai", "eller", "or", "either", "antingen", "jompikumpi", "kumpi", "/"})
_NEG = frozenset(
    {
        "ei", "en", "et", "emme", "ette", "eivät", "eikä", "älä", "eikö", "ej", "inte", "icke",
        "ingen", "inget", "inga", "not", "no", "dont", "don't", "doesnt", "doesn't", "never",
        "nor", "neither", "paitsi", "utom", "except", "excluding", "kuin", "än", "than",
        "sijaan", "istället", "instead", "ilman", "utan", "without", "nej", "nope", "vastaan",
        "emot", "mot", "against",
    }
)  # fmt: skip
_BREAK = frozenset(
    {
        "mutta", "men", "but", "koska", "sillä", "eftersom", "because", "since", "vaikka",
        "although", "though", "fast", "jos", "if", "kun", "when", "however", "dock",
        "kuitenkin", "jotta",
    }
)  # fmt: skip
_THAT = frozenset({"että", "att"})
# A subject opening the clause leaves it a vote ("jag tycker att 3 är bäst", "I'd go with 2").
_SUBJECTS = frozenset({"jag", "minä", "mä", "me", "vi", "i", "i'd", "i'll", "we", "we'd"})
# After a voting word or an evaluation, only these may end a clause that is a vote
# ("2 kiinnostaa meitä eniten"); anything else makes it a statement ("3 kiinnostaa muita").
_OBJECTS = frozenset({"minua", "mua", "meitä", "mig", "oss", "us"})
_EXAMPLE = frozenset({"esim", "esimerkiksi", "eg", "tex", "exempelvis", "example"})
_ALL = frozenset({"kaikki", "kaikkia", "alla", "samtliga", "all", "allihop"})
# After these, "kaikki"/"alla"/"all" greets or thanks everyone ("Hei kaikki", "Thanks all").
_GREETING = frozenset(
    {
        "hei", "hej", "moi", "moikka", "terve", "hejsan", "hi", "hello", "hey", "dear",
        "kiitos", "kiitoksia", "kiitti", "tack", "tackar", "thanks", "thank", "you", "hyvät",
        "bästa",
    }
)  # fmt: skip
_PREFIX = re.compile(
    r"(?:vaihtoehto(?:a|na|ksi|on|n)?|vaihtoehdo(?:t|n|lle|ksi|sta|ista|ille|lla|illa)"
    r"|vaihtoehtoja|alternativ(?:et|en|a|e|es)?|options?|numero(?:a|t|n|lla|illa|ita)?"
    r"|numbers?|nummer|nro|nr"
    r"|aihe(?:tta|et|en|eksi|iksi|ita|esta)?|topics?|ämne(?:t|n)?|förslag(?:et)?"
    r"|ehdotus(?:ta)?|ehdotukse(?:t|n)|ehdotuksia|#)"
)
_VOTE_STEMS = (
    "äänest", "ääneni", "äänemme", "äänet", "valits", "valinta", "valinna", "valita", "toivo",
    "toive", "halua", "kannat", "kiinnost", "mieluiten", "mieluummin", "suosikki", "paras",
    "parhaat", "parhaa", "röst", "välj", "valet", "föredr", "önsk", "intresser", "favorit",
    "vote", "voting", "choos", "choice", "prefer", "interest", "favourite", "favorite",
)  # fmt: skip
_VOTE_WORDS = frozenset(
    {
        "ääni", "vill", "val", "bäst", "tar", "pick", "picks", "want", "like", "best", "go",
    }
)  # fmt: skip
# Words that begin like voting words but cast no vote: the past tense recounts an
# earlier vote ("äänestin viimeksi 2"), "toivottavasti" is "hopefully".
_NOT_VOTING = frozenset(
    {
        "äänestin", "äänestimme", "äänesti", "äänestivät", "äänestänyt", "äänestäneet",
        "äänestetty", "valitsin", "valitsimme", "valitsi", "valitsivat", "toivoin",
        "toivoimme", "halusin", "halusimme", "röstade", "röstat", "valde", "önskade", "voted",
        "chose", "chosen", "picked", "preferred", "wanted", "liked", "kiinnosti", "kiinnostivat",
        "intresserade", "toivottavasti", "toivotan", "toivotamme", "toivottaa",
        # adjectives: "meitä on 2 kiinnostuneita", "vi är 2 intresserade"
        "kiinnostunut", "kiinnostuneita", "kiinnostuneet", "intresserad", "interested",
    }
)  # fmt: skip
_EVAL = frozenset(
    {
        "hyvä", "hyvää", "hyvältä", "hyviä", "kiva", "kivaa", "kivoja", "mukava",
        "loistava", "loistavaa", "mainio", "mainiota", "kiinnostava", "kiinnostavaa",
        "mielenkiintoinen", "mielenkiintoista", "mielenkiintoisia", "käy", "käyvät", "sopii",
        "sopisi", "sopivat", "kuulostaa", "kuulostavat", "bra", "utmärkt", "intressant",
        "intressanta", "passar", "låter", "good", "great", "nice", "fine", "ok", "okay",
        "okei", "interesting", "sounds", "works", "tärkeä", "tärkeitä", "tärkein", "tärkeintä",
        "important", "viktig", "viktigt", "viktigast",
    }
)  # fmt: skip
# Words that leave a clause of choices a clause of choices: "2 ja 4 kiitos", "ehkä 3",
# "the second one", "3 for me", "2 ja 4 webinaarin aiheiksi".
_FILLER = frozenset(
    {
        "hei", "hej", "moi", "moikka", "terve", "hejsan", "hi", "hello", "hey", "dear",
        "kiitos", "kiitoksia", "kiitti", "tack", "tackar", "thanks", "thank", "you", "please",
        "pls", "ps", "the", "for", "me", "meille", "minulle", "mulle", "eli", "dvs", "ie",
        "nyt", "nu", "now", "myös", "also", "också", "too", "gärna", "mielellään",
        "ehdottomasti", "definitely", "ehkä", "maybe", "kanske", "eniten", "mest", "most",
        "ensisijaisesti", "primarily", "vastaus", "vastaukseni", "vastauksemme", "svar",
        "answer", "reply", "ensi", "seuraava", "seuraavan", "seuraavaksi", "seuraavaan",
        "nästa", "next", "kovasti", "paljon", "mycket", "very", "really",
        "webinaari", "webinaarin", "webinaariin", "webinaarissa", "webinar",
        "webinaret", "webinariet", "seminaari", "seminaarin", "seminar", "seminariet",
        ":", "=", "_",
    }
)  # fmt: skip
# Function words: part of a vote next to a voting word ("jag röstar på 3", "2 on paras"),
# but a clause of them and a number is a statement ("jos vain yksi"). Pronouns are
# not among them: a pronoun starts a statement of its own ("röstar på 3, meitä on 2").
_FUNCTION = frozenset(
    {
        "on", "ovat", "olisi", "olisivat", "olis", "ois", "olla", "är", "vore", "blir", "is",
        "are", "would", "will", "be", "an", "a", "på", "för", "till", "to", "siis", "vain",
        "bara", "only", "just", "menee", "menevät", "går", "goes", "with", "kuulla", "kuulisin",
        "kuulemaan", "lisää", "höra", "mer", "hear", "more", "about", "of", "them", "dem", "saa",
        "saavat", "får", "gets", "get", "puolesta", "että", "att", "mielestäni", "minusta",
        "tycker", "think", "tulla", "tulemaan", "käydä", "nähdä", "oppia", "komma", "come",
        "see", "visit", "learn", "käsiteltäisiin",
        "käsitellä", "käsitellään", "diskutera", "discuss", "discussed",
    }
)  # fmt: skip
# Words that carry no choice even when an option contains them: every mail and
# half the options in this network are about these.
_GENERIC = re.compile(
    r"(?:joukkoliikente|joukkoliikenne|liikenne|liikente|kollektivtrafik|trafik|transport"
    r"|traffic|public|kunta|kunna|kunti|kommun|municipal|webinaar|webinar|seminaar|seminar"
    r"|aihe|topic|ämne|verkosto|nätverk|network)[^\W\d_]{0,5}"
)
_KEYWORD_STOP = frozenset(
    {
        "ja", "sekä", "tai", "och", "samt", "eller", "and", "or", "the", "of", "for", "in", "on",
        "to", "an", "with", "för", "av", "med", "om", "till", "kanssa", "ym", "yms", "jne", "mm",
        "etc", "eli", "ns",
    }
)  # fmt: skip
_KEYWORD_MIN = 3
_STEM_MIN = 5  # shorter keywords must be written exactly
_STEM_SHARE = 0.75  # of a keyword that must begin the word ("tilasto|ista" for "tilastot")
_ENDING_MAX = 6  # Finnish case endings and the like after the shared stem
_TYPO_MIN = 7
_TYPO_RATIO = 0.85
_TYPO_LENGTH_SLACK = 2

_COLLOQUIAL = re.compile(
    r"(?P<stem>ykkö|kakko|kolmo|nelo|viito|kuuto)(?:nen|s(?:t[aä]|en|een|elle|ell[aä]|est[aä]))"
)
_COLLOQUIAL_VALUES = {"ykkö": 1, "kakko": 2, "kolmo": 3, "nelo": 4, "viito": 5, "kuuto": 6}
_NUMERALS = {"ettan": 1, "tvåan": 2, "trean": 3, "fyran": 4, "femman": 5, "sexan": 6}
_ORDINALS = {
    **dict.fromkeys(("ensimmäinen", "ensimmäistä", "ensimmäisen", "ensimmäiseen"), 1),
    **dict.fromkeys(("toinen", "toista", "toisen", "toiseen"), 2),
    **dict.fromkeys(("kolmas", "kolmatta", "kolmannen", "kolmanteen"), 3),
    **dict.fromkeys(("neljäs", "neljättä", "neljännen", "neljänteen"), 4),
    **dict.fromkeys(("viides", "viidettä", "viidennen", "viidenteen"), 5),
    **dict.fromkeys(("kuudes", "kuudetta", "kuudennen", "kuudenteen"), 6),
    "första": 1, "andra": 2, "tredje": 3, "fjärde": 4, "femte": 5, "sjätte": 6,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
}  # fmt: skip
_CARDINALS = {
    "yksi": 1, "kaksi": 2, "kolme": 3, "neljä": 4, "viisi": 5, "kuusi": 6,
    "ett": 1, "två": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
}  # fmt: skip
# Words that never follow the English article, so an "a" before them is a letter
# ("A kiitos", "A please", "A on paras").
_NO_ARTICLE_BEFORE = frozenset(
    {
        "on", "ovat", "olisi", "är", "vore", "is", "would", "sounds", "kiitos", "kiitti",
        "kiitoksia", "tack", "tackar", "thanks", "please", "pls", "too", "also", "myös",
        "också", "gärna", "for", "för", "eli", "dvs", "ie",
    }
)  # fmt: skip
# Function words that tell a Swedish text, where "en" is "a", from a Finnish one.
_SWEDISH = frozenset(
    {"jag", "och", "är", "det", "på", "att", "som", "röstar", "väljer", "alternativ", "vi"}
)
_FINNISH = frozenset({"ja", "on", "että", "äänestän", "kiitos", "olen", "minä", "vaihtoehto"})

# --- lines ------------------------------------------------------------------------------

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\t": " ", "\u2019": "'"})
# A closing phrase with at most a name after it ("t. Matti", "Terveisin Matti Virtanen").
# Words that also open a sentence ("Best topic is...") count only alone or before a comma.
_TRAILING = " \t.,;:!"
# Nobody writes a ballot longer than this; a longer text is a document, not a vote,
# and reading it would only find more to doubt.
_OWN_TEXT_MAX = 10_000
_NAME_WORDS_MAX = 4
# Where a closing may begin on the vote's own line: after a sentence or a comma
# ("B, t. Matti", "2. Terveisin Matti"), or at "t." before a name ("B kiitos t. Matti").
_INLINE_CLOSING = re.compile(r"(?<=[.!?,;])\s+|\s+(?=t[.:]\s*[^\W\d_])", re.IGNORECASE)
# A line that opens with a choice and words: "4 soita...", "-D, puh. ...", but not
# "A. Virtanen" or "M 040 123 4567".
_VOTE_FIRST = re.compile(r"[-*\u2022\s]*(?:\d{1,2}|[^\W\d_])[\s,!]+[^\W\d_]")
_INITIAL = re.compile(r"[A-ZÅÄÖ]\.")
# "-M", "/MV", "-Matti V." (or an en dash); its start alone ("-D ...") is an item of a list.
_DASH_NAME = re.compile(r"[-/\u2013\u2014][^\W\d_](?:[^\d\s]{0,29}(?:\s[^\d\s]{1,30}){0,2})?")

# --- numbers that are something else ---------------------------------------------------

_MONTHS = (
    r"(?:(?:tammi|helmi|maalis|huhti|touko|kesä|heinä|elo|syys|loka|marras|joulu)kuu\w*"
    r"|januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
    r"|january|february|march|june|july|august|october|feb|aug|sept?|oct|nov|dec)"
)
_STREET = (
    r"[^\W\d_]{2,}(?:katu|tie|kuja|polku|väylä|raitti|kaari|rinne|tori|aukio|gatan|vägen"
    r"|gränd|torget|gata|väg)"
)
_UNITS = (
    r"(?:%|€|e\b|eur\w*|km|h\b|minuut\w*|minut\w*|kpl|hlö\w*|henk\w*|pv\w*|vrk|vuo\w*|tunti\w*|päivä\w*"
    r"|viiko\w*|kertaa|person\w*|pers\w*|kr\b|people|years?|hours?|minutes?|days?"
    r"|weeks?|times|dag\w*|veck\w*|timm\w*|gånger)"
)
_ORDINAL_DOT = re.compile(rf"(?<![\d.])(\d{{1,2}})\.(?=[ \t]+(?!{_MONTHS})[a-zåäö])")
_ABBREVIATIONS = re.compile(r"\b(esim|nro|nr|ps|mm|ns|jne|yms|vs|ca|kl|klo|puh|tel|vko|n)\.")
# Phrases whose "first" or "all" is no choice.
_IDIOMS = re.compile(
    r"\b(?:first\s+of\s+all|all\s+in\s+all|after\s+all|at\s+first|först\s+och\s+främst"
    r"|för\s+det\s+första|framför\s+allt|ennen\s+kaikkea|kaiken\s+kaikkiaan)\b"
)
_ALL_OF_THEM = re.compile(r"\b(all|alla|kaikki)\s+(?:of\s+them|av\s+dem|niistä)\b")
_MULTI_DOT = {"t.ex.": "tex", "e.g.": "eg", "i.e.": "ie", "bl.a.": "bla", "n:o": "nro"}
# Bounded, so that a long run of non-space text is not scanned again from every position.
_EMAIL = r"[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{1,63}"
_INCIDENTAL = re.compile(
    "|".join(
        (
            _EMAIL,
            r"(?:https?://|www\.)\S+",  # link
            r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)",  # ISO date
            r"(?<![\d.])\d{1,2}\.?\s*[-\u2013]\s*\d{1,2}\.\d{1,2}\.(?:\d{2,4})?",  # 14.-15.11.
            r"(?<![\d.])\d{1,2}\.\d{1,2}\.(?:\d{2,4}(?!\d))?",  # 11.2. 27.11.2026
            r"(?<![\d.])\d{1,2}\.\d{2}(?![\d.])",  # 14.30 3.12
            r"(?<!\d)\d{1,2}:\d{2}(?!\d)",  # 14:00
            r"\b(?:klo|kl|kello)\s*\d{1,2}(?:[.:]\d{2})?",  # klo 14
            r"(?<!\d)\d{1,4}/\d{4}(?!\d)",  # 3/2026
            rf"\b{_STREET}\s+\d+(?:\s*[a-z]\b)?(?:\s*\d+)?",  # Kauppakatu 5 B 12
            r"\b\d+\s+[^\W\d_]+\s+(?:street|road|avenue|lane)\b",  # 5 Main Street
            r"\b(?:pl|pb|po\s+box|box)\s*\d+",  # post office box
            rf"(?<!\d)\d{{1,2}}\.?\s+{_MONTHS}\b",  # 11. marraskuuta, 11 november
            rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\b",  # November 11th
            r"\b(?:vko|viikko|viikolla|vecka|week|v)\s*\d{1,2}\b",  # week 12
            r"\b(?:enintään|korkeintaan|max|maksimi|maximum|högst|upp\s+till|up\s+to"
            r"|at\s+most|vähintään|minst|at\s+least|noin|n|ca|cirka|about|approx\w*|around"
            r"|yli|alle|över|over|under)\s+\d+\b",  # limits and estimates
            rf"(?<![\d.,])\d+(?:[.,]\d+)?\s*{_UNITS}",  # 2 h, 3 henkilöä, 5 €
            r"(?<!\d)\d{5}\s+[^\W\d_]+",  # postcode and town: 23500 Uusikaupunki
            r"(?<![\d.])\d{3,}(?![\d.])",  # years, anything no ballot has
        )
    )
)
_CONTACT = re.compile(rf"{_EMAIL}|https?://|www\.|\b{_STREET}\s+\d|(?<!\d)\d{{5}}\s+[^\W\d_]")
_ORGANISATION = re.compile(
    r"[^\d]{0,60}\b(?:kaupunki|kunta|stad|kommun|city|municipality|kuntayhtymä|ely-keskus"
    r"|ely-centralen|oy|ab|ltd)"
)
_PHONE = re.compile(
    r"(?:\b(?:p|puh|puhelin|tel|tfn|telefon|mob|mobil|gsm|phone|mobile)\b\.?:?\s*)?"
    r"\+?\(?\d[\d \-()]{5,}\d"
)
_PHONE_DIGITS = 7
_PHONE_GROUP = re.compile(r"\d{3}")
# Numbers that look like choices but cannot be read as any: a range or a pair.
_JUNK = re.compile(
    r"(?<![\d.])\d{1,2}\s*[-\u2013]\s*\d{1,2}(?!\d|\.\d)|(?<!\d)\d{1,2}/\d{1,2}(?!\d)"
    r"|(?<![\d.])\d\.\d(?![\d.])"
)
_SUFFIX = re.compile(r"(?<=\d):[^\W\d_]+|(?<=\b[a-z]):[^\W\d_]+")
_CORRECTION = re.compile(
    r"\b(?:ei\s*kun|ei\s+vaan|tai\s+siis|tai\s+oikeastaan|korjaan|korjaus|tarkoitan"
    r"|eller\s+nej|nej\s+förresten|nej\s+vänta|jag\s+menar|rättelse|eller\s+snarare"
    r"|eller\s+rättare\s+sagt|i\s+mean|correction|scratch\s+that|no\s+wait|or\s+rather"
    r"|on\s+second\s+thoughts?)\b"
)
_SENTENCE_END = re.compile(r"(?P<end>[.!?;]+)(?=\s|$)|\n|\s[-\u2013\u2014]+\s")
_TOKEN = re.compile(
    r"(?P<num>\d+)(?P<th>(?:st|nd|rd|th)(?![^\W\d_]))?"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)?)"
    r"|(?P<mark>[,&+:#()/=_~])"
)


def parse_ballot(text: str, options: Sequence[str], max_choices: int) -> BallotResult:
    """Read the choices in a reply to a ballot of ``options`` (numbered from 1).

    Never raises on odd text; raises ValueError for a ballot without options or
    a ``max_choices`` below 1.
    """
    if not options:
        raise ValueError("a ballot needs options")
    if max_choices < 1:
        raise ValueError("max_choices must be at least 1")
    poll = _Poll.of(tuple(options))
    kept, copied = _own_lines(text, poll)
    if sum(len(line) for line in kept) > _OWN_TEXT_MAX:
        return BallotResult((), "clarify", "unreadable", ())
    written = "\n".join(_neutralise(line) for line in kept)
    reading = _read_with_corrections(written, poll)
    if reading.problem is None and not reading.chosen and copied and not _hedged(written):
        reading = _Reading(frozenset(copied))
    return _verdict(reading, len(options), max_choices)


@dataclass(frozen=True)
class _Poll:
    size: int
    lines: tuple[str, ...]  # each option normalised for comparing whole lines
    line_patterns: tuple[re.Pattern[str], ...]  # each option as the ballot lists it: "2. Kutsu..."
    keywords: tuple[tuple[str, ...], ...]  # per option: words that select it
    support: tuple[str, ...]  # generic words some option has: neutral, not unknown

    @classmethod
    @functools.lru_cache(maxsize=64)  # a poll's replies arrive one by one, all alike
    def of(cls, options: tuple[str, ...]) -> _Poll:
        keywords: list[tuple[str, ...]] = []
        support: list[str] = []
        for option in options:
            words = [
                w
                for w in re.findall(r"[^\W\d_]+", option.casefold())
                if len(w) >= _KEYWORD_MIN and w not in _KEYWORD_STOP
            ]
            keywords.append(tuple(w for w in words if not _generic(w)))
            support.extend(w for w in words if _generic(w))
        return cls(
            size=len(options),
            lines=tuple(_line_key(option) for option in options),
            line_patterns=tuple(
                re.compile(
                    rf"[-*\u2022]?\s*[(\[]?(?:{i}|{chr(ord('a') + i - 1)})[.):\]]?\s*[-\u2013:]?\s*"
                    rf"{re.escape(_line_key(option))}(?![^\W\d_])[\s.,;:!)\u2013-]*(?P<rest>.*)"
                )
                for i, option in enumerate(options, 1)
            ),
            keywords=tuple(keywords),
            support=tuple(support),
        )

    def options_for(self, word: str) -> frozenset[int]:
        """The options whose own words include ``word`` (inflected or slightly misspelt)."""
        return _options_for(self.keywords, word)

    def is_support(self, word: str) -> bool:
        return _generic(word) and any(_same_word(word, kw) for kw in self.support)


@functools.lru_cache(maxsize=4096)
def _options_for(keywords: tuple[tuple[str, ...], ...], word: str) -> frozenset[int]:
    if _generic(word):
        return frozenset()
    return frozenset(
        i + 1 for i, words in enumerate(keywords) if any(_same_word(word, kw) for kw in words)
    )


def _generic(word: str) -> bool:
    return _GENERIC.fullmatch(word) is not None


def _same_word(word: str, keyword: str) -> bool:
    """Stem match for inflection ("tilastoista" ~ "tilastot"), then a typo allowance."""
    if word == keyword:
        return True
    if len(keyword) < _STEM_MIN:
        return False
    shared = 0
    for a, b in zip(word, keyword, strict=False):
        if a != b:
            break
        shared += 1
    if (
        shared >= max(_STEM_MIN, math.ceil(_STEM_SHARE * len(keyword)))
        and len(word) - shared <= _ENDING_MAX
    ):
        return True
    return (
        min(len(word), len(keyword)) >= _TYPO_MIN
        and word[0] == keyword[0]
        and abs(len(word) - len(keyword)) <= _TYPO_LENGTH_SLACK
        and difflib.SequenceMatcher(None, word, keyword).ratio() >= _TYPO_RATIO
    )


def _line_key(line: str) -> str:
    return " ".join(line.casefold().split()).strip(_TRAILING)


def _own_lines(text: str, poll: _Poll) -> tuple[list[str], set[int]]:
    """The writer's lines and the options of ballot lines copied into them.

    The option list pasted back whole is dropped; other option lines copied
    from the ballot ("2. Kutsutaksit ja asiointiliikenne") are returned apart,
    to be read only when nothing else in the reply is a choice.
    """
    written = strip_signature(strip_quoted(text.replace("\r\n", "\n").replace("\r", "\n")))
    own: list[str] = []
    for raw in written.split("\n"):
        line = raw.translate(_SPACES).strip()
        if line.startswith(">"):
            continue
        if is_closing(line):
            break
        kept = _before_closing(line)
        own.append("" if _is_initials(kept, poll) else kept)
        if kept != line:
            break
    lines = _without_dash_name(_without_signature(own, poll))
    marked: dict[int, int] = {}  # line index -> option
    plain: dict[int, int] = {}
    for i, line in enumerate(lines):
        key = _line_key(line)
        if key in poll.lines:
            plain[i] = poll.lines.index(key) + 1
            continue
        for option, pattern in enumerate(poll.line_patterns, 1):
            match = pattern.fullmatch(key)
            if match:
                marked[i] = option
                lines[i] = match["rest"]  # what was written after a copied line, if anything
                break
    every = set(range(1, poll.size + 1))
    for listing in (marked, plain):
        if poll.size > 1 and set(listing.values()) == every:
            # The list pasted back is the last line of each option; one above it is a copy.
            pasted = {max(i for i, o in listing.items() if o == option) for option in every}
            marked = {i: o for i, o in marked.items() if i not in pasted}
            if listing is plain:
                lines = ["" if i in pasted else line for i, line in enumerate(lines)]
            break
    return lines, set(marked.values())


def _before_closing(line: str) -> str:
    """``line`` up to a closing written on it ("B, t. Matti", "2. Terveisin Matti")."""
    for match in _INLINE_CLOSING.finditer(line):
        if is_closing(line[match.end() :]):
            return line[: match.start()]
    return line


def _is_initials(line: str, poll: _Poll) -> bool:
    """A name signed with initials ("A. Virtanen", "Matti V.", "M.V."): never a vote.

    One initial alone ("B.") is a vote, and so is one after a word that can
    carry a vote ("Valitsen C.", "Vaihtoehto B.").
    """
    words = line.replace(".", ". ").split()
    initials = [w for w in words if _INITIAL.fullmatch(w)]
    names = [w for w in words if not _INITIAL.fullmatch(w)]
    return (
        bool(initials)
        and len(words) <= _NAME_WORDS_MAX
        and (bool(names) or len(initials) > 1)
        and all(
            len(w) > 1
            and w[0].isupper()
            and w.replace("-", "").isalpha()
            and _word(w.casefold(), poll, swedish=False).kind is _K.OTHER
            for w in names
        )
    )


def _without_dash_name(lines: list[str]) -> list[str]:
    """The lines without one signed "-M", "/MV" or "-Matti" among other text.

    Such lines one under another ("-B" / "-D") are a list written without
    spaces, and stay.
    """
    filled = [i for i, line in enumerate(lines) if line]
    if len(filled) < 2:
        return lines
    listed = {i for i in filled if _DASH_NAME.match(lines[i])}
    signed = {
        i
        for n, i in enumerate(filled)
        if _DASH_NAME.fullmatch(lines[i])
        and (n == 0 or filled[n - 1] not in listed)
        and (n + 1 == len(filled) or filled[n + 1] not in listed)
    }
    return ["" if i in signed else line for i, line in enumerate(lines)]


def _without_signature(lines: list[str], poll: _Poll) -> list[str]:
    """The lines without a signature block with no closing above it.

    The last paragraph is a signature when a line in it has contact details
    (phone, e-mail, street address, postcode, "Riihimäen kaupunki"); it is cut
    from its first such line or name-like line ("Sari Nieminen",
    "Liikenneinsinööri"), so a vote written right above the name survives, and
    so does a line that opens with a vote ("4, soita 040 123 4567"): its
    number is masked when the line is read.
    """
    end = len(lines)
    while end and not lines[end - 1]:
        end -= 1
    start = end
    while start and lines[start - 1]:
        start -= 1
    paragraph = lines[start:end]
    if not any(_is_contact(line) for line in paragraph):
        return lines[:end]
    cut = next(
        (
            i
            for i, line in enumerate(paragraph)
            if (_is_contact(line) and not _VOTE_FIRST.match(line)) or _is_name(line, poll)
        ),
        len(paragraph),
    )
    return lines[: start + cut]


def _is_contact(line: str) -> bool:
    folded = line.casefold()
    return bool(
        _CONTACT.search(folded)
        or _ORGANISATION.fullmatch(folded)
        or _PHONE.sub(_phone_or_keep, folded) != folded
    )


def _is_name(line: str, poll: _Poll) -> bool:
    """A line of one to four capitalised words that are neither numerals nor option words."""
    words = line.replace("|", " ").split()
    return (
        0 < len(words) <= _NAME_WORDS_MAX
        and all(w[0].isupper() and len(w) > 1 and w.replace("-", "").isalpha() for w in words)
        and not any(
            _word(w.casefold(), poll, swedish=False).kind in (_K.REF, _K.WORD) for w in words
        )
    )


def _hedged(text: str) -> bool:
    """Doubt in the writer's own words, which keeps copied option lines from counting."""
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)
    return "?" in text or any(w in _NEG or w in _OR for w in words)


def _neutralise(line: str) -> str:
    """The line casefolded, numbers that are not choices replaced by ``_`` (``~``: unreadable).

    A number with a full stop before a lower-case word is a Finnish ordinal
    ("3. osa", "2. ja 4."), not the end of a sentence: it becomes "3th" for
    the tokenizer, which reads it as an ordinal.
    """
    line = _ORDINAL_DOT.sub(r"\1th", line).casefold()
    for dotted, plain in _MULTI_DOT.items():
        line = line.replace(dotted, f" {plain} ")
    line = re.sub(r"\bno\.\s*(?=\d)", "nro ", line)
    line = _ABBREVIATIONS.sub(r"\1 ", line)
    line = _IDIOMS.sub(" ", line)
    line = _ALL_OF_THEM.sub(r"\1", line)
    line = _PHONE.sub(_phone_or_keep, line)
    line = _INCIDENTAL.sub(" _ ", line)
    line = _JUNK.sub(" ~ ", line)
    return _SUFFIX.sub("", line)


def _phone_or_keep(match: re.Match[str]) -> str:
    span = match.group()
    digits = sum(c.isdigit() for c in span)
    if digits >= _PHONE_DIGITS and (span.lstrip().startswith("+") or _PHONE_GROUP.search(span)):
        return " _ "
    return span


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    chosen: frozenset[int]
    problem: Reason | None = None
    by_letter: bool = False


def _read_with_corrections(text: str, poll: _Poll) -> _Reading:
    """Read ``text``; a correction ("2, ei kun 3") replaces the choices before it when sure."""
    marker = _CORRECTION.search(text)
    if marker is None:
        return _read(text, poll)
    head, tail = text[: marker.start()], text[marker.end() :]
    before = _read(head, poll)
    if not before.chosen and before.problem is None:
        # Nothing to correct: the marker was a figure of speech.
        return _read_with_corrections(f"{head}\n{tail}", poll)
    after = _read_with_corrections(tail, poll)
    if after.problem is not None:
        return after
    if not after.chosen:
        return replace(before, problem="correction")
    if before.problem is None and (
        len(before.chosen) <= 1 or len(after.chosen) >= len(before.chosen)
    ):
        return after
    return replace(after, problem="correction")


@dataclass
class _Tally:
    refs: set[int] = field(default_factory=set)
    letters: set[int] = field(default_factory=set)  # refs written as letters
    numbers: set[int] = field(default_factory=set)  # refs written otherwise
    loose_letter: bool = False  # a letter opening a clause that is no vote ("D kiitos kaikille")
    words: set[int] = field(default_factory=set)
    added: set[int] = field(default_factory=set)  # words joined to a number by "ja"/"and"
    everything: bool = False
    mentions: list[frozenset[int]] = field(default_factory=list)
    firm: set[int] = field(default_factory=set)  # chosen by a vote, an option word, alone
    evaluated: set[int] = field(default_factory=set)  # chosen by an evaluation only
    problems: set[Reason] = field(default_factory=set)


_PRIORITY: tuple[Reason, ...] = ("negation", "either_or", "mixed", "unreadable", "ambiguous")


def _read(text: str, poll: _Poll) -> _Reading:
    tally = _Tally()
    for sentence, question in _sentences(text):
        words = re.findall(r"[^\W\d_]+", sentence)
        swedish = sum(w in _SWEDISH for w in words) > sum(w in _FINNISH for w in words)
        tokens = _tokens(sentence, poll, swedish)
        for clause in _clauses(tokens):
            _read_clause(clause, poll, question, tally)
    chosen = set(range(1, poll.size + 1)) if tally.everything else tally.refs | tally.words
    if (
        (tally.everything and (tally.refs or tally.words))
        or (tally.refs and tally.words and not tally.words - tally.added <= tally.refs)
        or any(not mention & chosen for mention in tally.mentions)
        # "Äänestän 2. 3 on myös hyvä": a second vote or a remark?
        or (tally.firm and not tally.evaluated <= tally.firm)
    ):
        tally.problems.add("unreadable")
    if tally.letters and tally.loose_letter:
        # "B / D kiitos kaikille": the second letter may be a choice too.
        tally.problems.add("unreadable")
    if tally.letters and tally.numbers:
        # "B ja 4": two ways of counting, and the letters may follow another list.
        tally.problems.add("mixed")
    problem = next((p for p in _PRIORITY if p in tally.problems), None)
    by_letter = bool(tally.letters) and tally.letters == chosen
    return _Reading(frozenset(chosen), problem, by_letter)


def _sentences(text: str) -> Iterator[tuple[str, bool]]:
    """Sentences of ``text``, each with whether it ends in a question mark."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        yield text[start : match.start()], "?" in (match["end"] or "")
        start = match.end()
    yield text[start:], False


def _tokens(sentence: str, poll: _Poll, swedish: bool) -> list[_Tok]:
    tokens: list[_Tok] = []
    for match in _TOKEN.finditer(sentence):
        if match["num"]:
            value = int(match["num"])
            ordinal = bool(match["th"])
            tokens.append(_Tok(_K.REF, match.group(), value, weak=ordinal, digit=not ordinal))
        elif match["word"]:
            tokens.append(_word(match["word"], poll, swedish))
        else:
            tokens.append(_mark(match["mark"]))
    return _in_context(tokens, poll)


def _mark(mark: str) -> _Tok:
    if mark in _CONN:
        return _Tok(_K.CONN, mark)
    if mark in _OR:
        return _Tok(_K.OR, mark)
    if mark == "#":
        return _Tok(_K.PREFIX, mark)
    if mark == "~":
        return _Tok(_K.JUNK, mark)
    if mark in "()":
        return _Tok(_K.BREAK, mark)
    return _Tok(_K.FILLER, mark)


def _word(word: str, poll: _Poll, swedish: bool) -> _Tok:
    """What one word is, before its neighbours are looked at."""
    if word in _CONN:
        return _Tok(_K.CONN, word)
    if word in _OR:
        return _Tok(_K.OR, word)
    if word in _NEG:
        return _Tok(_K.FUNCTION if word == "en" and swedish else _K.NEG, word)
    if word in _BREAK:
        return _Tok(_K.BREAK, word)
    if word in _EXAMPLE:
        return _Tok(_K.EXAMPLE, word)
    numeral = _COLLOQUIAL.fullmatch(word)
    if numeral:
        return _Tok(_K.REF, word, _COLLOQUIAL_VALUES[numeral["stem"]])
    if word in _NUMERALS:
        return _Tok(_K.REF, word, _NUMERALS[word])
    if word in _ORDINALS:
        return _Tok(_K.REF, word, _ORDINALS[word], weak=True)
    if word in _CARDINALS:
        return _Tok(_K.REF, word, _CARDINALS[word], weak=True, cardinal=True)
    if len(word) == 1:
        if word == "i":  # "I vote", Swedish "in": never read as a letter
            return _Tok(_K.OTHER, word)
        if "a" <= word <= "z":
            return _Tok(_K.REF, word, ord(word) - ord("a") + 1, weak=True, letter=True)
        return _Tok(_K.OTHER, word)
    options = poll.options_for(word)
    if options:
        return _Tok(_K.WORD, word, options=options)
    if word in _ALL:
        return _Tok(_K.ALL, word)
    if word in _NOT_VOTING:
        return _Tok(_K.OTHER, word)
    if _PREFIX.fullmatch(word):
        return _Tok(_K.PREFIX, word)
    if word in _VOTE_WORDS or word.startswith(_VOTE_STEMS):
        return _Tok(_K.VOTE, word)
    if word in _EVAL:
        return _Tok(_K.EVAL, word)
    if word in _FILLER or poll.is_support(word):
        return _Tok(_K.FILLER, word)
    if word in _FUNCTION:
        return _Tok(_K.FUNCTION, word)
    return _Tok(_K.OTHER, word)


def _in_context(tokens: list[_Tok], poll: _Poll) -> list[_Tok]:
    """Fix words whose meaning depends on a neighbour.

    "one" after a choice is a pronoun ("the second one"); "a" before a word is
    an article ("a new topic"); "kaikki" after a greeting is the people greeted;
    "kolme" after "kaikki" counts them.
    """
    out = list(tokens)
    for i, tok in enumerate(tokens):
        before = tokens[i - 1] if i > 0 else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        pronoun = tok.text == "one" and before is not None and before.kind is _K.REF
        article = (
            tok.text == "a"
            and after is not None
            and after.text.isalpha()
            and after.kind not in (_K.CONN, _K.REF, _K.OR)
            and after.text not in _NO_ARTICLE_BEFORE
        )
        greeted = tok.kind is _K.ALL and before is not None and before.text in _GREETING
        # "kaikki kolme", "all three": the number counts all the options.
        all_counted = (
            tok.cardinal and before is not None and before.kind is _K.ALL and tok.value == poll.size
        )
        if article:
            out[i] = _Tok(_K.FUNCTION, tok.text)
        elif pronoun or greeted or all_counted:
            out[i] = _Tok(_K.FILLER, tok.text)
    return out


def _clauses(tokens: list[_Tok]) -> Iterator[list[_Tok]]:
    """Split at clause words ("mutta", "because"), parentheses and a comma that ends a list.

    A comma continues a list only before a digit, a numeral, a letter or an option word
    (perhaps after "ja"): before a word such as "andra" ("others" as often as
    "second") the comma ends the clause, and a list of such words reads the
    same either way. A comma before "että"/"att" continues the sentence.
    """
    clause: list[_Tok] = []
    for i, tok in enumerate(tokens):
        if tok.kind is _K.BREAK or (tok.text == "," and not _list_goes_on(tokens[i + 1 : i + 3])):
            yield clause
            clause = []
        else:
            clause.append(tok)
    yield clause


def _list_goes_on(rest: list[_Tok]) -> bool:
    """Whether ``rest`` (two tokens after a comma) goes on with a choice or "että"."""
    if rest and rest[0].kind is _K.CONN:
        rest = rest[1:]
    if not rest:
        return False
    head = rest[0]
    return head.text in _THAT or (
        (head.letter or not head.weak) and head.kind in (_REFS | {_K.PREFIX})
    )


def _read_clause(clause: list[_Tok], poll: _Poll, question: bool, tally: _Tally) -> None:
    if not any(tok.kind in _REFS for tok in clause):
        return
    if any(tok.kind is _K.EXAMPLE for tok in clause):
        return
    clause, counts_agree = _counts(clause)
    if not counts_agree:
        tally.problems.add("unreadable")
    if any(tok.kind is _K.NEG for tok in clause):
        tally.problems.add("negation")
    if any(tok.kind is _K.OR for tok in clause):
        tally.problems.add("either_or")
    if any(
        a.kind is _K.WORD and b.kind is _K.WORD and not a.options & b.options
        for a, b in itertools.pairwise(clause)
    ):
        # "koulukuljetusten kilpailutus": one topic that touches two options.
        tally.problems.add("ambiguous")
    unique: set[int] = set()
    for tok in clause:
        if tok.kind is _K.WORD and len(tok.options) == 1:
            unique |= tok.options
    bound_any = False
    unbound_weak = False
    for part, binding in _lists(clause):
        if binding.strong:
            tally.added |= _added_words(part)
        for tok in (t for t in part if t.kind in _REFS):
            if tok.cardinal:
                bound = binding.cardinal
            elif tok.letter:
                bound = binding.letter
            else:
                bound = binding.weak if tok.weak else binding.strong
            in_range = 1 <= tok.value <= poll.size
            if question and (bound or (tok.kind is _K.REF and not tok.weak and in_range)):
                tally.problems.add("unreadable")
            bound_any = bound_any or bound
            unbound_weak = unbound_weak or (tok.kind is _K.REF and tok.weak and not bound)
            tally.loose_letter |= tok.letter and not bound and tok is clause[0]
            if bound and tok.kind in (_K.REF, _K.WORD):
                values = tok.options if tok.kind is _K.WORD else {tok.value}
                (tally.evaluated if binding.evaluation_only else tally.firm).update(values)
            if tok.kind is _K.REF:
                if bound:
                    tally.refs.add(tok.value)
                    (tally.letters if tok.letter else tally.numbers).add(tok.value)
                elif not tok.weak and in_range:
                    tally.problems.add("unreadable")  # a number that may be a count
            elif tok.kind is _K.JUNK and bound:
                tally.problems.add("unreadable")
            elif tok.kind is _K.ALL and binding.weak:
                tally.everything = True
            elif tok.kind is _K.WORD:
                if not bound:
                    tally.mentions.append(tok.options)
                elif len(tok.options) == 1:
                    tally.words |= tok.options
                elif not tok.options & unique:
                    tally.problems.add("ambiguous")
                    tally.words |= tok.options
    if bound_any and unbound_weak:
        # "Valitsen B D", "äänestän 2 kolmas ...": one more choice, or another sentence?
        tally.problems.add("unreadable")


def _added_words(part: list[_Tok]) -> set[int]:
    """Options named by a word that "ja"/"och"/"and" joins to a number: "kakkonen ja tilastot".

    Such a word is a choice of its own, not the number's description, so it need
    not agree with the number ("2 tilastot" or "2, tilastot" still has to).
    """
    added: set[int] = set()
    for a, conn, b in zip(part, part[1:], part[2:], strict=False):
        if conn.kind is not _K.CONN or conn.text not in _AND:
            continue
        kinds = {a.kind, b.kind}
        if kinds == {_K.REF, _K.WORD}:
            word = a if a.kind is _K.WORD else b
            if len(word.options) == 1:
                added |= word.options
    return added


def _counts(clause: list[_Tok]) -> tuple[list[_Tok], bool]:
    """Numbers that count the choices are not choices: "valitsen kaksi: 2 ja 4", "2 vaihtoehtoa".

    Returns the clause with those as COUNT and whether each count matches the
    choices that follow it (a count that does not match asks back).
    """
    out = list(clause)
    agree = True
    refs_after = [0] * (len(out) + 1)  # choices after each position
    for i in range(len(out) - 1, -1, -1):
        refs_after[i] = refs_after[i + 1] + (out[i].kind is _K.REF)
    for i, tok in enumerate(out):
        if tok.kind is not _K.REF or not (tok.digit or tok.cardinal):
            continue
        after = out[i + 1] if i + 1 < len(out) else None
        following = refs_after[i + 1]
        if after is not None and (after.kind is _K.PREFIX or (after.text == ":" and following)):
            out[i] = replace(tok, kind=_K.COUNT)
            agree = agree and tok.value == following
    cardinals = [i for i, t in enumerate(out) if t.kind is _K.REF and t.cardinal]
    digits = [t for t in out if t.kind is _K.REF and t.digit]
    if cardinals and digits:
        # "I pick three, 1, 2 and 4": a number word among digits counts them.
        if len(cardinals) == 1 and out[cardinals[0]].value == len(digits):
            out[cardinals[0]] = replace(out[cardinals[0]], kind=_K.COUNT)
        else:
            agree = False
    return out, agree


@dataclass(frozen=True)
class _Binding:
    strong: bool  # digits, numerals and option words in the list are votes
    weak: bool  # ordinals and "kaikki" in the list are votes
    cardinal: bool  # cardinal words in the list are votes
    letter: bool  # letters in the list are votes
    evaluation_only: bool  # only an evaluation makes it a vote ("3 on myös hyvä")


def _lists(clause: list[_Tok]) -> Iterator[tuple[list[_Tok], _Binding]]:
    """Lists of choices ("2 ja 4", "vaihtoehdot B ja D") with whether they are clearly votes.

    A run is what lies between words that are neither choices nor fillers; in
    it, function words ("on", "jag", "meitä") separate lists. A list is a vote
    when it is the whole clause with no function words ("2 ja 4 kiitos", not
    "meitä on 2"); when an option word binds it ("vaihtoehdot 2 ja 4") and
    nothing but a voting word or an evaluation follows ("kohta 3 oli epäselvä"
    is no vote); when it is the first list after a voting word ("äänestän 2",
    "jag röstar på 3", but not the "2" of "röstar på 3, meitä on 2"); or the
    last one before a voting word ("2 kiinnostaa"). Strong choices (digits,
    "kakkonen", option words) are also votes before an evaluation ("2 on
    hyvä"). Ordinals, letters and "kaikki" are everyday words ("toinen asia",
    "andra", "kaikki hyvin", "kaikki aiheet kiinnostavat"), so a voting word
    binds them only from the left with nothing after them, except that letters
    opening the clause are votes before one too ("B on paras"); cardinal words
    count as often as they name ("valitsen kaksi", "jos vain yksi"), so only
    an option word or a clause of their own binds them.
    """
    for start, end in _run_spans(clause):
        run = clause[start:end]
        opens = start == 0 or (start == 1 and clause[0].text in _SUBJECTS)
        left = None if opens else clause[start - 1].kind
        right = clause[end].kind if end < len(clause) else None
        if right in (_K.VOTE, _K.EVAL) and not all(
            t.kind in _IN_RUN or t.kind in (_K.VOTE, _K.EVAL) or t.text in _OBJECTS
            for t in clause[end + 1 :]
        ):
            right = _K.OTHER  # "3 kiinnostaa muita", "3 on hyvä esimerkki": a statement
        pure = left is None and right is None and all(t.kind is not _K.FUNCTION for t in run)
        groups = [list(g) for _, g in itertools.groupby(run, key=lambda t: t.kind is _K.FUNCTION)]
        lists = [
            part
            for group in groups
            for part in _unjoined(group)
            if any(t.kind in _REFS for t in part)
        ]
        for index, part in enumerate(lists):
            first, last = index == 0, index == len(lists) - 1
            prefixed = _prefixed(part) and right in (None, _K.VOTE, _K.EVAL)
            cardinal = pure or prefixed
            weak = cardinal or (first and left is _K.VOTE and right is None)
            voted = (
                weak
                or (first and left is _K.VOTE and right in (None, _K.VOTE))
                or (last and right is _K.VOTE and left in (None, _K.VOTE))
            )
            evaluated = last and right is _K.EVAL and left is None
            # "B on paras", "I think B is best": a letter opening the clause is no word.
            letter = weak or (last and left is None and right in (_K.VOTE, _K.EVAL))
            yield (
                part,
                _Binding(voted or evaluated, weak, cardinal, letter, evaluated and not voted),
            )


def _unjoined(group: list[_Tok]) -> Iterator[list[_Tok]]:
    """``group`` split before an ordinal or letter that follows a choice with no "ja" between.

    "2 4" is a list, but in "vaihtoehtoa 2 kolmas webinaari" the ordinal starts
    something else.
    """
    part: list[_Tok] = []
    joined = True
    for tok in group:
        if tok.kind is _K.REF and tok.weak and not joined:
            yield part
            part = []
        if tok.kind in _REFS:
            joined = False
        elif tok.kind in (_K.CONN, _K.PREFIX):
            joined = True
        part.append(tok)
    yield part


def _run_spans(clause: list[_Tok]) -> Iterator[tuple[int, int]]:
    """Where the runs of choices, fillers and function words in ``clause`` start and end."""
    i = 0
    while i < len(clause):
        if clause[i].kind not in _IN_RUN:
            i += 1
            continue
        start = i
        while i < len(clause) and clause[i].kind in _IN_RUN:
            i += 1
        yield start, i


def _prefixed(part: list[_Tok]) -> bool:
    """An option word right before a choice ("nro 3", "option B") or after an ordinal."""
    significant = [tok for tok in part if tok.text not in (":", "_")]
    return any(
        (a.kind is _K.PREFIX and b.kind in (_K.REF, _K.JUNK))
        or (a.kind is _K.REF and not a.digit and not a.cardinal and b.kind is _K.PREFIX)
        for a, b in itertools.pairwise(significant)
    )


def _verdict(reading: _Reading, size: int, max_choices: int) -> BallotResult:
    understood = tuple(sorted(reading.chosen))
    by_letter = reading.by_letter
    if reading.problem is not None:
        return BallotResult((), "clarify", reading.problem, understood, by_letter)
    if not reading.chosen:
        return BallotResult((), "clarify", "nothing_found", understood, by_letter)
    if any(not 1 <= choice <= size for choice in reading.chosen):
        return BallotResult((), "clarify", "unknown_option", understood, by_letter)
    if len(reading.chosen) > max_choices:
        return BallotResult((), "clarify", "too_many", understood, by_letter)
    return BallotResult(understood, "ok", "ok", understood, by_letter)
