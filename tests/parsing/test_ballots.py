"""Ballot replies: the sample table, the table under disguises, then the API's promises.

``samples/ballots.toml`` holds replies as members write them (``new_text``, or
the cleaned subject as a first line) against a few polls; every one must come
out exactly as expected — the choices recorded, or the reason to ask back. A
wrong ballot is worse than a question back, so the disguise tests wrap every
sample in what mail clients and people add around a vote (signatures,
closings, quoted ballots, header blocks, greetings) and require the same
answer.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any, get_args

import pytest

from mailer.inbound.message import parse_message
from mailer.parsing.ballots import BallotResult, Reason, parse_ballot

TABLE = Path(__file__).parent / "samples" / "ballots.toml"
_DATA: dict[str, Any] = tomllib.loads(TABLE.read_text(encoding="utf-8"))
POLLS: dict[str, dict[str, Any]] = _DATA["polls"]
SAMPLES: list[dict[str, Any]] = _DATA["ballot"]
REPLIES = Path(__file__).parent.parent / "samples" / "replies"

TOPICS = POLLS["topics5"]["options"]


def _parse(sample: dict[str, Any], text: str | None = None) -> BallotResult:
    """The sample's text (or ``text``) read against the sample's poll."""
    poll = POLLS[sample["poll"]]
    return parse_ballot(
        sample["text"] if text is None else text, poll["options"], poll["max_choices"]
    )


def _outcome(result: BallotResult) -> tuple[str, tuple[int, ...] | str]:
    """What a sample promises: ("ok", choices) or ("clarify", reason)."""
    return ("ok", result.choices) if result.status == "ok" else ("clarify", result.reason)


def _expected(sample: dict[str, Any]) -> tuple[str, tuple[int, ...] | str]:
    """The sample's expectation in the form ``_outcome`` gives."""
    if "expect" in sample:
        return "ok", tuple(sample["expect"])
    return "clarify", sample["clarify"]


def _params() -> list[Any]:
    """One pytest param per sample, named by the sample."""
    return [pytest.param(sample, id=sample["name"]) for sample in SAMPLES]


# --- the table --------------------------------------------------------------------------


def test_there_are_enough_samples() -> None:
    """At least sixty samples, each language well represented, clarify cases included."""
    assert len(SAMPLES) >= 60
    for language in ("fi", "sv", "en"):
        assert sum(s["lang"] == language for s in SAMPLES) >= 10
    assert sum("clarify" in s for s in SAMPLES) >= 20


def test_sample_names_are_unique() -> None:
    """Test ids are the sample names, so a duplicate would hide a sample."""
    names = [s["name"] for s in SAMPLES]
    assert len(names) == len(set(names))


def test_samples_are_well_formed() -> None:
    """Each sample names a known poll and exactly one expectation, with a known reason."""
    for sample in SAMPLES:
        assert sample["poll"] in POLLS, sample["name"]
        assert ("expect" in sample) != ("clarify" in sample), sample["name"]
        assert sample.get("clarify", "nothing_found") in get_args(Reason), sample["name"]


def test_every_reason_is_exercised() -> None:
    """Every clarify reason code appears in the table, so every reply template is needed."""
    reasons = {s["clarify"] for s in SAMPLES if "clarify" in s}
    assert reasons == set(get_args(Reason)) - {"ok"}


def test_polls_cover_sizes_and_limits() -> None:
    """The polls span 3 to 6 options and max_choices 1 to 3."""
    sizes = {len(p["options"]) for p in POLLS.values()}
    limits = {p["max_choices"] for p in POLLS.values()}
    assert {3, 4, 5, 6} <= sizes
    assert {1, 2, 3} <= limits


@pytest.mark.parametrize("sample", _params())
def test_sample(sample: dict[str, Any]) -> None:
    """Each sample gives exactly the expected choices, or the expected reason to ask back."""
    assert _outcome(_parse(sample)) == _expected(sample)


