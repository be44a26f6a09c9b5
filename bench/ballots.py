"""Ballot throughput: 5,000 ballot replies in the network's INBOX, counted and confirmed.

An open poll with four options goes to 5,000 members (roster loaded through
``mailer members import``). Their replies — written as members write them: numbers,
ordinal words, option words, signatures — are put straight into network's Maildir
in the private Dovecot and indexed (not timed). Then ``Daemon(app).inbox_cycle()``
is timed: every reply claimed, routed by its signed ballot token, parsed, the
ballot stored and a confirmation (or a clarify answer) queued, moved to Processed.
The outbox is not drained. The baseline is ``parse_message`` over the same bytes.

    sudo /work/venv/bin/python bench/ballots.py              # 5,000 replies, 3 runs
    sudo /work/venv/bin/python bench/ballots.py --replies 1000 --repeat 1
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers
import ingest
from _servers import fmt_ratio, median

SECRET = "bench-secret"
OPTIONS = [
    "Joukkoliikenteen tilastot",
    "Kutsutaksit ja asiointiliikenne",
    "Koulukuljetusten kilpailutus",
    "Talvikunnossapito ja pysäkit",
]
REPLIES = [
    "2 ja 4",
    "Kolmonen",
    "1",
    "Äänestän tilastoja\n\nTerveisin\n{name}\np. 040 123 4567",
    "2, 3",
    "Nro 4 kiitos!",
    "Jag röstar på 3\n\nMed vänliga hälsningar\n{name}",
    "I'd vote for 1 and 2",
    "kutsutaksit",
    "2 tai 3",  # asks back
]


def _replies(count: int, reply_to: str) -> list[bytes]:
    start = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)
    out = []
    for i in range(count):
        number = i + 1
        msg = EmailMessage()
        msg["From"] = f"{_servers.member_name(number)} <{_servers.member_address(number)}>"
        msg["To"] = reply_to
        msg["Subject"] = "Re: Äänestys: Mistä aiheesta seuraava webinaari?"
        msg["Date"] = format_datetime(start + timedelta(seconds=3 * i))
        msg["Message-ID"] = f"<ballot{i}@client.example.test>"
        body = REPLIES[i % len(REPLIES)].format(name=_servers.member_name(number))
        quoted = "\n".join(f"> {n}. {o}" for n, o in enumerate(OPTIONS, 1))
        msg.set_content(f"{body}\n\nma 11.1.2027 klo 10.00 Verkosto kirjoitti:\n{quoted}\n")
        raw = msg.as_bytes().replace(b"\n", b"\r\n")
        out.append(f"Delivered-To: {reply_to}\r\n".encode() + raw)
    return out


def _run(servers: _servers.MailServers, count: int, work: Path, label: str) -> dict[str, float]:
    from mailer.app import App
    from mailer.clock import Clock
    from mailer.config import settings_from_dict
    from mailer.daemon import Daemon
    from mailer.handlers import polls
    from mailer.reply_tokens import ReplyTokens

    servers.ensure_running()
    servers.clear_all()
    url = f"sqlite:///{work / f'{label}.db'}"
    _servers.add_members(url, count)
    raw = _servers.service_config(
        servers, url, security={"secret": SECRET, "auto_reply_limit_per_day": 1_000_000}
    )
    clock = Clock.starting_at(datetime(2027, 1, 11, 9, 0, tzinfo=UTC))
    app = App.build(settings_from_dict(raw, {}, base=work), clock)
    with app.db.transaction() as session:
        poll = polls.new_poll(
            session,
            kind="poll",
            question="Mistä aiheesta seuraava webinaari?",
            options=OPTIONS,
            max_choices=2,
            closes_at=clock.now() + timedelta(days=5),
            now=clock.now(),
            coordinator=servers.address("coordinator"),
            state="open",
        )
        poll.ballots_sent_at, poll.invited, poll_id = clock.now(), count, poll.id
    token = ReplyTokens(SECRET).make(polls.BALLOT_TOKEN, poll_id)
    messages = _replies(count, f"network+r-{token}@{servers.domain}")
    ingest._load_maildir(servers, messages)
    baseline = _baseline(messages)
    daemon = Daemon(app)
    cpu0, t0 = time.process_time(), time.perf_counter()
    handled = daemon.inbox_cycle()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    daemon.disconnect()
    app.close()
    con = sqlite3.connect(work / f"{label}.db")
    ballots = con.execute("select count(*) from ballots").fetchone()[0]
    answers = con.execute("select count(*) from outbox_messages").fetchone()[0]
    con.close()
    if handled != count or answers != count:
        raise RuntimeError(f"{label}: handled {handled}, answers {answers} of {count}")
    return {
        "rate": count / seconds,
        "cpu_ms": 1000 * cpu / count,
        "ballots": ballots,
        "baseline": baseline,
    }


def _baseline(messages: list[bytes]) -> float:
    from mailer.inbound.message import parse_message

    t0 = time.perf_counter()
    for raw in messages:
        parse_message(raw)
    return len(messages) / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    with _servers.harness() as servers, tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.repeat + 1):
            result = _run(servers, args.replies, Path(tmp), f"run{run}")
            results.append(result)
            print(
                f"run {run}: {args.replies} replies, {result['rate']:.1f} msg/s, "
                f"CPU {result['cpu_ms']:.2f} ms/msg, {result['ballots']} ballots recorded "
                f"(the rest asked back), parse_message baseline {result['baseline']:.0f} msg/s"
            )
    rate, base = median([r["rate"] for r in results]), median([r["baseline"] for r in results])
    print(
        f"median: {rate:.1f} msg/s counted and confirmed, ratio to parse_message "
        f"{fmt_ratio(rate, base)}; CPU {median([r['cpu_ms'] for r in results]):.2f} ms/msg "
        "(target >= 150 msg/s on SQLite)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
