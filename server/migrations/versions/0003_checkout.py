"""Checkout bridge tables (see server/checkout/tables.py).

Revision ID: 0003_checkout
Revises: 0002_catalog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_checkout"
down_revision = "0002_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkout_snapshots",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "version", name=op.f("pk_checkout_snapshots")),
    )
    op.create_table(
        "checkout_orders",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("snapshot_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_checkout_orders")),
    )
    op.create_index("ix_checkout_orders_room", "checkout_orders", ["room_id"])
    op.create_index("ix_checkout_orders_status", "checkout_orders", ["status", "deadline"])
    op.create_table(
        "checkout_order_events",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "seq", name=op.f("pk_checkout_order_events")),
    )
    op.create_table(
        "checkout_sessions",
        sa.Column("session_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("share_id", sa.String(80), nullable=False),
        sa.Column("payer", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("payment_intent", sa.String(255), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_checkout_sessions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_checkout_sessions_idempotency_key")),
    )
    op.create_index("ix_checkout_sessions_order", "checkout_sessions", ["order_id"])
    op.create_index("ix_checkout_sessions_intent", "checkout_sessions", ["payment_intent"])
    op.create_table(
        "checkout_webhook_events",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("result", sa.String(64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_checkout_webhook_events")),
    )


def downgrade() -> None:
    op.drop_table("checkout_webhook_events")
    op.drop_index("ix_checkout_sessions_intent", table_name="checkout_sessions")
    op.drop_index("ix_checkout_sessions_order", table_name="checkout_sessions")
    op.drop_table("checkout_sessions")
    op.drop_table("checkout_order_events")
    op.drop_index("ix_checkout_orders_status", table_name="checkout_orders")
    op.drop_index("ix_checkout_orders_room", table_name="checkout_orders")
    op.drop_table("checkout_orders")
    op.drop_table("checkout_snapshots")
