"""The one web page the service has: one-click unsubscribe (RFC 8058).

Mail clients (Gmail, Outlook, Apple Mail) POST ``List-Unsubscribe=One-Click`` to
the URL in ``List-Unsubscribe`` when a person presses "Unsubscribe"; a person who
opens the link in a browser gets a page with one button, since a GET must not
unsubscribe (link scanners follow every URL in a mail). The token in the URL is
signed and names the member. Runs in a thread beside the daemon, only when
``[list] base_url`` is configured; put a TLS proxy in front of it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from mailer.db.models import Member
from mailer.outgoing.compose import Draft
from mailer.outgoing.outbox import enqueue

if TYPE_CHECKING:
    from mailer.app import App

log = logging.getLogger("mailer.web")

UNSUBSCRIBE_TOKEN = "u"
_PATH = re.compile(r"^/unsubscribe/([a-z0-9-]{1,60})/?$")
MAX_BODY = 4096


def unsubscribe(app: App, token: str) -> Member | None:
    """Take the member off the list and tell them; None if the token is not ours."""
    verified = app.tokens.verify(token)
    if verified is None or verified[0] != UNSUBSCRIBE_TOKEN:
        return None
    now = app.clock.now()
    with app.db.transaction() as session:
        member = session.get(Member, verified[1])
        if member is None:
            return None
        if member.subscribed:
            member.subscribed, member.updated_at = False, now
            rendered = app.templates.render(
                member.language, "list/left", network=app.settings.network
            )
            enqueue(
                session,
                Draft(
                    to=[member.email],
                    to_name=member.name,
                    subject=rendered.subject,
                    text=rendered.text,
                    kind="list-left",
                    related=f"member:{member.id}",
                    automatic=True,
                    language=member.language,
                ),
                app.settings.network,
                now,
            )
            log.info("one-click unsubscribe", extra={"member": member.id})
        session.flush()  # the change must be written before the object leaves the session
        session.expunge(member)
        return member


def _handler(app: App, on_queued: Callable[[], None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mailer"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http", extra={"request": format % args})

        def _page(self, status: HTTPStatus, name: str, language: str | None, **ctx: object) -> None:
            lang = app.templates.language(language)
            body = (
                app.templates.env.get_template(f"{lang}/web/{name}.html.j2")
                .render(network=app.settings.network, lang=lang, **ctx)
                .encode()
            )
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _member(self) -> tuple[str, Member | None]:
            match = _PATH.match(self.path.split("?", 1)[0])
            if not match:
                return "", None
            verified = app.tokens.verify(match.group(1))
            if verified is None or verified[0] != UNSUBSCRIBE_TOKEN:
                return match.group(1), None
            with app.db.transaction() as session:
                member = session.get(Member, verified[1])
                if member is not None:
                    session.expunge(member)
                return match.group(1), member

        def do_GET(self) -> None:
            token, member = self._member()
            if member is None:
                self._page(HTTPStatus.NOT_FOUND, "not_found", None)
                return
            self._page(HTTPStatus.OK, "unsubscribe", member.language, member=member, token=token)

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            self.rfile.read(length)
            match = _PATH.match(self.path.split("?", 1)[0])
            member = unsubscribe(app, match.group(1)) if match else None
            if member is None:
                self._page(HTTPStatus.NOT_FOUND, "not_found", None)
                return
            on_queued()
            self._page(HTTPStatus.OK, "unsubscribed", member.language, member=member)

    return Handler


class WebServer:
    """The endpoint in a thread; ``on_queued`` (thread-safe) wakes the outbox."""

    def __init__(self, app: App, host: str, port: int, on_queued: Callable[[], None]) -> None:
        self.server = ThreadingHTTPServer((host, port), _handler(app, on_queued))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def listen_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)
