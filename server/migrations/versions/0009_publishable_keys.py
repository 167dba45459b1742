"""Publishable keys and the rooms a browser belongs to (issue 13, items 7 and 8).

Revision ID: 0009_publishable_keys
Revises: 0008_room_links

``publishable_keys`` holds each merchant's ``pk_…`` key (one a merchant; public by design, so
kept as is), which starts a new room per shopper from the widget and the store QR page;
``room_identities`` gains an index on ``identity`` so "Your rooms" finds an identity's rooms
without scanning every room's bindings.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_publishable_keys"
down_revision: str | None = "0008_room_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publishable_keys",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.merchant_id"],
            name=op.f("fk_publishable_keys_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_publishable_keys")),
        sa.UniqueConstraint("key", name=op.f("uq_publishable_keys_key")),
    )
    op.create_index("ix_room_identities_identity", "room_identities", ["identity"])


def downgrade() -> None:
    op.drop_index("ix_room_identities_identity", table_name="room_identities")
    op.drop_table("publishable_keys")
