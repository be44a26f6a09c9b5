"""One path for every message: claim → parse → route → handle, in one transaction.

The claim row, the handler's state changes and the queued replies commit together,
so a crash at any instant either leaves no trace (the message is still in the
inbox and is handled again) or leaves everything (the claim says where the
message belongs and it is only moved). An unexpected error rolls back, records
the message as shunted with its reason, and returns the shunt folder: one bad
message never stops the daemon.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailer.clock import Clock
from mailer.config import Settings
from mailer.db.engine import Database
from mailer.db.models import InboundMail
from mailer.errors import UnparseableMessage
from mailer.handlers import HANDLERS
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage, parse_message
from mailer.mailbox.base import FetchedMessage
from mailer.matchers import RouteContext
from mailer.outgoing.compose import Draft
from mailer.reply_tokens import ReplyTokens
from mailer.routing.engine import route
from mailer.routing.rules import RuleSet
from mailer.templates import Templates

log = logging.getLogger("mailer.disposition")

_HEADER_END = (b"\r\n\r\n", b"\n\n")


@dataclass
class Result:
    folder: str
    outcome: str
    handler: str = ""
    reason: str = ""
    actions: list[str] = field(default_factory=list)
    walk: list[str] = field(default_factory=list)


def _is_claim_clash(exc: IntegrityError) -> bool:
    """The claim's own uniqueness (this message was handled already), not some other clash.

    SQLite names the columns, PostgreSQL the constraint; any other unique violation
    (two daemons adding the same new member) is an error to shunt, never a duplicate.
    """
    text = str(exc.orig)
    return "uq_inbound" in text or "inbound_mail." in text


def _headers_only(raw: bytes) -> bytes:
    cut = min((i for i in (raw.find(sep) for sep in _HEADER_END) if i >= 0), default=len(raw))
    return raw[: min(cut, 256 * 1024)] + b"\r\n\r\n"


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        templates: Templates,
        rules: RuleSet,
        tokens: ReplyTokens,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.db = db
        self.templates = templates
        self.rules = rules
        self.tokens = tokens
        self.clock = clock

    @property
    def shunt(self) -> str:
        return self.settings.imap.shunt_folder if self.settings.imap else "Shunt"

    @property
    def processed(self) -> str:
        return self.settings.imap.processed_folder if self.settings.imap else "Processed"

    def _folder(self, name: str) -> str:
        """Rules say "Processed" / "Shunt"; the settings may rename those folders."""
        return {"Processed": self.processed, "Shunt": self.shunt}.get(name, name)

    def already_handled(self, mailbox: str, uidvalidity: int, key: str) -> str | None:
        with self.db.transaction() as session:
            return session.scalar(
                select(InboundMail.folder).where(
                    InboundMail.mailbox == mailbox,
                    InboundMail.uidvalidity == uidvalidity,
                    InboundMail.uid == key,
                )
            )

    def process(self, mailbox: str, uidvalidity: int, fetched: FetchedMessage) -> Result:
        prior = self.already_handled(mailbox, uidvalidity, fetched.key)
        if prior is not None:
            return Result(folder=prior, outcome="already handled")
        too_large = len(fetched.raw) > self.settings.security.max_message_bytes
        try:
            msg = parse_message(_headers_only(fetched.raw) if too_large else fetched.raw)
        except UnparseableMessage as exc:
            return self._shunt(mailbox, uidvalidity, fetched.key, None, f"unparseable: {exc}")
        claim = self._claim(mailbox, uidvalidity, fetched.key, msg)
        try:
            with self.db.transaction() as session:
                session.add(claim)
                session.flush()
                result = self._handle(session, claim, msg, too_large, len(fetched.raw))
                claim.outcome, claim.folder = result.outcome, result.folder
                claim.handler, claim.reason = result.handler, result.reason[:2000]
        except IntegrityError as exc:
            if _is_claim_clash(exc):
                return self._duplicate(mailbox, uidvalidity, fetched.key, msg)
            log.error(
                "handling failed on a constraint; message shunted",
                extra={"key": fetched.key, "message_id": msg.message_id, "error": str(exc.orig)},
            )
            return self._shunt(mailbox, uidvalidity, fetched.key, msg, f"error: {exc.orig!r}")
        except Exception as exc:  # noqa: BLE001 - shunt the message, keep the daemon
            log.error(
                "handling failed; message shunted",
                extra={
                    "key": fetched.key,
                    "message_id": msg.message_id,
                    "traceback": traceback.format_exc(),
                },
            )
            return self._shunt(mailbox, uidvalidity, fetched.key, msg, f"error: {exc!r}")
        log.info(
            "message handled",
            extra={
                "key": fetched.key,
                "message_id": msg.message_id,
                "sender": msg.sender,
                "handler": result.handler,
                "outcome": result.outcome,
                "folder": result.folder,
                "reason": result.reason,
            },
        )
        return result

    def _claim(
        self, mailbox: str, uidvalidity: int, key: str, msg: InboundMessage | None
    ) -> InboundMail:
        return InboundMail(
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            uid=key,
            message_id=msg.message_id[:500] if msg and msg.message_id else None,
            delivered_to=(msg.delivered_to[0] if msg and msg.delivered_to else "")[:320],
            sender=(msg.sender if msg else "")[:320],
            subject=(msg.subject if msg else "")[:500],
            claimed_at=self.clock.now(),
            outcome="handled",
            handler="",
            reason="",
            folder="",
        )

    def _handle(
        self, session: Session, claim: InboundMail, msg: InboundMessage, too_large: bool, size: int
    ) -> Result:
        decision = route(msg, RouteContext(self.settings, self.rules, session, self.tokens))
        ctx = HandlerContext(
            session=session,
            settings=self.settings,
            templates=self.templates,
            rules=self.rules,
            tokens=self.tokens,
            now=self.clock.now(),
            claim=claim,
            decision=decision,
        )
        if too_large and decision.action == "handle":
            self._too_large(ctx, msg, size)
            handler = "too-large"
        elif decision.action == "file":
            ctx.file(decision.reason, self._folder(decision.folder))
            handler = ""
        else:
            assert decision.handler is not None
            HANDLERS[decision.handler](ctx, msg)
            handler = decision.handler
        return Result(
            folder=self._folder(ctx.folder),
            outcome=ctx.outcome,
            handler=handler,
            reason=ctx.reason or decision.reason,
            actions=ctx.actions,
            walk=decision.walk,
        )

    def _too_large(self, ctx: HandlerContext, msg: InboundMessage, size: int) -> None:
        limit = self.settings.security.max_message_bytes
        if msg.sender and ctx.may_auto_reply(msg, "too-large", self.settings.network.language):
            rendered = self.templates.render(
                self.settings.network.language,
                "general/too_large",
                subject=msg.clean_subject,
                size_mb=f"{size / 1e6:.1f}",
                limit_mb=f"{limit / 1e6:.0f}",
                network=self.settings.network,
            )
            ctx.send(
                Draft(
                    to=[msg.sender],
                    subject=rendered.subject,
                    text=rendered.text,
                    kind="too-large",
                    automatic=True,
                    in_reply_to=msg.message_id,
                )
            )
        ctx.file(f"too large: {size} bytes, limit {limit}", self.shunt)

    def _duplicate(self, mailbox: str, uidvalidity: int, key: str, msg: InboundMessage) -> Result:
        """Same Message-ID to the same address again: a duplicate delivery, handled once."""
        reason = f"duplicate of an earlier message {msg.message_id}"
        claim = self._claim(mailbox, uidvalidity, key, None)
        claim.outcome, claim.folder, claim.reason = "filed", self.processed, reason
        claim.sender, claim.subject = msg.sender[:320], msg.subject[:500]
        try:
            with self.db.transaction() as session:
                session.add(claim)
        except IntegrityError:
            pass  # another daemon recorded this very location first
        log.info("duplicate message filed", extra={"key": key, "message_id": msg.message_id})
        return Result(folder=self.processed, outcome="filed", reason=reason)

    def _shunt(
        self,
        mailbox: str,
        uidvalidity: int,
        key: str,
        msg: InboundMessage | None,
        reason: str,
    ) -> Result:
        claim = self._claim(mailbox, uidvalidity, key, msg)
        claim.message_id = None  # a later, fixed run may handle a copy of it
        claim.outcome, claim.folder, claim.reason = "shunted", self.shunt, reason[:2000]
        try:
            with self.db.transaction() as session:
                session.add(claim)
        except IntegrityError:
            pass
        return Result(folder=self.shunt, outcome="shunted", reason=reason)

    def explain(self, raw: bytes) -> Result:
        """What would happen to this message now; every change is rolled back."""
        try:
            msg = parse_message(raw)
        except UnparseableMessage as exc:
            return Result(folder=self.shunt, outcome="shunted", reason=str(exc))
        session = self.db.sessions()
        try:
            session.begin()
            claim = self._claim("explain", 0, "explain", msg)
            claim.message_id = None
            session.add(claim)
            session.flush()
            return self._handle(session, claim, msg, False, len(raw))
        finally:
            session.rollback()
            session.close()
