"""Question → acknowledgement latency of the running daemon (IMAP IDLE), through Postfix.

The daemon runs as a subprocess (`mailer run`, SQLite, its JSON log on stderr kept
in a file). Questions go one at a time through the private Postfix from
member1..member50 to network@example.test; after each the bench waits for the
acknowledgement in the member's mailbox, then pauses ``--gap`` seconds.

Times (all on the wall clock the daemon's log uses):

  t0         Postfix accepted the question (smtplib ``sendmail`` returned: 250 to DATA)
  delivered  the question's file appeared in network's Maildir (ctime of the rename)
  exists     the daemon's watcher got EXISTS (log event ``imap.exists``)
  handled    the claim, ticket and outbox rows committed (log ``message handled``)
  sent       Postfix accepted the daemon's replies (log ``message sent``; the ack and the
             coordinator's copy both log it without a Message-ID, so the later is used)
  ack        the ack's file appeared in the member's Maildir (ctime)
  visible    an IDLE client on the member's INBOX got EXISTS for it

Baseline, in the same run: an "echo" responder in this process (IDLE on the same
INBOX; on EXISTS it FETCHes the new headers and sends a reply over a warm SMTP
connection) measured the same way, so the ratio shows what the daemon adds.

``imap.exists`` and ``message sent`` are DEBUG events: the daemon is started as
``mailer --config F run`` through ``python -c`` with only the ``mailer.imap`` and
``mailer.smtp`` loggers lowered to DEBUG (nothing else changes). ``--exact-cli`` runs
the ``mailer`` script itself (no exists or sent events).

    sudo /work/venv/bin/python bench/latency.py                     # 3 runs x 100 questions
    /work/venv/bin/python bench/latency.py --questions 30 --repeat 1 --profile
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers
from _servers import MEMBERS, fmt_ratio, median, member_address, member_name, p95

DAEMON_BOOT = (
    "import logging, sys; logging.getLogger('mailer.imap').setLevel(logging.DEBUG); "
    "logging.getLogger('mailer.smtp').setLevel(logging.DEBUG); "
    "from mailer.cli import main; sys.exit(main())"
)
POLL = 0.005


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# -------------------------------------------------------------- log source --
class DaemonLog:
    """Reads the daemon's JSON lines as they are written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        self.events: list[dict[str, Any]] = []

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # not a JSON line (a traceback printed by Python itself)
            entry["t"] = _parse_time(entry["time"])
            self.events.append(entry)

    def wait_for(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            for entry in self.events:
                if entry.get("event") == event:
                    return entry
            time.sleep(0.05)
        raise TimeoutError(f"no {event!r} in {self.path}")


# --------------------------------------------------------------- baseline --
class Echo(threading.Thread):
    """The floor: answer every new INBOX message at once, doing nothing else."""

    def __init__(self, servers: _servers.MailServers) -> None:
        super().__init__(name="echo", daemon=True)
        self.servers = servers
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.records: dict[str, dict[str, float]] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - the main thread re-raises it
            self.error = exc
            self.ready.set()

    def _run(self) -> None:
        servers = self.servers
        network = servers.address("network")
        imap = servers.imap("network")
        imap.select_folder("INBOX", readonly=True)
        seen = set(imap.search("ALL"))
        smtp = smtplib.SMTP(servers.host, servers.smtp_port, local_hostname="example.test")
        imap.idle()
        self.ready.set()
        try:
            while not self.stop.is_set():
                responses = imap.idle_check(timeout=0.2)
                if not any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                    continue
                t_exists = time.time()
                imap.idle_done()
                uids = [u for u in imap.search("ALL") if u not in seen]
                seen.update(uids)
                if uids:
                    wanted = b"BODY[HEADER.FIELDS (FROM MESSAGE-ID)]"
                    data = imap.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (FROM MESSAGE-ID)]"])
                    for uid in uids:
                        head = EmailMessage()
                        for line in data[uid][wanted].decode().splitlines():
                            name, _, value = line.partition(":")
                            if name and value:
                                head[name.strip()] = value.strip()
                        sender = head["From"].addresses[0].addr_spec
                        reply = EmailMessage()
                        reply["From"] = network
                        reply["To"] = sender
                        reply["Subject"] = "Kysymyksesi on vastaanotettu"
                        reply["Message-ID"] = make_msgid(domain="example.test")
                        reply["In-Reply-To"] = str(head["Message-ID"])
                        reply["Auto-Submitted"] = "auto-replied"
                        reply.set_content("Kysymyksesi on vastaanotettu.\n" * 10)
                        smtp.send_message(reply, network, [sender])
                        self.records[str(head["Message-ID"])] = {
                            "exists": t_exists,
                            "sent": time.time(),
                        }
                imap.idle()
        finally:
            with contextlib.suppress(Exception):  # shutting down
                imap.idle_done()
            imap.logout()
            smtp.quit()