# --- the table in disguise --------------------------------------------------------------

SIGNATURE = """

Ystävällisin terveisin

Matti Meikäläinen
Liikennesuunnittelija, Uudenkaupungin kaupunki
Kauppakatu 5, 23500 Uusikaupunki
p. 040 123 4567 | matti.meikalainen@example.fi
www.example.fi"""

BARE_SIGNATURE = """

Sari Nieminen
Liikenneinsinööri
Riihimäen kaupunki | Eteläinen Asemakatu 2, 11130 Riihimäki
+358 40 1234567"""

SWEDISH_SIGNATURE = """

Med vänlig hälsning
Anna Lindqvist, Jakobstads stad
Storgatan 12, 68600 Jakobstad
tfn 06 786 1111"""

ENGLISH_SIGNATURE = """

Best regards,
John Smith
City of Akaa, Valtatie 17, 37800 Akaa
Tel. +358 3 123 4567
Sent 27.11.2026"""

OUTLOOK_HISTORY = """

Lähettäjä: Verkosto <verkosto@example.test>
Lähetetty: maanantai 2. helmikuuta 2026 9.00
Vastaanottaja: Matti Meikäläinen <matti@example.test>
Aihe: Äänestys: seuraavan webinaarin aihe

Hei, äänestä seuraavan webinaarin aihe.
{listing}
Vastaa tähän viestiin valintasi numeroilla, esim. 2 ja 4. Voit valita enintään 2.
Äänestys päättyy 15.2.2026 klo 16."""

QUOTED_BALLOT = """

> Äänestys: seuraavan webinaarin aihe
{listing}
> Vastaa tähän viestiin valintasi numeroilla, esim. 2 ja 4"""


def _listing(options: list[str], prefix: str = "") -> str:
    """The ballot's numbered option list as the ballot mail shows it."""
    return "\n".join(f"{prefix}{i}. {option}" for i, option in enumerate(options, 1))


def _disguises(sample: dict[str, Any]) -> dict[str, str]:
    """The sample's text with what clients and people put around a vote."""
    text: str = sample["text"].rstrip("\n")
    options: list[str] = POLLS[sample["poll"]]["options"]
    return {
        "signature": text + SIGNATURE,
        "bare_signature": text + BARE_SIGNATURE,
        "swedish_signature": text + SWEDISH_SIGNATURE,
        "english_signature": text + ENGLISH_SIGNATURE,
        "outlook_history": text + OUTLOOK_HISTORY.format(listing=_listing(options)),
        "quoted_ballot": text + QUOTED_BALLOT.format(listing=_listing(options, "> ")),
        "pasted_list": text + "\n\n" + _listing(options),
        "greeting": "Hei,\n\n" + text,
        "mobile_footer": text + "\n\nLähetetty iPhonesta",
        "crlf": (text + SIGNATURE).replace("\n", "\r\n"),
    }


DISGUISED = [
    pytest.param(sample, disguise, id=f"{sample['name']}-{disguise}")
    for sample in SAMPLES
    if "Terveisin" not in sample["text"] and "hälsning" not in sample["text"]
    for disguise in _disguises(sample)
]


@pytest.mark.parametrize(("sample", "disguise"), DISGUISED)
def test_disguised_sample(sample: dict[str, Any], disguise: str) -> None:
    """Signatures, closings, quoted ballots, header blocks and greetings change nothing."""
    assert _outcome(_parse(sample, _disguises(sample)[disguise])) == _expected(sample)


