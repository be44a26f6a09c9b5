"""Guess whether a short mail is Finnish, Swedish or English.

Used only where the sender is not on the roster: answering in the language they
wrote in beats answering in the network default. Small function words decide;
ties and empty texts fall back to the default.
"""

from __future__ import annotations

import re

_WORDS = {
    "fi": {
        "ja",
        "on",
        "ei",
        "että",
        "kun",
        "tai",
        "mutta",
        "olen",
        "onko",
        "voisitko",
        "kiitos",
        "hei",
        "terveisin",
        "kysymys",
        "miten",
        "mitä",
        "meillä",
        "teillä",
        "kunnan",
        "se",
        "myös",
        "ole",
        "haluaisin",
        "tilaa",
        "liity",
        "kyllä",
        "ystävällisin",
        "moi",
    },
    "sv": {
        "och",
        "är",
        "inte",
        "att",
        "som",
        "eller",
        "men",
        "jag",
        "har",
        "kan",
        "tack",
        "hej",
        "hälsningar",
        "fråga",
        "hur",
        "vad",
        "vi",
        "ni",
        "kommunen",
        "det",
        "också",
        "vill",
        "skulle",
        "med",
        "för",
        "på",
        "prenumerera",
        "vänliga",
        "mvh",
    },
    "en": {
        "and",
        "is",
        "not",
        "that",
        "the",
        "or",
        "but",
        "i",
        "have",
        "can",
        "thanks",
        "hello",
        "hi",
        "regards",
        "question",
        "how",
        "what",
        "we",
        "you",
        "our",
        "it",
        "also",
        "would",
        "like",
        "with",
        "for",
        "subscribe",
        "please",
        "best",
    },
}
_TOKEN = re.compile(r"[a-zåäö]+")


def guess_language(text: str, default: str) -> str:
    tokens = _TOKEN.findall(text.casefold()[:4000])
    if not tokens:
        return default
    scores = {lang: sum(t in words for t in tokens) for lang, words in _WORDS.items()}
    best = max(scores.values())
    if best == 0:
        return default
    leaders = [lang for lang, score in scores.items() if score == best]
    return default if default in leaders or len(leaders) > 1 else leaders[0]
