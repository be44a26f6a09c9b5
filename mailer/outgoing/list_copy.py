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
from email.utils import formataddr, make_msgid

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


def _append_footer(msg: Message, footer: str) -> Message:
    if not footer.strip():
        return msg
    if not msg.is_multipart() and msg.get_content_type() == "text/plain":
        charset = msg.get_content_charset() or "utf-8"
        payload = msg.get_payload(decode=True)
        text = payload.decode(charset, errors="replace") if isinstance(payload, bytes) else ""
        for header in ("Content-Transfer-Encoding", "Content-Type"):
            del msg[header]
        msg.set_payload(f"{text.rstrip()}\n\n{footer}", charset=_UTF8_QP)
        return msg
    footer_part = MIMEText(footer, "plain", "utf-8")
    if msg.get_content_type() == "multipart/mixed":
        msg.attach(footer_part)
        return msg
    # Wrap the original body (alternative, html, ...) and the footer in multipart/mixed.
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
) -> ListCopy:
    msg = message_from_bytes(post.raw, policy=_POLICY)
    for name in _DROP:
        del msg[name]
    message_id = post.message_id or make_msgid(domain=network.domain)
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
