"""Votes and advance surveys by reply (SPEC capability 5, and the poll part of 8).

The coordinator opens a poll from the command line or by a short form mailed to
``verkosto+aanestys@`` (``+kysely@`` for a free-text survey): the form gets a
preview back at the coordinator's own address, and only the coordinator's reply
``LÄHETÄ`` sends the ballots. Members answer by replying to the ballot; one
ballot per member (or per organisation), replaceable until the deadline; every
ballot is confirmed, and an unreadable one changes nothing and says why.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.db.models import Member
from mailer.db.polls import Ballot, Poll, PollOption
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.matchers.coordinator import is_coordinator
from mailer.outgoing.compose import Draft, OutgoingAttachment
from mailer.outgoing.fanout import broadcast
from mailer.parsing.ballots import parse_ballot
from mailer.parsing.commands import command_lines, normalise_word
from mailer.parsing.dates import parse_datetime
from mailer.parsing.forms import (
    POLL_FIELDS,
    SURVEY_FIELDS,
    SURVEY_REPEATED,
    FormResult,
    parse_form,
    survey_questions,
)
from mailer.parsing.written import written_lines
from mailer.routing.rules import RuleSet

PREVIEW_TOKEN = "q"  # the coordinator's LÄHETÄ / SULJE on a poll
BALLOT_TOKEN = "v"  # a member's vote
FORM_TOKEN = "qf"  # the coordinator's corrected form, in reply to its list of errors
FORM_KINDS = ("poll", "survey")  # the form token's number: which form was in error
CLOSING_TIME = time(16, 0)  # when a poll closes on a day given without a time ("28.2.")
MAX_OPTIONS = 26
_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[).:-]\s*(.*)$")


@dataclass(frozen=True)
class Tally:
    """A poll's result: per option (position, text, votes, percent), sorted by votes."""

    rows: list[tuple[int, str, int, float]]
    ballots: int
    invited: int

    @property
    def turnout(self) -> float:
        return 100.0 * self.ballots / self.invited if self.invited else 0.0


def new_poll(
    session: Session,
    *,
    kind: str,
    question: str,
    options: Sequence[str],
    max_choices: int,
    closes_at: datetime,
    now: datetime,
    coordinator: str,
    title: str = "",
    description: str = "",
    audience_members: bool = True,
    audience_extra: Iterable[str] = (),
    anonymous: bool = False,
    one_per_organisation: bool = False,
    state: str = "draft",
) -> Poll:
    poll = Poll(
        kind=kind,
        title=title,
        question=question,
        description=description,
        max_choices=max_choices,
        closes_at=closes_at,
        audience_members=audience_members,
        audience_extra="\n".join(a.lower() for a in audience_extra),
        anonymous=anonymous,
        one_per_organisation=one_per_organisation,
        state=state,
        coordinator=coordinator,
        created_at=now,
    )
    poll.options = [PollOption(position=i, text=t) for i, t in enumerate(options, 1)]
    session.add(poll)
    session.flush()
    return poll


def validate(
    question: str,
    options: Sequence[str],
    max_choices: int,
    closes_at: datetime | None,
    now: datetime,
    kind: str,
) -> list[str]:
    """Error codes for a poll that cannot be opened; the templates say them."""
    errors = []
    if not question.strip():
        errors.append("no-question")
    if kind == "poll" and len(options) < 2:
        errors.append("too-few-options")
    if kind == "survey" and not options:
        errors.append("no-survey-questions")
    if len(options) > MAX_OPTIONS:
        errors.append("too-many-options")
    if kind == "poll" and not 1 <= max_choices <= max(1, len(options)):
        errors.append("bad-max-choices")
    if closes_at is None:
        errors.append("bad-closing-time")
    elif closes_at <= now:
        errors.append("closes-in-the-past")
    return errors


# ---- the coordinator's form and preview


def _without_label(subject: str, rules: RuleSet) -> str:
    """ "Äänestys: kevään webinaarin aihe" -> "kevään webinaarin aihe": the ballot's own
    subject says "Äänestys:", and "Äänestys: Äänestys: …" would reach every member."""
    head, colon, rest = subject.partition(":")
    if colon and rest.strip() and normalise_word(head) in rules.words("poll.subject_label"):
        return rest.strip()
    return subject


def form(ctx: HandlerContext, msg: InboundMessage, kind: str, *, reply: bool = False) -> None:
    """A poll or survey form from a coordinator: a preview back, or the list of errors.

    ``reply``: the form came in reply to an earlier list of errors, whose subject
    is ours and never the poll's question.
    """
    if not is_coordinator(msg, ctx.settings):
        ctx.file("poll form from someone who is not a coordinator: ignored")
        return
    parsed, heading, options = _read_form(msg.new_text, kind)
    values = parsed.values
    tz = ctx.settings.network.tz
    closes = parse_datetime(values.get("closes", ""), tz, ctx.now, default_time=CLOSING_TIME)
    max_choices_text = values.get("max_choices", "1").strip()
    max_choices = int(max_choices_text) if max_choices_text.isdigit() else 0
    subject = "" if reply else _without_label(msg.clean_subject, ctx.rules)
    question = heading or values.get("title") or subject
    errors = [*parsed.errors, *validate(question, options, max_choices or 1, closes, ctx.now, kind)]
    if not max_choices_text.isdigit():
        errors.append("bad-max-choices")
    if not values and not parsed.lists:
        # Nothing of a form at all: say that, not every field it lacks.
        sent, _ = command_lines(msg.new_text, {"send": ctx.rules.words("poll.send")})
        errors = ["nothing-to-send" if sent else "no-form"]
    if errors or closes is None:
        ctx.answer(
            msg,
            ctx.settings.network.language,
            "polls/form_errors",
            kind="poll-form-errors",
            reply_to=ctx.reply_address(FORM_TOKEN, FORM_KINDS.index(kind)),
            survey=kind == "survey",
            errors=errors,
            unknown=parsed.unknown_lines,
        )
        return
    poll = new_poll(
        ctx.session,
        kind=kind,
        question=question,
        options=options,
        max_choices=max_choices if kind == "poll" else len(options),
        closes_at=closes,
        now=ctx.now,
        coordinator=msg.sender,
        title=values.get("title", ""),
        description=values.get("description", ""),
    )
    ctx.actions.append(f"draft {kind} #{poll.id}: {question}")
    _preview(ctx, msg.sender, poll)


def _read_form(text: str, kind: str) -> tuple[FormResult, str, list[str]]:
    """(the form, its question or heading, the options or the survey's questions)."""
    if kind == "survey":
        parsed = parse_form(text, SURVEY_FIELDS, repeated=SURVEY_REPEATED)
        heading, questions = survey_questions(parsed)
        return parsed, heading, questions
    parsed = parse_form(text, POLL_FIELDS)
    return parsed, parsed.values.get("question", ""), parsed.lists.get("option", [])


def form_reply(ctx: HandlerContext, msg: InboundMessage, kind_index: int) -> None:
    """The coordinator's answer to a form's errors: the corrected form, or a word to send."""
    if not 0 <= kind_index < len(FORM_KINDS):
        ctx.file(f"reply to the errors of an unknown form {kind_index}")
        return
    form(ctx, msg, FORM_KINDS[kind_index], reply=True)


def poll_form(ctx: HandlerContext, msg: InboundMessage) -> None:
    form(ctx, msg, "poll")


def survey_form(ctx: HandlerContext, msg: InboundMessage) -> None:
    form(ctx, msg, "survey")


def _preview(ctx: HandlerContext, coordinator: str, poll: Poll) -> None:
    """The ballot exactly as members will see it, wrapped in the coordinator's instructions."""
    ballot = _render_ballot(ctx, poll, ctx.settings.network.language)
    rendered = ctx.templates.render(
        ctx.settings.network.language,
        "polls/preview",
        network=ctx.settings.network,
        poll=poll,
        ballot_subject=ballot[0],
        ballot_text=ballot[1],
        audience=_audience_size(ctx, poll),
    )
    ctx.send(
        Draft(
            to=[coordinator],
            subject=rendered.subject,
            text=rendered.text,
            kind="poll-preview",
            related=f"poll:{poll.id}",
            automatic=True,
            reply_to=ctx.reply_address(PREVIEW_TOKEN, poll.id),
            language=ctx.settings.network.language,
        )
    )


def coordinator_reply(ctx: HandlerContext, msg: InboundMessage, poll_id: int) -> None:
    """LÄHETÄ opens a draft and sends its ballots; SULJE closes an open poll now."""
    poll = ctx.session.get(Poll, poll_id)
    if poll is None or not is_coordinator(msg, ctx.settings):
        ctx.file("poll command not from a coordinator, or for an unknown poll")
        return
    found, _ = command_lines(
        msg.new_text,
        {"send": ctx.rules.words("poll.send"), "close": ctx.rules.words("ticket.close")},
    )
    if "send" in found and poll.state == "draft":
        poll.state = "open"
        sent = send_ballots(ctx, poll)
        ctx.answer(
            msg,
            ctx.settings.network.language,
            "polls/sent",
            kind="poll-sent",
            reply_to=ctx.reply_address(PREVIEW_TOKEN, poll.id),
            poll=poll,
            count=sent,
        )
    elif "close" in found and poll.state == "open":
        close(ctx, poll)
    else:
        ctx.answer(
            msg,
            ctx.settings.network.language,
            "polls/coordinator_help",
            kind="poll-help",
            reply_to=ctx.reply_address(PREVIEW_TOKEN, poll.id),
            poll=poll,
        )


# ---- ballots out


def _audience(ctx: HandlerContext, poll: Poll) -> list[tuple[str, str, str]]:
    """(address, name, language) of everyone the ballot goes to, each once."""
    people: dict[str, tuple[str, str, str]] = {}
    if poll.audience_members:
        for m in ctx.session.scalars(
            select(Member).where(Member.subscribed.is_(True), Member.disabled_at.is_(None))
        ):
            people[m.email] = (m.email, m.name, m.language)
    for address in poll.extra_addresses:
        people.setdefault(address, (address, "", ctx.settings.network.language))
    return list(people.values())


def _audience_size(ctx: HandlerContext, poll: Poll) -> int:
    return len(_audience(ctx, poll))


def _render_ballot(ctx: HandlerContext, poll: Poll, language: str) -> tuple[str, str]:
    template = "polls/ballot" if poll.kind == "poll" else "polls/survey"
    rendered = ctx.templates.render(
        language,
        template,
        network=ctx.settings.network,
        poll=poll,
        closes=poll.closes_at,
    )
    return rendered.subject, rendered.text


def send_ballots(ctx: HandlerContext, poll: Poll) -> int:
    """One stored ballot per language, a copy per person with their own To line."""
    network = ctx.settings.network
    people = _audience(ctx, poll)
    for language, group in ctx.templates.by_language(people, _language_of).items():
        subject, text = _render_ballot(ctx, poll, language)
        draft = Draft(
            to=[],
            subject=subject,
            text=text,
            kind="poll-ballot",
            related=f"poll:{poll.id}",
            reply_to=ctx.reply_address(BALLOT_TOKEN, poll.id),
            language=language,
            headers={"Precedence": "bulk"},
        )
        broadcast(ctx.session, draft, _named(group), network, ctx.now)
    poll.invited, poll.ballots_sent_at = len(people), ctx.now
    ctx.actions.append(f"send {poll.kind} #{poll.id} to {len(people)} people")
    return len(people)


# ---- votes in


def _may_vote(poll: Poll, address: str, member: Member | None) -> bool:
    if poll.audience_members and member is not None and member.subscribed:
        return True
    return address in poll.extra_addresses


def vote(ctx: HandlerContext, msg: InboundMessage, poll_id: int) -> None:
    poll = ctx.session.get(Poll, poll_id)
    if poll is None or poll.state == "draft":
        ctx.file(f"vote for unknown or unsent poll {poll_id}")
        return
    member = ctx.member(msg.sender) if msg.sender else None
    language = member.language if member else ctx.settings.network.language
    reply_to = ctx.reply_address(BALLOT_TOKEN, poll.id)
    if poll.state == "closed" or poll.closes_at <= ctx.now:
        ctx.answer(msg, language, "polls/closed", kind="poll-closed", poll=poll)
        return
    if not _may_vote(poll, msg.sender, member):
        ctx.answer(msg, language, "polls/not_in_audience", kind="poll-refused", poll=poll)
        return
    if poll.kind == "survey":
        answers = _survey_answers(msg.new_text, len(poll.options))
        if not any(answers):
            ctx.answer(
                msg,
                language,
                "polls/survey_empty",
                kind="poll-clarify",
                reply_to=reply_to,
                poll=poll,
            )
            return
        replaced = _store(ctx, poll, msg.sender, member, "", json.dumps(answers))
        ctx.answer(
            msg,
            language,
            "polls/survey_confirm",
            kind="poll-confirm",
            reply_to=reply_to,
            poll=poll,
            replaced=replaced,
        )
        return
    result = parse_ballot(msg.new_text or msg.clean_subject, poll.option_texts, poll.max_choices)
    if result.status != "ok":
        ctx.answer(
            msg,
            language,
            "polls/clarify",
            kind="poll-clarify",
            reply_to=reply_to,
            poll=poll,
            reason=result.reason,
            understood=list(result.written),
            by_letter=result.by_letter,
        )
        ctx.actions.append(f"ask {msg.sender} to clarify: {result.reason}")
        return
    replaced = _store(ctx, poll, msg.sender, member, ",".join(str(c) for c in result.choices), "")
    ctx.answer(
        msg,
        language,
        "polls/confirm",
        kind="poll-confirm",
        reply_to=reply_to,
        poll=poll,
        choices=list(result.choices),
        replaced=replaced,
    )


def _survey_answers(text: str, questions: int) -> list[str]:
    """Answers numbered 1) 2) … go to their questions; otherwise the whole text to the first."""
    answers = [""] * questions
    current = -1
    loose: list[str] = []
    for line in written_lines(text):
        match = _NUMBERED.match(line)
        if match and 1 <= int(match.group(1)) <= questions:
            current = int(match.group(1)) - 1
            answers[current] = match.group(2).strip()
        elif current >= 0:
            answers[current] = f"{answers[current]}\n{line}".strip()
        else:
            loose.append(line)
    whole = "\n".join(loose).strip()
    if whole and questions:
        answers[0] = f"{whole}\n{answers[0]}".strip()
    return answers


def _store(
    ctx: HandlerContext, poll: Poll, voter: str, member: Member | None, choices: str, answers: str
) -> bool:
    """Insert or replace this voter's ballot; True when an earlier one was replaced."""
    ballot = ctx.session.scalars(
        select(Ballot).where(Ballot.poll_id == poll.id, Ballot.voter == voter)
    ).first()
    replaced = ballot is not None
    if ballot is None:
        ballot = Ballot(poll_id=poll.id, voter=voter, created_at=ctx.now)
        ctx.session.add(ballot)
    ballot.choices, ballot.answers, ballot.updated_at = choices, answers, ctx.now
    ballot.organisation_id = member.organisation_id if member else None
    ctx.actions.append(f"{'replace' if replaced else 'record'} ballot of {voter}")
    return replaced


# ---- results


