"""Stock held for open checkouts (server/catalog/reservations.py), and the buyer of a live
viewer's own order (``checkout_orders.buyer``; NULL for a room-wide order).

Revision ID: 0017_stock_reservations
Revises: 0016_webhook_auto_disable
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_stock_reservations"
down_revision: str | None = "0016_webhook_auto_disable"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_reservations",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "sku", name=op.f("pk_stock_reservations")),
    )
    op.create_index(
        "ix_stock_reservations_held", "stock_reservations", ["merchant_id", "sku", "status"]
    )
    with op.batch_alter_table("checkout_orders") as batch:
        batch.add_column(sa.Column("buyer", sa.String(64), nullable=True))
        batch.create_index("ix_checkout_orders_buyer", ["room_id", "buyer"])


def downgrade() -> None:
    with op.batch_alter_table("checkout_orders") as batch:
        batch.drop_index("ix_checkout_orders_buyer")
        batch.drop_column("buyer")
    op.drop_index("ix_stock_reservations_held", table_name="stock_reservations")
    op.drop_table("stock_reservations")
