"""Registration and cancellation replies to an event invitation, in words or by iTIP.

Members answer an invitation the way they answer any mail: "Ilmoittaudun",
"Kyllä, gluteeniton", "Ja, jag kommer", "Count me in", "En pääse", "Can't make
it" — or press Accept/Decline in Outlook or Gmail, which sends an iCalendar
REPLY. A registration taken by mistake fills a seat and a lunch; so a reply
is read as yes or no only when it says so without hedging or contradiction,
and anything else is "unclear" with a reason code (the handler asks
"Tarkoititko ilmoittautua?").

The first line that says yes, no or maybe decides; what follows it is the
answer to the event's extra question (a diet, say). Short words that mean
something else inside a sentence — Finnish "ja" (and), "no" (well), "en"
(Swedish "a") — count only as a clause of their own ("Ja!", "No, sorry").
People soften a no with a word in the middle ("en valitettavasti pääse",
"jag kan tyvärr inte komma"): the phrases leave room for such words.

Nothing a member writes may be lost, so the result also says whether the
coordinator should read the reply (``forward``): a question, someone else
coming in the writer's place, more people than the writer, or a reply that is
neither yes nor no but says something. A plain reason ("tuli este") is not
worth a ticket; a name on the last line that is the writer's own is a
signature, not an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from icalendar import Calendar

from mailer.inbound.message import clean_subject
from mailer.parsing.written import is_greeting, written_lines

Intent = Literal["yes", "no", "unclear"]

# Reason codes.
FROM_TEXT = "text"  # yes/no read from the reply
FROM_SUBJECT = "subject"  # yes/no read from the subject ("Hyväksytty: ...")
NO_INTENT = "no_intent"  # nothing that says yes or no
QUESTION = "question"  # only a question ("Voinko tuoda kollegan?")
UNCERTAIN = "uncertain"  # "ehkä", "I'm not sure yet", Outlook's Tentative
CONTRADICTORY = "contradictory"  # yes and no at once


@dataclass(frozen=True)
class RsvpResult:
    """What a reply to an invitation says."""

    intent: Intent
    answer: str  # the writer's further lines (the answer to the event's question); "" if none
    reason: str  # one of the reason codes above
    forward: bool = False  # the coordinator should read it (see the module's docstring)
    group: bool = False  # a yes for more people than the writer ("kahdella henkilöllä")


@dataclass(frozen=True)
class ItipReply:
    """An Accept/Decline/Tentative pressed in a calendar client (iTIP METHOD:REPLY)."""

    uid: str
    sequence: int
    attendee: str  # the address, lower-cased, without "mailto:"
    name: str  # the attendee's CN, "" if none
    partstat: str  # ACCEPTED | DECLINED | TENTATIVE | DELEGATED | NEEDS-ACTION
    comment: str  # a note typed with the response ("Respond with comments"), "" if none

    @property
    def intent(self) -> Intent:
        """ACCEPTED is yes, DECLINED no; Tentative and the rest need asking."""
        if self.partstat == "ACCEPTED":
            return "yes"
        return "no" if self.partstat == "DECLINED" else "unclear"


_YES = (
    # fi
    "ilmoittaudun", "ilmoittaudumme", "ilmoittaudun mukaan", "osallistun", "osallistumme",
    "tulen", "tulemme", "olen tulossa", "olemme tulossa", "pääsen", "pääsen paikalle",
    "olen mukana", "olemme mukana", "ilmoita minut", "ilmoittakaa minut", "varaa minulle paikka",
    "ilmoittakaa meidät", "pääsemme",
    # sv
    "jag kommer", "vi kommer", "kommer gärna", "anmäler mig", "jag anmäler mig", "anmäl mig",
    "jag deltar", "vi deltar", "deltar gärna", "jag är med", "vi är med", "räkna med mig",
    "boka mig", "anmäler oss", "anmäl oss", "räkna med oss",
    # en
    "count me in", "i'll attend", "i will attend", "i'll be there", "i will be there",
    "i will come", "i'll come", "i'd like to attend", "i would like to attend",
    "i'd like to register", "i would like to register", "please register me", "sign me up",
    "register me", "i'm in", "i'll join", "i will join", "we'll attend", "we will attend",
    "i'm attending", "i am attending", "we'll be there", "we will be there", "count us in",
    "sign us up", "register us",
)  # fmt: skip
# "~" marks where a softening word may stand ("en valitettavasti pääse", "kan jag
# tyvärr inte komma", "will unfortunately not be able").
_NO = (
    # fi
    "en ~ pääse", "en ~ pääsekään", "en ~ pääsisi", "en ~ tule", "en ~ tulekaan",
    "en ~ osallistu", "en ~ voi ~ osallistua", "en ~ voi ~ tulla", "en ~ pysty ~ osallistumaan",
    "en ~ pysty ~ tulemaan", "en ~ ehdi", "en ~ ehdikään", "en ~ taida ~ päästä",
    "en ~ taida ~ ehtiä", "en ~ ole ~ tulossa", "peru", "perun", "peruutan", "perukaa",
    "peruuta", "perun ilmoittautumiseni", "peruutus", "joudun ~ perumaan", "joudun ~ perua",
    "jään ~ pois", "olen ~ estynyt", "olen ~ estyneenä", "emme ~ pääse", "emme ~ tule",
    "emme ~ osallistu", "emme ~ ehdi",
    # sv
    "kan ~ inte ~ komma", "kan ~ inte ~ delta", "kan ~ inte ~ närvara", "kan ~ inte ~ vara med",
    "kommer ~ inte", "jag kommer ~ inte", "vi kommer ~ inte", "avböjer", "avanmäler mig",
    "avanmäl mig", "avboka", "avbokar", "stryk mig", "hinner ~ inte", "jag deltar ~ inte",
    "vi deltar ~ inte", "har ~ inte ~ möjlighet", "är ~ förhindrad", "har ~ förhinder",
    "tackar ~ nej", "måste ~ tacka nej",
    # en
    "can't ~ make it", "cannot ~ make it", "can ~ not ~ make it", "can't ~ attend",
    "cannot ~ attend", "can ~ not ~ attend", "won't ~ attend", "will ~ not ~ attend",
    "won't ~ be able", "will ~ not ~ be able", "unable to attend", "not able to attend",
    "can't ~ come", "cannot ~ come", "won't ~ come", "can't ~ join", "cannot ~ join",
    "not attending", "not coming", "cancel", "please cancel", "cancel my registration",
    "unregister", "decline", "i decline", "count me out", "won't ~ make it",
    "have to ~ cancel", "must ~ cancel", "have to ~ decline", "must ~ decline",
)  # fmt: skip
# The softening words a "~" takes, and with them the subject of a Swedish
# inverted clause ("Tyvärr kan jag inte komma").
_SOFTENERS = (
    "valitettavasti", "ikävä kyllä", "harmi kyllä", "harmikseni", "harmillisesti", "kuitenkaan",
    "sittenkään", "nyt", "tällä kertaa", "tällä kerralla", "silloin", "siis", "kyllä",
    "mitenkään", "enää", "itse", "paikalle",
    "tyvärr", "dessvärre", "ändå", "nu", "då", "den här gången", "denna gång", "själv", "jag",
    "vi",
    "unfortunately", "sadly", "regrettably", "really", "now", "after all", "this time", "then",
)  # fmt: skip
_UNSURE = (
    # fi
    "ehkä", "mahdollisesti", "kenties", "todennäköisesti", "luultavasti", "en ~ ole ~ varma",
    "en ~ tiedä", "en vielä tiedä", "katsotaan", "alustavasti", "jos ehdin",
    "jos pääsen", "epävarma",
    # sv
    "kanske", "möjligen", "troligen", "vet ~ inte", "inte säker", "osäker", "preliminärt",
    "om jag hinner", "om jag kan",
    # en
    "maybe", "perhaps", "possibly", "probably", "not sure", "don't know", "might",
    "tentatively", "if i can", "depends", "not yet sure",
)  # fmt: skip
# Words that say yes or no only when they are the whole clause, give or take a
# "thank you": inside a sentence they mean something else.
_BARE_YES = frozenset(
    {
        "kyllä", "joo", "juu", "jep", "toki", "mielelläni", "ilman muuta",
        "totta kai", "tottakai", "ja", "jo", "gärna", "absolut", "visst", "yes", "yep", "yeah",
        "sure", "absolutely", "of course", "definitely",
    }
)  # fmt: skip
_BARE_NO = frozenset({"ei", "en", "nej", "no", "nope"})
_POLITE = frozenset(
    {
        "kiitos", "kiitoksia", "kiitos kutsusta", "tack", "tack för inbjudan", "thanks",
        "thank you", "please", "kiitos paljon", "tack så mycket", "thank you very much",
        "valitettavasti", "tyvärr", "unfortunately", "sorry", "pahoittelut",
        "ikävä kyllä", "harmi kyllä", "dessvärre", "sadly", "i'm afraid",
        "thanks for the invitation", "thank you for the invitation", "thanks for the invite",
        "tack för inbjudningen", "hyvää päivänjatkoa", "ha en bra dag",
        "have a nice day",
    }
)  # fmt: skip
# Words that carry nothing for the coordinator once the yes or no is read:
# conjunctions, interjections, the softeners, the event itself.
_EMPTY_WORDS = frozenset(
    {
        "ja", "tai", "mutta", "siis", "no", "niin", "nyt", "hmm", "hm", "ok", "okei", "selvä",
        "sittenkään", "sittenkin", "kuitenkaan", "kuitenkin", "tällä", "kertaa", "kerralla",
        "webinaariin", "tilaisuuteen", "seminaariin", "tapahtumaan", "mukaan", "minä", "me",
        "och", "eller", "men", "så", "jag", "vi", "i", "till", "på", "webbinariet",
        "evenemanget", "seminariet", "den", "här", "gången", "än", "ännu", "vielä",
        "and", "or", "but", "so", "well", "we", "the", "to", "it", "this", "time", "webinar",
        "event", "seminar", "i'm", "yet", "still",
    }
)  # fmt: skip
# Someone other than the writer: a colleague, a substitute, an address.
_SOMEONE = re.compile(
    r"(?<!\w)(?:kollega\w*|kolleg\w*|työkaveri\w*|työtoveri\w*|sijai\w*|tilalle\w*"
    r"|puolesta|edustaja\w*|ersättare|i\s+stället|istället|i\s+mitt\s+ställe"
    r"|colleague\w*|instead|substitute\w*|replacement|deputy|on\s+my\s+behalf"
    r"|in\s+my\s+place)(?!\w)|[\w.+-]+@[\w-]+\.[\w.-]+",
    re.IGNORECASE,
)
# More people than the writer: a number of persons, "meitä tulee", a plural verb.
_GROUP = re.compile(
    r"(?<!\w)(?:(?:kaksi|kahde\w*|kolme\w*|neljä\w*|viisi|viide\w*|kuusi|kuude\w*|\d+)"
    r"\s+(?:henk\w*|hengen|hengellä|hlö\w*|osallistuja\w*|ihmis\w*)"
    r"|kahdestaan|kolmestaan|neljästään|meitä\s+(?:tulee|on)|molemmat"
    r"|(?:två|tre|fyra|fem|sex|\d+)\s+(?:personer|deltagare|st)"
    r"|vi\s+(?:blir|är)\s+(?:två|tre|fyra|fem|\d+)|båda"
    r"|(?:two|three|four|five|six|\d+)\s+(?:people|persons|participants|attendees|of\s+us)"
    r"|both\s+of\s+us|plus\s+one"
    r"|ilmoittaudumme|osallistumme|tulemme|olemme\s+(?:tulossa|mukana)|pääsemme"
    r"|ilmoittakaa\s+meidät|vi\s+(?:kommer|deltar|är\s+med)|anmäler\s+oss|anmäl\s+oss"
    r"|räkna\s+med\s+oss|we'll\s+(?:attend|be\s+there)|we\s+will\s+(?:attend|be\s+there)"
    r"|count\s+us\s+in|sign\s+us\s+up|register\s+us)(?!\w)|\+\s?\d\b",
    re.IGNORECASE,
)
# A reply that says more than yes, no or maybe: this many words of its own ("tuli
# este" is a reason and "katsotaan miten ehdin" a maybe, not a message).
_WORDS_TO_FORWARD = 3
# A signature under the writer's name: the name and a title, an office, a phone.
_SIGNATURE_LINES_MAX = 5
_OUTLOOK_SUBJECTS: dict[str, Intent] = {
    "hyväksytty": "yes", "accepted": "yes", "accepterat": "yes", "accepterad": "yes",
    "godkänt": "yes", "hylätty": "no", "declined": "no", "avböjt": "no", "avböjd": "no",
    "avvisat": "no", "alustava": "unclear", "alustavasti hyväksytty": "unclear",
    "tentative": "unclear", "tentatively accepted": "unclear", "preliminärt": "unclear",
    "preliminärt accepterat": "unclear", "preliminär": "unclear",
}  # fmt: skip


def _words(phrase: str) -> str:
    return r"\s+".join(re.escape(word) for word in phrase.split())


_SOFTENER = "|".join(_words(w) for w in sorted(_SOFTENERS, key=len, reverse=True))


def _phrase(phrase: str) -> str:
    """The phrase's words apart by spaces; a "~" takes any number of softening words."""
    parts = phrase.split(" ~ ")
    return rf"(?:\s+(?:{_SOFTENER}))*\s+".join(_words(part) for part in parts)


