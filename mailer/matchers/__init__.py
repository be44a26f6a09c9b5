"""Yes/no predicates over a message, named in ``rules/*.toml``; they never act."""

from __future__ import annotations

from mailer.matchers.auto_reply import auto_reply
from mailer.matchers.bounce import bounce
from mailer.matchers.context import Matcher, RouteContext
from mailer.matchers.coordinator import coordinator, not_coordinator
from mailer.matchers.itip_reply import itip_reply
from mailer.matchers.join_reply import join_reply
from mailer.matchers.list_limits import (
    banned_sender,
    empty_subject,
    leave_request,
    list_command,
    not_member,
    post_too_large,
    too_many_recipients,
)
from mailer.matchers.materials import event_material, material_fetch
from mailer.matchers.own_mail import own_mail
from mailer.matchers.preference_command import preference_command
from mailer.matchers.report import report_request
from mailer.matchers.ticket_reference import ticket_reference

MATCHERS: dict[str, Matcher] = {
    "own-mail": own_mail,
    "auto-reply": auto_reply,
    "bounce": bounce,
    "coordinator": coordinator,
    "not-coordinator": not_coordinator,
    "ticket-reference": ticket_reference,
    "banned-sender": banned_sender,
    "not-member": not_member,
    "post-too-large": post_too_large,
    "too-many-recipients": too_many_recipients,
    "empty-subject": empty_subject,
    "list-command": list_command,
    "leave-request": leave_request,
    "preference-command": preference_command,
    "itip-reply": itip_reply,
    "join-reply": join_reply,
    "material-fetch": material_fetch,
    "event-material": event_material,
    "report-request": report_request,
}

__all__ = ["MATCHERS", "Matcher", "RouteContext"]
