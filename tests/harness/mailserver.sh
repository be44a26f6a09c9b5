#!/usr/bin/env bash
# mailserver.sh - throwaway loopback-only Postfix + Dovecot for mailer's tests.
#
#   mailserver.sh start DIR          install (if needed), write config, start both
#   mailserver.sh stop DIR           stop both (by their own pid files), wait until gone
#   mailserver.sh start-dovecot DIR  start only Dovecot again (config from 'start')
#   mailserver.sh stop-dovecot DIR   stop only Dovecot (simulates an IMAP outage)
#   mailserver.sh start-postfix DIR  start only Postfix again
#   mailserver.sh stop-postfix DIR   stop only Postfix (simulates an SMTP outage)
#   mailserver.sh status DIR         what runs; exit 0 only when both run
#   mailserver.sh queue DIR          the private Postfix queue (mail held for other domains)
#   mailserver.sh install            only install the Debian packages
#
# Everything (config, state, queue, mail, logs, keys, certificate) lives under DIR,
# which must be at most 70 characters and traversable by users mail and postfix
# (use /tmp/...). Everything listens on 127.0.0.1 only. Nothing leaves the machine:
# $DOMAIN is delivered to Dovecot over LMTP; mail for every other domain is accepted
# and held in the private deferred queue for ever (there is no smtp client at all).
#
# Users (@$DOMAIN, password $PASSWORD): network, network2, coordinator, coordinator2,
# member1..member$USERS. 'gone' is accepted by Postfix but unknown to Dovecot, so
# mail to it bounces asynchronously (a DSN to the envelope sender).
# Logins: LOGIN/PLAIN with the password, or XOAUTH2/OAUTHBEARER with an HS256 JWT
# signed with base64-decoded DIR/issuer/hs256.key; claims and kid: DIR/issuer/env.json.
#
# Environment (defaults in brackets; 'start' records them in DIR/harness.env):
#   IMAP_PORT [1143] IMAPS_PORT [1993] SMTP_PORT (no auth from 127.0.0.1) [2525]
#   SMTP_AUTH_PORT (SASL AUTH required, via Dovecot) [2587] USERS [50]
#   PASSWORD [secret] DOMAIN [example.test]
set -euo pipefail

