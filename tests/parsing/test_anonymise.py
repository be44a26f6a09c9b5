"""The asker taken out of a question and its answer: realistic fi/sv/en mail text."""

from __future__ import annotations

import pytest

from mailer.parsing.anonymise import Asker, Marks, anonymise

FI = Marks("[nimi]", "[kunta]", "[sähköpostiosoite]", "[puhelinnumero]")
SV = Marks("[namn]", "[kommun]", "[e-postadress]", "[telefonnummer]")
EN = Marks("[name]", "[municipality]", "[email address]", "[phone number]")
MATTI = Asker("Matti Meikäläinen", "matti.meikalainen@esimerkki.fi", "Esimerkin kaupunki")
LIISA = Asker("Liisa Laine", "liisa.laine@uusikaupunki.fi", "Uusikaupunki")
ANDERS = Asker("Anders Berg", "anders.berg@jakobstad.fi", "Pietarsaari/Jakobstad")
CLARE = Asker("Clare Cole", "clare.cole@riihimaki.fi", "Riihimäki")


def test_finnish_closing_with_the_whole_signature() -> None:
    """Greeting, closing, name, title, organisation and phone under it all go."""
    text = (
        "Hei,\n\nmeillä mietitään koulukuljetusten yhteiskilpailutusta. Onko kokemuksia?\n\n"
        "Ystävällisin terveisin\nMatti Meikäläinen\nliikennesuunnittelija\n"
        "Esimerkin kaupunki\npuh. 040 123 4567\n"
    )
    assert anonymise(text, MATTI, FI) == (
        "Meillä mietitään koulukuljetusten yhteiskilpailutusta. Onko kokemuksia?"
    )


def test_signature_without_a_closing() -> None:
    """Name, title and number straight under the question go as well."""
    text = (
        "Miten olette järjestäneet kutsutaksin tilaukset?\n"
        "Matti Meikäläinen\nliikennesuunnittelija, Esimerkin kaupunki\n040-1234567"
    )
    assert anonymise(text, MATTI, FI) == "Miten olette järjestäneet kutsutaksin tilaukset?"


def test_signature_in_two_blocks() -> None:
    """A signature with a blank line inside it goes whole."""
    text = (
        "Saako kuljetuksen yhdistää asiointiliikenteeseen?\n\nLiisa Laine\n"
        "joukkoliikennesuunnittelija\n\nUudenkaupungin kaupunki\n+358 40 123 4567\n"
        "www.uusikaupunki.fi"
    )
    assert anonymise(text, LIISA, FI) == "Saako kuljetuksen yhdistää asiointiliikenteeseen?"


def test_swedish_med_vanliga_halsningar() -> None:
    """Swedish closing, title, both names of the town and the phone go."""
    text = (
        "Hej!\n\nHur har ni ordnat anropstrafiken på landsbygden kring Jakobstad?\n\n"
        "Med vänliga hälsningar\nAnders Berg\ntrafikplanerare\nJakobstads stad\n"
        "tfn 06 786 1111"
    )
    assert anonymise(text, ANDERS, SV) == (
        "Hur har ni ordnat anropstrafiken på landsbygden kring [kommun]?"
    )


def test_english_best_regards() -> None:
    """English closing and signature; the town in the text becomes a mark."""
    text = (
        "Dear coordinator,\n\nHow do other towns report school transport costs to Kela? "
        "In Riihimäki we use a spreadsheet.\n\nBest regards,\nClare Cole\n"
        "Transport planner, City of Riihimäki\n+358 19 758 4000"
    )
    assert anonymise(text, CLARE, EN) == (
        "How do other towns report school transport costs to Kela? "
        "In [municipality] we use a spreadsheet."
    )


@pytest.mark.parametrize(
    ("footer", "closing"),
    [
        ("Sent from my iPhone", "Thanks,\nClare"),
        ("Lähetetty iPhonesta", "t. Clare"),
        ("Skickat från min iPhone", "Mvh Clare"),
        ("Hanki Outlook for iOS", "Terv. Clare Cole"),
        ("Get Outlook for Android", "BR, Clare"),
    ],
)
def test_mobile_footers(footer: str, closing: str) -> None:
    """Mobile client footers and short closings go; the question stays."""
    text = f"Onko teillä palvelulinjaa?\n\n{closing}\n\n{footer}\n"
    assert anonymise(text, CLARE, FI) == "Onko teillä palvelulinjaa?"


def test_dash_dash_signature() -> None:
    """Everything under a '-- ' line goes."""
    text = "Kuka tekee tilastot?\n-- \nClare Cole | Riihimäki | 019 758 4000"
    assert anonymise(text, CLARE, FI) == "Kuka tekee tilastot?"


def test_addresses_anywhere() -> None:
    """Every email address in the text is replaced, the asker's and anyone else's."""
    text = (
        "Kysyin jo osoitteesta kirjaamo@esimerkki.fi, mutta vastausta ei tullut. "
        "Voitte vastata myös suoraan matti.meikalainen@esimerkki.fi."
    )
    assert anonymise(text, MATTI, FI) == (
        "Kysyin jo osoitteesta [sähköpostiosoite], mutta vastausta ei tullut. "
        "Voitte vastata myös suoraan [sähköpostiosoite]."
    )


