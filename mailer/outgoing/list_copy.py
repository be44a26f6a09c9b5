"""Turn a member's post into the copy the list sends (RFC 2369, 2919, 8058).

The author's message is kept as written (body, attachments, Message-ID for
threading) and the list's own headers are set: List-Id, List-Post, List-Help,
List-Unsubscribe (+ One-Click where a base URL is configured), a subject tag,
Reply-To, and a short footer. When the author's domain asks receivers to reject
or quarantine mail that fails DMARC, From is rewritten to the list ("Name via
Verkosto"), since the tag and footer break the author's DKIM signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes
from email.charset import QP, Charset
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from html import escape

from mailer.config import ListSettings, NetworkSettings
from mailer.inbound.message import InboundMessage
from mailer.outgoing.compose import LOOP_HEADER, one_line

_POLICY = compat32.clone(linesep="\r\n", max_line_length=None)
# Quoted-printable keeps a Finnish post readable and about as large as it came;
# the default utf-8 body encoding (base64) would grow every copy by a third.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_DROP = (
    "Delivered-To",
    "X-Original-To",
    "Return-Path",
    "Authentication-Results",
    "ARC-Authentication-Results",
    "DKIM-Signature",
    "List-Id",
    "List-Post",
    "List-Help",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Archive",
    "List-Owner",
    "Precedence",
    "Sender",
    "Errors-To",
    "Bcc",
    LOOP_HEADER,
)


@dataclass(frozen=True)
class ListCopy:
    message_id: str
    raw: bytes  # without the personal List-Unsubscribe header when that is per member


def list_id(network: NetworkSettings) -> str:
    return f"<{network.local_part}.{network.domain}>"


def unsubscribe_mailto(network: NetworkSettings) -> str:
    return f"<mailto:{network.sub_address('eroa')}?subject=unsubscribe>"


def with_tag(subject: str, tag: str) -> str:
    """Add the tag once: a reply to a tagged post keeps one tag, after any Re:."""
    if not tag or tag.lower() in subject.lower():
        return subject
    return f"{tag} {subject}".strip()


def _body_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _set_body_text(part: Message, text: str) -> None:
    subtype, top = part.get_content_subtype(), "MIME-Version" in part
    for header in ("Content-Transfer-Encoding", "Content-Type"):
        del part[header]
    part["Content-Type"] = f"text/{subtype}"
    part.set_payload(text, charset=_UTF8_QP)
    if not top:
        del part["MIME-Version"]


def _html_footer(html: str, footer: str) -> str:
    lines = "<br>\n".join(escape(line) for line in footer.strip().splitlines())
    paragraph = f'<p style="font-size:small;color:#555555">{lines}</p>\n'
    at = html.lower().rfind("</body>")
    return html[:at] + paragraph + html[at:] if at >= 0 else f"{html.rstrip()}\n{paragraph}"


def _footer_inside(part: Message, footer: str) -> bool:
    """Add the footer to the text a client shows: the plain and the HTML of the body.

    A separate footer part after an HTML-only post is all a client that prefers
    plain text shows, so the footer goes into the body's own text parts; only
    what has none (an odd type) gets a footer part beside it.
    """
    if part.get_content_disposition() == "attachment":
        return False
    kind = part.get_content_type()
    if kind == "text/plain":
        _set_body_text(part, f"{_body_text(part).rstrip()}\n\n{footer}")
        return True
    if kind == "text/html":
        _set_body_text(part, _html_footer(_body_text(part), footer))
        return True
    if kind in ("multipart/signed", "multipart/encrypted") or not part.is_multipart():
        return False  # a footer inside would break the author's signature
    children = [child for child in part.get_payload() if isinstance(child, Message)]
    if kind == "multipart/alternative":
        added = [_footer_inside(child, footer) for child in children]
        return any(added)
    # mixed, related ...: the first part is the body
    return bool(children) and _footer_inside(children[0], footer)


def _append_footer(msg: Message, footer: str) -> Message:
    if not footer.strip() or _footer_inside(msg, footer):
        return msg
    footer_part = MIMEText(footer, "plain", "utf-8")
    if msg.get_content_type() == "multipart/mixed":
        msg.attach(footer_part)
        return msg
    # Wrap the original body and the footer in multipart/mixed.
    wrapper = Message()
    for name, value in msg.items():
        if not name.lower().startswith("content-") and name.lower() != "mime-version":
            wrapper[name] = value
    body = Message()
    for name, value in msg.items():
        if name.lower().startswith("content-"):
            body[name] = value
    body.set_payload(msg.get_payload())
    wrapper["MIME-Version"] = "1.0"
    wrapper["Content-Type"] = "multipart/mixed"
    wrapper.set_payload([body, footer_part])
    return wrapper


def build_list_copy(
    post: InboundMessage,
    network: NetworkSettings,
    settings: ListSettings,
    footer: str,
    rewrite_from: bool,
    message_id: str,
) -> ListCopy:
    """The copy members get of ``post``; ``message_id`` is the post's, the same in every
    language's copy so that replies from readers of each thread together."""
    msg = message_from_bytes(post.raw, policy=_POLICY)
    for name in _DROP:
        del msg[name]
    del msg["Message-ID"]
    msg["Message-ID"] = message_id
    del msg["Subject"]
    msg["Subject"] = one_line(with_tag(post.subject, settings.subject_tag), 900)
    author = formataddr((one_line(post.sender_name), post.sender)) if post.sender else ""
    list_address = network.sub_address("lista")
    if rewrite_from:
        # The author moves to Reply-To (replies to the author) or Cc (replies to all).
        name = one_line(post.sender_name or post.sender.split("@")[0])
        del msg["From"]
        msg["From"] = formataddr((f"{name} via {settings.list_name}", list_address))
        del msg["Reply-To"]
        if settings.reply_to == "author":
            msg["Reply-To"] = author
        else:
            msg["Reply-To"] = list_address
            msg["Cc"] = author
    elif settings.reply_to == "list":
        del msg["Reply-To"]
        msg["Reply-To"] = list_address
    msg["List-Id"] = f"{one_line(settings.list_name)} {list_id(network)}"
    msg["List-Post"] = f"<mailto:{list_address}>"
    msg["List-Help"] = f"<mailto:{network.address}?subject=help>"
    msg["Precedence"] = "list"
    msg[LOOP_HEADER] = network.address
    if not settings.base_url:
        msg["List-Unsubscribe"] = unsubscribe_mailto(network)
    msg = _append_footer(msg, footer)
    return ListCopy(message_id=message_id, raw=msg.as_bytes(policy=_POLICY))


def personal_headers(network: NetworkSettings, settings: ListSettings, token: str) -> str:
    """The per-member List-Unsubscribe lines (RFC 8058), spliced in at send time."""
    if not settings.base_url:
        return ""
    url = f"{settings.base_url}/unsubscribe/{token}"
    return (
        f"List-Unsubscribe: <{url}>, {unsubscribe_mailto(network)}\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )
