"""What a handler gets: one open transaction and a way to queue mail in it.

Handlers change state and queue replies in the same transaction; they never
send mail and never touch the mailbox. ``actions`` collects one line per effect
so ``mailer explain`` can say what a message would cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config import Settings
from mailer.db.models import InboundMail, Member, OutboxMessage
from mailer.inbound.message import InboundMessage
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.outgoing.outbox import automatic_replies_since, enqueue
from mailer.reply_tokens import ReplyTokens
from mailer.routing.engine import Decision
from mailer.routing.rules import RuleSet
from mailer.templates import Templates


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

    def may_auto_reply(self, address: str) -> bool:
        """Never to ourselves; and the per-sender flood limit (default 10 a day)."""
        if self.is_own_address(address):
            self.actions.append(f"no automatic reply to our own address {address}")
            return False
        limit = self.settings.security.auto_reply_limit_per_day
        # Replies queued earlier in this transaction go to others: no flush needed to count.
        with self.session.no_autoflush:
            sent = automatic_replies_since(self.session, address, self.now - timedelta(days=1))
        if sent >= limit:
            self.actions.append(f"no automatic reply to {address}: {sent} sent in 24 h")
            return False
        return True

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
        if not msg.sender or not self.may_auto_reply(msg.sender):
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
        self.outcome, self.folder, self.reason = "filed", folder, reason
        self.actions.append(f"file in {folder}: {reason}")
