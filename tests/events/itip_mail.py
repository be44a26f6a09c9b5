"""Calendar answers as Outlook and Gmail send them when Accept or Decline is pressed."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from icalendar import Calendar

OUTLOOK_SUBJECTS = {"ACCEPTED": "Hyväksytty", "DECLINED": "Hylätty", "TENTATIVE": "Alustava"}


def calendar_part(msg: EmailMessage) -> Calendar:
    """The invitation's ``text/calendar`` part, parsed."""
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            return Calendar.from_ical(data)
    raise AssertionError("no text/calendar part")


def calendar_reply(
    invitation: EmailMessage,
    attendee: str,
    partstat: str,
    *,
    name: str = "",
    client: str = "outlook",
    sender: str | None = None,
) -> EmailMessage:
    """An iTIP REPLY to the invitation's ORGANIZER, written as ``client`` writes it.

    Outlook (Exchange) marks the response with auto-reply headers and a
    "Hyväksytty:" subject; Gmail sends a plain "Accepted:" mail. Both put the
    attendee's answer in a ``text/calendar; method=REPLY`` alternative.
    """
    (entry,) = calendar_part(invitation).walk("VEVENT")
    organizer = str(entry["ORGANIZER"]).removeprefix("mailto:")
    title = str(entry["SUMMARY"])
    cn = f";CN={name}" if name else ""
    lines = [
        "BEGIN:VCALENDAR",
        "METHOD:REPLY",
        "PRODID:Microsoft Exchange Server 2010"
        if client == "outlook"
        else "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "VERSION:2.0",
        "BEGIN:VEVENT",
        f"ATTENDEE;PARTSTAT={partstat}{cn}:mailto:{attendee}",
        f"UID:{entry['UID']}",
        f"SEQUENCE:{entry.get('SEQUENCE', 0)}",
        f"SUMMARY:{title}",
        "DTSTAMP:20270120T081512Z",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    reply = EmailMessage()
    reply["From"] = sender or attendee
    reply["To"] = organizer
    if client == "outlook":
        reply["Subject"] = f"{OUTLOOK_SUBJECTS[partstat]}: {title}"
        reply["Auto-Submitted"] = "auto-generated"
        reply["X-MS-Exchange-Organization-AuthAs"] = "Internal"
    else:
        reply["Subject"] = f"{partstat.capitalize()}: {title}"
    reply["Message-ID"] = make_msgid(domain="example.test")
    reply.set_content("")
    reply.add_alternative("\r\n".join(lines), subtype="calendar", params={"method": "REPLY"})
    return reply
