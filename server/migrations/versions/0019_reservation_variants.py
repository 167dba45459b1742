"""Stock reservations per variant: ``stock_reservations.variant`` (the variant's id when it has
a stock of its own, else ``""``: the product's stock), part of the primary key
(order_id, sku, variant) and of the index of held stock (server/catalog/reservations.py).

Revision ID: 0019_reservation_variants
Revises: 0018_show_starting
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_reservation_variants"
down_revision: str | None = "0018_show_starting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_stock_reservations_held", table_name="stock_reservations")
    with op.batch_alter_table("stock_reservations") as batch:
        batch.add_column(
            sa.Column("variant", sa.String(64), nullable=False, server_default=""),
        )
        batch.drop_constraint("pk_stock_reservations", type_="primary")
        batch.create_primary_key("pk_stock_reservations", ["order_id", "sku", "variant"])
    op.create_index(
        "ix_stock_reservations_held",
        "stock_reservations",
        ["merchant_id", "sku", "variant", "status"],
    )


def downgrade() -> None:
    # 0017 keyed rows by (order, sku): of an order's rows of one sku, the first variant's stays.
    op.drop_index("ix_stock_reservations_held", table_name="stock_reservations")
    op.execute(
        "DELETE FROM stock_reservations WHERE variant <> '' AND EXISTS ("
        "SELECT 1 FROM stock_reservations AS o WHERE o.order_id = stock_reservations.order_id"
        " AND o.sku = stock_reservations.sku AND o.variant < stock_reservations.variant)"
    )
    with op.batch_alter_table("stock_reservations") as batch:
        batch.drop_constraint("pk_stock_reservations", type_="primary")
        batch.create_primary_key("pk_stock_reservations", ["order_id", "sku"])
        batch.drop_column("variant")
    op.create_index(
        "ix_stock_reservations_held", "stock_reservations", ["merchant_id", "sku", "status"]
    )
