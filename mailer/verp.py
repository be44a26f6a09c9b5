"""VERP return paths: ``verkosto+bounce-<token>@…`` names the member a bounce is about.

Every mail that goes to members one copy each (list posts, digests, invitations,
probes) carries such a return path, so a bounce scores exactly the member it was
sent to even when the bounce names some forwarding address. The token is signed,
so a forged bounce cannot disable anyone.
"""

from __future__ import annotations

from mailer.config import NetworkSettings
from mailer.reply_tokens import ReplyTokens

MEMBER_TOKEN = "b"  # a copy of member mail
PROBE_TOKEN = "p"  # the probe sent to a member over the bounce threshold


def return_path(
    network: NetworkSettings, tokens: ReplyTokens, member_id: int, kind: str = MEMBER_TOKEN
) -> str:
    return network.sub_address(f"bounce-{tokens.make(kind, member_id)}")
