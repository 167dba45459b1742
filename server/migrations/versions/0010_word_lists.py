"""Moderation word lists per merchant (issue 13, item 6).

Revision ID: 0010_word_lists
Revises: 0009_publishable_keys

``merchant_word_lists`` holds one row per merchant that set a word list over REST
(``PUT /api/v1/merchant/word-list``): its entries as JSON text and when it was set. The rooms'
own lists live in their event logs (``WordListSet``), not here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_word_lists"
down_revision: str | None = "0009_publishable_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merchant_word_lists",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.merchant_id"],
            name=op.f("fk_merchant_word_lists_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_merchant_word_lists")),
    )


def downgrade() -> None:
    op.drop_table("merchant_word_lists")
