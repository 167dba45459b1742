"""Identity: merchant-signed customers, guest devices, who may join a room.

Revision ID: 0007_identity
Revises: 0006_catalog_revision

``merchants`` gains the customer-token keys (an HS256 signing secret, the previous one during
a rotation's grace period, an ES256 public key) and the shop's sign-in URL; ``rooms`` gains its
``join_policy`` (existing rooms: anyone with a link, as before); ``room_identities`` maps an
identity's hash to its member id in a room (docs/merchant-identity.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_identity"
down_revision: str | None = "0006_catalog_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MERCHANT_COLUMNS = (
    "signing_secret",
    "previous_signing_secret",
    "signing_rotated_at",
    "public_key",
    "sign_in_url",
)


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN on both databases: a batch copy of ``merchants`` on SQLite
    # would drop the old table, and its ON DELETE CASCADE children (rooms, invites) with it.
    op.add_column("merchants", sa.Column("signing_secret", sa.String(128), nullable=True))
    op.add_column("merchants", sa.Column("previous_signing_secret", sa.String(128), nullable=True))
    op.add_column("merchants", sa.Column("signing_rotated_at", sa.BigInteger(), nullable=True))
    op.add_column("merchants", sa.Column("public_key", sa.Text(), nullable=True))
    op.add_column("merchants", sa.Column("sign_in_url", sa.String(2048), nullable=True))
    op.add_column(
        "rooms",
        sa.Column("join_policy", sa.String(32), nullable=False, server_default="anyone_with_link"),
    )
    op.create_table(
        "room_identities",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("bound_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.room_id"],
            name=op.f("fk_room_identities_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "identity", name=op.f("pk_room_identities")),
    )


def downgrade() -> None:
    op.drop_table("room_identities")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy: copying ``rooms`` or
    # ``merchants`` drops the old table, and ON DELETE CASCADE would empty its children.
    op.drop_column("rooms", "join_policy")
    for name in reversed(_MERCHANT_COLUMNS):
        op.drop_column("merchants", name)