PROG=${0##*/}
USERS=${USERS:-50}
PASSWORD=${PASSWORD:-secret}
DOMAIN=${DOMAIN:-example.test}
IMAP_PORT=${IMAP_PORT:-1143}
IMAPS_PORT=${IMAPS_PORT:-1993}
SMTP_PORT=${SMTP_PORT:-2525}
SMTP_AUTH_PORT=${SMTP_AUTH_PORT:-2587}
ISSUER=https://issuer.example.test
AZP=mailer-tests          # JWT "azp" claim = first element of the key path
SCOPE=mail.access         # the token's "scope" claim must contain it
KID=hs-1
LISTEN=127.0.0.1          # never change: the harness must stay on loopback
PKGS=(postfix dovecot-imapd dovecot-lmtpd)
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*"; }
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# ---------------------------------------------------------------- install ---
pkgs_missing() {
  local p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# A postinst may have started a system daemon (hosts without a policy-rc.d that
# denies it): stop it by its own pid file, after checking the binary.
stop_system_daemon() { # PIDFILE EXE SYSTEMD_UNIT
  local pid i
  pid=$(pidfile_pid "$1")
  pid_alive "$pid" && [ "$(readlink "/proc/$pid/exe")" = "$2" ] || return 0
  log "package install started a system daemon $2 (pid $pid); stopping it"
  if [ -d /run/systemd/system ]; then systemctl stop "$3" || true; fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
}

do_install() {
  local missing aptlog opts
  missing=$(pkgs_missing | xargs)
  [ -z "$missing" ] && return 0
  [ "$(id -u)" = 0 ] || die "packages missing ($missing) and not root"
  log "installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration": no /etc/postfix/main.cf, so a system postfix cannot start
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  opts=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
        -o Dpkg::Options::=--force-confold --no-install-recommends)
  aptlog=$(mktemp /tmp/mailserver-apt.XXXXXX)
  # shellcheck disable=SC2086 # word splitting of $missing on purpose
  if ! apt-get install "${opts[@]}" $missing >"$aptlog" 2>&1; then
    apt-get update -q -o DPkg::Lock::Timeout=600 >>"$aptlog" 2>&1 || true
    apt-get install "${opts[@]}" $missing >>"$aptlog" 2>&1 \
      || { tail -20 "$aptlog" >&2; die "apt-get install failed (log: $aptlog)"; }
  fi
  rm -f "$aptlog"
  stop_system_daemon /var/spool/postfix/pid/master.pid /usr/lib/postfix/sbin/master postfix
  stop_system_daemon /run/dovecot/master.pid /usr/sbin/dovecot dovecot
}

# ---------------------------------------------------------------- helpers ---
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

wait_for() { # SECONDS WHAT CMD...
  local n=$(($1 * 50)) what=$2 i; shift 2
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.02; done
  die "timed out waiting for $what (logs: $D/log)"
}

# alive = exists and is no zombie (PID 1 here reaps orphans only after ~1.5 s)
pid_alive() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || return 1
  local st; st=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
pidfile_pid() { if [ -s "$1" ]; then awk 'NR==1{print $1; exit}' "$1"; fi; }

# a pid file counts only when its process really is this DIR's daemon
dovecot_pid() {
  local p; p=$(pidfile_pid "$D/run/dovecot/master.pid")
  if pid_alive "$p" && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "-c $D/dovecot/dovecot.conf"; then
    echo "$p"
  fi
}
postfix_pid() {
  local p; p=$(pidfile_pid "$D/spool/pid/master.pid")
  if pid_alive "$p" && [ "$(readlink "/proc/$p/cwd")" = "$D/spool" ]; then echo "$p"; fi
}

descendants() {
  local p c
  for p in "$@"; do
    for c in $(ps -o pid= --ppid "$p"); do echo "$c"; descendants "$c"; done
  done
}

set_dir() {
  [ -n "${1:-}" ] || usage
  D=$(realpath -m -- "$1")
  # unix socket paths are limited to 107 bytes; Dovecot's sockets live under DIR/run
  [ "${#D}" -le 70 ] || die "DIR too long (${#D} > 70 characters): unix socket paths would overflow"
}

load_env() { # what 'start' recorded wins over the environment
  if [ -f "$D/harness.env" ]; then
    # shellcheck disable=SC1091
    . "$D/harness.env"
  fi
}

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (the masters drop privileges)"; }

as_user_can() { # USER test-args...
  local u=$1; shift
  setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups test "$@"
}

# ----------------------------------------------------------------- config ---
write_env() {
  local v
  for v in IMAP_PORT IMAPS_PORT SMTP_PORT SMTP_AUTH_PORT DOMAIN USERS PASSWORD; do
    printf '%s=%q\n' "$v" "${!v}"
  done >"$D/harness.env"
}

write_users() {
  local n names=(network network2 coordinator coordinator2) i
  for ((i = 1; i <= USERS; i++)); do names+=("member$i"); done
  for n in "${names[@]}"; do printf '%s@%s:{PLAIN}%s::::::\n' "$n" "$DOMAIN" "$PASSWORD"; done \
    >"$D/dovecot/users"
  chgrp dovecot "$D/dovecot/users"; chmod 0640 "$D/dovecot/users"
  # Postfix: unknown recipients get 550 at RCPT time; 'gone' passes here and then
  # fails at LMTP, which makes an asynchronous bounce
  for n in "${names[@]}" gone; do printf '%s@%s OK\n' "$n" "$DOMAIN"; done >"$D/postfix/vmailbox"
}

write_cert() {
  [ -s "$D/ssl/cert.pem" ] && [ -s "$D/ssl/key.pem" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$D/ssl/key.pem" -out "$D/ssl/cert.pem" -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,DNS:mail.$DOMAIN,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:TRUE" >/dev/null 2>&1 || die "openssl req failed"
  chmod 0600 "$D/ssl/key.pem"
}

write_keys() {
  # issuer side (tests mint with it); generated once per DIR
  local I=$D/issuer K=$D/dovecot/keys/$AZP/HS256
  install -d -m 0700 "$I"
  [ -s "$I/hs256.key" ] || openssl rand -base64 32 >"$I/hs256.key"
  cat >"$I/env.json" <<EOF
{"issuer": "$ISSUER", "azp": "$AZP", "scope": "$SCOPE", "kid": "$KID", "alg": "HS256",
 "domain": "$DOMAIN", "secret_file": "hs256.key"}
EOF
  # Dovecot side: fs:posix dict, key path <azp>/<ALG>/<kid>, HS* = base64 secret.
  # The auth process runs as user dovecot. A changed key of an existing kid is only
  # seen after a restart or 'doveadm reload': rotate by kid.
  install -d -m 0750 -g dovecot "$D/dovecot/keys" "$D/dovecot/keys/$AZP" "$K"
  install -m 0640 -g dovecot "$I/hs256.key" "$K/$KID"
}

write_dovecot_conf() {
  local uid gid; uid=$(id -u mail); gid=$(id -g mail)
  cat >"$D/dovecot/dovecot-oauth2.conf.ext" <<EOF
# validate JWT access tokens locally: no introspection server
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$D/dovecot/keys/
username_attribute = email
issuers = $ISSUER
scope = $SCOPE
EOF
  cat >"$D/dovecot/dovecot.conf" <<EOF
# generated by $PROG: private Dovecot; nothing is read from /etc/dovecot
instance_name = mailer-harness
protocols = imap lmtp
listen = $LISTEN
base_dir = $D/run/dovecot
state_dir = $D/state/dovecot
hostname = mail.$DOMAIN
postmaster_address = postmaster@$DOMAIN
log_path = $D/log/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
verbose_proctitle = yes
# an outage must look like one: stopping Dovecot closes the IMAP sessions
shutdown_clients = yes

ssl = yes
ssl_cert = <$D/ssl/cert.pem
ssl_key = <$D/ssl/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_default_realm = $DOMAIN
auth_username_format = %Lu
auth_verbose = yes
# fast failed logins: no 2 s delay, no doubling anvil penalty (see service anvil);
# a refusal still waits for a compiled-in 500 ms timer. No auth cache: a cached
# success would keep an expired token valid.
auth_failure_delay = 0

passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $D/dovecot/users
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $D/dovecot/dovecot-oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/dovecot/users
  default_fields = uid=$uid gid=$gid home=$D/mail/%d/%n
}
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
# IDLE: inotify notices within ~0.5 s; 1 s polling once the per-uid inotify limit is hit
mailbox_idle_check_interval = 1 secs
recipient_delimiter = +
# Delivered-To = the RCPT TO with +detail (needs one recipient per LMTP transaction)
lmtp_hdr_delivery_address = final

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
  }
}

