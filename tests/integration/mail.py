"""Messages written the way members' and coordinators' mail clients write them."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

DOMAIN = "example.test"


def question(
    sender: str, subject: str, body: str, *, name: str = "", to: str = f"network@{DOMAIN}"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg.set_content(body)
    return msg


def _plain(original: EmailMessage) -> str:
    part = original.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def _reply_headers(original: EmailMessage, sender: str, prefix: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = str(original["Reply-To"] or original["From"])
    reply["Subject"] = f"{prefix} {original['Subject']}"
    reply["In-Reply-To"] = str(original["Message-ID"])
    reply["References"] = str(original["Message-ID"])
    reply["Message-ID"] = make_msgid(domain=DOMAIN)
    return reply


def outlook_reply(
    original: EmailMessage, sender: str, text: str, *, language: str = "fi"
) -> EmailMessage:
    """Outlook for Windows: answer on top, a header block, the original unquoted below."""
    labels = {
        "fi": ("Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe", "VS:"),
        "sv": ("Från", "Skickat", "Till", "Ämne", "SV:"),
        "en": ("From", "Sent", "To", "Subject", "RE:"),
    }[language]
    reply = _reply_headers(original, sender, labels[4])
    body = (
        f"{text}\n\n________________________________\n"
        f"{labels[0]}: {original['From']}\n"
        f"{labels[1]}: torstai 26. marraskuuta 2026 10.12\n"
        f"{labels[2]}: {original['To']}\n"
        f"{labels[3]}: {original['Subject']}\n\n{_plain(original)}"
    )
    html = "<html><body><div>" + "<br>".join(text.splitlines()) + "</div>"
    html += '<div id="divRplyFwdMsg"><hr><b>' + labels[0] + ":</b> " + str(original["From"])
    html += "</div><div>" + "<br>".join(_plain(original).splitlines()) + "</div></body></html>"
    reply.set_content(body)
    reply.add_alternative(html, subtype="html")
    return reply


def gmail_reply(original: EmailMessage, sender: str, text: str) -> EmailMessage:
    """Gmail: answer on top, 'On … wrote:' / '… kirjoitti:' and a '>' quote."""
    reply = _reply_headers(original, sender, "Re:")
    quoted = "\n".join(f"> {line}" if line else ">" for line in _plain(original).splitlines())
    author = original["From"].addresses[0].addr_spec
    reply.set_content(
        f"{text}\n\nto 26.11.2026 klo 10.12 Pienet joukot <{author}> kirjoitti:\n\n{quoted}\n"
    )
    return reply
