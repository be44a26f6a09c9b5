"""`mailer polls create/send/list/results` and the ballots the next cycle sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mailer.cli import main
from mailer.roster import add_member

from .conftest import Embedded
from .test_cli import _config

Build = Callable[..., Embedded]


def test_create_draft_send_and_results(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """A draft sends nothing; `polls send` opens it; the next cycle sends the ballots."""
    env = embedded()
    with env.app.db.transaction() as session:
        for n in range(3):
            add_member(
                session,
                f"m{n}@example.test",
                name=f"M{n}",
                organisation_name="Akaa",
                language=("fi", "sv", "en")[n],
                delivery="each",
                now=env.app.clock.now(),
            )
    config = str(_config(env, tmp_path))
    create = [
        "--config",
        config,
        "polls",
        "create",
        "--question",
        "Paras kuukausi?",
        "--option",
        "Tammikuu",
        "--option",
        "Helmikuu",
        "--closes",
        "2099-01-15 16:00",
        "--draft",
    ]
    assert main(create) == 0
    env.cycle()
    assert env.received("m0@example.test") == []
    assert main(["--config", config, "polls", "send", "1"]) == 0
    env.cycle()
    (fi,) = env.received("m0@example.test")
    (sv,) = env.received("m1@example.test")
    assert "Äänestys" in str(fi["Subject"]) and str(fi["To"]).endswith("m0@example.test>")
    assert "m1@example.test" in str(sv["To"]) and str(sv["Subject"]) != str(fi["Subject"])
    reply = f"From: m1@example.test\nTo: {sv['Reply-To']}\nSubject: SV: x\n\n2\n"
    env.deliver(reply.encode(), to=str(sv["Reply-To"]))
    env.cycle()
    capsys.readouterr()
    assert main(["--config", config, "polls", "results", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"option": 2, "text": "Helmikuu", "votes": 1, "percent": 100.0}
    assert main(["--config", config, "polls", "list", "--json"]) == 0
    (poll,) = json.loads(capsys.readouterr().out)
    assert (poll["state"], poll["ballots"], poll["invited"]) == ("open", 1, 3)


def test_create_refuses_a_bad_poll(tmp_path: Path, embedded: Build) -> None:
    """One option, or a deadline in the past, is a usage error with the reason."""
    config = str(_config(embedded(), tmp_path))
    assert (
        main(
            [
                "--config",
                config,
                "polls",
                "create",
                "--question",
                "Q",
                "--option",
                "A",
                "--closes",
                "2099-01-01 12:00",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "--config",
                config,
                "polls",
                "create",
                "--question",
                "Q",
                "--option",
                "A",
                "--option",
                "B",
                "--closes",
                "2001-01-01 12:00",
            ]
        )
        == 2
    )


@pytest.mark.parametrize(
    ("closes", "local"),
    [
        ("11.12.2026 klo 16", "2026-12-11 16:00"),
        ("pe 11.12. klo 12.30", "2026-12-11 12:30"),
        ("11.12.2026", "2026-12-11 16:00"),
        ("2026-12-10 16:00", "2026-12-10 16:00"),
        ("15 Jan 2027 16:00", "2027-01-15 16:00"),
    ],
)
def test_create_takes_the_forms_dates(
    tmp_path: Path,
    embedded: Build,
    capsys: pytest.CaptureFixture[str],
    closes: str,
    local: str,
) -> None:
    """--closes takes every date the email form takes, a day alone closing at 16."""
    config = str(_config(embedded(), tmp_path))
    now = ["--config", config, "--now", "2026-12-01 10:00"]
    create = ["polls", "create", "--question", "Q", "--option", "A", "--option", "B"]
    assert main([*now, *create, "--closes", closes]) == 0
    capsys.readouterr()
    assert main([*now, "polls", "list", "--json"]) == 0
    (poll,) = json.loads(capsys.readouterr().out)
    assert poll["closes"] == local


@pytest.mark.parametrize(
    ("closes", "words"),
    [("ensi perjantai", "not recognised"), ("1.11.2026 klo 16", "already passed")],
)
def test_create_names_closes_in_its_error(
    tmp_path: Path,
    embedded: Build,
    capsys: pytest.CaptureFixture[str],
    closes: str,
    words: str,
) -> None:
    """A closing time that cannot be read or has passed: one line naming --closes, exit 2."""
    config = str(_config(embedded(), tmp_path))
    argv = ["--config", config, "--now", "2026-12-01 10:00", "polls", "create"]
    argv += ["--question", "Q", "--option", "A", "--option", "B", "--closes", closes]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mailer: --closes: ") and words in err
    assert "--now" not in err and len(err.strip().splitlines()) == 1


def test_survey_results_show_each_questions_answers(
    tmp_path: Path, embedded: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """A survey has nothing to count: its results are the number of answers per question
    and the answers themselves, in the table and in --json."""
    env = embedded()
    with env.app.db.transaction() as session:
        for n, town in enumerate(("Akaa", "Salo")):
            add_member(
                session,
                f"m{n}@example.test",
                name=f"M{n}",
                organisation_name=town,
                language="fi",
                delivery="each",
                now=env.app.clock.now(),
            )
    config = str(_config(env, tmp_path))
    create = ["--config", config, "polls", "create", "--survey", "--question", "Ennakkokysely"]
    create += ["--option", "Mikä on tärkeintä?", "--option", "Mitä muuta?"]
    assert main([*create, "--closes", "2099-01-15 16:00"]) == 0
    env.cycle()
    for n, text in ((0, "1) Kilpailutus\n2) Tilastot"), (1, "Koulukuljetukset")):
        (ballot,) = env.received(f"m{n}@example.test")
        reply = f"From: m{n}@example.test\nTo: {ballot['Reply-To']}\nSubject: VS: x\n\n{text}\n"
        env.deliver(reply.encode(), to=str(ballot["Reply-To"]))
    env.cycle()
    capsys.readouterr()
    assert main(["--config", config, "polls", "results", "1", "--json"]) == 0
    first, second = json.loads(capsys.readouterr().out)
    assert (first["question"], first["text"], first["answers"]) == (1, "Mikä on tärkeintä?", 2)
    assert sorted(r["answer"] for r in first["responses"]) == ["Kilpailutus", "Koulukuljetukset"]
    assert second["answers"] == 1
    assert second["responses"] == [{"from": "m0@example.test", "answer": "Tilastot"}]
    assert main(["--config", config, "polls", "results", "1"]) == 0
    table = capsys.readouterr().out
    assert "Koulukuljetukset" in table and "Tilastot" in table and "m1@example.test" in table
    assert "0.0" not in table
