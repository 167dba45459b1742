"""The durable outbox of checkout effects (see server/checkout/tables.py).

Revision ID: 0004_outbox
Revises: 0003_checkout
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox"
down_revision = "0003_checkout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkout_outbox",
        sa.Column("id", sa.String(96), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(64), nullable=True),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.Column("dead", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_outbox")),
    )
    op.create_index("ix_checkout_outbox_due", "checkout_outbox", ["done_at", "next_attempt_at"])
    op.create_index("ix_checkout_outbox_room", "checkout_outbox", ["room_id", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_checkout_outbox_room", table_name="checkout_outbox")
    op.drop_index("ix_checkout_outbox_due", table_name="checkout_outbox")
    op.drop_table("checkout_outbox")
