"""Python side of ``mailserver.sh``: run the private Postfix + Dovecot, send and read mail.

``MailServers`` drives one harness directory. ``claimed_servers()`` picks a free
slot (ports and lock) so that several pytest sessions on one machine do not collide,
stops whatever a crashed earlier session left in that slot, and starts a fresh
harness. No mocks: everything goes over real SMTP and IMAP on 127.0.0.1.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

SCRIPT = Path(__file__).with_name("mailserver.sh")
DOMAIN = "example.test"
PASSWORD = "secret"
# Slot 0 uses these ports, slot k each port + k (a second concurrent pytest session).
BASE_PORTS = {"imap_port": 11143, "imaps_port": 11993, "smtp_port": 12525, "smtp_auth_port": 12587}
SLOTS = 20


class HarnessError(RuntimeError):
    """A harness command (mailserver.sh, doveadm, postqueue) failed."""


@dataclass(frozen=True)
class HeldMail:
    """A message Postfix accepted for another domain and holds in its queue."""

    queue_id: str
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


def _parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def _pid_alive(pid_file: Path) -> int | None:
    """The pid in pid_file when that process exists and is no zombie."""
    try:
        pid = int(pid_file.read_text().split()[0])
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state in ("Z", "X") else pid


class MailServers:
    """One private Postfix + Dovecot under ``dir``; all users share one password."""

    def __init__(
        self,
        directory: str | Path,
        *,
        imap_port: int = BASE_PORTS["imap_port"],
        imaps_port: int = BASE_PORTS["imaps_port"],
        smtp_port: int = BASE_PORTS["smtp_port"],
        smtp_auth_port: int = BASE_PORTS["smtp_auth_port"],
        members: int = 50,
    ) -> None:
        self.dir = Path(directory)
        self.host = "127.0.0.1"
        self.domain = DOMAIN
        self.password = PASSWORD
        self.imap_port = imap_port
        self.imaps_port = imaps_port
        self.smtp_port = smtp_port
        self.smtp_auth_port = smtp_auth_port
        self.members = members
        self.users = ["network", "network2", "coordinator", "coordinator2"] + [
            f"member{i}" for i in range(1, members + 1)
        ]
        self.ca_file = self.dir / "ssl" / "cert.pem"  # IMAPS certificate, usable as CA file
        self.dovecot_log = self.dir / "log" / "dovecot.log"
        self.postfix_log = self.dir / "log" / "postfix.log"
        self._dovecot_conf = str(self.dir / "dovecot" / "dovecot.conf")
        self._postfix_conf = str(self.dir / "postfix")

    # ------------------------------------------------------------ lifecycle --
    def _script(self, command: str) -> None:
        env = {
            **os.environ,
            "IMAP_PORT": str(self.imap_port),
            "IMAPS_PORT": str(self.imaps_port),
            "SMTP_PORT": str(self.smtp_port),
            "SMTP_AUTH_PORT": str(self.smtp_auth_port),
            "USERS": str(self.members),
            "DOMAIN": self.domain,
            "PASSWORD": self.password,
        }
        # Output to a file, not a pipe: the daemons would keep a pipe open for ever.
        with tempfile.TemporaryFile("w+") as out:
            done = subprocess.run(
                [str(SCRIPT), command, str(self.dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=900,
                check=False,
            )
            out.seek(0)
            text = out.read()
        if done.returncode != 0:
            raise HarnessError(f"mailserver.sh {command} {self.dir} failed:\n{text}")

    def _tool(self, *argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise HarnessError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        """Install the packages if missing, write the config, start both servers."""
        self._script("start")

    def stop(self) -> None:
        """Stop both servers; returns when no process of theirs is left."""
        self._script("stop")

    def stop_dovecot(self) -> None:
        """IMAP outage: Dovecot stops, open IMAP sessions are closed, LMTP defers."""
        self._script("stop-dovecot")

    def start_dovecot(self) -> None:
        """End of an IMAP outage; also flushes Postfix so deferred local mail comes now."""
        self._script("start-dovecot")
        if self.postfix_running():
            self.flush_postfix()

    def stop_postfix(self) -> None:
        """SMTP outage: both SMTP ports refuse connections."""
        self._script("stop-postfix")

    def start_postfix(self) -> None:
        """End of an SMTP outage."""
        self._script("start-postfix")

    def dovecot_running(self) -> bool:
        pid = _pid_alive(self.dir / "run" / "dovecot" / "master.pid")
        try:
            return (
                pid is not None and self._dovecot_conf in Path(f"/proc/{pid}/cmdline").read_text()
            )
        except OSError:
            return False

    def postfix_running(self) -> bool:
        pid = _pid_alive(self.dir / "spool" / "pid" / "master.pid")
        try:
            return pid is not None and os.readlink(f"/proc/{pid}/cwd") == str(self.dir / "spool")
        except OSError:
            return False

    def ensure_running(self) -> None:
        """Start whichever server a previous test left stopped."""
        if not self.dovecot_running():
            self.start_dovecot()
        if not self.postfix_running():
            self.start_postfix()

    # ----------------------------------------------------------------- SMTP --
    def address(self, user: str) -> str:
        """``network`` -> ``network@example.test``; a full address is returned as is."""
        return user if "@" in user else f"{user}@{self.domain}"

    def send(
        self, raw: bytes | EmailMessage, mail_from: str, rcpt_to: str | Sequence[str]
    ) -> dict[str, tuple[int, bytes]]:
        """Submit one message to Postfix's no-auth port; returns the refused recipients."""
        rcpts = [rcpt_to] if isinstance(rcpt_to, str) else list(rcpt_to)
        with smtplib.SMTP(
            self.host, self.smtp_port, local_hostname="client.example.test", timeout=10
        ) as smtp:
            if isinstance(raw, EmailMessage):
                return smtp.send_message(raw, mail_from, rcpts)
            return smtp.sendmail(mail_from, rcpts, re.sub(rb"\r?\n", b"\r\n", raw))

    def postfix_queue(self) -> str:
        """``postqueue -p`` of the private Postfix."""
        return self._tool("postqueue", "-c", self._postfix_conf, "-p")

    def flush_postfix(self) -> None:
        """``postqueue -f``: retry deferred mail now (held outbound mail stays held)."""
        self._tool("postqueue", "-c", self._postfix_conf, "-f")

    def _queue(self) -> list[dict[str, Any]]:
        out = self._tool("postqueue", "-c", self._postfix_conf, "-j")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def _is_outbound(self, entry: dict[str, Any]) -> bool:
        return any(
            not r["address"].lower().endswith("@" + self.domain) for r in entry["recipients"]
        )

    def held_count(self) -> int:
        """Messages in the queue with a recipient in another domain (never sent out)."""
        return sum(1 for entry in self._queue() if self._is_outbound(entry))

    def held(self) -> list[HeldMail]:
        """The held outbound messages with their envelope and content."""
        held = []
        for entry in self._queue():
            if not self._is_outbound(entry):
                continue
            raw = subprocess.run(
                ["postcat", "-c", self._postfix_conf, "-bh", "-q", entry["queue_id"]],
                capture_output=True,
                timeout=60,
                check=True,
            ).stdout
            recipients = tuple(r["address"] for r in entry["recipients"])
            held.append(HeldMail(entry["queue_id"], entry["sender"], recipients, _parse(raw)))
        return held

    def wait_held(self, count: int, timeout: float = 30) -> list[HeldMail]:
        """Poll until at least ``count`` outbound messages are held."""
        deadline = time.monotonic() + timeout
        while self.held_count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} held messages expected:\n{self.postfix_queue()}")
            time.sleep(0.1)
        return self.held()

    # ----------------------------------------------------------------- IMAP --
    def imap(self, user: str) -> IMAPClient:
        """A logged-in plain-IMAP connection (password login, 10 s timeout)."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10)
        try:
            client.login(self.address(user), self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    @staticmethod
    def _fetch_all(client: IMAPClient, folder: str) -> list[EmailMessage]:
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        if not uids:
            return []
        data = client.fetch(uids, ["BODY.PEEK[]"])
        return [_parse(data[uid][b"BODY[]"]) for uid in uids]

    def messages(self, user: str, folder: str = "INBOX") -> list[EmailMessage]:
        """Every message in the folder, in UID order, without setting \\Seen."""
        with self.imap(user) as client:
            return self._fetch_all(client, folder)

    def wait_for(
        self, user: str, count: int, folder: str = "INBOX", timeout: float = 30
    ) -> list[EmailMessage]:
        """Poll until the folder holds at least ``count`` messages; returns them all."""
        deadline = time.monotonic() + timeout
        with self.imap(user) as client:
            while True:
                try:
                    client.select_folder(folder, readonly=True)
                    have = len(client.search("ALL"))
                except IMAPClientError:  # the folder does not exist yet
                    have = 0
                if have >= count:
                    return self._fetch_all(client, folder)
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.address(user)} {folder}: {have} of {count} messages after "
                        f"{timeout} s; Postfix queue:\n{self.postfix_queue()}"
                    )
                time.sleep(0.1)

    def clear(self, user: str) -> None:
        """Delete every message in every folder of one user (folders stay)."""
        self._expunge("-u", self.address(user))

    def clear_all(self) -> None:
        """Delete every user's messages and everything in the Postfix queue."""
        self._expunge("-A")
        if self.postfix_running():
            self._tool("postsuper", "-c", self._postfix_conf, "-d", "ALL")

    def _expunge(self, *who: str) -> None:
        self._tool("doveadm", "-c", self._dovecot_conf, "expunge", *who, "mailbox", "*", "all")

    # ---------------------------------------------------------------- OAuth2 --
    def mint_token(self, user: str, ttl: int = 600, **claims: Any) -> str:
        """An HS256 access token Dovecot accepts for XOAUTH2/OAUTHBEARER (IMAP and SMTP).

        ``claims`` override the defaults; a value of None removes that claim. A negative
        ``ttl`` gives an expired token.
        """
        import jwt  # here, not at the top: a dev-only dependency that only OAuth2 tests need

        issuer = self.dir / "issuer"
        env = json.loads((issuer / "env.json").read_text())
        secret = base64.b64decode((issuer / env["secret_file"]).read_text())
        now = int(time.time())
        address = self.address(user)
        payload: dict[str, Any] = {
            "iss": env["issuer"],
            "sub": f"id-{address}",
            "email": address,
            "azp": env["azp"],
            "scope": env["scope"],
            "iat": now,
            "exp": now + ttl,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, secret, algorithm=env["alg"], headers={"kid": env["kid"]})


