"""``mailer demo``: the real service on embedded parts, walked through once.

Everything is real except the mail servers: SQLite, a Maildir as the network
mailbox, and a local SMTP server (aiosmtpd) that delivers every recipient into
its own Maildir. The members and the coordinator write the way Outlook and Gmail
write; the service runs exactly the code ``mailer run --once`` runs.
"""

from __future__ import annotations

import asyncio
import mailbox
import smtplib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from sqlalchemy import select

from mailer.app import App
from mailer.clock import Clock
from mailer.config import load_settings
from mailer.daemon import Daemon
from mailer.db.models import Ticket
from mailer.embedded import maildir_for, start_sink
from mailer.roster import import_csv

NETWORK = "verkosto@example.test"
COORDINATOR = "koordinaattori@example.test"
MEMBER = "liisa.laine@uusikaupunki.example.test"
NEWCOMER = "pekka.virtanen@akaa.example.test"
NAMES = {
    COORDINATOR: "Koordinaattori",
    MEMBER: "Liisa Laine",
    NEWCOMER: "Pekka Virtanen",
}
ROSTER = f"""email,name,organisation,language
{MEMBER},Liisa Laine,Uusikaupunki,fi
anders.berg@jakobstad.example.test,Anders Berg,Pietarsaari / Jakobstad,sv
"""


def _config(root: Path, smtp_port: int) -> str:
    return f"""
[network]
name = "Pienet joukot, iso merkitys"
address = "{NETWORK}"
coordinators = ["{COORDINATOR}"]
language = "fi"
timezone = "Europe/Helsinki"

[maildir]
path = "{maildir_for(root / "mail", NETWORK)}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"

[database]
url = "sqlite:///{root / "mailer.db"}"
"""


def _send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(msg)


def _question() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Liisa Laine <{MEMBER}>"
    msg["To"] = NETWORK
    msg["Subject"] = "Koulukuljetusten kilpailutus"
    msg["Message-ID"] = make_msgid(domain="uusikaupunki.example.test")
    msg.set_content(
        "Hei,\n\nonko jollakin verkoston kunnalla kokemusta koulukuljetusten ja\n"
        "asiointiliikenteen yhteiskilpailutuksesta? Valtuustoaloite on tulossa.\n\n"
        "Ystävällisin terveisin\nLiisa Laine\nliikennesuunnittelija, Uusikaupunki\n"
    )
    return msg


def _outlook_reply(to_us: EmailMessage, text: str, sender: str, name: str) -> EmailMessage:
    """A reply as Outlook for Windows writes it: answer on top, header block, quote."""
    original = to_us.get_body(preferencelist=("plain",))
    quoted = original.get_content() if original is not None else ""
    reply = EmailMessage()
    reply["From"] = f"{name} <{sender}>"
    reply["To"] = str(to_us["Reply-To"] or to_us["From"])
    reply["Subject"] = f"VS: {to_us['Subject']}"
    reply["In-Reply-To"] = str(to_us["Message-ID"])
    reply["References"] = str(to_us["Message-ID"])
    reply["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    reply.set_content(
        f"{text}\n\n"
        f"Lähettäjä: {to_us['From']}\n"
        f"Lähetetty: {format_datetime(to_us['Date'].datetime) if to_us['Date'] else ''}\n"
        f"Vastaanottaja: {to_us['To']}\n"
        f"Aihe: {to_us['Subject']}\n\n{quoted}"
    )
    return reply


def _inbox(root: Path, address: str) -> list[EmailMessage]:
    box = mailbox.Maildir(maildir_for(root / "mail", address), create=True)
    messages = [message_from_bytes(box.get_bytes(key), policy=default) for key in box.iterkeys()]
    return sorted(
        (m for m in messages if isinstance(m, EmailMessage)),
        key=lambda m: m["Date"].datetime if m["Date"] else 0,
    )


def _show(console: Console, root: Path, address: str, seen: set[str]) -> None:
    """Print what arrived in this inbox since the last look."""
    for msg in _inbox(root, address):
        if str(msg["Message-ID"]) in seen:
            continue
        seen.add(str(msg["Message-ID"]))
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content().strip() if body is not None else ""
        attachments = [p.get_filename() for p in msg.iter_attachments()]
        header = f"From: {msg['From']}\nSubject: {msg['Subject']}"
        if msg["Reply-To"]:
            header += f"\nReply-To: {msg['Reply-To']}"
        if attachments:
            header += f"\nAttachments: {', '.join(str(a) for a in attachments)}"
        console.print(
            Panel(escape(f"{header}\n\n{text}"), title=f"inbox of {address}", expand=False)
        )


