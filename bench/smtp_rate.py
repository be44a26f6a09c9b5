"""How much SmtpSender costs on top of bare aiosmtplib, in messages per second.

Sends N pre-rendered messages over loopback to a sink, once with a minimal
aiosmtplib loop (the baseline) and once through SmtpSender, with 1 and with 8
connections, and prints the median rate of each and the ratio. The sink runs in
its own process (Postfix's smtp-sink when installed, else aiosmtpd) so that it
does not compete with the client for the GIL; aiosmtpd tops out near
2,000 msg/s and then measures itself rather than the client.

    python bench/smtp_rate.py                     # 5,000 x 5 KB, 1 and 8 connections, 3 runs
    python bench/smtp_rate.py --port 2525         # an already running sink on 127.0.0.1
    python bench/smtp_rate.py --verp              # list mail: every message its own addresses

``--verp`` gives every message its own return path (``verkosto+bounce-<token>@``)
and recipient, as a list fan-out has, for both clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiosmtplib

from mailer.config import SmtpSettings
from mailer.outgoing.smtp import SmtpSender

HOST = "127.0.0.1"
SENDER = "verkosto@example.test"
RECIPIENT = "jasen@example.test"
LOCAL_HOSTNAME = "bench.example.test"
SMTP_SINK = "/usr/sbin/smtp-sink"


def render(size: int) -> bytes:
    """A pre-rendered message of about ``size`` bytes with CRLF line endings, as in the outbox."""
    head = (
        b"From: Verkosto <verkosto@example.test>\r\n"
        b"To: jasen@example.test\r\n"
        b"Subject: Benchmark\r\n"
        b"Message-ID: <bench@example.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
    )
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod te\r\n"
    lines = max(1, (size - len(head)) // len(line))
    return head + line * lines


def envelope(number: int, verp: bool) -> tuple[str, str]:
    """Return path and recipient of message ``number``: fixed, or distinct as list mail has."""
    if not verp:
        return SENDER, RECIPIENT
    token = f"m{number}-{number * 2654435761 % 2**64:016x}"
    return (
        f"verkosto+bounce-{token}@example.test",
        f"jasen{number}@kunta{number % 300}.example.test",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the sink exited with code {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the sink did not listen on {HOST}:{port} within {seconds} s")


@contextmanager
def sink(kind: str) -> Iterator[tuple[int, str]]:
    """Start a throwaway sink process on a free loopback port; stop it afterwards."""
    port = free_port()
    if kind == "auto":
        kind = "smtp-sink" if shutil.which(SMTP_SINK) else "aiosmtpd"
    if kind == "smtp-sink":
        # smtp-sink refuses to run as root without a user to drop privileges to.
        user = ["-u", "postfix"] if os.geteuid() == 0 else []
        argv = [SMTP_SINK, *user, f"{HOST}:{port}", "1000"]
    else:
        argv = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
        argv += ["-l", f"{HOST}:{port}"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        yield port, kind
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Run:
    rate: float  # messages per second, wall clock
    cpu_us: float  # client CPU microseconds per message
    failed: int


async def bare(port: int, connections: int, count: int, data: bytes, verp: bool = False) -> int:
    """The baseline: each connection sends in a plain loop; returns how many failed."""
    numbers = iter(range(count))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        smtp = aiosmtplib.SMTP(
            hostname=HOST, port=port, start_tls=False, local_hostname=LOCAL_HOSTNAME, timeout=30
        )
        await smtp.connect()
        try:
            for number in numbers:
                sender, recipient = envelope(number, verp)
                try:
                    await smtp.sendmail(sender, [recipient], data)
                except aiosmtplib.SMTPException:
                    failed += 1
        finally:
            await smtp.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return failed


async def pooled(port: int, connections: int, count: int, data: bytes, verp: bool = False) -> int:
    """The same load through SmtpSender; as many callers as connections."""
    settings = SmtpSettings(
        host=HOST,
        port=port,
        security="none",
        auth="none",
        connections=connections,
        timeout=30,
        local_hostname=LOCAL_HOSTNAME,
    )
    sender = SmtpSender(settings)
    numbers = iter(range(count))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for number in numbers:
            envelope_from, recipient = envelope(number, verp)
            result = await sender.send(envelope_from, [recipient], data)
            failed += not result.accepted

    try:
        await asyncio.gather(*(worker() for _ in range(connections)))
    finally:
        await sender.close()
    return failed


Client = Callable[[int, int, int, bytes, bool], Awaitable[int]]


def measure(
    client: Client,
    port: int,
    connections: int,
    count: int,
    data: bytes,
    limit: float,
    verp: bool = False,
) -> Run:
    async def timed() -> int:
        return await asyncio.wait_for(client(port, connections, count, data, verp), limit)

    cpu, wall = time.process_time(), time.perf_counter()
    failed = asyncio.run(timed())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Run(rate=count / wall, cpu_us=cpu / count * 1e6, failed=failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="messages per run")
    parser.add_argument("--size", type=int, default=5 * 1024, help="message size in bytes")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration")
    parser.add_argument("--sink", choices=["auto", "smtp-sink", "aiosmtpd"], default="auto")
    parser.add_argument("--port", type=int, help="use a sink already listening on 127.0.0.1")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds allowed per run")
    parser.add_argument(
        "--verp", action="store_true", help="a distinct return path and recipient per message"
    )
    args = parser.parse_args()

    data = render(args.size)
    clients: dict[str, Client] = {"bare aiosmtplib": bare, "SmtpSender": pooled}

    def bench(port: int, sink_name: str) -> None:
        print(
            f"{args.messages} messages of {len(data)} bytes to {sink_name} on {HOST}:{port}, "
            f"{args.repeat} runs each (median; client CPU per message)"
        )
        for connections in args.connections:
            runs: dict[str, list[Run]] = {name: [] for name in clients}
            for repeat in range(args.repeat):
                # Alternate the order so drift on a noisy machine hits both alike.
                order = list(clients) if repeat % 2 == 0 else list(reversed(clients))
                for name in order:
                    runs[name].append(
                        measure(
                            clients[name],
                            port,
                            connections,
                            args.messages,
                            data,
                            args.limit,
                            args.verp,
                        )
                    )
            medians = {name: statistics.median(r.rate for r in rs) for name, rs in runs.items()}
            for name, rs in runs.items():
                rates = ", ".join(f"{r.rate:,.0f}" for r in rs)
                cpu = statistics.median(r.cpu_us for r in rs)
                failed = sum(r.failed for r in rs)
                print(
                    f"  {connections} conn  {name:<16} {medians[name]:>7,.0f} msg/s"
                    f"  {cpu:>5.0f} µs CPU  [{rates}]" + (f"  FAILED {failed}" if failed else "")
                )
            ratio = medians["SmtpSender"] / medians["bare aiosmtplib"]
            print(f"  {connections} conn  ratio SmtpSender / bare = {ratio:.2f}")

    if args.port:
        bench(args.port, "the sink")
    else:
        with sink(args.sink) as (port, sink_name):
            bench(port, sink_name)


if __name__ == "__main__":
    main()