def counted_ballots(session: Session, poll: Poll) -> list[Ballot]:
    """The ballots that count: one per voter, or the latest per organisation."""
    ballots = list(
        session.scalars(
            select(Ballot).where(Ballot.poll_id == poll.id).order_by(Ballot.updated_at, Ballot.id)
        )
    )
    if not poll.one_per_organisation:
        return ballots
    latest: dict[object, Ballot] = {}
    for ballot in ballots:
        latest[ballot.organisation_id or ballot.voter] = ballot
    return list(latest.values())


def tally(session: Session, poll: Poll) -> Tally:
    ballots = counted_ballots(session, poll)
    votes = Counter(c for b in ballots for c in b.choice_list)
    total = len(ballots)
    rows = [
        (o.position, o.text, votes[o.position], 100.0 * votes[o.position] / total if total else 0.0)
        for o in poll.options
    ]
    rows.sort(key=lambda r: (-r[2], r[0]))
    return Tally(rows=rows, ballots=total, invited=poll.invited)


def close(ctx: HandlerContext, poll: Poll) -> None:
    """Close now: results to the coordinator and, unless the poll says not, the audience."""
    poll.state, poll.closed_at = "closed", ctx.now
    network = ctx.settings.network
    result = tally(ctx.session, poll)
    attachments: list[OutgoingAttachment] = []
    if poll.kind == "survey":
        document = ctx.templates.text(
            network.language,
            "polls/survey_document",
            poll=poll,
            answers=_survey_rows(ctx.session, poll),
            network=network,
        )
        attachments.append(
            OutgoingAttachment(f"kysely-{poll.id}.txt", "text/plain", document.encode())
        )
    coordinators = [poll.coordinator] if poll.coordinator else list(network.coordinators)
    rendered = ctx.templates.render(
        network.language,
        "polls/results",
        network=network,
        poll=poll,
        tally=result,
        for_coordinator=True,
    )
    ctx.send(
        Draft(
            to=coordinators,
            subject=rendered.subject,
            text=rendered.text,
            kind="poll-results",
            related=f"poll:{poll.id}",
            attachments=attachments,
            language=network.language,
        )
    )
    if poll.publish_results and poll.kind == "poll":
        for language, group in ctx.templates.by_language(
            _audience(ctx, poll), _language_of
        ).items():
            rendered = ctx.templates.render(
                language,
                "polls/results",
                network=network,
                poll=poll,
                tally=result,
                for_coordinator=False,
            )
            draft = Draft(
                to=[],
                subject=rendered.subject,
                text=rendered.text,
                kind="poll-results",
                related=f"poll:{poll.id}",
                language=language,
                headers={"Precedence": "bulk"},
            )
            broadcast(ctx.session, draft, _named(group), network, ctx.now)
    ctx.actions.append(f"close {poll.kind} #{poll.id}: {result.ballots} ballots")


def _language_of(person: tuple[str, str, str]) -> str:
    return person[2]


def _named(people: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(address, name) of each (address, name, language): broadcast's people."""
    return [(address, name) for address, name, _ in people]


def _survey_rows(session: Session, poll: Poll) -> list[tuple[str, list[str]]]:
    rows = []
    for ballot in counted_ballots(session, poll):
        who = "" if poll.anonymous else ballot.voter
        rows.append((who, json.loads(ballot.answers or "[]")))
    return rows


def close_due(ctx: HandlerContext) -> int:
    """Every open poll whose deadline has passed: closed once, results sent once."""
    due = list(
        ctx.session.scalars(select(Poll).where(Poll.state == "open", Poll.closes_at <= ctx.now))
    )
    for poll in due:
        close(ctx, poll)
    return len(due)


def send_due_ballots(ctx: HandlerContext) -> int:
    """Polls opened from the command line get their ballots in the next cycle."""
    due = list(
        ctx.session.scalars(
            select(Poll).where(Poll.state == "open", Poll.ballots_sent_at.is_(None))
        )
    )
    for poll in due:
        send_ballots(ctx, poll)
    return len(due)
