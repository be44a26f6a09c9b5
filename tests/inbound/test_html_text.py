"""HTML bodies as text: blocks become lines and every client's quote becomes "> " lines."""

from __future__ import annotations

from mailer.inbound.html_text import html_to_text


def test_blocks_and_breaks_become_lines() -> None:
    """Paragraphs, divs and <br> each end a line."""
    assert html_to_text("<p>Yksi</p><div>Kaksi<br>Kolme</div>") == "Yksi\nKaksi\nKolme"


def test_empty_paragraphs_give_one_blank_line() -> None:
    """Outlook's &nbsp; paragraphs and Gmail's <div><br></div> give a single blank line."""
    outlook = "<p>A</p><p><o:p>&nbsp;</o:p></p><p><o:p>&nbsp;</o:p></p><p>B</p>"
    gmail = "<div>A</div><div><br></div><div>B</div>"
    assert html_to_text(outlook) == html_to_text(gmail) == "A\n\nB"


def test_list_items_get_dashes() -> None:
    """Each <li> becomes a "- " line."""
    assert html_to_text("<ul><li>Yksi</li><li>Kaksi</li></ul>") == "- Yksi\n- Kaksi"


def test_entities_are_decoded() -> None:
    """Named and numeric character references come out as characters."""
    assert html_to_text("<p>&lt;a&gt; &amp; &auml; &#8211; &#x20AC;</p>") == "<a> & ä \u2013 €"


def test_style_script_and_head_are_dropped() -> None:
    """Stylesheets, scripts and the head's title are not text."""
    html = "<html><head><title>T</title><style>p{x:y}</style></head><body><script>x()</script>"
    assert html_to_text(html + "<p>Teksti</p></body></html>") == "Teksti"


def test_unclosed_head_ends_at_body() -> None:
    """A head left open by a sloppy generator does not hide the body."""
    assert html_to_text("<html><head><meta charset=utf-8><body><p>Teksti</p>") == "Teksti"


def test_whitespace_is_collapsed() -> None:
    """Source line breaks and runs of spaces inside text become single spaces."""
    assert html_to_text("<p>Yksi\n   kaksi\tkolme</p>\n\n  <p> neljä </p>") == (
        "Yksi kaksi kolme\nneljä"
    )


def test_preformatted_text_keeps_its_lines() -> None:
    """<pre> keeps its line breaks and spacing."""
    assert html_to_text("<pre>a  b\nc</pre>") == "a  b\nc"


def test_blockquote_is_quoted() -> None:
    """A blockquote's lines get "> ", nested ones "> > "."""
    html = "<p>Vastaus</p><blockquote>Kysymys<blockquote>Vanha</blockquote></blockquote>"
    assert html_to_text(html) == "Vastaus\n> Kysymys\n> > Vanha"


def test_gmail_quote_container_is_quoted() -> None:
    """Gmail's div.gmail_quote (attribution included) is quoted."""
    html = (
        '<div dir="ltr">Kyllä</div><div class="gmail_quote gmail_quote_container">'
        '<div class="gmail_attr">Hanna kirjoitti:</div></div>'
    )
    assert html_to_text(html) == "Kyllä\n> Hanna kirjoitti:"


def test_outlook_web_reply_marker_quotes_the_rest() -> None:
    """From Outlook on the web's #appendonsend to the end, everything is quoted."""
    html = (
        '<div>Kyllä</div><div id="appendonsend"></div><hr>'
        '<div id="divRplyFwdMsg"><b>Lähettäjä:</b> Hanna</div><div>Vanha viesti</div>'
    )
    assert html_to_text(html) == "Kyllä\n> Lähettäjä: Hanna\n> Vanha viesti"


def test_outlook_desktop_border_top_separator_quotes_the_rest() -> None:
    """Outlook desktop's border-top separator div quotes everything after it."""
    html = (
        "<p>Kyllä</p><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm'>"
        "<p><b>From:</b> Hanna</p></div><p>Vanha viesti</p>"
    )
    assert html_to_text(html) == "Kyllä\n> From: Hanna\n> Vanha viesti"


def test_signature_rule_on_a_cell_is_not_a_separator() -> None:
    """A border-top on a signature's table cell does not quote what follows."""
    html = (
        "<p>Kyllä</p><table><tr><td style='border:none;border-top:solid blue 1pt'>Matti</td>"
        "<td>Akaa</td></tr></table><p>Loppu</p>"
    )
    assert html_to_text(html) == "Kyllä\nMatti Akaa\nLoppu"


def test_stray_end_tags_do_not_unbalance_quotes() -> None:
    """An end tag with no matching start is ignored."""
    assert html_to_text("</div></blockquote><blockquote>Q</blockquote><p>A</p>") == "> Q\nA"


def test_unclosed_quote_runs_to_the_end() -> None:
    """A blockquote never closed quotes the rest of the document."""
    assert html_to_text("<p>A</p><blockquote><p>Q1<p>Q2") == "A\n> Q1\n> Q2"


def test_large_html_converts() -> None:
    """Hundreds of kilobytes of nested markup convert without blowing up."""
    html = "<div><p>rivi &amp; <b>lihava</b></p></div>" * 10_000
    assert html_to_text(html).count("rivi & lihava") == 10_000


def test_mangled_marked_section_is_skipped() -> None:
    """A broken ``<![…]>`` section (which makes the stdlib raise) is skipped like a browser."""
    html = "<p>A</p><![¡ndif]--><p>B</p><![if !supportLists]>- <![endif]>C"
    assert html_to_text(html) == "A\nB\n- C"