def _phrases(phrases: tuple[str, ...] | frozenset[str]) -> str:
    """One alternation, longest first."""
    return "|".join(_phrase(p) for p in sorted(phrases, key=len, reverse=True))


_SIGNAL = re.compile(
    rf"(?<![\w'])(?:(?P<unsure>{_phrases(_UNSURE)})|(?P<no>{_phrases(_NO)})"
    rf"|(?P<yes>{_phrases(_YES)}))(?![\w'])",
    re.IGNORECASE,
)
_POLITE_WORDS = re.compile(rf"(?<!\w)(?:{_phrases(_POLITE)})(?!\w)")
# A clause ends at a comma or semicolon, or at a full stop, colon, ! or ? before a
# space or a capital: "pekka.virtanen@akaa.fi" and "klo 13.30" stay whole,
# "Kyllä.Gluteeniton" typed on a phone does not.
_CLAUSE = re.compile(r"(?:[^,;:.!?\n]|[:.!?](?=[^\s,;:.!?A-ZÅÄÖ]))+[,;:.!?]*")
_CONDITIONAL = re.compile(r"^\s*(?:jos|mikäli|om|ifall|if|in case)\b", re.IGNORECASE)
_PUNCTUATION = " \t.,;:!?-*_()\u2013\u2014"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


