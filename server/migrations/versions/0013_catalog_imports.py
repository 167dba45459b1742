"""Catalogue imports: what each import wrote and the rows it refused (the merchant console).

Revision ID: 0013_catalog_imports
Revises: 0012_webhooks
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_catalog_imports"
down_revision: str | None = "0012_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_imports",
        sa.Column("import_id", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("variants", sa.Integer(), nullable=False),
        sa.Column("pruned", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("notice_count", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_catalog_imports")),
    )
    op.create_index("ix_catalog_imports_merchant", "catalog_imports", ["merchant_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_catalog_imports_merchant", table_name="catalog_imports")
    op.drop_table("catalog_imports")
