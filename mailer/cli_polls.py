"""``mailer polls``: the same as the coordinator's email form, and the results."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.app import App
from mailer.db.polls import Poll
from mailer.errors import ConfigError
from mailer.handlers import polls
from mailer.parsing.dates import parse_datetime

polls_app = typer.Typer(no_args_is_help=True, help="Votes and advance surveys.")
# The option each of ``polls.validate``'s error codes is about.
_OPTIONS = {
    "no-question": "--question",
    "too-few-options": "--option",
    "no-survey-questions": "--option",
    "too-many-options": "--option",
    "bad-max-choices": "--max-choices",
    "bad-closing-time": "--closes",
    "closes-in-the-past": "--closes",
}


def _refuse(service: App, errors: list[str], kind: str) -> ConfigError:
    """The errors in one line, each after its option, worded as the coordinator's reply."""
    reasons = []
    for error in errors:
        text = service.templates.text(
            "en", "polls/form_errors", survey=kind == "survey", errors=[error], unknown=[]
        )
        reason = next(line[2:] for line in text.splitlines() if line.startswith("- "))
        reasons.append(f"{_OPTIONS[error]}: {reason}")
    return ConfigError("; ".join(reasons))


@polls_app.command("create")
def create(
    ctx: typer.Context,
    question: Annotated[str, typer.Option(help="the question members answer")],
    option: Annotated[list[str], typer.Option(help="an option (a survey's free-text question)")],
    closes: Annotated[
        str, typer.Option(help="'2027-01-15 16:00' or '15.1.2027 klo 16' (network time)")
    ],
    max_choices: Annotated[int, typer.Option()] = 1,
    audience: Annotated[
        list[str] | None, typer.Option(help="'members' and/or extra addresses")
    ] = None,
    anonymous: Annotated[bool, typer.Option(help="survey answers without names")] = False,
    survey: Annotated[bool, typer.Option(help="free-text questions instead of options")] = False,
    one_per_organisation: Annotated[bool, typer.Option()] = False,
    no_results_to_audience: Annotated[bool, typer.Option()] = False,
    draft: Annotated[bool, typer.Option(help="hold the ballots until `polls send`")] = False,
) -> None:
    """Open a poll; its ballots go out in the daemon's next cycle (or hold with --draft)."""
    from mailer.cli import _service, out

    with _service(ctx) as service:
        settings = service.settings
        now = service.clock.now()
        closes_at = parse_datetime(
            closes, settings.network.tz, now, default_time=polls.CLOSING_TIME
        )
        kind = "survey" if survey else "poll"
        errors = polls.validate(question, option, max_choices, closes_at, now, kind)
        if errors or closes_at is None:
            raise _refuse(service, errors, kind)
        targets = audience or ["members"]
        with service.db.transaction() as session:
            poll = polls.new_poll(
                session,
                kind=kind,
                question=question,
                options=option,
                max_choices=max_choices if kind == "poll" else len(option),
                closes_at=closes_at,
                now=now,
                coordinator=settings.network.coordinators[0],
                audience_members="members" in targets,
                audience_extra=[a for a in targets if a != "members"],
                anonymous=anonymous,
                one_per_organisation=one_per_organisation,
                state="draft" if draft else "open",
            )
            poll.publish_results = not no_results_to_audience
            poll_id = poll.id
    out.print(f"{kind} #{poll_id} " + ("saved as a draft" if draft else "opened"))


@polls_app.command("send")
def send(ctx: typer.Context, poll_id: int) -> None:
    """Open a draft poll: its ballots go out in the daemon's next cycle."""
    from mailer.cli import _service, out

    with _service(ctx) as service, service.db.transaction() as session:
        poll = session.get(Poll, poll_id)
        if poll is None or poll.state != "draft":
            raise ConfigError(f"no draft poll #{poll_id}")
        poll.state = "open"
    out.print(f"poll #{poll_id} opened")


@polls_app.command("list")
def list_polls(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Polls with state, deadline and turnout so far."""
    from mailer.cli import _print, _service

    with _service(ctx) as service, service.db.transaction() as session:
        rows = []
        for poll in session.scalars(select(Poll).order_by(Poll.id)):
            result = polls.tally(session, poll)
            rows.append(
                {
                    "id": poll.id,
                    "kind": poll.kind,
                    "state": poll.state,
                    "question": poll.question,
                    "closes": poll.closes_at.astimezone(service.settings.network.tz).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    "ballots": result.ballots,
                    "invited": result.invited,
                }
            )
    _print(
        rows,
        as_json,
        f"Polls ({len(rows)})",
        ["id", "kind", "state", "question", "closes", "ballots", "invited"],
    )


def _survey_results(session: Session, poll: Poll) -> list[dict[str, Any]]:
    """Per question its answers, each with who gave it (empty for an anonymous survey):
    a survey has no options to count, so its result is what people wrote."""
    ballots = polls.counted_ballots(session, poll)
    rows = []
    for option in poll.options:
        responses = []
        for ballot in ballots:
            answers = json.loads(ballot.answers or "[]")
            answer = answers[option.position - 1] if option.position <= len(answers) else ""
            if answer:
                responses.append({"from": "" if poll.anonymous else ballot.voter, "answer": answer})
        rows.append(
            {
                "question": option.position,
                "text": option.text,
                "answers": len(responses),
                "responses": responses,
            }
        )
    return rows


def _survey_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per answer under its question, which shows its text and count once."""
    lines = []
    for row in rows:
        head = {"question": row["question"], "text": row["text"], "answers": row["answers"]}
        blank = dict.fromkeys(head, "")
        for n, response in enumerate(row["responses"] or [{"from": "", "answer": ""}]):
            lines.append((blank if n else head) | response)
    return lines


@polls_app.command("results")
def results(
    ctx: typer.Context,
    poll_id: int,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Counts per option, percentages and turnout (so far, for an open poll); for a survey,
    each question's answers."""
    from mailer.cli import _print, _service

    with _service(ctx) as service, service.db.transaction() as session:
        poll = session.get(Poll, poll_id)
        if poll is None:
            raise ConfigError(f"no poll #{poll_id}")
        result = polls.tally(session, poll)
        title = (
            f"{poll.question}: {result.ballots} ballots of {result.invited} "
            f"({result.turnout:.0f} %)"
        )
        if poll.kind == "survey":
            survey = _survey_results(session, poll)
            columns = ["question", "text", "answers", "from", "answer"]
            _print(survey if as_json else _survey_table(survey), as_json, title, columns)
            return
        rows = [
            {"option": pos, "text": text, "votes": votes, "percent": round(percent, 1)}
            for pos, text, votes, percent in result.rows
        ]
    _print(rows, as_json, title, ["option", "text", "votes", "percent"])
