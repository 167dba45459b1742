"""Op outcomes remember a digest of the op's arguments (see server/storage/tables.py).

Revision ID: 0005_op_digest
Revises: 0004_outbox

A nullable column added at the end of ``room_ops``: both SQLite and PostgreSQL add it without
rewriting the table, and rows recorded before it read as "no digest known".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_op_digest"
down_revision: str | None = "0004_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("room_ops", sa.Column("args_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    # SQLite drops a column only by copying the table; batch mode does that where needed.
    with op.batch_alter_table("room_ops") as batch:
        batch.drop_column("args_digest")
