"""The composition root: builds every part from settings, once."""

from __future__ import annotations

from dataclasses import dataclass

from mailer.clock import Clock
from mailer.config import Settings
from mailer.db.engine import Database
from mailer.errors import RulesError
from mailer.handlers import HANDLERS
from mailer.mailbox.base import Mailbox, Watcher
from mailer.matchers import MATCHERS
from mailer.outgoing.outbox import Outbox
from mailer.outgoing.smtp import SmtpSender
from mailer.pipeline import Pipeline
from mailer.reply_tokens import ReplyTokens, load_secret
from mailer.routing.rules import RuleSet, load_rules
from mailer.templates import Templates
from mailer.tokens import TokenProvider


def build_rules(settings: Settings) -> RuleSet:
    rules = load_rules(
        settings.rules_dir,
        settings.network.local_part,
        settings.network.domain,
        set(MATCHERS),
    )
    for links in rules.chains.values():
        for link in links:
            if link.handler is not None and link.handler not in HANDLERS:
                raise RulesError(f"{link.where}: unknown handler {link.handler!r}")
    return rules


@dataclass
class App:
    settings: Settings
    clock: Clock
    db: Database
    templates: Templates
    rules: RuleSet
    tokens: ReplyTokens
    pipeline: Pipeline
    outbox: Outbox

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None, migrate: bool = True) -> App:
        clock = clock or Clock()
        db = Database(settings.database_url)
        if migrate:
            db.upgrade()
        with db.transaction() as session:
            tokens = ReplyTokens(load_secret(session, settings.security.secret))
        templates = Templates(
            settings.templates_dir, settings.network.tz, settings.network.language
        )
        rules = build_rules(settings)
        return cls(
            settings=settings,
            clock=clock,
            db=db,
            templates=templates,
            rules=rules,
            tokens=tokens,
            pipeline=Pipeline(settings, db, templates, rules, tokens, clock),
            outbox=Outbox(db, settings.outbox, clock),
        )

    def mailbox(self) -> Mailbox:
        if self.settings.imap is not None:
            from mailer.mailbox.imap import ImapMailbox

            return ImapMailbox(self.settings.imap, self._imap_tokens())
        from mailer.mailbox.maildir import MaildirMailbox

        assert self.settings.maildir is not None
        return MaildirMailbox(self.settings.maildir)

    def watcher(self) -> Watcher:
        if self.settings.imap is not None:
            from mailer.mailbox.imap import ImapWatcher

            return ImapWatcher(self.settings.imap, self._imap_tokens())
        from mailer.mailbox.maildir import MaildirWatcher

        assert self.settings.maildir is not None
        return MaildirWatcher(self.settings.maildir.path)

    def _imap_tokens(self) -> TokenProvider | None:
        imap = self.settings.imap
        return TokenProvider(imap.oauth2) if imap and imap.auth == "xoauth2" else None

    def sender(self) -> SmtpSender:
        smtp = self.settings.smtp
        tokens = TokenProvider(smtp.oauth2) if smtp.auth == "xoauth2" else None
        return SmtpSender(smtp, tokens)

    def close(self) -> None:
        self.db.dispose()