service imap-login {
  # high-performance mode: one login process serves many (TLS) connections
  service_count = 0
  process_min_avail = 1
  inet_listener imap {
    address = $LISTEN
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = $LISTEN
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
    user = postfix
  }
}
service auth {
  # Postfix smtpd on the AUTH port hands the SASL exchange to Dovecot here
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

write_postfix_conf() {
  cat >"$D/postfix/main.cf" <<EOF
# generated by $PROG: private Postfix (postfix -c $D/postfix ...)
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $D/log/postfix.log
maillog_file_prefixes = $D/log
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
inet_interfaces = $LISTEN
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP mailer test harness
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
readme_directory = no
# no STARTTLS: aiosmtplib upgrades whenever it is offered
smtpd_tls_security_level = none
# the AUTH line carries the whole base64 token (the default 2048 cuts ~1.5 KB tokens)
line_length_limit = 16384

# nothing is local; $DOMAIN goes to Dovecot over LMTP
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled in test harness
alias_maps =
alias_database =
recipient_delimiter = +
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$D/postfix/vmailbox
virtual_transport = lmtp:unix:$D/run/dovecot/lmtp
# Dovecot writes Delivered-To only for a single-recipient LMTP transaction
lmtp_destination_recipient_limit = 1

# every other domain: accepted, then deferred for ever (defer_transports); even a
# flush only runs the 'held' pipe, which exits 75. There is no smtp client at all.
relay_domains =
default_transport = held
relay_transport = held
defer_transports = held
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination

in_flow_delay = 0
smtpd_error_sleep_time = 0
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
notify_classes =
message_size_limit = 52428800
EOF
  cat >"$D/postfix/master.cf" <<EOF
# generated by $PROG: no chroot anywhere; no smtp/relay/local/virtual agents
# service  type  private unpriv  chroot  wakeup  maxproc command + args
$LISTEN:$SMTP_PORT inet n -      n       -       -       smtpd
$LISTEN:$SMTP_AUTH_PORT inet n - n       -       -       smtpd
  -o syslog_name=postfix/auth
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=$D/run/dovecot/auth-postfix
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
held       unix  -       n       n       -       -       pipe
  user=nobody argv=/bin/sh -c {echo outbound delivery disabled in test harness; exit 75}
EOF
  # Postfix waits until main.cf and tables are >= 1 s old (~2 s per start): back-date
  touch -d '-5 seconds' "$D/postfix/main.cf" "$D/postfix/master.cf" "$D/postfix/vmailbox"
}

# ---------------------------------------------------------- start and stop --
run_dovecot() {
  [ -f "$D/dovecot/dovecot.conf" ] || die "no config in $D: run '$PROG start $D' first"
  [ -n "$(dovecot_pid)" ] && return 0
  local p
  for p in "$IMAP_PORT" "$IMAPS_PORT"; do
    listening "$p" && die "port $LISTEN:$p is already in use (ss -ltnp 'sport = :$p')"
  done
  # begin with an empty base_dir: a stale master.pid (its pid may be an unreaped
  # zombie or recycled) blocks the start, a stale anvil-auth-penalty socket hangs auth ~5 s
  rm -rf "$D/run/dovecot"
  # the daemons must not inherit the caller's stdout/stderr (a pipe would never close)
  dovecot -c "$D/dovecot/dovecot.conf" </dev/null >>"$D/log/dovecot-start.log" 2>&1 \
    || { tail -5 "$D/log/dovecot-start.log" "$D/log/dovecot.log" >&2; die "dovecot failed to start"; }
  wait_for 10 "dovecot imap port $IMAP_PORT" listening "$IMAP_PORT"
  wait_for 10 "dovecot imaps port $IMAPS_PORT" listening "$IMAPS_PORT"
  wait_for 10 "dovecot lmtp socket" test -S "$D/run/dovecot/lmtp"
  wait_for 10 "dovecot auth socket" test -S "$D/run/dovecot/auth-postfix"
}

run_postfix() {
  [ -f "$D/postfix/main.cf" ] || die "no config in $D: run '$PROG start $D' first"
  [ -n "$(postfix_pid)" ] && return 0
  local p
  for p in "$SMTP_PORT" "$SMTP_AUTH_PORT"; do
    listening "$p" && die "port $LISTEN:$p is already in use (ss -ltnp 'sport = :$p')"
  done
  # postfix(1) reports errors to syslog (none here) unless stderr is a tty: script(1)
  script -qec "postfix -c $D/postfix start" /dev/null </dev/null >>"$D/log/postfix-start.log" 2>&1 \
    || { tail -5 "$D/log/postfix-start.log" >&2; die "postfix failed to start"; }
  wait_for 10 "postfix smtp port $SMTP_PORT" listening "$SMTP_PORT"
  wait_for 10 "postfix smtp auth port $SMTP_AUTH_PORT" listening "$SMTP_AUTH_PORT"
}

# stop_masters dovecot|postfix...: signal each master, then wait until its whole
# process tree is gone; SIGKILL (exact pids) only after 10 s
stop_masters() {
  local what pid kids all="" left p i
  for what in "$@"; do
    pid=$("${what}_pid")
    [ -n "$pid" ] || continue
    kids=$(descendants "$pid" | xargs)
    all="$all $pid $kids"
    case $what in
      # = 'dovecot stop' minus its polling. The master then exits within ~1 s, but
      # an imap process with a client would wait 10 s more for the master to be
      # gone (die_with_master): SIGTERM the children too (they say BYE and exit at
      # once), except the log process, which exits after its last writer.
      # shellcheck disable=SC2046
      dovecot) kill -TERM "$pid" $(for p in $kids; do
                 tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '/log *$' || echo "$p"
               done) 2>/dev/null || true ;;
      postfix) postfix -c "$D/postfix" stop >>"$D/log/postfix-start.log" 2>&1 || true ;;
    esac
  done
  for ((i = 0; i < 500; i++)); do
    left=""
    for p in $all; do pid_alive "$p" && left="$left $p"; done
    [ -z "$left" ] && return 0
    sleep 0.02
  done
  log "warning: still alive after 10 s:$left; sending SIGKILL to exactly these pids"
  # shellcheck disable=SC2086
  kill -KILL $left 2>/dev/null || true
}

