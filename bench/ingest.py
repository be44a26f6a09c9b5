"""Ingest throughput: how fast the daemon clears a backlog in the network's INBOX.

A backlog of N members' questions (~1.3 KB, Finnish, senders member1..member50) is
put straight into network@example.test's Maildir in the private Dovecot and synced
(not timed). Then a separate process (so the bench's own copies of the messages do
not count in its memory) builds the service on a fresh SQLite database and times
``Daemon(app).inbox_cycle()``: every message claimed, routed, its ticket and
outbox rows committed, and moved to Processed. The outbox is NOT drained: ingest
means handled + queued. The baseline is ``email.message_from_bytes(raw,
policy=email.policy.default)`` over the same raw messages, in this process, in
the same run.

    sudo /work/venv/bin/python bench/ingest.py               # 1,000 and 5,000, 3 runs each
    /work/venv/bin/python bench/ingest.py --sizes 5000 --repeat 1 --profile pyinstrument
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers
from _servers import fmt_ratio, median

MAIL_UID = 8  # Debian's "mail" user owns the harness's Maildirs


# ------------------------------------------------------------------ child --
def _child(args: argparse.Namespace) -> int:
    """Runs in its own process: build the service, time one inbox cycle, report JSON."""
    import psutil

    from mailer import logs
    from mailer.app import App
    from mailer.config import load_settings
    from mailer.daemon import Daemon

    logs.setup()  # JSON lines to stderr, as `mailer run` does (the parent sends them to a file)
    app = App.build(load_settings(Path(args.child)))
    daemon = Daemon(app)
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = [rss_before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    profiler: Any = None
    if args.profile == "cprofile":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    elif args.profile == "pyinstrument":
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.001)
        profiler.start()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    handled = daemon.inbox_cycle()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if args.profile == "cprofile":
        import pstats

        profiler.disable()
        profiler.dump_stats(args.profile_out)
        with open(args.profile_out + ".txt", "w") as out:
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
    elif args.profile == "pyinstrument":
        profiler.stop()
        Path(args.profile_out + ".txt").write_text(profiler.output_text(show_all=False))
    done.set()
    sampler.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    daemon.disconnect()
    app.close()
    print(
        json.dumps(
            {
                "handled": handled,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_before": rss_before,
                "rss_peak_sampled": peak[0],
                "maxrss_before": maxrss_before,
                "maxrss_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )
    return 0


# ----------------------------------------------------------------- parent --
def _load_maildir(servers: _servers.MailServers, messages: list[bytes]) -> None:
    """Write the messages into network's Maildir/new as LMTP would, then let Dovecot sync.

    Maildir files use LF line endings; ``S=`` is the file size (Dovecot trusts it).
    """
    maildir = servers.dir / "mail" / servers.domain / "network" / "Maildir"
    if not maildir.exists():  # first use of the mailbox: let Dovecot create it
        with servers.imap("network") as client:
            client.select_folder("INBOX")
    for sub in ("tmp", "new", "cur"):
        if not (maildir / sub).exists():
            (maildir / sub).mkdir(mode=0o700)
            os.chown(maildir / sub, MAIL_UID, MAIL_UID)
    stamp, pid = int(time.time()), os.getpid()
    for i, raw in enumerate(messages):
        data = raw.replace(b"\r\n", b"\n")
        name = f"{stamp}.M{i}P{pid}.bench,S={len(data)}"
        tmp = maildir / "tmp" / name
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chown(tmp, MAIL_UID, MAIL_UID)
        os.rename(tmp, maildir / "new" / name)
    _sync(servers, len(messages))


def _load_append(servers: _servers.MailServers, messages: list[bytes]) -> None:
    with servers.imap("network") as client:
        for start in range(0, len(messages), 250):
            client.multiappend("INBOX", messages[start : start + 250])
    _sync(servers, len(messages))


def _sync(servers: _servers.MailServers, expected: int) -> None:
    """SELECT the inbox so Dovecot assigns UIDs and indexes now, outside the timing."""
    with servers.imap("network") as client:
        client.select_folder("INBOX")
        have = len(client.search("ALL"))
        if have != expected:
            raise RuntimeError(f"INBOX holds {have} messages, {expected} expected")
        uids = client.search("ALL")
        for start in range(0, len(uids), 1000):  # warm the index cache the way LMTP leaves it
            client.fetch(uids[start : start + 1000], ["RFC822.SIZE", "INTERNALDATE"])


def _folder_count(servers: _servers.MailServers, folder: str) -> int:
    with servers.imap("network") as client:
        if not client.folder_exists(folder):
            return 0
        return int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])


def _db_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        q = {
            "claims": "select count(*) from inbound_mail",
            "handled": "select count(*) from inbound_mail where outcome = 'handled'",
            "tickets": "select count(*) from tickets",
            "outbox_messages": "select count(*) from outbox_messages",
            "queued_recipients": "select count(*) from outbox_recipients where state = 'queued'",
        }
        return {k: con.execute(sql).fetchone()[0] for k, sql in q.items()}
    finally:
        con.close()


def _baseline(messages: list[bytes]) -> tuple[float, float]:
    """email.message_from_bytes(raw, policy=email.policy.default): (msg/s, msg per CPU-s)."""
    policy = email.policy.default
    cpu0, t0 = time.process_time(), time.perf_counter()
    for raw in messages:
        email.message_from_bytes(raw, policy=policy)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    return len(messages) / wall, len(messages) / cpu


def _one_run(
    servers: _servers.MailServers,
    messages: list[bytes],
    work: Path,
    args: argparse.Namespace,
    label: str,
) -> dict[str, Any]:
    servers.ensure_running()
    servers.clear_all()
    t0 = time.perf_counter()
    (_load_append if args.load == "append" else _load_maildir)(servers, messages)
    load_seconds = time.perf_counter() - t0
    db = work / f"{label}.db"
    url = f"sqlite:///{db}"
    _servers.add_members(url)
    raw = _servers.service_config(
        servers,
        url,
        imap={"batch_size": args.batch_size},
        security={"auto_reply_limit_per_day": args.auto_reply_limit},
    )
    config = _servers.write_config(work / f"{label}.toml", raw)
    argv = [sys.executable, __file__, "--child", str(config)]
    if args.profile != "none":
        argv += ["--profile", args.profile, "--profile-out", str(work / f"{label}.prof")]
    with open(work / f"{label}.log", "wb") as log:
        done = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=log, timeout=args.timeout, check=False
        )
    if done.returncode != 0:
        tail = (work / f"{label}.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"child failed ({done.returncode}):\n{tail}")
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    result["load_seconds"] = load_seconds
    result["db"] = _db_counts(db)
    result["inbox_left"] = _folder_count(servers, "INBOX")
    result["processed"] = _folder_count(servers, "Processed")
    n = len(messages)
    problems = []
    if result["handled"] != n or result["db"]["handled"] != n or result["db"]["tickets"] != n:
        problems.append(f"handled {result['handled']}, db {result['db']}")
    if result["inbox_left"] != 0 or result["processed"] != n:
        problems.append(f"INBOX {result['inbox_left']}, Processed {result['processed']}")
    if problems:
        raise RuntimeError(f"{label}: not every message was handled: {'; '.join(problems)}")
    if args.profile != "none":
        result["profile"] = str(work / f"{label}.prof.txt")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000", help="backlog sizes (default 1000,5000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median printed)")
    parser.add_argument("--batch-size", type=int, default=100, help="[imap] batch_size")
    parser.add_argument(
        "--auto-reply-limit",
        type=int,
        default=1_000_000,
        help="[security] auto_reply_limit_per_day; the default lets every question be "
        "acknowledged (2 outbox messages each); 10 is the service's default",
    )
    parser.add_argument("--load", choices=("maildir", "append"), default="maildir")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per daemon run")
    parser.add_argument("--profile", choices=("none", "cprofile", "pyinstrument"), default="none")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    if os.geteuid() != 0:
        parser.error("the Postfix + Dovecot harness needs root")

    sizes = [int(s) for s in args.sizes.split(",")]
    messages = _servers.question_messages(max(sizes))
    mean_size = sum(map(len, messages)) / len(messages)
    work = Path(tempfile.mkdtemp(prefix="mailer-bench-ingest-"))
    print(
        f"ingest bench: {max(sizes)} questions of {mean_size:.0f} B on average, senders "
        f"member1..50; SQLite; batch_size {args.batch_size}; auto_reply_limit_per_day "
        f"{args.auto_reply_limit}; {args.repeat} run(s) per size; the outbox is not drained "
        f"(ingest = handled + queued); work dir {work}",
        flush=True,
    )
    results: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    baselines: list[float] = []
    cpu_baselines: list[float] = []
    with _servers.harness() as servers:
        for rep in range(args.repeat):
            wall_rate, cpu_rate = _baseline(messages)
            baselines.append(wall_rate)
            cpu_baselines.append(cpu_rate)
            print(
                f"run {rep + 1}: baseline {wall_rate:,.0f} msg/s, {cpu_rate:,.0f} msg per CPU-s",
                flush=True,
            )
            for n in sizes:
                r = _one_run(servers, messages[:n], work, args, f"n{n}-r{rep + 1}")
                r["rate"] = n / r["seconds"]
                results[n].append(r)
                print(
                    f"run {rep + 1}: {n:>5} messages in {r['seconds']:6.2f} s = "
                    f"{r['rate']:6.1f} msg/s (CPU {r['cpu_seconds']:.1f} s); peak RSS "
                    f"{r['maxrss_after'] / 2**20:.1f} MB (before the cycle "
                    f"{r['maxrss_before'] / 2**20:.1f} MB); load {r['load_seconds']:.1f} s; "
                    f"outbox rows {r['db']['outbox_messages']}",
                    flush=True,
                )
                if "profile" in r:
                    print(f"        profile: {r['profile']}", flush=True)
    base, cpu_base = median(baselines), median(cpu_baselines)
    print()
    print(
        f"baseline email.message_from_bytes(policy.default): {base:,.0f} msg/s, "
        f"{cpu_base:,.0f} msg per CPU-s ({1000 / cpu_base:.2f} CPU ms/msg) (medians)"
    )
    print(
        f"{'messages':>8} {'msg/s':>8} {'ratio':>7} {'CPU ms/msg':>10} {'msg/CPU-s':>9} "
        f"{'ratio':>7} {'CPU %':>6} {'peak RSS MB':>11} {'growth MB':>9}"
    )
    for n in sizes:
        rs = results[n]
        rate = median([r["rate"] for r in rs])
        cpu_ms = median([r["cpu_seconds"] / n * 1000 for r in rs])
        cpu = median([r["cpu_seconds"] / r["seconds"] * 100 for r in rs])
        rss = median([r["maxrss_after"] / 2**20 for r in rs])
        growth = median([(r["maxrss_after"] - r["maxrss_before"]) / 2**20 for r in rs])
        print(
            f"{n:>8} {rate:>8.1f} {fmt_ratio(rate, base):>7} {cpu_ms:>10.2f} "
            f"{1000 / cpu_ms:>9.1f} {fmt_ratio(1000 / cpu_ms, cpu_base):>7} {cpu:>6.0f} "
            f"{rss:>11.1f} {growth:>9.1f}"
        )
    print(
        "ratio = daemon / baseline, by wall clock and by CPU time. CPU = the daemon process's\n"
        "CPU time (all threads) during the cycle: other load on the machine disturbs it less\n"
        "than msg/s, and 1000 / CPU ms is the rate with a core to itself (the cycle runs on\n"
        "one thread). Targets: >= 200 msg/s, peak RSS <= 150 MB."
    )
    if not args.keep and args.profile == "none":
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
