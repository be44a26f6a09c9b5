"""A member's data export arrives as a file named in the member's language."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailer.roster import add_member

from .conftest import NETWORK, Embedded

Build = Callable[..., Embedded]


@pytest.mark.parametrize(
    ("language", "subject", "file_name"),
    [
        ("fi", "tietoni", "tietoni.json"),
        ("sv", "mina uppgifter", "mina_uppgifter.json"),
        ("en", "my data", "my_data.json"),
    ],
)
def test_export_file_is_named_in_the_members_language(
    embedded: Build, language: str, subject: str, file_name: str
) -> None:
    env = embedded()
    member = f"{language}@kunta.example.test"
    with env.app.db.transaction() as session:
        add_member(
            session,
            member,
            name="Kim",
            organisation_name="Kunta",
            language=language,
            delivery="each",
            now=env.app.clock.now(),
        )
    env.deliver(f"From: Kim <{member}>\nTo: {NETWORK}\nSubject: {subject}\n\n".encode())
    env.cycle()
    (export,) = [m for m in env.received(member) if any(m.iter_attachments())]
    assert [a.get_filename() for a in export.iter_attachments()] == [file_name]