do_start() {
  set_dir "${1:-}"
  need_root
  [[ "$USERS" =~ ^[0-9]+$ ]] || die "USERS must be a number"
  [[ "$PASSWORD" != *:* ]] || die "PASSWORD must not contain ':'"
  do_install
  local dp pp; dp=$(dovecot_pid); pp=$(postfix_pid)
  if [ -n "$dp" ] && [ -n "$pp" ]; then log "already running in $D"; return 0; fi
  [ -z "$dp$pp" ] || die "half-running instance in $D: use start-dovecot/start-postfix or stop"
  mkdir -p "$D"; chmod 0755 "$D"
  install -d -m 0755 "$D/dovecot" "$D/postfix" "$D/ssl" "$D/run" "$D/state" "$D/log" "$D/spool"
  install -d -m 0700 "$D/state/dovecot"
  install -d -m 0750 -o mail -g mail "$D/mail"
  install -d -m 0700 -o postfix -g postfix "$D/data"
  as_user_can mail -w "$D/mail" -a -x "$D/mail" \
    || die "user mail cannot reach $D/mail (a parent directory is not world-executable?)"
  as_user_can postfix -x "$D/run" || die "user postfix cannot traverse $D"
  write_env
  write_cert
  write_keys
  write_users
  write_dovecot_conf
  write_postfix_conf # last: it back-dates the Postfix files, vmailbox included
  run_dovecot
  run_postfix
  log "up: IMAP $LISTEN:$IMAP_PORT, IMAPS $IMAPS_PORT, SMTP $SMTP_PORT, SMTP AUTH $SMTP_AUTH_PORT" \
    "(dovecot $(dovecot_pid), postfix $(postfix_pid))"
}