@pytest.mark.parametrize(
    "number", ["040 123 4567", "+358 40 123 4567", "(09) 310 1234", "050-7654321", "0401234567"]
)
def test_phone_numbers_in_the_text(number: str) -> None:
    """Finnish and international numbers written in a sentence are replaced."""
    text = f"Soittakaa minulle numeroon {number}, niin sovitaan lisää."
    assert anonymise(text, MATTI, FI) == (
        "Soittakaa minulle numeroon [puhelinnumero], niin sovitaan lisää."
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "Budjetti on 2 000 000 euroa vuodessa.",
        "Sopimus alkoi 01.02.2027 ja kestää vuoteen 2030.",
        "Linja ajaa klo 07-16 ja matka on 0,5 km.",
        "Postinumero on 00100 ja kustannus 120 000 €.",
        "Asiakasnumero on 012 345.",
    ],
)
def test_numbers_that_are_not_phones_stay(sentence: str) -> None:
    """Sums, dates, times and postal codes are not phone numbers."""
    assert anonymise(sentence, MATTI, FI) == sentence


def test_inflected_names_and_organisation() -> None:
    """Finnish case forms of the asker's name and town are found."""
    text = (
        "Liisan esimies pyysi selvittämään asian. Laineen tiimi on ehdottanut, että "
        "Uudenkaupungin linjat yhdistetään. Uudessakaupungissa asiasta päättää lautakunta."
    )
    assert anonymise(text, LIISA, FI) == (
        "[nimi] esimies pyysi selvittämään asian. [nimi] tiimi on ehdottanut, että "
        "[kunta] linjat yhdistetään. [kunta] asiasta päättää lautakunta."
    )


@pytest.mark.parametrize(
    ("asker", "text", "expected"),
    [
        (MATTI, "Meikäläisen mukaan Esimerkin kaupungissa", "[nimi] mukaan [kunta]"),
        (ANDERS, "Pietarsaaren ja Jakobstads linjat", "[kunta] ja [kunta] linjat"),
        (CLARE, "Riihimäen asema", "[kunta] asema"),
        (Asker("Anna Aho", "", "Akaa"), "Akaassa ja Akaan", "[kunta] ja [kunta]"),
    ],
)
def test_case_forms(asker: Asker, text: str, expected: str) -> None:
    """Genitives and locatives of names and towns are replaced."""
    assert anonymise(text, asker, FI) == expected


def test_not_too_eager() -> None:
    """Words that only start like the organisation, other towns and lower-case words stay."""
    text = "Esimerkiksi Akaa ja Sastamala tekivät yhteishankinnan kaupungin puolesta."
    assert anonymise(text, MATTI, FI) == text


def test_greeting_only_when_it_is_a_greeting() -> None:
    """A short 'Hei Matti,' goes; a first sentence that starts with 'Hei' stays."""
    assert anonymise("Hei Matti,\n\nkyllä voi.", MATTI, FI) == "Kyllä voi."
    sentence = "Hei, meillä on uusi linja."
    assert anonymise(sentence, MATTI, FI) == sentence


def test_name_from_the_address_when_none_on_file() -> None:
    """Without a name, 'first.last@' names the asker; 'info@' names nobody."""
    asker = Asker("", "liisa.laine@uusikaupunki.fi", "")
    assert anonymise("Liisa Laine kysyy tätä.", asker, FI) == "[nimi] kysyy tätä."
    nobody = Asker("", "info@uusikaupunki.fi", "")
    assert anonymise("Info kysyy tätä.", nobody, FI) == "Info kysyy tätä."


def test_gmail_quote_and_outlook_header_block() -> None:
    """Quoted history and Outlook's header block go with what is under them."""
    gmail = (
        "Kiitos, tämä auttaa.\n\nla 6.2.2027 klo 9.15 Matti Meikäläinen "
        "<matti.meikalainen@esimerkki.fi> kirjoitti:\n> Hei,\n> onko kokemusta?\n"
    )
    assert anonymise(gmail, MATTI, FI) == "Kiitos, tämä auttaa."
    outlook = (
        "Vastaus on kyllä.\n\n________________________________\n"
        "Lähettäjä: Matti Meikäläinen <matti.meikalainen@esimerkki.fi>\n"
        "Lähetetty: lauantai 6. helmikuuta 2027 9.15\nVastaanottaja: Verkosto\n"
        "Aihe: Kysymys\n\nHei, onko kokemusta?\n"
    )
    assert anonymise(outlook, MATTI, FI) == "Vastaus on kyllä."


def test_coordinators_answer() -> None:
    """The coordinator's greeting to the asker and own signature go; the answer stays."""
    text = (
        "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä vuonna 2025.\n"
        "Kysy lisää Akaan liikennesuunnittelijalta.\n\nTerveisin\nKoordinaattori\n"
        "Pienet joukot, iso merkitys\npuh. 050 765 4321"
    )
    assert anonymise(text, LIISA, FI) == (
        "Akaa kilpailutti molemmat yhdessä vuonna 2025.\nKysy lisää Akaan liikennesuunnittelijalta."
    )


def test_a_subject_line() -> None:
    """One line (a subject) keeps its words; the town in it becomes a mark."""
    assert anonymise("Koulukuljetukset Uudessakaupungissa", LIISA, FI) == (
        "Koulukuljetukset [kunta]"
    )
    assert anonymise("", LIISA, FI) == ""


def test_paragraphs_kept_and_blank_runs_squeezed() -> None:
    """Paragraph breaks survive; runs of blank lines become one."""
    text = "Ensimmäinen kappale.\n\n\n\nToinen kappale?\n"
    assert anonymise(text, LIISA, FI) == "Ensimmäinen kappale.\n\nToinen kappale?"
