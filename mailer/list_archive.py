"""The list's archive of accepted posts: what digests are built from."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db.models import ListPost


def latest_post_id(session: Session) -> int:
    """A new digest reader starts here: earlier posts are not theirs to catch up on."""
    return session.scalar(select(func.max(ListPost.id))) or 0
