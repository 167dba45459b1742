"""SQL of outbound webhooks: endpoints, deliveries and their attempts (:mod:`.tables`).

The feed (:mod:`server.webhooks.feed`) writes deliveries with :func:`insert_deliveries` on its
own transaction; the worker (:mod:`server.webhooks.worker`) takes due ones, leases one at a time
(:meth:`WebhookStore.claim`, a conditional ``UPDATE``: two processes never send one delivery at
once) and settles it with its attempt in one transaction. A room's deliveries to one endpoint
go first in, first out: :meth:`WebhookStore.due` holds a delivery while an earlier one of the
same room to the same endpoint is not done.

Knows SQL only: what a message says is :mod:`server.webhooks.events`' business.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.engine import begin_write
from server.webhooks.tables import attempts, deliveries, endpoints

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "DisabledReason",
    "Endpoint",
    "WebhookStats",
    "WebhookStore",
    "delivery_id",
    "endpoints_of",
    "insert_deliveries",
]

DeliveryStatus = Literal["pending", "retrying", "delivered", "failed"]
DisabledReason = Literal["merchant", "failing"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    merchant_id: str
    url: str
    events: tuple[str, ...]
    description: str
    secret: str
    previous_secret: str | None
    previous_until: int | None
    enabled: bool
    created_at: int
    updated_at: int
    failing_since: int | None = None  # the first failed attempt since the last 2xx
    disabled_at: int | None = None
    disabled_reason: DisabledReason | None = None

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events

    def keys(self, now_ms: int) -> tuple[str, ...]:
        """The secrets deliveries are signed with now: the current one, and the previous one
        during its grace period."""
        if self.previous_secret and self.previous_until and now_ms < self.previous_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    endpoint_id: str
    message_id: str
    event_type: str
    room_id: str
    position: int
    payload: str
    attempts: int  # tries started before the one now running
    next_attempt_at: int
    created_at: int
    last_status: int | None
    last_error: str | None
    done_at: int | None
    dead: bool

    @property
    def status(self) -> DeliveryStatus:
        if self.done_at is not None:
            return "failed" if self.dead else "delivered"
        return "retrying" if self.attempts else "pending"


@dataclass(frozen=True, slots=True)
class WebhookStats:
    """What ``/metrics`` shows of the webhook tables (every process's deliveries)."""

    pending: int  # deliveries of enabled endpoints not done yet
    oldest_pending_at: int | None  # ms: when the oldest of them was written
    disabled: Mapping[str, int]  # disabled endpoints by reason


@dataclass(frozen=True, slots=True)
class Attempt:
    n: int
    at: int
    status: int | None  # the HTTP status, None when no answer came
    error: str | None
    duration_ms: int
    response: str | None  # the start of the answer's body


def _text(value: str | None, limit: int) -> str | None:
    """A receiver's words as a column keeps them: at most ``limit`` characters and no NUL
    (PostgreSQL's text refuses it; a binary answer's body has them)."""
    return None if value is None else value.replace("\x00", "\ufffd")[:limit]


def delivery_id(endpoint_id: str, message_id: str) -> str:
    """The delivery of one message to one endpoint: the same pair always makes the same id, so
    writing it twice is refused by the primary key."""
    digest = hashlib.sha256(f"{endpoint_id}/{message_id}".encode()).hexdigest()
    return "dlv_" + digest[:32]


def _endpoint(row: Mapping[Any, Any]) -> Endpoint:
    return Endpoint(
        endpoint_id=row["endpoint_id"],
        merchant_id=row["merchant_id"],
        url=row["url"],
        events=tuple(json.loads(row["events"])),
        description=row["description"],
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_until=row["previous_until"],
        enabled=bool(row["enabled"]),
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
        failing_since=row["failing_since"],
        disabled_at=row["disabled_at"],
        disabled_reason=_reason(row["disabled_reason"]),
    )


def _reason(value: object) -> DisabledReason | None:
    if value == "merchant" or value == "failing":
        return value
    return None


def _delivery(row: Mapping[Any, Any]) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        endpoint_id=row["endpoint_id"],
        message_id=row["message_id"],
        event_type=row["event_type"],
        room_id=row["room_id"],
        position=int(row["position"]),
        payload=row["payload"],
        attempts=int(row["attempts"]),
        next_attempt_at=int(row["next_attempt_at"]),
        created_at=int(row["created_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        done_at=row["done_at"],
        dead=bool(row["dead"]),
    )


async def endpoints_of(conn: AsyncConnection, merchant_id: str) -> list[Endpoint]:
    """The merchant's enabled endpoints, on ``conn``'s transaction."""
    result = await conn.execute(
        select(endpoints)
        .where(endpoints.c.merchant_id == merchant_id, endpoints.c.enabled.is_(True))
        .order_by(endpoints.c.created_at, endpoints.c.endpoint_id)
    )
    return [_endpoint(row._mapping) for row in result]


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new deliveries (``delivery_id, endpoint_id, message_id, event_type, room_id,
    position, payload, created_at``), due now, on ``conn``'s transaction."""
    if rows:
        await conn.execute(
            insert(deliveries),
            [
                {
                    **row,
                    "attempts": 0,
                    "next_attempt_at": row["created_at"],
                    "claimed_until": None,
                    "last_status": None,
                    "last_error": None,
                    "done_at": None,
                    "dead": False,
                }
                for row in rows
            ],
        )


class WebhookStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # ---- endpoints ---------------------------------------------------------------------------
    async def create_endpoint(self, endpoint: Endpoint) -> None:
        values = {
            "endpoint_id": endpoint.endpoint_id,
            "merchant_id": endpoint.merchant_id,
            "url": endpoint.url,
            "events": json.dumps(list(endpoint.events)),
            "description": endpoint.description,
            "secret": endpoint.secret,
            "previous_secret": endpoint.previous_secret,
            "previous_until": endpoint.previous_until,
            "enabled": endpoint.enabled,
            "created_at": endpoint.created_at,
            "updated_at": endpoint.updated_at,
            "failing_since": endpoint.failing_since,
            "disabled_at": endpoint.disabled_at,
            "disabled_reason": endpoint.disabled_reason,
        }
        async with begin_write(self.engine) as conn:
            await conn.execute(insert(endpoints).values(**values))

    async def endpoints(self, merchant_id: str) -> list[Endpoint]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(endpoints)
                .where(endpoints.c.merchant_id == merchant_id)
                .order_by(endpoints.c.created_at, endpoints.c.endpoint_id)
            )
            return [_endpoint(row._mapping) for row in result]

    async def endpoint(self, endpoint_id: str, merchant_id: str | None = None) -> Endpoint | None:
        query = select(endpoints).where(endpoints.c.endpoint_id == endpoint_id)
        if merchant_id is not None:
            query = query.where(endpoints.c.merchant_id == merchant_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _endpoint(row._mapping)

    async def count(self, merchant_id: str) -> int:
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(func.count()).where(endpoints.c.merchant_id == merchant_id)
            )
        return int(found or 0)

    async def update_endpoint(self, endpoint_id: str, changes: Mapping[str, Any]) -> None:
        """Set columns of one endpoint (``events`` as a sequence)."""
        values = dict(changes)
        if "events" in values:
            values["events"] = json.dumps(list(values["events"]))
        async with begin_write(self.engine) as conn:
            await conn.execute(
                update(endpoints).where(endpoints.c.endpoint_id == endpoint_id).values(**values)
            )

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Forget the endpoint, its deliveries and their attempts."""
        ids = select(deliveries.c.delivery_id).where(deliveries.c.endpoint_id == endpoint_id)
        async with begin_write(self.engine) as conn:
            await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(ids)))
            await conn.execute(delete(deliveries).where(deliveries.c.endpoint_id == endpoint_id))
            await conn.execute(delete(endpoints).where(endpoints.c.endpoint_id == endpoint_id))

    # ---- the delivery log --------------------------------------------------------------------
    async def deliveries(
        self, endpoint_id: str, *, limit: int, before: int | None = None
    ) -> list[Delivery]:
        """The endpoint's deliveries, newest first (``before``: positions below it)."""
        query = select(deliveries).where(deliveries.c.endpoint_id == endpoint_id)
        if before is not None:
            query = query.where(deliveries.c.position < before)
        query = query.order_by(deliveries.c.position.desc(), deliveries.c.delivery_id.desc()).limit(
            limit
        )
        async with self.engine.connect() as conn:
            return [_delivery(row._mapping) for row in await conn.execute(query)]

    async def delivery(self, delivery_id: str) -> Delivery | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(deliveries).where(deliveries.c.delivery_id == delivery_id)
                )
            ).first()
        return None if row is None else _delivery(row._mapping)

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.n)
            )
            return [
                Attempt(r.n, r.at, r.status, r.error, r.duration_ms, r.response) for r in result
            ]

    async def resend(self, delivery_id: str, now_ms: int) -> None:
        """Send the delivery again (same message id and body), whatever became of it."""
        async with begin_write(self.engine) as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id)
                .values(done_at=None, dead=False, next_attempt_at=now_ms, claimed_until=None)
            )

    # ---- the worker --------------------------------------------------------------------------
    async def due(self, now_ms: int, limit: int) -> list[Delivery]:
        """Deliveries to send now, oldest first; each room's in order per endpoint."""
        earlier = deliveries.alias("earlier")
        blocked = exists().where(
            earlier.c.endpoint_id == deliveries.c.endpoint_id,
            earlier.c.room_id == deliveries.c.room_id,
            earlier.c.done_at.is_(None),
            or_(
                earlier.c.position < deliveries.c.position,
                and_(
                    earlier.c.position == deliveries.c.position,
                    earlier.c.delivery_id < deliveries.c.delivery_id,
                ),
            ),
        )
        query = (
            select(deliveries)
            .where(
                deliveries.c.done_at.is_(None),
                deliveries.c.next_attempt_at <= now_ms,
                or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now_ms),
                deliveries.c.endpoint_id.in_(
                    select(endpoints.c.endpoint_id).where(endpoints.c.enabled.is_(True))
                ),
                ~blocked,
            )
            .order_by(deliveries.c.position, deliveries.c.delivery_id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_delivery(row._mapping) for row in await conn.execute(query)]

    async def claim(self, delivery_id: str, now_ms: int, lease_ms: int) -> bool:
        """Lease one delivery to this caller; ``False`` if someone else has it (or it is done)."""
        async with begin_write(self.engine) as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.done_at.is_(None),
                    or_(
                        deliveries.c.claimed_until.is_(None),
                        deliveries.c.claimed_until < now_ms,
                    ),
                )
                .values(claimed_until=now_ms + lease_ms, attempts=deliveries.c.attempts + 1)
            )
            return int(result.rowcount) == 1

    async def settle(
        self,
        delivery_id: str,
        attempt: Attempt,
        *,
        done: bool,
        dead: bool = False,
        next_at: int | None = None,
        disable_after_ms: int | None = None,
    ) -> bool:
        """Record ``attempt`` and its outcome: delivered (``done``), given up (``dead``) or due
        again at ``next_at``. A delivery deleted meanwhile (its endpoint was) is left alone.

        In the same transaction the endpoint's run of failures is followed: a 2xx ends it, a
        failed attempt starts one (``failing_since``) unless one is running, and a failed
        attempt ``disable_after_ms`` or more after the run began disables the endpoint (reason
        ``failing``). True when this call disabled it."""
        ok = attempt.status is not None and 200 <= attempt.status < 300
        values: dict[str, Any] = {
            "claimed_until": None,
            "last_status": attempt.status,
            "last_error": _text(attempt.error, 200),
        }
        if done:
            values.update(done_at=attempt.at, dead=dead)
        else:
            assert next_at is not None
            values["next_attempt_at"] = next_at
        async with begin_write(self.engine) as conn:
            result = await conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id)
                .values(**values)
                .returning(deliveries.c.endpoint_id)
            )
            endpoint_id = result.scalar()
            if endpoint_id is None:
                return False
            n = await conn.scalar(select(func.count()).where(attempts.c.delivery_id == delivery_id))
            await conn.execute(
                insert(attempts).values(
                    delivery_id=delivery_id,
                    n=int(n or 0) + 1,
                    at=attempt.at,
                    status=attempt.status,
                    error=_text(attempt.error, 200),
                    duration_ms=attempt.duration_ms,
                    response=_text(attempt.response, 500),
                )
            )
            mine = endpoints.c.endpoint_id == endpoint_id
            if ok:
                await conn.execute(
                    update(endpoints)
                    .where(mine, endpoints.c.failing_since.is_not(None))
                    .values(failing_since=None)
                )
                return False
            await conn.execute(
                update(endpoints)
                .where(mine, endpoints.c.failing_since.is_(None))
                .values(failing_since=attempt.at)
            )
            if disable_after_ms is None:
                return False
            disabled = await conn.execute(
                update(endpoints)
                .where(
                    mine,
                    endpoints.c.enabled.is_(True),
                    endpoints.c.failing_since <= attempt.at - disable_after_ms,
                )
                .values(
                    enabled=False,
                    disabled_reason="failing",
                    disabled_at=attempt.at,
                    updated_at=attempt.at,
                )
            )
            return int(disabled.rowcount) == 1

    async def release(self, delivery_id: str) -> None:
        """Hand a delivery back at once (the process is stopping mid-send)."""
        async with begin_write(self.engine) as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id, deliveries.c.done_at.is_(None))
                .values(claimed_until=None)
            )

    async def next_due(self) -> int | None:
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.done_at.is_(None))
            )
        return None if found is None else int(found)

    async def stats(self) -> WebhookStats:
        """Pending deliveries of enabled endpoints, when the oldest was written, and disabled
        endpoints by reason."""
        live = select(endpoints.c.endpoint_id).where(endpoints.c.enabled.is_(True))
        async with self.engine.connect() as conn:
            pending = (
                await conn.execute(
                    select(func.count(), func.min(deliveries.c.created_at)).where(
                        deliveries.c.done_at.is_(None), deliveries.c.endpoint_id.in_(live)
                    )
                )
            ).one()
            disabled = await conn.execute(
                select(endpoints.c.disabled_reason, func.count())
                .where(endpoints.c.enabled.is_(False))
                .group_by(endpoints.c.disabled_reason)
            )
            by_reason: dict[str, int] = {}
            for reason, n in disabled:
                key = str(reason or "merchant")
                by_reason[key] = by_reason.get(key, 0) + int(n)
        oldest = None if pending[1] is None else int(pending[1])
        return WebhookStats(int(pending[0] or 0), oldest, by_reason)

    async def prune(self, before_ms: int) -> None:
        """Forget deliveries (and attempts) settled before ``before_ms``."""
        old = select(deliveries.c.delivery_id).where(
            deliveries.c.done_at.is_not(None), deliveries.c.done_at < before_ms
        )
        async with begin_write(self.engine) as conn:
            await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(old)))
            await conn.execute(
                delete(deliveries).where(
                    deliveries.c.done_at.is_not(None), deliveries.c.done_at < before_ms
                )
            )
