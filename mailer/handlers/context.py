"""What a handler gets: one open transaction and a way to queue mail in it.

Handlers change state and queue replies in the same transaction; they never
send mail and never touch the mailbox. ``actions`` collects one line per effect
so ``mailer explain`` can say what a message would cause.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.config import Settings
from mailer.db.models import InboundMail, Member, OutboxMessage
from mailer.inbound.message import InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.outgoing.outbox import enqueue
from mailer.reply_tokens import ReplyTokens
from mailer.routing.engine import Decision
from mailer.routing.rules import RuleSet
from mailer.templates import Templates

# Automatic replies that confirm something the sender's mail did: a person doing many
# things in a day gets every one. Everything else (clarifications, refusals, help, "not
# a member", answers to repeats) counts against [security] auto_reply_limit_per_day.
CONFIRMATIONS = frozenset(
    {
        "ticket-ack",
        "list-confirm-join",
        "list-awaiting",
        "list-join-cancelled",
        "list-left",
        "list-delivery",
        "list-language",
        "list-help",
        "list-held-notice",
        "privacy-export",
        "privacy-confirm-erase",
        "privacy-erased",
        "privacy-erase-cancelled",
        "poll-confirm",
        "poll-sent",
        "event-registered",
        "event-waitlisted",
        "event-already-registered",
        "event-unregistered",
        "event-not-registered",
        "event-forwarded",
        "event-rating-saved",
        "event-feedback-thanks",
        "material-index",
        "material-fetch",
        "report",
        "weekly-digest-preference",
    }
)
LIMIT_NOTICE = "auto-reply-limit"  # the one reply that says the limit was reached
WITHHELD = "automatic reply withheld"  # how a mail the flood limit kept unanswered is filed
_SPACES = re.compile(r"\s+")


def fingerprint(msg: InboundMessage) -> str:
    """What a mail says, where it went and under which subject: equal for a repeat."""
    said = "\n".join(
        (msg.delivered_to[0] if msg.delivered_to else "", msg.clean_subject, msg.new_text)
    )
    return hashlib.sha256(_SPACES.sub(" ", said.casefold()).strip().encode()).hexdigest()


@dataclass
class HandlerContext:
    session: Session
    settings: Settings
    templates: Templates
    rules: RuleSet
    tokens: ReplyTokens
    now: datetime
    claim: InboundMail | None
    decision: Decision
    actions: list[str] = field(default_factory=list)
    outcome: str = "handled"
    folder: str = "Processed"
    reason: str = ""

    @property
    def network(self) -> str:
        return self.settings.network.address

    def member(self, email: str) -> Member | None:
        with self.session.no_autoflush:
            query = select(Member).where(Member.email == email.lower())
            return self.session.scalars(query).first()

    def reply_address(self, kind: str, ident: int) -> str:
        return self.settings.network.sub_address(f"r-{self.tokens.make(kind, ident)}")

    def send(self, draft: Draft, envelope_from: str | None = None) -> OutboxMessage:
        row = enqueue(self.session, draft, self.settings.network, self.now, envelope_from)
        self.actions.append(f"queue {draft.kind} to {', '.join(draft.to)}: {draft.subject}")
        return row

    def is_own_address(self, address: str) -> bool:
        local, _, domain = address.lower().partition("@")
        network = self.settings.network
        return domain == network.domain.lower() and local.split("+", 1)[0] == network.local_part

    def may_auto_reply(self, msg: InboundMessage, kind: str, language: str | None) -> bool:
        """Whether an automatic reply of ``kind`` may go to the sender of ``msg``.

        A loop or a flood is a sender whose mail we cannot act on, or who says the
        same thing again and again (an auto-responder without headers repeats
        itself); a person doing many different things in a day is neither. So only
        replies that are no confirmation of something done (``CONFIRMATIONS``), and
        any reply to a word-for-word repeat, count against the sender's
        ``auto_reply_limit_per_day``. A coordinator correcting a form again and
        again is working, not flooding: only her repeats count. When the limit
        bites the sender is told once, and the mail is filed, so the coordinator's
        digest lists it.
        """
        address = msg.sender
        if self.is_own_address(address):
            self.actions.append(f"no automatic reply to our own address {address}")
            return False
        claim = self.claim
        if claim is None or kind == LIMIT_NOTICE:
            return True
        claim.fingerprint = fingerprint(msg)
        since = self.now - timedelta(days=1)
        earlier = select(func.count(InboundMail.id)).where(
            InboundMail.sender == claim.sender,
            InboundMail.claimed_at >= since,
            InboundMail.id != claim.id,
        )
        # The claim is flushed already and excluded: no flush needed to count.
        with self.session.no_autoflush:
            repeats = self.session.scalar(
                earlier.where(InboundMail.fingerprint == claim.fingerprint)
            )
            if not repeats and (kind in CONFIRMATIONS or is_coordinator(msg, self.settings)):
                return True
            claim.rationed = True
            rationed = self.session.scalar(earlier.where(InboundMail.rationed.is_(True))) or 0
        limit = self.settings.security.auto_reply_limit_per_day
        if rationed < limit:
            return True
        if rationed == limit:
            self.answer(msg, language, "general/auto_reply_limit", kind=LIMIT_NOTICE, limit=limit)
        self.file(
            f"{WITHHELD}: {rationed} replies in 24 h to {address} to mail that "
            f"could not be acted on or repeated itself (limit {limit})"
        )
        return False

    def answer(
        self,
        msg: InboundMessage,
        language: str | None,
        template: str,
        *,
        kind: str,
        related: str = "",
        reply_to: str | None = None,
        attachments: Sequence[OutgoingAttachment] = (),
        **context: object,
    ) -> OutboxMessage | None:
        """An automatic reply to the sender in their language, within the flood limit."""
        if not msg.sender or not self.may_auto_reply(msg, kind, language):
            return None
        rendered = self.templates.render(
            language, template, network=self.settings.network, **context
        )
        return self.send(
            Draft(
                to=[msg.sender],
                to_name=msg.sender_name,
                subject=rendered.subject,
                text=rendered.text,
                kind=kind,
                related=related,
                automatic=True,
                reply_to=reply_to,
                in_reply_to=msg.message_id,
                references=msg.references,
                attachments=attachments,
                language=self.templates.language(language),
            )
        )

    def tell_coordinators(
        self,
        template: str,
        *,
        kind: str,
        related: str = "",
        reply_to: str | None = None,
        attachments: Sequence[OutgoingAttachment] = (),
        **context: object,
    ) -> OutboxMessage:
        network = self.settings.network
        rendered = self.templates.render(network.language, template, network=network, **context)
        return self.send(
            Draft(
                to=list(network.coordinators),
                subject=rendered.subject,
                text=rendered.text,
                kind=kind,
                related=related,
                reply_to=reply_to,
                attachments=attachments,
                language=network.language,
            )
        )

    def file(self, reason: str, folder: str = "Processed") -> None:
        """File the mail with ``reason``; a reply withheld by the flood limit keeps that
        reason, which is the one the coordinator's digest must show."""
        if self.outcome == "filed" and self.reason.startswith(WITHHELD):
            reason = self.reason
        self.outcome, self.folder, self.reason = "filed", folder, reason
        self.actions.append(f"file in {folder}: {reason}")
