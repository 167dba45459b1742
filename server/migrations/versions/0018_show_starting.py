"""``show.starting`` webhooks: the version each show's message was written for
(``shows.starting_version``; NULL: not yet) and an index on ``starts_at`` for the pass that
finds the shows due (server/webhooks/shows.py).

Revision ID: 0018_show_starting
Revises: 0017_stock_reservations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_show_starting"
down_revision: str | None = "0017_stock_reservations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("shows", sa.Column("starting_version", sa.Integer(), nullable=True))
    op.create_index("ix_shows_starts_at", "shows", ["starts_at"])


def downgrade() -> None:
    op.drop_index("ix_shows_starts_at", table_name="shows")
    with op.batch_alter_table("shows") as batch:
        batch.drop_column("starting_version")
