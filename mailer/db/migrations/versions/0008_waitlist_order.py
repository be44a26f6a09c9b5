"""the waitlist's order of arrival

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waitlist_order", sa.Integer(), nullable=True))
    # Those already waiting keep the order the old rule gave them.
    registrations = sa.table(
        "event_registrations",
        sa.column("id", sa.Integer()),
        sa.column("event_id", sa.Integer()),
        sa.column("waitlisted_at", sa.DateTime()),
        sa.column("waitlist_order", sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(registrations.c.id, registrations.c.event_id)
        .where(registrations.c.waitlisted_at.is_not(None))
        .order_by(registrations.c.event_id, registrations.c.waitlisted_at, registrations.c.id)
    ).all()
    numbers: dict[int, int] = {}
    for row_id, event_id in rows:
        numbers[event_id] = numbers.get(event_id, 0) + 1
        connection.execute(
            registrations.update()
            .where(registrations.c.id == row_id)
            .values(waitlist_order=numbers[event_id])
        )


def downgrade() -> None:
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.drop_column("waitlist_order")
