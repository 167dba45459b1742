"""Scheduled live shows and their reminders (``server.storage.shows``).

Revision ID: 0014_show_schedule
Revises: 0013_catalog_imports
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_show_schedule"
down_revision: str | None = "0013_catalog_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shows",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("host_name", sa.String(200), nullable=False),
        sa.Column("cover_url", sa.String(2048), nullable=True),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("replay_url", sa.String(2048), nullable=True),
        sa.Column("replay_offset_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_shows")),
    )
    op.create_index("ix_shows_merchant", "shows", ["merchant_id", "starts_at"])
    op.create_table(
        "show_reminders",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("reminder_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "person", name=op.f("pk_show_reminders")),
    )


def downgrade() -> None:
    op.drop_table("show_reminders")
    op.drop_index("ix_shows_merchant", table_name="shows")
    op.drop_table("shows")