# Sentences members write around a vote: numbers that count, ordinals that are
# not choices, option words in passing, greetings to everyone.
DISTRACTORS = [
    "Meillä on 3 koulua ja 2 reittiä.",
    "Olen ollut verkostossa 2 vuotta.",
    "Soita tarvittaessa 040 123 4567.",
    "Pääsen paikalle vasta klo 10.30.",
    "Webinaari 11.2. oli hyvä.",
    "Tilastoista oli juttua viime vuonna.",
    "Kiitos kaikille!",
    "Toinen asia: linkki puuttui.",
    "Kohta 3 oli epäselvä ohjeessa.",
    "Kolme kuntaa on jo mukana.",
    "Meitä on 2.",
    "Yksi kysymys vielä: milloin webinaari on?",
    "Viime kerralla äänestin 3.",
    "En pääse 2.3., mutta tallenne käy.",
    "Kaikki hyvin täällä.",
    "Linja 4 ajaa Akaaseen.",
    "Voit valita enintään 2.",
    "Meillä äänestää 3 henkilöä.",
    "Vi har 3 skolor.",
    "Andra frågor tar vi senare.",
    "Jag kan inte delta den 5 mars.",
    "Jag röstade förra gången på 2.",
    "Hej alla!",
    "We have 2 new routes.",
    "See you on March 5th.",
    "First of all, thanks.",
    "The first webinar was great.",
    "I voted 4 last year.",
    "All good here.",
    "Best, Anna",
    "Webinaarin 3. osa jäi minulta väliin.",
    "Kaikki aiheet kiinnostavat.",
    "Valtuustoaloite 2/2026 käsitellään huomenna.",
    "Meitä osallistuu 2\u20133 henkeä.",
    "Sali 2 on varattu.",
    "Olemme mukana 5. kertaa.",
    "Tämä oli toinen kerta.",
    "Haluan kiittää kaikkia.",
    "Vi röstade på 2 förra året.",
    "I think option 2 was discussed last year already.",
    "Option B was the topic in spring.",
    "Plan B is to watch the recording.",
]


@pytest.mark.parametrize("distractor", DISTRACTORS)
def test_distractor_never_makes_a_wrong_ballot(distractor: str) -> None:
    """Next to any sample a distracting sentence gives the sample's answer or asks back."""
    assert _parse(SAMPLES[0], distractor).status == "clarify"
    for sample in SAMPLES:
        text = sample["text"].rstrip("\n")
        for variant in (
            f"{text}\n\n{distractor}",
            f"{distractor}\n\n{text}",
            f"{text} {distractor}",
        ):
            outcome = _outcome(_parse(sample, variant))
            assert outcome == _expected(sample) or outcome[0] == "clarify", variant


# --- real messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iphone_fi_lahetetty_iphonesta_ballot", (2, 4)),
        ("android_gmail_fi_ballot_letter", (2,)),
    ],
)
def test_real_ballot_messages(name: str, expected: tuple[int, ...]) -> None:
    """Ballot replies among the inbound samples read right from ``new_text``."""
    message = parse_message((REPLIES / f"{name}.eml").read_bytes())
    result = parse_ballot(message.new_text, TOPICS, 2)
    assert result.choices == expected


def test_real_message_with_a_topic_in_words() -> None:
    """An Outlook reply naming a topic in a sentence, signature and all, reads as that topic."""
    message = parse_message((REPLIES / "outlook_desktop_fi_signature_logo_cid.eml").read_bytes())
    options = ["Joukkoliikenteen tilastot", "Koulukuljetusten kilpailutus", "Kutsutaksit"]
    assert parse_ballot(message.new_text, options, 1).choices == (2,)


# --- the API ----------------------------------------------------------------------------


@pytest.mark.parametrize("sample", _params())
def test_result_invariants(sample: dict[str, Any]) -> None:
    """ok: sorted unique in-range choices within the limit; clarify: nothing recorded."""
    result = _parse(sample)
    poll = POLLS[sample["poll"]]
    if result.status == "ok":
        assert result.reason == "ok"
        assert result.choices == tuple(sorted(set(result.choices)))
        assert 1 <= len(result.choices) <= poll["max_choices"]
        assert all(1 <= c <= len(poll["options"]) for c in result.choices)
        assert result.understood == result.choices
    else:
        assert result.choices == ()
        assert result.reason != "ok"
        assert result.understood == tuple(sorted(set(result.understood)))


