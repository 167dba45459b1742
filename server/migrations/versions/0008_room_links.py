"""Room links: the host's manage link and personal invites (issue 13, items 4 and 5).

Revision ID: 0008_room_links
Revises: 0007_identity

``invites`` gains its ``kind`` ("shared" for a link many people use, "personal" for one named
person and one use; existing invites are shared links), the invitee's ``name``, ``disabled``
(a shared link the host switched off), ``replaced_by`` (the link a rotation replaced it with)
and who used a personal invite (``used_by``, ``used_name``). ``room_manage_links`` keeps the
SHA-256 of each room's manage-link secret, never the secret (docs/invites.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_room_links"
down_revision: str | None = "0007_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INVITE_COLUMNS = ("kind", "name", "disabled", "replaced_by", "used_by", "used_name")


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN on both databases (see 0007: a batch copy of a parent
    # table on SQLite would cascade-delete its children).
    op.add_column(
        "invites", sa.Column("kind", sa.String(16), nullable=False, server_default="shared")
    )
    op.add_column("invites", sa.Column("name", sa.String(200), nullable=True))
    op.add_column(
        "invites",
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("invites", sa.Column("replaced_by", sa.String(64), nullable=True))
    op.add_column("invites", sa.Column("used_by", sa.String(64), nullable=True))
    op.add_column("invites", sa.Column("used_name", sa.String(200), nullable=True))
    op.create_table(
        "room_manage_links",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.room_id"],
            name=op.f("fk_room_manage_links_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_room_manage_links")),
    )


def downgrade() -> None:
    op.drop_table("room_manage_links")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy (see upgrade).
    for name in reversed(_INVITE_COLUMNS):
        op.drop_column("invites", name)
