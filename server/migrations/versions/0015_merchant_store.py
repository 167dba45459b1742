"""Merchant blocked origins and store mode: the sites the widget was refused on, the store's
branding, its associates' links and the rooms shoppers started in the store
(server/storage/stores.py).

Revision ID: 0015_merchant_store
Revises: 0014_show_schedule
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_merchant_store"
down_revision: str | None = "0014_show_schedule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _merchant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["merchant_id"],
        ["merchants.merchant_id"],
        name=op.f(f"fk_{table}_merchant_id_merchants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "merchant_blocked_origins",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        _merchant_fk("merchant_blocked_origins"),
        sa.PrimaryKeyConstraint("merchant_id", "origin", name=op.f("pk_merchant_blocked_origins")),
    )
    op.create_index(
        "ix_merchant_blocked_origins_seen", "merchant_blocked_origins", ["merchant_id", "last_seen"]
    )
    op.create_table(
        "merchant_stores",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("logo_url", sa.String(2048), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _merchant_fk("merchant_stores"),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_merchant_stores")),
    )
    op.create_table(
        "store_associates",
        sa.Column("associate_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        _merchant_fk("store_associates"),
        sa.PrimaryKeyConstraint("associate_id", name=op.f("pk_store_associates")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_store_associates_key_hash")),
    )
    op.create_index(
        "ix_store_associates_merchant", "store_associates", ["merchant_id", "created_at"]
    )
    op.create_table(
        "store_rooms",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("shopper", sa.String(80), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("help_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.room_id"],
            name=op.f("fk_store_rooms_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_store_rooms")),
    )
    op.create_index("ix_store_rooms_merchant", "store_rooms", ["merchant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_store_rooms_merchant", table_name="store_rooms")
    op.drop_table("store_rooms")
    op.drop_index("ix_store_associates_merchant", table_name="store_associates")
    op.drop_table("store_associates")
    op.drop_table("merchant_stores")
    op.drop_index("ix_merchant_blocked_origins_seen", table_name="merchant_blocked_origins")
    op.drop_table("merchant_blocked_origins")
