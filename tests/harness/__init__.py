"""The project's own throwaway Postfix + Dovecot, for tests (see mailserver.sh)."""
