"""Catalogue tables: catalog_products and catalog_variants (see server/catalog/tables.py).

Revision ID: 0002_catalog
Revises: 0001_storage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_catalog"
down_revision = "0001_storage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_products",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("compare_at_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("image", sa.String(2048), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("availability", sa.String(16), nullable=False),
        sa.Column("brand", sa.String(70), nullable=True),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "sku", name=op.f("pk_catalog_products")),
    )
    op.create_table(
        "catalog_variants",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("variant_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint(
            "merchant_id", "sku", "variant_id", name=op.f("pk_catalog_variants")
        ),
    )


def downgrade() -> None:
    op.drop_table("catalog_variants")
    op.drop_table("catalog_products")
