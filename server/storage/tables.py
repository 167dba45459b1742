"""The storage tables: the room event log, op outcomes, snapshots, merchants, rooms, invites.

This module only declares tables on the shared ``server.db.base.metadata``; migrations
``0001_storage``, ``0005_op_digest``, ``0007_identity`` and ``0008_room_links`` create exactly these
(a test compares them). It must not run queries.

JSON payloads (``data``, ``state``, ``origins``) are stored as TEXT, not JSONB: the same
bytes round-trip on SQLite and PostgreSQL, and coshop never queries inside them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
)

from server.db.base import metadata

__all__ = [
    "invites",
    "merchants",
    "publishable_keys",
    "room_events",
    "room_identities",
    "room_manage_links",
    "room_ops",
    "room_snapshots",
    "rooms",
]

ID = 64
"""Length of every id column (room, merchant, invite)."""

room_events = Table(
    "room_events",
    metadata,
    Column("room_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    # The primary key is the (room_id, seq) uniqueness rule *and* the index every read uses.
    PrimaryKeyConstraint("room_id", "seq"),
)
"""The durable, per-room ordered log: the source of truth (DESIGN.md §3)."""

room_ops = Table(
    "room_ops",
    metadata,
    Column("room_id", String(ID), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("op_id", String(128), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
    # sha256 (hex) of the op's name and arguments; NULL for ops recorded without one (before
    # migration 0005, or by a writer that passes none). Last, so older rows bind unchanged.
    Column("args_digest", String(64), nullable=True),
    PrimaryKeyConstraint("room_id", "actor", "op_id"),
)
"""Client op ids already applied, with the seq range they produced and a digest of their
arguments (for exactly-once retries, and to refuse an op id reused with other arguments)."""

room_snapshots = Table(
    "room_snapshots",
    metadata,
    Column("room_id", String(ID), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
)
"""The latest snapshot of each room's state, taken at ``seq``."""

merchants = Table(
    "merchants",
    metadata,
    Column("merchant_id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("origins", Text, nullable=False),
    Column("api_key_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    # Customer identity (migration 0007, docs/merchant-identity.md). The HS256 signing secret
    # is kept as is: verifying an HMAC needs it. The previous one stays valid for a grace period
    # after a rotation. ``public_key`` is an ES256 (P-256) public key in PEM.
    Column("signing_secret", String(128), nullable=True),
    Column("previous_signing_secret", String(128), nullable=True),
    Column("signing_rotated_at", BigInteger, nullable=True),
    Column("public_key", Text, nullable=True),
    Column("sign_in_url", String(2048), nullable=True),
)
"""Merchants. Only a SHA-256 of the API key is kept."""

rooms = Table(
    "rooms",
    metadata,
    Column("room_id", String(ID), primary_key=True),
    Column(
        "merchant_id",
        String(ID),
        ForeignKey("merchants.merchant_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("closed", Boolean, nullable=False),
    # Who may join: "anyone_with_link" or "customers_only" (merchant-signed customers).
    Column("join_policy", String(32), nullable=False, server_default="anyone_with_link"),
    Index("ix_rooms_merchant_created", "merchant_id", "created_at"),
)
"""Rooms a merchant created (the room's contents live in its event log)."""

invites = Table(
    "invites",
    metadata,
    Column("invite_id", String(ID), primary_key=True),
    Column(
        "room_id",
        String(ID),
        ForeignKey("rooms.room_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("role", String(32), nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("max_uses", Integer, nullable=True),
    Column("uses", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False),
    # Room links (migration 0008): a "shared" link many people use, or a "personal" invite for
    # one named person and one use (``name`` prefills the join page; ``used_by``/``used_name``
    # say who used it). A shared link can be switched off and on (``disabled``) or rotated: the
    # old one is revoked and names its successor in ``replaced_by``.
    Column("kind", String(16), nullable=False, server_default="shared"),
    Column("name", String(200), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("replaced_by", String(ID), nullable=True),
    Column("used_by", String(ID), nullable=True),
    Column("used_name", String(200), nullable=True),
)
"""Invite links into a room: kind, role granted, expiry, use limit and count, on/off, rotation."""

room_identities = Table(
    "room_identities",
    metadata,
    Column(
        "room_id",
        String(ID),
        ForeignKey("rooms.room_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("identity", String(64), nullable=False),
    Column("member_id", String(ID), nullable=False),
    Column("bound_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("room_id", "identity"),
    # "Your rooms" looks an identity's rooms up by the identity alone (migration 0009).
    Index("ix_room_identities_identity", "identity"),
)
"""Which member an identity is in a room. ``identity`` is the hex SHA-256 of the identity key
(``customer:<merchant>:<sub>`` or ``guest:<sha256 of the device secret>``): neither a
customer id nor a device secret is stored (server/identity.py)."""

publishable_keys = Table(
    "publishable_keys",
    metadata,
    Column(
        "merchant_id",
        String(ID),
        ForeignKey("merchants.merchant_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(80), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)
"""The merchant's publishable key (``pk_…``, migration 0009): public by design (it sits in the
shop's pages), so it is kept as is; it only starts rooms for its merchant from the merchant's
registered origins (server/api/shopper_rooms.py)."""

room_manage_links = Table(
    "room_manage_links",
    metadata,
    Column(
        "room_id",
        String(ID),
        ForeignKey("rooms.room_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
"""The host's manage link of each room (migration 0008): only the hex SHA-256 of its secret.
Rotating it replaces the row's hash, so the previous link stops working at once."""