# -------------------------------------------------------------- one probe --
@dataclass
class Probe:
    number: int
    message_id: str
    t_send: float = 0.0
    t0: float = 0.0
    delivered: float | None = None
    ack: float | None = None
    visible: float | None = None
    exists: float | None = None
    handled: float | None = None
    sent: list[float] = field(default_factory=list)
    error: str = ""


def _maildir(servers: _servers.MailServers, user: str) -> Path:
    return servers.dir / "mail" / servers.domain / user / "Maildir"


def _listing(maildir: Path) -> dict[str, float]:
    """File name → ctime (the rename into new/ is the moment of delivery) for new/ and cur/."""
    found: dict[str, float] = {}
    for sub in ("new", "cur"):
        try:
            with os.scandir(maildir / sub) as it:
                for entry in it:
                    try:
                        found[entry.name.split(":")[0]] = entry.stat().st_ctime_ns / 1e9
                    except FileNotFoundError:
                        continue
        except FileNotFoundError:
            continue
    return found


def _in_reply_to(path_base: Path, name: str) -> str:
    for sub in ("new", "cur"):
        with os.scandir(path_base / sub) as it:
            for entry in it:
                if entry.name.split(":")[0] == name:
                    with open(entry.path, "rb") as fh:
                        head = fh.read(8192).split(b"\n\n", 1)[0]
                    for line in head.decode(errors="replace").splitlines():
                        if line.lower().startswith("in-reply-to:"):
                            return line.split(":", 1)[1].strip()
    return ""


def _question(number: int, index: int, run: int) -> EmailMessage:
    sender = member_address(number)
    msg = EmailMessage()
    msg["From"] = f"{member_name(number)} <{sender}>"
    msg["To"] = "network@example.test"
    msg["Subject"] = "Koulukuljetusten kilpailutus"
    msg["Message-ID"] = f"<lat{run}.{index}.{time.time_ns()}@client.example.test>"
    msg.set_content(
        "Hei,\n\nmeillä on valmisteilla koulukuljetusten kilpailutus ensi keväälle. "
        "Onko jollakin kokemusta yhteiskilpailutuksesta naapurikunnan kanssa?\n\n"
        f"Terveisin\n{member_name(number)}\n"
    )
    return msg


def _probe(
    servers: _servers.MailServers, number: int, index: int, run: int, timeout: float
) -> Probe:
    user = f"member{number}"
    msg = _question(number, index, run)
    probe = Probe(number=number, message_id=str(msg["Message-ID"]))
    net_dir, member_dir = _maildir(servers, "network"), _maildir(servers, user)
    net_before, member_before = set(_listing(net_dir)), set(_listing(member_dir))
    watcher = servers.imap(user)
    try:
        watcher.select_folder("INBOX", readonly=True)
        watcher.idle()
        probe.t_send = time.time()
        with smtplib.SMTP(
            servers.host, servers.smtp_port, local_hostname="client.example.test", timeout=10
        ) as smtp:
            smtp.sendmail(
                msg["From"].addresses[0].addr_spec,
                ["network@example.test"],
                msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")),
            )
            probe.t0 = time.time()
        deadline = time.monotonic() + timeout
        ack_name = None
        while time.monotonic() < deadline:
            if probe.delivered is None:
                fresh = {n: t for n, t in _listing(net_dir).items() if n not in net_before}
                if fresh:
                    probe.delivered = min(fresh.values())
            fresh = {n: t for n, t in _listing(member_dir).items() if n not in member_before}
            if fresh:
                ack_name, probe.ack = min(fresh.items(), key=lambda kv: kv[1])
                break
            time.sleep(POLL)
        if ack_name is None:
            probe.error = "no acknowledgement"
            return probe
        replied_to = _in_reply_to(member_dir, ack_name)
        if replied_to != probe.message_id:
            probe.error = f"the member got a reply to {replied_to!r}, not {probe.message_id!r}"
        while time.monotonic() < deadline:
            responses = watcher.idle_check(timeout=max(0.01, deadline - time.monotonic()))
            if any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                probe.visible = time.time()
                break
    finally:
        with contextlib.suppress(Exception):  # still in IDLE after a timeout: end it first
            watcher.idle_done()
        with contextlib.suppress(Exception):
            watcher.logout()
    return probe