def run_demo(directory: Path | None, console: Console) -> None:
    root = directory or Path(tempfile.mkdtemp(prefix="mailer-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    sink = start_sink(root / "mail")
    try:
        config = root / "mailer.toml"
        config.write_text(_config(root, sink.port), encoding="utf-8")
        service = App.build(load_settings(config, {}), Clock())
        try:
            _walk(console, root, service, sink.port)
        finally:
            service.close()
    finally:
        sink.stop()
    console.print(f"\nThe demo's files (config, database, every Maildir) are in {root}")


@dataclass
class _Walk:
    """The demo's running state: what is shown, and one step = mail in, a cycle, inboxes out."""

    console: Console
    root: Path
    service: App
    port: int
    seen: set[str] = field(default_factory=set)

    def step(self, title: str) -> None:
        self.console.rule(title)

    def deliver(self, msg: EmailMessage, *show: str) -> None:
        """Send ``msg`` to the network, run one cycle, print what reached ``show``."""
        _send(self.port, msg)
        self.cycle(*show)

    def cycle(self, *show: str) -> None:
        asyncio.run(Daemon(self.service).run_once())
        for address in show:
            _show(self.console, self.root, address, self.seen)

    def newest(self, address: str, subject: str) -> EmailMessage:
        """The latest mail in the inbox whose subject starts so (other mail arrives too)."""
        found = [m for m in _inbox(self.root, address) if str(m["Subject"]).startswith(subject)]
        return found[-1]

    def at(self, moment: datetime) -> None:
        self.service.clock.set(moment)


def _walk(console: Console, root: Path, service: App, port: int) -> None:
    walk = _Walk(console, root, service, port)
    roster = root / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    with service.db.transaction() as session:
        report = import_csv(session, roster, "fi", service.clock.now())
    walk.step("1. The roster is imported (mailer members import)")
    console.print(f"{report.added} members added")
    _walk_question(walk)
    _walk_join(walk)
    _walk_poll(walk)
    _walk_event(walk)


def _walk_question(walk: _Walk) -> None:
    """A member's question from the acknowledgement to SULJE and the queue."""
    walk.step("2. A member asks a question; the service acknowledges and forwards it")
    walk.deliver(_question(), MEMBER, COORDINATOR)

    walk.step("3. The coordinator presses Reply in Outlook and answers above the quote")
    answer = (
        "Hei Liisa,\n\nAkaa kilpailutti molemmat yhdessä 2025. Kysyn heiltä "
        "asiakirjat ja laitan ne sinulle.\n\nTerveisin\nKoordinaattori"
    )
    walk.deliver(_reply(walk.newest(COORDINATOR, "[#1]"), answer, COORDINATOR), MEMBER)

    walk.step("4. The member follows up by replying; it joins the same question")
    answered = walk.newest(MEMBER, "Re: [#1]")
    walk.deliver(_reply(answered, "Kiitos! Odotan asiakirjoja.", MEMBER), COORDINATOR)

    walk.step("5. The coordinator closes the question with a line SULJE")
    followup = walk.newest(COORDINATOR, "[#1] Lisäys")
    walk.deliver(_reply(followup, "SULJE", COORDINATOR), COORDINATOR, MEMBER)

    walk.step("6. The queue as the coordinator sees it (mailer queue list)")
    with walk.service.db.transaction() as session:
        for ticket in session.scalars(select(Ticket).order_by(Ticket.id)):
            walk.console.print(
                escape(
                    f"#{ticket.id}  {ticket.state:<8}  {ticket.requester_email}  "
                    f"{ticket.organisation}  {ticket.subject}"
                )
            )


def _mail(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{NAMES[sender]} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    msg.set_content(text)
    return msg


def _reply(to_us: EmailMessage, text: str, sender: str) -> EmailMessage:
    return _outlook_reply(to_us, text, sender, NAMES[sender])


def _walk_join(walk: _Walk) -> None:
    """Double opt-in: a newcomer writes 'liity', confirms by replying, is welcomed."""
    walk.step("7. A newcomer writes 'liity'; the service asks them to confirm by replying")
    walk.deliver(_mail(NEWCOMER, NETWORK, "liity", "Hei, haluan listalle.\n"), NEWCOMER)

    walk.step("8. The newcomer replies 'Kyllä'; they are on the list and get the welcome")
    walk.deliver(_reply(walk.newest(NEWCOMER, "Vahvista"), "Kyllä", NEWCOMER), NEWCOMER)


def _walk_poll(walk: _Walk) -> None:
    """A topic vote: form, preview, LÄHETÄ, a ballot answered in words, the result."""
    tz = walk.service.settings.network.tz
    closes = (walk.service.clock.now().astimezone(tz) + timedelta(days=7)).date()
    walk.step("9. The coordinator mails a poll form to verkosto+aanestys@; a preview returns")
    form = (
        "Kysymys: Mikä on kevään webinaarin aihe?\n"
        "1. Joukkoliikenteen tilastot\n2. Kutsutaksit ja asiointiliikenne\n"
        "3. Koulukuljetusten kilpailutus\nValintoja enintään: 2\n"
        f"Päättyy: {closes.day}.{closes.month}.{closes.year} klo 16\n"
    )
    form_address = walk.service.settings.network.sub_address("aanestys")
    walk.deliver(_mail(COORDINATOR, form_address, "Äänestys", form), COORDINATOR)

    walk.step("10. LÄHETÄ: every member gets the ballot; Liisa answers 'kakkonen ja tilastot'")
    preview = walk.newest(COORDINATOR, "Esikatselu")
    walk.deliver(_reply(preview, "LÄHETÄ", COORDINATOR), COORDINATOR, MEMBER)
    ballot = walk.newest(MEMBER, "Äänestys")
    walk.deliver(_reply(ballot, "kakkonen ja tilastot\n\nLiisa", MEMBER), MEMBER)

    walk.step("11. At the deadline (the clock moved on) the result goes out")
    walk.at(datetime.combine(closes, time(16, 5), tzinfo=tz))
    walk.cycle(COORDINATOR, MEMBER)


def _walk_event(walk: _Walk) -> None:
    """A webinar from the coordinator's form to the rating summary, the clock moved on."""
    tz = walk.service.settings.network.tz
    day = (walk.service.clock.now().astimezone(tz) + timedelta(days=30)).date()
    start = datetime.combine(day, time(13, 0), tzinfo=tz)

    walk.step("12. The coordinator mails an event form to verkosto+tapahtuma@; a preview returns")
    form = (
        f"Hei,\n\nOtsikko: Kilpailutuksen kokemuksia\nAika: {day.day}.{day.month}.{day.year} "
        "klo 13-14\nLinkki: https://teams.example/l/kilpailutus\nKysymys: Mistä kunnasta olet?"
        "\n\nTerveisin\nKoordinaattori\n"
    )
    form_address = walk.service.settings.network.sub_address("tapahtuma")
    walk.deliver(_mail(COORDINATOR, form_address, "Webinaari", form), COORDINATOR)

    walk.step("13. LÄHETÄ: every member gets an invitation with a calendar entry")
    preview = walk.newest(COORDINATOR, "Esikatselu")
    walk.deliver(_reply(preview, "LÄHETÄ", COORDINATOR), MEMBER, COORDINATOR)

    walk.step("14. The member replies 'Ilmoittaudun' with the answer on the next line")
    invitation = walk.newest(MEMBER, "Kutsu")
    walk.deliver(_reply(invitation, "Ilmoittaudun\nUusikaupunki", MEMBER), MEMBER)

    walk.step("15. A day before the webinar (the clock moved on): a reminder to registrants")
    walk.at(start - timedelta(days=1))
    walk.cycle(MEMBER)

    walk.step("16. After the webinar: the rating request; the member answers '4,5'")
    walk.at(start + timedelta(hours=3))
    walk.cycle(MEMBER)
    rating = "4,5\nParasta: Akaan esimerkki\nKehitettävää: enemmän aikaa kysymyksille"
    walk.deliver(_reply(walk.newest(MEMBER, "Palaute"), rating, MEMBER), MEMBER)

    walk.step("17. When the feedback closes, the coordinator gets the summary")
    walk.at(start + timedelta(days=16))
    walk.cycle(COORDINATOR)
