"""SQL tables of outbound merchant webhooks, declared on the shared ``server.db.base.metadata``.

- ``webhook_endpoints``: a merchant's receivers: URL, the event types it wants (JSON list),
  its Standard Webhooks secret (``whsec_…``; kept as is, signing needs it) and, for a day after a
  rotation, the previous one (deliveries are signed with both meanwhile). ``failing_since``:
  when the current run of failed attempts began (NULL after a 2xx); ``disabled_at`` and
  ``disabled_reason`` (``merchant``: switched off through the API; ``failing``: every attempt
  failed for ``disable_after_s``, :mod:`server.webhooks.worker`) while it is disabled.
- ``webhook_feed``: how far each log was turned into deliveries: ``(source, stream_id)`` →
  ``seq``, source ``room`` (``room_events``) or ``order`` (``checkout_order_events``). Moved in
  the transaction that writes the deliveries, so a log entry becomes deliveries exactly once.
- ``webhook_deliveries``: one message to one endpoint, with its body as sent (so retries and
  "resend" send the same bytes) and the worker's columns (attempts, next try, lease, done,
  dead). ``position`` orders a room's messages; the worker never sends one while an earlier one
  of the same room to the same endpoint is not done.
- ``webhook_attempts``: every try of a delivery: when, the HTTP status or the error, how long.

Times are milliseconds. Must not hold queries (:mod:`server.webhooks.store` does).
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
)

from server.db.base import metadata

__all__ = ["attempts", "deliveries", "endpoints", "feed"]

ID = 64

endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint_id", String(ID), nullable=False),
    Column("merchant_id", String(ID), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("events", Text, nullable=False),
    Column("description", String(200), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_until", BigInteger, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("failing_since", BigInteger, nullable=True),
    Column("disabled_at", BigInteger, nullable=True),
    Column("disabled_reason", String(16), nullable=True),
    PrimaryKeyConstraint("endpoint_id"),
    Index("ix_webhook_endpoints_merchant", "merchant_id"),
)

feed = Table(
    "webhook_feed",
    metadata,
    Column("source", String(8), nullable=False),
    Column("stream_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("source", "stream_id"),
)

deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(96), nullable=False),
    Column("endpoint_id", String(ID), nullable=False),
    Column("message_id", String(96), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("room_id", String(ID), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claimed_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("done_at", BigInteger, nullable=True),
    Column("dead", Boolean, nullable=False),
    PrimaryKeyConstraint("delivery_id"),
    Index("ix_webhook_deliveries_due", "done_at", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "position"),
    Index("ix_webhook_deliveries_room", "endpoint_id", "room_id", "done_at"),
)

attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(96), nullable=False),
    Column("n", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", String(200), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("response", String(500), nullable=True),
    PrimaryKeyConstraint("delivery_id", "n"),
)
