"""Authentication-Results, trusted only from the configured server.

Anyone can write an Authentication-Results header into a message; only the one
our own receiving server added (its authserv-id is ``[security]
trusted_authserv_id``) says anything. Parsing uses ``authres``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import authres

from mailer.inbound.message import InboundMessage

# OpenDMARC: "dmarc=pass (p=reject dis=none) header.from=example.com"
_DMARC_COMMENT = re.compile(r"\bdmarc=\w+\s*\(([^)]*)\)", re.IGNORECASE)
_POLICY = re.compile(r"\bp=(reject|quarantine|none)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Result:
    method: str
    result: str
    properties: dict[str, str]
    comment: str


def _comment(value: str) -> str:
    """authres drops the comment after a result; OpenDMARC puts the policy there."""
    match = _DMARC_COMMENT.search(value)
    return match.group(1) if match else ""


def trusted_results(msg: InboundMessage, authserv_id: str | None) -> Iterator[Result]:
    if not authserv_id:
        return
    for value in msg.authentication_results:
        try:
            header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception:  # noqa: BLE001 - a malformed header is simply not trusted
            continue
        if str(header.authserv_id).lower() != authserv_id.lower():
            continue
        for result in header.results:
            yield Result(
                method=str(result.method).lower(),
                result=str(result.result).lower(),
                properties={
                    f"{p.type}.{p.name}".lower(): str(p.value).lower() for p in result.properties
                },
                comment=_comment(value) if str(result.method).lower() == "dmarc" else "",
            )


def sender_authenticated(msg: InboundMessage, authserv_id: str) -> bool:
    """DMARC, DKIM or SPF passed for the From domain, per the trusted server."""
    domain = msg.sender.rpartition("@")[2]
    for r in trusted_results(msg, authserv_id):
        if r.result != "pass":
            continue
        if r.method == "dmarc" and r.properties.get("header.from") == domain:
            return True
        if r.method == "dkim" and r.properties.get("header.d", "").endswith(domain):
            return True
        if r.method == "spf" and r.properties.get("smtp.mailfrom", "").endswith(domain):
            return True
    return False


def strict_dmarc(msg: InboundMessage, authserv_id: str | None, domains: tuple[str, ...]) -> bool:
    """Would receivers reject or quarantine a modified copy "From" the author's domain?

    Decided from the configured list of such domains, and from the DMARC policy
    the trusted server saw published (OpenDMARC writes ``p=reject`` in the comment,
    others ``policy.published-domain-policy``): no DNS lookups of our own.
    """
    domain = msg.sender.rpartition("@")[2]
    if any(domain == d or domain.endswith("." + d) for d in domains):
        return True
    for r in trusted_results(msg, authserv_id):
        if r.method != "dmarc" or r.properties.get("header.from", domain) != domain:
            continue
        published = r.properties.get("policy.published-domain-policy", "")
        match = _POLICY.search(r.comment)
        policy = published or (match.group(1).lower() if match else "")
        if policy in ("reject", "quarantine"):
            return True
    return False