@dataclass(frozen=True)
class _Signals:
    yes: bool = False
    no: bool = False
    unsure: bool = False
    asked: bool = False  # a question was asked
    bare_no: bool = False  # "No" alone: English no, or Finnish "well" before a yes

    @property
    def any(self) -> bool:
        return self.yes or self.no or self.unsure or self.bare_no

    def __or__(self, other: _Signals) -> _Signals:
        return _Signals(
            self.yes or other.yes,
            self.no or other.no,
            self.unsure or other.unsure,
            self.asked or other.asked,
            self.bare_no or other.bare_no,
        )


def _clauses(line: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.findall(line) if c.strip(_PUNCTUATION)]


def _bare(clause: str) -> str:
    """The clause's words without punctuation, politeness words around them removed."""
    words = _POLITE_WORDS.sub(" ", clause.strip(_PUNCTUATION).casefold())
    return " ".join(words.replace(",", " ").split())


def _clause_signals(clause: str, strong_only: bool) -> _Signals:
    if clause.rstrip().endswith("?"):
        return _Signals(asked=True)
    if strong_only and _CONDITIONAL.match(clause):
        return _Signals()
    found = _Signals()
    for match in _SIGNAL.finditer(clause.translate(_APOSTROPHES)):
        found = found | _Signals(
            yes=match.group("yes") is not None,
            no=match.group("no") is not None,
            unsure=match.group("unsure") is not None,
        )
    if not strong_only:
        bare = _bare(clause)
        found = found | _Signals(
            yes=bare in _BARE_YES, no=bare in _BARE_NO - {"no"}, bare_no=bare == "no"
        )
    return found


