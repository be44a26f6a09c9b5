"""inbound mail: what an answered mail said, and whether its answer was rationed

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fingerprint", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rationed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_inbound_sender", ["sender", "claimed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_sender")
        batch_op.drop_column("rationed")
        batch_op.drop_column("fingerprint")
