"""Storage: room event log, op outcomes, snapshots, merchants, rooms, invites.

Revision ID: 0001_storage
Revises:
Create Date: 2026-05-09

Hand-written to match ``server/storage/tables.py`` exactly (tests/server/storage checks it with
``alembic.autogenerate.compare_metadata``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_storage"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_events",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq", name=op.f("pk_room_events")),
    )
    op.create_table(
        "room_ops",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("op_id", sa.String(128), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "actor", "op_id", name=op.f("pk_room_ops")),
    )
    op.create_index(op.f("ix_room_ops_created_at"), "room_ops", ["created_at"])
    op.create_table(
        "room_snapshots",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_room_snapshots")),
    )
    op.create_table(
        "merchants",
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("origins", sa.Text(), nullable=False),
        sa.Column("api_key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_merchants_api_key_hash")),
    )
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.merchant_id"],
            name=op.f("fk_rooms_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_rooms")),
    )
    op.create_index("ix_rooms_merchant_created", "rooms", ["merchant_id", "created_at"])
    op.create_table(
        "invites",
        sa.Column("invite_id", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.room_id"],
            name=op.f("fk_invites_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invite_id", name=op.f("pk_invites")),
    )
    op.create_index(op.f("ix_invites_room_id"), "invites", ["room_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_invites_room_id"), table_name="invites")
    op.drop_table("invites")
    op.drop_index("ix_rooms_merchant_created", table_name="rooms")
    op.drop_table("rooms")
    op.drop_table("merchants")
    op.drop_table("room_snapshots")
    op.drop_index(op.f("ix_room_ops_created_at"), table_name="room_ops")
    op.drop_table("room_ops")
    op.drop_table("room_events")
