"""The durable outbox of checkout effects (see server/checkout/tables.py).

Revision ID: 0004_outbox
Revises: 0003_checkout
"""

from __future__ import annotations

revision = "0004_outbox"
down_revision = "0003_checkout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