do_status() {
  local dp pp p rc=0
  dp=$(dovecot_pid); pp=$(postfix_pid)
  if [ -n "$dp" ]; then echo "dovecot: pid $dp"; else echo "dovecot: not running"; rc=3; fi
  if [ -n "$pp" ]; then
    echo "postfix: pid $pp; queue: $(postqueue -c "$D/postfix" -p | tail -1)"
  else
    echo "postfix: not running"; rc=3
  fi
  for p in "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SMTP_AUTH_PORT"; do
    if listening "$p"; then echo "port $p: listening"; else echo "port $p: closed"; fi
  done
  return $rc
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    install) do_install; return ;;
    start) do_start "$@"; return ;;
    stop | start-dovecot | stop-dovecot | start-postfix | stop-postfix | status | queue) ;;
    *) usage ;;
  esac
  set_dir "${1:-}"
  load_env
  case "$cmd" in
    stop) need_root; stop_masters postfix dovecot ;;
    start-dovecot) need_root; run_dovecot ;;
    stop-dovecot) need_root; stop_masters dovecot ;;
    start-postfix) need_root; run_postfix ;;
    stop-postfix) need_root; stop_masters postfix ;;
    status) do_status ;;
    queue) postqueue -c "$D/postfix" -p ;;
  esac
}

main "$@"
