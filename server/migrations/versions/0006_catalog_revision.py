"""Catalogue revisions: what changed since the last read (see server/catalog/tables.py).

Revision ID: 0006_catalog_revision
Revises: 0005_op_digest

``catalog_products.revision`` is added with a server default of 0, so existing rows read as
"written before any revision" and the first incremental read of a merchant loads them all.
``catalog_revisions`` holds each merchant's last committed revision and ``catalog_tombstones``
the products deleted at a revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_catalog_revision"
down_revision: str | None = "0005_op_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "catalog_products",
        sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_index("ix_catalog_products_revision", "catalog_products", ["merchant_id", "revision"])
    op.create_table(
        "catalog_revisions",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_catalog_revisions")),
    )
    op.create_table(
        "catalog_tombstones",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "sku", name=op.f("pk_catalog_tombstones")),
    )
    op.create_index(
        "ix_catalog_tombstones_revision", "catalog_tombstones", ["merchant_id", "revision"]
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_tombstones_revision", table_name="catalog_tombstones")
    op.drop_table("catalog_tombstones")
    op.drop_table("catalog_revisions")
    op.drop_index("ix_catalog_products_revision", table_name="catalog_products")
    # SQLite drops a column only by copying the table; batch mode does that where needed.
    with op.batch_alter_table("catalog_products") as batch:
        batch.drop_column("revision")
