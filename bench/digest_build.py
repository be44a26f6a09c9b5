"""Queueing the list digests: N digest readers over P accepted posts, one send_digests call.

A child process prepares a SQLite database once (``bench/fanout.py``'s bulk
insert): N members in digest mode, half ``daily`` and half ``weekly``, languages
fi / sv / en in turn, 300 organisations, and P accepted ``list_posts`` rows
(~3 KB Finnish posts, stored as the pipeline stores them: raw bytes + text).
Every measured run is a fresh child on a copy of it, with the clock at Monday
2026-11-30 11:00 Helsinki time (digest hour 07:00, weekly day Monday), so every
daily and every weekly digest is due. ``[digests] weekly`` is off: with the
members' weekly update on (the default), weekly readers get their posts in that
update instead (``mailer/weekly_digest.py``, timed by ``bench/weekly_digest.py``)
and ``send_digests`` serves the daily readers only; off, it queues both. The
child times what the ``list-digests`` job does (``mailer/jobs.py`` ``_digests``):

    with app.db.transaction() as session:
        send_digests(session, app.settings, app.templates, app.tokens, now)

split into ``send_digests`` itself and the commit (which flushes every
member's cursor), then calls it once more (nothing is due: the cost of the
job's 5-minute look), and checks the database: outbox messages and recipient
rows created, every member's cursor at the last post. It prints the medians,
the peak RSS of the child (``ru_maxrss``) and its RSS before the call.
Targets: <= 60 s for 10,000 members and 50 posts.

By default every member's cursor is 0, so members sharing a language and a
mode share one digest (6 messages). ``--cursors K`` spreads the cursors over K
values (members who joined between digests), giving up to 6 x K distinct digests
to render. ``--mime`` sets ``list.mime_digest`` (RFC 1153-style MIME digest with
every post attached).

Usage (~1-2 minutes by default):

    /work/venv/bin/python bench/digest_build.py
    /work/venv/bin/python bench/digest_build.py --members 10000 --posts 50 --cursors 10 --mime
    /work/venv/bin/python bench/digest_build.py --repeat 1 --profile cprofile   # or py-spy
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from fanout import (  # noqa: E402
    LANGUAGES,
    checkpoint,
    copy_db,
    emit,
    finnish_text,
    member_address,
    member_name,
    peak_rss_mb,
    populate,
    post_message,
    raw_config,
    rss_mb,
    run_child,
    summarize_cprofile,
    summarize_pyspy,
)

# Monday 11:00 in Helsinki: today's 07:00 daily and this Monday's weekly digest are due.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SUBJECTS = [
    "Koulukuljetusten kilpailutus",
    "Kutsuliikenne ja asiointiliikenne",
    "Palvelulinjan käyttäjämäärät",
    "Kela-kyytien yhdistely",
    "Iltavuorojen lakkautus?",
    "Esteettömät pysäkit",
    "Hankinta, vain yksi tarjous",
    "Kylä-auto kesäksi",
    "Seutulipun hinta",
    "Kaluston omistus",
]


def mode_of(i: int) -> str:
    return ("daily", "weekly")[i % 2]


def language_of(i: int) -> str:
    return LANGUAGES[i % 3]


def child_setup(args: argparse.Namespace) -> None:
    from sqlalchemy import insert, update

    from mailer.db.engine import Database
    from mailer.db.models import JobRun, ListPost, Member
    from mailer.digests import STARTED

    db = Path(args.db)
    populate(db, args.members, mode_of, NOW, language=language_of)
    database = Database(f"sqlite:///{db}")
    rows = []
    for p in range(args.posts):
        author = (p * 37) % args.members
        when = NOW - timedelta(days=7) + timedelta(hours=3 * p + 1)
        text = finnish_text(args.post_size, p)
        raw = post_message(author, args.post_size, f"digest-post-{p}", when)
        rows.append(
            {
                "message_id": f"<digest-post-{p}@kunta{author % 300}.example.test>",
                "author_email": member_address(author),
                "author_name": member_name(author),
                "member_id": author + 1,  # bulk-inserted in order on a fresh database
                "subject": f"{SUBJECTS[p % len(SUBJECTS)]} ({p + 1})",
                "text": text,
                "raw": raw,
                "state": "accepted",
                "reasons": "",
                "created_at": when,
                "decided_at": when,
                "recipients": 0,
            }
        )
    try:
        with database.transaction() as session:
            session.execute(insert(ListPost), rows)
            # A service in use for a month: this morning's digests are due.
            session.add(JobRun(job=STARTED[0], due_key=STARTED[1], ran_at=NOW - timedelta(days=30)))
            if args.cursors > 1:
                # Spread the cursors: K groups of members, each having read up to a
                # different post (they joined the digest at different times).
                step = max(1, args.posts // args.cursors)
                for k in range(1, args.cursors):
                    session.execute(
                        update(Member)
                        .where((Member.id - 1) // 6 % args.cursors == k)
                        .values(digest_cursor=k * step)
                    )
    finally:
        database.dispose()
    checkpoint(db)
    emit({"db": str(db)})


def child_measure(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    from mailer.app import App
    from mailer.clock import Clock
    from mailer.config import settings_from_dict
    from mailer.db.models import ListPost, Member, OutboxMessage, OutboxRecipient
    from mailer.digests import send_digests

    workdir, db = Path(args.workdir), Path(args.db)
    list_settings = {"digest_hour": 7, "weekly_digest_day": "monday", "mime_digest": args.mime}
    # weekly readers' posts go out in the members' weekly update when it is on
    # (bench/weekly_digest.py); here send_digests serves both modes, as it does without it
    raw = raw_config(workdir, db, 25, list=list_settings, digests={"weekly": False})
    app = App.build(settings_from_dict(raw, {}, base=workdir), clock=Clock.starting_at(NOW))
    rss_before = rss_mb()
    profiler: Any = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, t0 = time.process_time(), time.perf_counter()
    with app.db.transaction() as session:
        stats = send_digests(session, app.settings, app.templates, app.tokens, app.clock.now())
        t1 = time.perf_counter()
    t2 = time.perf_counter()
    cpu = time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    peak = peak_rss_mb()
    t3 = time.perf_counter()
    with app.db.transaction() as session:
        again = send_digests(session, app.settings, app.templates, app.tokens, app.clock.now())
    t4 = time.perf_counter()
    with app.db.transaction() as session:
        messages = session.scalar(select(func.count()).select_from(OutboxMessage))
        recipients = session.scalar(select(func.count()).select_from(OutboxRecipient))
        distinct = session.scalar(select(func.count(func.distinct(OutboxRecipient.address))))
        raw_bytes = list(session.scalars(select(func.length(OutboxMessage.raw))))
        newest = session.scalar(select(func.max(ListPost.id)))
        caught_up = session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.digest_cursor == newest, Member.last_digest_at.is_not(None))
        )
    app.close()
    emit(
        {
            "send_digests_s": t1 - t0,
            "commit_s": t2 - t1,
            "job_s": t2 - t0,
            "cpu_s": cpu,
            "again_s": t4 - t3,
            "again_members": again.members,
            "members": stats.members,
            "messages": stats.messages,
            "outbox_messages": messages,
            "outbox_recipients": recipients,
            "distinct_recipients": distinct,
            "digest_bytes_min": min(raw_bytes, default=0),
            "digest_bytes_max": max(raw_bytes, default=0),
            "caught_up": caught_up,
            "rss_before_mb": rss_before,
            "peak_rss_mb": peak,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["setup", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--posts", type=int, default=50, help="accepted posts in the archive")
    parser.add_argument("--post-size", type=int, default=3000, help="bytes of text per post")
    parser.add_argument("--cursors", type=int, default=1, help="distinct digest cursors")
    parser.add_argument("--mime", action="store_true", help="list.mime_digest = true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", choices=["cprofile", "py-spy"])
    parser.add_argument("--limit", type=float, default=600.0, help="seconds allowed per child")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.child == "setup":
        child_setup(args)
        return
    if args.child == "measure":
        child_measure(args)
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    log = workdir / "children.log"
    common = [
        "--members",
        str(args.members),
        "--posts",
        str(args.posts),
        "--post-size",
        str(args.post_size),
        "--cursors",
        str(args.cursors),
    ]
    print(
        f"work directory {workdir}; {args.members:,} digest members (daily/weekly, fi/sv/en),"
        f" {args.posts} posts of ~{args.post_size} B, {args.cursors} cursor value(s),"
        f" {'MIME' if args.mime else 'plain'} digests; {args.repeat} run(s)"
    )
    try:
        template = workdir / "template.db"
        t0 = time.perf_counter()
        run_child([__file__, "--child", "setup", "--db", str(template), *common], log, args.limit)
        print(f"  (prepared in {time.perf_counter() - t0:.1f} s)")
        runs: list[dict[str, Any]] = []
        for repeat in range(args.repeat):
            rundir = workdir / f"run-{repeat + 1}"
            db = copy_db(template, rundir / "mailer.db")
            argv = [__file__, "--child", "measure", "--workdir", str(rundir), "--db", str(db)]
            argv += ["--mime"] if args.mime else []
            wrap: list[str] = []
            report: Path | None = None
            if args.profile == "cprofile":
                report = rundir / "digests.prof"
                argv += ["--cprofile", str(report)]
            elif args.profile == "py-spy":
                report = rundir / "pyspy.txt"
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                wrap = [py_spy, "record", "-r", "200", "-F", "-f", "raw", "-o", str(report), "--"]
            r = run_child([*argv, *common], rundir / "child.log", args.limit, wrap)
            runs.append(r)
            print(
                f"  run {repeat + 1}: job {r['job_s']:.2f} s"
                f" (send_digests {r['send_digests_s']:.2f} s + commit {r['commit_s']:.2f} s),"
                f" CPU {r['cpu_s']:.2f} s, peak RSS"
                f" {r['peak_rss_mb']:.0f} MB (before {r['rss_before_mb']:.0f} MB);"
                f" {r['messages']} digests, {r['outbox_recipients']:,} recipient rows;"
                f" again: {r['again_members']} due in {r['again_s'] * 1000:.0f} ms",
                flush=True,
            )
            if report is not None:
                if args.profile == "cprofile":
                    print(summarize_cprofile(report))
                else:
                    print(summarize_pyspy(report))
            if not args.keep and not args.profile:
                shutil.rmtree(rundir, ignore_errors=True)

        def med(key: str) -> float:
            return statistics.median(float(r[key]) for r in runs)

        last = runs[-1]
        ok = all(
            r["outbox_recipients"] == args.members == r["distinct_recipients"] == r["caught_up"]
            and r["members"] == args.members
            and r["again_members"] == 0
            for r in runs
        )
        print(
            f"\nmedian of {len(runs)}: send_digests + commit {med('job_s'):.2f} s"
            f" (target <= 60 s; send_digests {med('send_digests_s'):.2f} s, commit"
            f" {med('commit_s'):.2f} s), {args.members / med('job_s'):,.0f} members/s,"
            f" CPU {med('cpu_s'):.2f} s; peak RSS {med('peak_rss_mb'):.0f} MB"
            f" (max {max(r['peak_rss_mb'] for r in runs):.0f};"
            f" before {med('rss_before_mb'):.0f} MB)"
        )
        print(
            f"  created {last['outbox_messages']} outbox messages"
            f" ({last['digest_bytes_min']:,}-{last['digest_bytes_max']:,} bytes each) and"
            f" {last['outbox_recipients']:,} recipient rows ({last['distinct_recipients']:,}"
            f" distinct addresses); members with the cursor at the last post:"
            f" {last['caught_up']:,};"
            f" the job's next look (nothing due) {med('again_s') * 1000:.0f} ms;"
            f" checks {'passed' if ok else 'FAILED'}"
        )
    finally:
        if args.keep or args.profile:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
