"""Webhook endpoints that keep failing are disabled: when the current run of failures began,
when the endpoint was disabled and why (server/webhooks/tables.py).

Revision ID: 0016_webhook_auto_disable
Revises: 0015_merchant_store
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_webhook_auto_disable"
down_revision: str | None = "0015_merchant_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_endpoints", sa.Column("failing_since", sa.BigInteger(), nullable=True))
    op.add_column("webhook_endpoints", sa.Column("disabled_at", sa.BigInteger(), nullable=True))
    op.add_column("webhook_endpoints", sa.Column("disabled_reason", sa.String(16), nullable=True))
    # endpoints a merchant switched off before this revision
    op.execute(
        "UPDATE webhook_endpoints SET disabled_reason = 'merchant', disabled_at = updated_at"
        " WHERE NOT enabled"
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("disabled_reason")
        batch.drop_column("disabled_at")
        batch.drop_column("failing_since")
