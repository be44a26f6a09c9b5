"""The commented starter configuration ``mailer init`` writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from mailer.config import DEFAULT_DATABASE, resolve_database_url

STARTER_CONFIG = """\
# mailer.toml - configuration of the network mailbox service.
# Any key can also come from the environment: MAILER_<SECTION>__<KEY>, e.g.
# MAILER_IMAP__PASSWORD for [imap] password. Keep secrets there, not here.

[network]
name = "Pienet joukot, iso merkitys"
address = "verkosto@example.test"          # the network mailbox
coordinators = ["koordinaattori@example.test"]
language = "fi"                            # default for new members: fi | sv | en
timezone = "Europe/Helsinki"

[imap]                                     # or leave out [imap] and set [maildir] path = "..."
host = "127.0.0.1"
port = 1143
security = "none"                          # none | starttls | ssl
username = "verkosto"
# password = "..."                         # or MAILER_IMAP__PASSWORD
# auth = "xoauth2"                         # Microsoft 365 / Gmail: OAuth2 instead of a password
# oauth2_command = "/usr/local/bin/get-token"   # prints an access token on stdout
folder = "INBOX"
processed_folder = "Processed"             # handled mail is moved here
shunt_folder = "Shunt"                     # mail that could not be handled, with the reason logged

[smtp]
host = "127.0.0.1"
port = 2525
security = "none"                          # none | starttls | ssl
# username = "verkosto"                    # optional
# password = "..."                         # or MAILER_SMTP__PASSWORD
# auth = "xoauth2"
# oauth2_command = "/usr/local/bin/get-token"
connections = 4                            # parallel SMTP connections

[database]
url = "sqlite:///mailer.db"                # or postgresql+psycopg://user@host/db

[security]
# secret = "..."                           # signs reply tokens; generated and kept in the
                                           # database when not set (MAILER_SECURITY__SECRET)
# trusted_authserv_id = "mx.example.test"  # trust Authentication-Results from this server only
auto_reply_limit_per_day = 10              # per sender in 24 h: automatic replies to mail
                                           # that could not be acted on or repeats itself
                                           # (confirmations of what was done are not counted)
max_message_bytes = 26214400               # larger messages are answered and filed in Shunt

[list]                                     # the members' list (verkosto+lista@...)
subject_tag = "[Verkosto]"
list_name = "Verkosto"                     # "Name via Verkosto" when From must be rewritten
reply_to = "list"                          # list | author
require_approval = false                   # joins need the coordinator's HYVÄKSY
max_post_bytes = 5242880                   # larger posts are held for the coordinator
max_recipients = 10                        # more To/Cc addresses than this: held
hold_expiry_days = 14                      # held posts and shared-answer previews wait this long
confirm_expiry_days = 7
dmarc_domains = []                         # author domains with p=reject/quarantine
# base_url = "https://lista.example.fi"    # enables one-click unsubscribe (RFC 8058)
http_listen = "127.0.0.1:8025"             # where the daemon serves it (behind a TLS proxy)
digest_hour = 7                            # daily and weekly digests, network time
weekly_digest_day = "monday"
mime_digest = false                        # true: multipart/digest instead of plain text
bounce_threshold = 5.0                     # permanent bounce 1, temporary 0.25, one a day

[materials]                                # the material bank (verkosto+materiaalit@...)
                                           # files kept in [paths] data (default ./data)
max_attachment_bytes = 20971520            # a larger attachment is refused, with the reason
max_mail_bytes = 10485760                  # attachments in one mail; the rest by "lähetä N"
send_days = 30                             # material filed later after its event: index only

[events]                                   # webinars and seminars (verkosto+tapahtuma@...)
reminders = ["7d", "1d"]                   # to registrants, before the start (per event: --remind)
link_reminder = "1h"                       # webinars: the link once more; "0" for none
webinar_length = "60min"                   # when the form gives no length
alarm = "15min"                            # the calendar entry's own alarm
feedback_delay = "1h"                      # after the end: the rating request
feedback_days = 14                         # ratings taken this long; then the summary

[digests]
coordinator_hour = 7                       # the coordinator's daily digest, network time
weekly = true                              # members' weekly update ([list] digest hour and day)

[outbox]
max_attempts = 12                          # temporary failures are retried this often
first_retry_seconds = 60                   # then doubling, up to
max_retry_seconds = 3600
"""


def database_url_of(path: Path) -> str:
    """The database URL of a config file, resolved as ``load_settings`` does."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    url = data.get("database", {}).get("url", DEFAULT_DATABASE)
    return resolve_database_url(str(url), path.parent.resolve())
