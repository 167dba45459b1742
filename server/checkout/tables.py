"""SQL tables of the checkout bridge, declared on the shared ``server.db.base.metadata``.

- ``checkout_snapshots``: every priced cart snapshot, per room and version (JSON text).
- ``checkout_orders``: one row per order, with the status and deadline the sweeper queries;
  ``buyer`` names the viewer of a live viewer's own order (NULL: a room-wide order). The stock
  such an order holds is in ``stock_reservations`` (``server/catalog/reservations.py``).
- ``checkout_order_events``: the order's event log; ``(order_id, seq)`` is unique, so two
  writers racing on one order cannot both append the same step.
- ``checkout_sessions``: provider sessions opened for shares. ``idempotency_key`` (share and
  attempt number) is unique: two clicks on "pay" can never record two sessions for one attempt.
- ``checkout_webhook_events``: provider event ids already handled; inserted in the same
  transaction as the order events they caused, so a duplicate delivery changes nothing.
- ``checkout_outbox``: one row per effect of an order fact (a room command, a provider call),
  inserted in the same transaction as the order events that cause it and drained by
  :mod:`server.checkout.outbox`. ``id`` is ``{order}-{seq}-{n}`` (the causing event's position),
  so it is stable and doubles as the provider idempotency key. Times are milliseconds;
  ``done_at`` is set once the effect is acknowledged (or ``dead``: it failed for good);
  ``claimed_until`` is the lease of the process running it.

No card data has a column here: coshop only stores ids, amounts and statuses. Must not hold
queries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.catalog.reservations import reservations  # noqa: F401  # held with the orders
from server.db.base import metadata

__all__ = ["order_events", "orders", "outbox", "sessions", "snapshots", "webhook_events"]

ID = 64

snapshots = Table(
    "checkout_snapshots",
    metadata,
    Column("room_id", String(ID), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("ready", Boolean, nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("room_id", "version"),
)

orders = Table(
    "checkout_orders",
    metadata,
    Column("order_id", String(ID), nullable=False),
    Column("room_id", String(ID), nullable=False),
    Column("merchant_id", String(ID), nullable=False),
    Column("snapshot_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("deadline", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # a live viewer's own order: the viewer (rooms/rules/viewer_orders.py); NULL: the room's
    Column("buyer", String(ID), nullable=True),
    PrimaryKeyConstraint("order_id"),
    Index("ix_checkout_orders_room", "room_id"),
    Index("ix_checkout_orders_buyer", "room_id", "buyer"),
    Index("ix_checkout_orders_status", "status", "deadline"),
)

order_events = Table(
    "checkout_order_events",
    metadata,
    Column("order_id", String(ID), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    PrimaryKeyConstraint("order_id", "seq"),
)

sessions = Table(
    "checkout_sessions",
    metadata,
    Column("session_id", String(255), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("order_id", String(ID), nullable=False),
    Column("share_id", String(80), nullable=False),
    Column("payer", String(ID), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("url", String(2048), nullable=True),
    Column("payment_intent", String(255), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("session_id"),
    UniqueConstraint("idempotency_key"),
    Index("ix_checkout_sessions_order", "order_id"),
    Index("ix_checkout_sessions_intent", "payment_intent"),
)

webhook_events = Table(
    "checkout_webhook_events",
    metadata,
    Column("provider", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    Column("result", String(64), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
)

outbox = Table(
    "checkout_outbox",
    metadata,
    Column("id", String(96), nullable=False),
    Column("order_id", String(ID), nullable=False),
    Column("room_id", String(ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claimed_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_error", String(64), nullable=True),
    Column("done_at", BigInteger, nullable=True),
    Column("dead", Boolean, nullable=False),
    PrimaryKeyConstraint("id"),
    Index("ix_checkout_outbox_due", "done_at", "next_attempt_at"),
    Index("ix_checkout_outbox_room", "room_id", "done_at"),
)