# ------------------------------------------------------------------ slots --
@contextmanager
def claimed_servers(members: int = 50) -> Iterator[MailServers]:
    """Start a fresh harness in the first free slot; stop it on exit.

    A slot is an flock on /tmp/mailer-harness-<k>.lock held for the whole session
    (released by the kernel if the session crashes). The lock file names the slot's
    last directory: whatever still runs there is stopped and the directory removed
    when the slot is next claimed, so a finished session's logs stay readable until then.
    """
    for slot in range(SLOTS):
        lock = open(f"/tmp/mailer-harness-{slot}.lock", "a+")  # noqa: SIM115 - held for the session
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        break
    else:
        raise HarnessError(f"all {SLOTS} harness slots are taken (/tmp/mailer-harness-*.lock)")
    with lock:
        lock.seek(0)
        previous = lock.read().strip()
        ports = {name: port + slot for name, port in BASE_PORTS.items()}
        if previous and Path(previous, "harness.env").exists():
            MailServers(previous, members=members, **ports).stop()  # crashed session
        if previous.startswith("/tmp/mailer-h"):
            shutil.rmtree(previous, ignore_errors=True)
        servers = MailServers(
            tempfile.mkdtemp(prefix="mailer-h", dir="/tmp"), members=members, **ports
        )
        lock.seek(0)
        lock.truncate()
        lock.write(str(servers.dir))
        lock.flush()
        try:
            servers.start()
            yield servers
        finally:
            servers.stop()
