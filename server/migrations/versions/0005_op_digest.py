"""Op outcomes remember a digest of the op's arguments (see server/storage/tables.py).

Revision ID: 0005_op_digest
Revises: 0004_outbox
"""

from __future__ import annotations

revision = "0005_op_digest"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