def _attach_daemon_log(probe: Probe, events: list[dict[str, Any]], until: float) -> None:
    """Take the daemon's events between this probe's submission and the next one."""
    for entry in events:
        if entry["t"] < probe.t_send - 0.002 or entry["t"] > until:
            continue
        event = entry.get("event")
        if event == "imap.exists" and probe.exists is None:
            probe.exists = entry["t"]
        elif event == "message handled" and entry.get("message_id") == probe.message_id:
            probe.handled = entry["t"]
        elif event == "message sent":
            probe.sent.append(entry["t"])


# ------------------------------------------------------------------- runs --
def _start_daemon(
    servers: _servers.MailServers, work: Path, run: int, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], DaemonLog, subprocess.Popen[bytes] | None]:
    url = f"sqlite:///{work / f'run{run}.db'}"
    _servers.add_members(url)
    config = _servers.write_config(work / f"run{run}.toml", _servers.service_config(servers, url))
    log_path = work / f"run{run}.log"
    if args.exact_cli:
        argv = [str(Path(sys.executable).with_name("mailer")), "--config", str(config), "run"]
    else:
        argv = [sys.executable, "-c", DAEMON_BOOT, "--config", str(config), "run"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    daemon_log = DaemonLog(log_path)
    daemon_log.wait_for("imap.watching", timeout=60)
    daemon_log.wait_for("daemon started", timeout=60)
    spy = None
    if args.profile:  # attached, not wrapped: py-spy does not pass SIGTERM on
        spy_argv = [str(Path(sys.executable).with_name("py-spy")), "record"]
        spy_argv += ["--pid", str(proc.pid), "--format", "raw", "--rate", "250", "--threads"]
        spy_argv += ["--output", str(work / f"run{run}.pyspy.txt")]
        spy = subprocess.Popen(
            spy_argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return proc, daemon_log, spy


def _stop(proc: subprocess.Popen[bytes] | None, sig: int) -> None:
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def _questions(
    servers: _servers.MailServers, count: int, run: int, start: int, args: argparse.Namespace
) -> list[Probe]:
    probes = []
    for i in range(count):
        probes.append(_probe(servers, (start + i) % MEMBERS + 1, start + i, run, args.timeout))
        time.sleep(args.gap)
    return probes


def _stats(probes: list[Probe]) -> dict[str, tuple[float, float, int]]:
    """Stage → (median ms, p95 ms, samples)."""
    spans: dict[str, list[float]] = {}

    def add(name: str, a: float | None, b: float | None) -> None:
        if a is not None and b is not None:
            spans.setdefault(name, []).append((b - a) * 1000)

    for p in probes:
        if p.error:
            continue
        last_sent = max(p.sent) if p.sent else None
        add("end to end: ack delivered", p.t0, p.ack)
        add("end to end: ack visible (IDLE)", p.t0, p.visible)
        add("  submit -> question delivered", p.t0, p.delivered)
        add("  delivered -> daemon EXISTS", p.delivered, p.exists)
        add("  daemon share: EXISTS -> replies accepted", p.exists, last_sent)
        add("    EXISTS -> committed", p.exists, p.handled)
        add("    committed -> replies accepted", p.handled, last_sent)
        add("  replies accepted -> ack delivered", last_sent, p.ack)
        add("  ack delivered -> visible (IDLE)", p.ack, p.visible)
    return {k: (median(v), p95(v), len(v)) for k, v in spans.items()}


def _one_run(
    servers: _servers.MailServers, work: Path, run: int, args: argparse.Namespace
) -> tuple[dict[str, tuple[float, float, int]], dict[str, tuple[float, float, int]], int]:
    servers.ensure_running()
    servers.clear_all()
    # Baseline: the echo responder on the same path.
    echo = Echo(servers)
    echo.start()
    echo.ready.wait(30)
    if echo.error:
        raise echo.error
    base_probes = _questions(servers, args.baseline, run, 0, args)
    echo.stop.set()
    echo.join(10)
    for p in base_probes:
        record = echo.records.get(p.message_id, {})
        p.exists, p.sent = record.get("exists"), [record["sent"]] if "sent" in record else []
    servers.clear_all()
    # The daemon.
    proc, daemon_log, spy = _start_daemon(servers, work, run, args)
    failures = 0
    try:
        _questions(servers, args.warmup, run, 1000, args)  # connections warm, caches filled
        probes = _questions(servers, args.questions, run, 2000, args)
        time.sleep(0.5)
        daemon_log.poll()
    finally:
        _stop(spy, signal.SIGINT)  # py-spy writes its stacks on SIGINT
        _stop(proc, signal.SIGTERM)
    for i, p in enumerate(probes):
        until = probes[i + 1].t_send if i + 1 < len(probes) else float("inf")
        _attach_daemon_log(p, daemon_log.events, until)
        if p.error:
            failures += 1
            print(f"  question {i}: {p.error}", flush=True)
    return _stats(probes), _stats(base_probes), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=100, help="questions per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs (medians printed)")
    parser.add_argument("--baseline", type=int, default=20, help="echo questions per run")
    parser.add_argument("--warmup", type=int, default=3, help="uncounted first questions")
    parser.add_argument("--gap", type=float, default=0.3, help="pause after each ack (s)")
    parser.add_argument("--timeout", type=float, default=15, help="seconds to wait per ack")
    parser.add_argument("--exact-cli", action="store_true", help="run the mailer script as is")
    parser.add_argument("--profile", action="store_true", help="py-spy the daemon (raw stacks)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the Postfix + Dovecot harness needs root")
    work = Path(tempfile.mkdtemp(prefix="mailer-bench-latency-"))
    print(
        f"latency bench: {args.questions} questions per run one at a time ({args.gap} s after "
        f"each ack), {args.warmup} warm-up, echo baseline {args.baseline}; {args.repeat} run(s); "
        f"SQLite; work dir {work}",
        flush=True,
    )
    runs, bases, failures = [], [], 0
    with _servers.harness() as servers:
        for run in range(1, args.repeat + 1):
            stats, base, failed = _one_run(servers, work, run, args)
            runs.append(stats)
            bases.append(base)
            failures += failed
            e2e, vis = (
                stats.get("end to end: ack delivered"),
                stats.get("end to end: ack visible (IDLE)"),
            )
            share = stats.get("  daemon share: EXISTS -> replies accepted")
            print(
                f"run {run}: end to end (delivered) median {e2e[0]:.0f} ms p95 {e2e[1]:.0f} ms; "
                f"visible median {vis[0]:.0f} ms; daemon share median "
                f"{share[0] if share else float('nan'):.0f} ms; failures {failed}"
                if e2e and vis
                else f"run {run}: no complete samples",
                flush=True,
            )
    print()
    print(f"{'stage (ms)':<44} {'median':>7} {'p95':>7} {'echo med':>8} {'echo p95':>8} "
          f"{'ratio':>6}")  # fmt: skip
    for name in runs[0]:
        med = median([r[name][0] for r in runs if name in r])
        top = median([r[name][1] for r in runs if name in r])
        bmed = median([b[name][0] for b in bases if name in b])
        btop = median([b[name][1] for b in bases if name in b])
        print(
            f"{name:<44} {med:>7.0f} {top:>7.0f} {bmed:>8.0f} {btop:>8.0f} "
            f"{fmt_ratio(med, bmed):>6}"
        )
    print(
        "medians over the runs of each run's median / p95; ratio = daemon median / echo median;\n"
        "targets: end to end median <= 1000 ms, p95 <= 1500 ms; daemon share median <= 200 ms;\n"
        f"'replies accepted' = the later of the ack and the coordinator's copy; failures {failures}"
    )
    if args.profile or args.keep:
        print(f"daemon logs{' and py-spy stacks' if args.profile else ''} kept in {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
