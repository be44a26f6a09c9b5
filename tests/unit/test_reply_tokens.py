"""Signed reply tokens."""

from __future__ import annotations

from mailer.reply_tokens import ReplyTokens


def test_token_round_trip() -> None:
    """A token made for ticket 12 verifies back to ticket 12."""
    tokens = ReplyTokens("secret")
    assert tokens.verify(tokens.make("t", 12)) == ("t", 12)


def test_token_survives_upper_case() -> None:
    """Some servers upper-case addresses; the token still verifies."""
    tokens = ReplyTokens("secret")
    assert tokens.verify(tokens.make("t", 7).upper()) == ("t", 7)


def test_forged_or_foreign_tokens_fail() -> None:
    """Another id with a copied MAC, or another secret's token, does not verify."""
    tokens = ReplyTokens("secret")
    good = tokens.make("t", 12)
    forged = "t13-" + good.split("-", 1)[1]
    assert tokens.verify(forged) is None
    assert tokens.verify(ReplyTokens("other").make("t", 12)) is None
    assert tokens.verify("garbage") is None