def _line_signals(line: str, strong_only: bool = False) -> _Signals:
    found = _Signals()
    for clause in _clauses(line):
        found = found | _clause_signals(clause, strong_only)
    return found


def _intent(signals: _Signals) -> tuple[Intent, str]:
    if signals.unsure:
        return "unclear", UNCERTAIN
    if signals.yes and signals.no:
        return "unclear", CONTRADICTORY
    if signals.yes:
        return "yes", FROM_TEXT  # "No, tulen!" is Finnish for "Well, I'll come"
    if signals.no or signals.bare_no:
        return "no", FROM_TEXT
    return "unclear", QUESTION if signals.asked else NO_INTENT


def _is_filler(text: str) -> bool:
    """A line or clause that answers nothing: a greeting, thanks, punctuation."""
    return not _bare(text) or is_greeting(text)


def _asks(clause: str) -> bool:
    return clause.rstrip().endswith("?")


def _without_questions(line: str) -> str:
    """A question asked beside the answer is for the coordinator, not the answer."""
    clauses = _clauses(line)
    if not any(_asks(c) for c in clauses):
        return line
    return " ".join(c for c in clauses if not _asks(c))


def _answer(intent_line: str, later: list[str]) -> str:
    """The clauses after the last signal on the intent line, and the lines below it."""
    parts: list[str] = []
    clauses = _clauses(intent_line)
    last = max(
        (i for i, c in enumerate(clauses) if _clause_signals(c, strong_only=False).any),
        default=-1,
    )
    # A colon ends a clause for the signals, but "Diet: none" is one answer, not two.
    tail = ", ".join(
        c.strip(" ,;") for c in clauses[last + 1 :] if not _is_filler(c) and not _asks(c)
    ).replace(":, ", ": ")
    if tail:
        parts.append(tail)
    lines = [_without_questions(line.strip()) for line in later]
    while lines and (not lines[-1] or _is_filler(lines[-1])):
        lines.pop()
    kept = [line for line in lines if not line or not _is_filler(line)]
    parts.append("\n".join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parts).strip())


