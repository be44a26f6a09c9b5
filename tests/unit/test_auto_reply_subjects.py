"""Out-of-office replies without any automatic-mail header, told by their subject."""

from __future__ import annotations

import pytest

from mailer.matchers.auto_reply import responder_subject

AWAY_FI = "Olen lomalla 7.1.2027 asti. Kiireellisissä asioissa ota yhteyttä vaihteeseen."


@pytest.mark.parametrize(
    ("subject", "text", "is_reply"),
    [
        ("Poissa: Kutsu: Asiointiliikenteen webinaari", AWAY_FI, True),
        ("Poissa: Kutsu: Asiointiliikenteen webinaari", "", True),
        ("Poissa: Äänestys: seuraavan webinaarin aihe", AWAY_FI, False),
        ("Automaattinen vastaus: Kysymyksesi on vastaanotettu [#4]", "", False),
        ("Automaattinen poissaoloviesti: Viikkotiedote", "", False),
        ("Poissa toimistolta: Kutsu: Seminaari", "", False),
        ("Lomavastaaja: Re: Kysely", "", False),
        ("Out of Office: Invitation: Rural transport", "", False),
        ("Out of Office AutoReply: Question", "", False),
        ("Automatic reply: Your question was received [#7]", "", False),
        ("Auto-Reply: Ballot", "", False),
        ("Autosvar: Inbjudan: Webbinarium", "", False),
        ("Automatiskt svar: Fråga", "", False),
        ("Frånvarande: Inbjudan: Webbinarium", "Jag är ledig till 7.1.", False),
        ("Frånvaromeddelande: Omröstning", "", False),
        ("Abwesenheitsnotiz: Einladung", "", False),
        ("Automatische Antwort: Einladung", "", False),
        ("Abwesend: Einladung", "Ich bin bis 7.1. nicht im Büro.", False),
        ("Réponse automatique : Invitation", "", False),
        ("Away: Invitation: Webinar", "I am on leave until 7 January.", False),
    ],
)
def test_responder_subjects(subject: str, text: str, is_reply: bool) -> None:
    """Outlook, Exchange, Gmail and Apple responders in fi/sv/en/de are recognised."""
    assert responder_subject(subject, text, is_reply) is not None


@pytest.mark.parametrize(
    ("subject", "text", "is_reply"),
    [
        ("Poissa 12.1. palaverista", AWAY_FI, False),
        ("Poissa: Akaan kokous 12.1.", "Kuka tuuraa minua kokouksessa?", False),
        ("VS: Poissa: Kutsu: Webinaari", "En pääse, olen lomalla.", True),
        ("Koulukuljetukset lomalla", AWAY_FI, False),
        ("Kysymys", AWAY_FI, False),
        ("Out of office hours transport", "How do you arrange evening transport?", False),
        ("Frånvaro från seminariet", "Jag kan inte komma.", True),
        ("Re: Automatic replies cause problems", "How do you filter them?", True),
        ("", "", False),
    ],
)
def test_a_persons_mail_is_not_an_auto_reply(subject: str, text: str, is_reply: bool) -> None:
    """A person writing about an absence, or replying with "VS:", is answered as usual."""
    assert responder_subject(subject, text, is_reply) is None