def test_understood_shows_what_was_read() -> None:
    """A clarify result carries what was read, for the message asking back."""
    assert parse_ballot("1, 2 ja 4", TOPICS, 2).understood == (1, 2, 4)
    assert parse_ballot("Äänestän 7", TOPICS, 2).understood == (7,)
    assert parse_ballot("kaikki", TOPICS, 2).understood == (1, 2, 3, 4, 5)


def test_all_is_every_option_when_allowed() -> None:
    """The word kaikki records every option when max_choices allows it, and asks back otherwise."""
    assert parse_ballot("Kaikki", TOPICS, 5).choices == (1, 2, 3, 4, 5)
    assert parse_ballot("Kaikki", TOPICS, 4).reason == "too_many"


def test_letters_are_read_on_a_numbered_ballot() -> None:
    """A letter is the option in that place, and the result says it was written as one."""
    result = parse_ballot("B ja D", TOPICS, 2)
    assert (result.choices, result.by_letter, result.written) == ((2, 4), True, ("B", "D"))
    result = parse_ballot("2 ja 4", TOPICS, 2)
    assert (result.by_letter, result.written) == (False, ("2", "4"))


def test_a_letter_out_of_range_is_shown_as_written() -> None:
    """ "Valitsen K" of five options asks back showing K, not the number 11."""
    result = parse_ballot("Valitsen K", TOPICS, 2)
    assert (result.reason, result.written) == ("unknown_option", ("K",))


def test_a_signature_line_that_opens_with_a_letter_is_cut() -> None:
    """A letter before a phone number labels it; a letter before words may be a vote."""
    assert parse_ballot("B\n\nM 040 123 4567", TOPICS, 2).choices == (2,)
    assert parse_ballot("B\n\nt 040 1234567", TOPICS, 2).choices == (2,)
    assert parse_ballot("B\nD soita 040 123 4567", TOPICS, 2).status == "clarify"


def test_letters_and_digits_together_ask_back() -> None:
    """ "B ja 4" mixes two ways of counting: the member is asked, nothing is recorded."""
    for text in ("B ja 4", "2 ja D", "Valitsen B, 4", "Äänestän kakkosta ja D:tä"):
        assert parse_ballot(text, TOPICS, 2).reason == "mixed", text


def test_subject_only_reply() -> None:
    """A vote written only in the subject reads when the caller passes the subject first."""
    assert parse_ballot("2 ja 4\n", TOPICS, 2).choices == (2, 4)
    assert parse_ballot("Äänestys: seuraavan webinaarin aihe\n", TOPICS, 2).status == "clarify"


def test_empty_and_blank_text() -> None:
    """An empty reply asks back instead of failing."""
    for text in ("", "\n\n", "   ", "-- \nMatti"):
        assert parse_ballot(text, TOPICS, 2).reason == "nothing_found"


def test_odd_text_never_raises() -> None:
    """Control characters, huge numbers and stray punctuation give a result, not an error."""
    for text in ("\x00\x01", "9" * 400, ":::,,,&&&", "2" * 3 + "." * 50, "#", "n:o", "2:"):
        assert parse_ballot(text, TOPICS, 2).status in ("ok", "clarify")


def test_long_text_asks_back_quickly() -> None:
    """A reply the length of a document is not read as a ballot, and takes no time to refuse."""
    started = time.perf_counter()
    result = parse_ballot("Äänestän 2.\n" + "Meillä on 2 koulua ja 3 reittiä. " * 6000, TOPICS, 2)
    assert result.reason == "unreadable"
    assert time.perf_counter() - started < 2


def test_bad_poll_is_refused() -> None:
    """A ballot without options or with max_choices below one is a programming error."""
    with pytest.raises(ValueError):
        parse_ballot("2", [], 1)
    with pytest.raises(ValueError):
        parse_ballot("2", TOPICS, 0)