_LABEL = re.compile(r"^\s*(?P<label>[^\W\d_][^:\n]{0,40}?)\s*:\s*(?P<rest>\S.*)$", re.DOTALL)


def without_question_label(answer: str, question: str) -> str:
    """The answer without a label that repeats the event's question: "Ruokavalio: laktoositon".

    People copy the question as a label; echoed back after the question itself it
    would read "Ruokavalio? Ruokavalio: laktoositon". A label that is not the
    question's ("Huom: myöhästyn") is part of what they said and stays.
    """
    match = _LABEL.match(answer)
    if match is None:
        return answer
    words = re.findall(r"[^\W\d_]+", match["label"].casefold())
    asked = set(re.findall(r"[^\W\d_]+", question.casefold()))
    if words and all(word in asked for word in words):
        return match["rest"].strip()
    return answer


def _is_signer(line: str, signer: str) -> bool:
    """The writer's own name, first name or initials alone on a line ("Matti", "-ML")."""
    name = line.strip(" -/.,\u2013\u2014").casefold()
    words = signer.casefold().split()
    if not name or not words:
        return False
    return name in {" ".join(words), words[0], "".join(w[0] for w in words)}


def _unsigned(lines: list[str], signer: str) -> list[str]:
    """The lines before the writer's name that starts a signature without a closing word
    ("Akaa" / "" / "Matti"): a paragraph of its own, near the end."""
    for index in range(len(lines) - 1, 0, -1):
        if len(lines) - index > _SIGNATURE_LINES_MAX:
            break
        if not lines[index - 1].strip() and _is_signer(lines[index], signer):
            return lines[:index]
    return lines


def _own_words(text: str) -> list[str]:
    """The words that say something beyond yes, no, maybe, politeness and filler."""
    plain = _POLITE_WORDS.sub(" ", _SIGNAL.sub(" ", text.translate(_APOSTROPHES)).casefold())
    return [
        word
        for word in re.findall(r"\w[\w'@.-]*", plain)
        if word not in _EMPTY_WORDS and word not in _BARE_YES and word not in _BARE_NO
    ]


def _for_coordinator(intent: Intent, lines: list[str]) -> tuple[bool, bool]:
    """(forward, group): see the module's docstring for when a reply goes on."""
    text = "\n".join(lines)
    asked = any(_asks(c) for line in lines for c in _clauses(line))
    someone = _SOMEONE.search(text) is not None
    if intent == "yes":
        group = someone or _GROUP.search(text) is not None
        return asked or group, group
    if intent == "no":
        besides = [
            c
            for line in lines
            for c in _clauses(line)
            if not _clause_signals(c, strong_only=False).any
        ]
        words = sum(len(_own_words(c)) for c in besides)
        return asked or someone or words >= _WORDS_TO_FORWARD, False
    return asked or someone or len(_own_words(text)) >= _WORDS_TO_FORWARD, False


def _result(intent: Intent, answer: str, reason: str, lines: list[str]) -> RsvpResult:
    forward, group = _for_coordinator(intent, lines)
    return RsvpResult(intent, answer, reason, forward, group)


def _from_subject(subject: str) -> tuple[Intent, str] | None:
    """Outlook's "Hyväksytty: ..." / "Declined: ..." subject, or a subject that says it."""
    head = clean_subject(subject)
    prefix, colon, _ = head.partition(":")
    if colon and prefix.strip().casefold() in _OUTLOOK_SUBJECTS:
        intent = _OUTLOOK_SUBJECTS[prefix.strip().casefold()]
        return intent, FROM_SUBJECT if intent != "unclear" else UNCERTAIN
    signals = _line_signals(head, strong_only=True)
    if not signals.any:
        return None
    intent, reason = _intent(signals)
    return intent, FROM_SUBJECT if intent != "unclear" else reason


def parse_rsvp(text: str, subject: str = "", signer: str = "") -> RsvpResult:
    """Read a reply to an invitation (``new_text`` and the subject): yes, no or unclear.

    ``signer`` is the writer's name, so a signature of just that name is not
    taken for an answer or a message.
    """
    lines = _unsigned([line for line in written_lines(text) if not is_greeting(line)], signer)
    for index, line in enumerate(lines):
        signals = _line_signals(line)
        if not signals.any:
            continue
        later = lines[index + 1 :]
        for other in later:
            signals = signals | _line_signals(other, strong_only=True)
        intent, reason = _intent(signals)
        return _result(intent, _answer(line, later), reason, lines)
    asked = any(_line_signals(line).asked for line in lines)
    from_subject = _from_subject(subject)
    if from_subject is not None and not asked:
        intent, reason = from_subject
        return _result(intent, _answer("", lines), reason, lines)
    return _result("unclear", "", QUESTION if asked else NO_INTENT, lines)


def _text(value: object) -> str:
    return str(value).strip() if value is not None else ""


def parse_itip_reply(ics: bytes) -> ItipReply | None:
    """The attendee's response in an iCalendar REPLY; None if it is not one or unreadable."""
    try:
        calendar = Calendar.from_ical(ics)
    except (ValueError, IndexError, KeyError, TypeError):
        return None
    if _text(calendar.get("METHOD")).upper() != "REPLY":
        return None
    for event in calendar.walk("VEVENT"):
        uid = _text(event.get("UID"))
        attendees = event.get("ATTENDEE")
        if not uid or attendees is None:
            continue
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            address = _text(attendee)
            if address.lower().startswith("mailto:"):
                address = address[len("mailto:") :]
            params = getattr(attendee, "params", {})
            if not address:
                continue
            try:
                sequence = int(event.get("SEQUENCE", 0))
            except (TypeError, ValueError):
                sequence = 0
            return ItipReply(
                uid=uid,
                sequence=sequence,
                attendee=address.strip().lower(),
                name=_text(params.get("CN")),
                partstat=_text(params.get("PARTSTAT") or "NEEDS-ACTION").upper(),
                comment=_text(event.get("COMMENT")),
            )
    return None
