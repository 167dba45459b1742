"""The sandbox's own SQLite storage: objects, events, webhook deliveries, idempotency records.

It is a test double of an external system, so it has its own ``MetaData`` (never part of
coshop's schema or migrations) and creates its tables at start. Objects are stored as the JSON
documents the API returns, plus a private JSON part the API never shows. One writer at a time:
every transaction holds an ``asyncio.Lock``, which is all SQLite needs here.

This module knows nothing of HTTP, Stripe semantics or webhooks' meaning; it stores and finds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["Delivery", "SandboxStore", "StoredObject", "Transaction"]

Doc = dict[str, Any]

_metadata = sa.MetaData()

_objects = sa.Table(
    "sandbox_objects",
    _metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False, index=True),
    sa.Column("doc", sa.Text, nullable=False),
    sa.Column("private", sa.Text, nullable=False),
    sa.Column("status", sa.String(32), nullable=True),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("async_due", sa.Float, nullable=True),
    sa.Column("seq", sa.Integer, nullable=False),
)

_events = sa.Table(
    "sandbox_events",
    _metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

_deliveries = sa.Table(
    "sandbox_deliveries",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # normal | duplicate | replay
    sa.Column("state", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("held", sa.Boolean, nullable=False, default=False),
    sa.Column("wrong_secret", sa.Boolean, nullable=False, default=False),
    sa.Column("fixed_header", sa.Text, nullable=True),  # replays resend an old header verbatim
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_header", sa.Text, nullable=True),
    sa.Column("last_attempt_at", sa.Float, nullable=True),
)

_idempotency = sa.Table(
    "sandbox_idempotency",
    _metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)

_settings = sa.Table(
    "sandbox_settings",
    _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class StoredObject:
    id: str
    kind: str
    doc: Doc
    private: Doc


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: str
    kind: str
    state: str
    due_at: float
    held: bool
    wrong_secret: bool
    fixed_header: str | None
    attempts: int
    last_status: int | None
    last_error: str | None
    last_header: str | None
    last_attempt_at: float | None

    def to_dict(self) -> Doc:
        return {
            "id": self.id,
            "event": self.event_id,
            "kind": self.kind,
            "state": self.state,
            "due_at": self.due_at,
            "held": self.held,
            "wrong_secret": self.wrong_secret,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "last_header": self.last_header,
            "last_attempt_at": self.last_attempt_at,
        }


def _delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        kind=row.kind,
        state=row.state,
        due_at=row.due_at,
        held=bool(row.held),
        wrong_secret=bool(row.wrong_secret),
        fixed_header=row.fixed_header,
        attempts=row.attempts,
        last_status=row.last_status,
        last_error=row.last_error,
        last_header=row.last_header,
        last_attempt_at=row.last_attempt_at,
    )


class Transaction:
    """Reads and writes inside one database transaction (see :meth:`SandboxStore.transaction`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # -- objects -------------------------------------------------------------------------
    async def get(self, kind: str, object_id: str) -> StoredObject | None:
        row = (
            await self._conn.execute(
                sa.select(_objects).where(_objects.c.id == object_id, _objects.c.kind == kind)
            )
        ).first()
        if row is None:
            return None
        return StoredObject(row.id, row.kind, json.loads(row.doc), json.loads(row.private))

    async def put(
        self,
        kind: str,
        doc: Doc,
        private: Doc | None = None,
        *,
        expires_at: float | None = None,
        async_due: float | None = None,
    ) -> None:
        """Insert or replace the object ``doc["id"]``."""
        values = {
            "kind": kind,
            "doc": json.dumps(doc),
            "private": json.dumps(private or {}),
            "status": doc.get("status"),
            "expires_at": expires_at,
            "async_due": async_due,
        }
        updated = await self._conn.execute(
            sa.update(_objects).where(_objects.c.id == doc["id"]).values(**values)
        )
        if updated.rowcount == 0:
            seq = (
                await self._conn.execute(sa.select(sa.func.count()).select_from(_objects))
            ).scalar_one()
            await self._conn.execute(sa.insert(_objects).values(id=doc["id"], seq=seq, **values))

    async def sessions_to_expire(self, now: float) -> list[str]:
        rows = await self._conn.execute(
            sa.select(_objects.c.id)
            .where(
                _objects.c.kind == "checkout.session",
                _objects.c.status == "open",
                _objects.c.expires_at <= now,
            )
            .order_by(_objects.c.seq)
        )
        return [row.id for row in rows]

    async def sessions_with_async_due(self, now: float) -> list[str]:
        rows = await self._conn.execute(
            sa.select(_objects.c.id)
            .where(_objects.c.kind == "checkout.session", _objects.c.async_due <= now)
            .order_by(_objects.c.seq)
        )
        return [row.id for row in rows]

    # -- events and deliveries -----------------------------------------------------------
    async def add_event(self, event_id: str, event_type: str, created: int, body: bytes) -> None:
        await self._conn.execute(
            sa.insert(_events).values(id=event_id, type=event_type, created=created, body=body)
        )

    async def event_body(self, event_id: str) -> bytes | None:
        row = (
            await self._conn.execute(sa.select(_events.c.body).where(_events.c.id == event_id))
        ).first()
        return None if row is None else bytes(row.body)

    async def events(self) -> list[tuple[str, str, int, bytes]]:
        rows = await self._conn.execute(sa.select(_events).order_by(_events.c.seq))
        return [(row.id, row.type, row.created, bytes(row.body)) for row in rows]

    async def add_delivery(
        self,
        event_id: str,
        *,
        kind: str,
        due_at: float,
        held: bool = False,
        wrong_secret: bool = False,
        fixed_header: str | None = None,
    ) -> int:
        result = await self._conn.execute(
            sa.insert(_deliveries).values(
                event_id=event_id,
                kind=kind,
                state="pending",
                due_at=due_at,
                held=held,
                wrong_secret=wrong_secret,
                fixed_header=fixed_header,
                attempts=0,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def release_held(self, due_at: float) -> None:
        """Make every held delivery due at ``due_at`` (just after the one that overtook it)."""
        await self._conn.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.held.is_(True), _deliveries.c.state == "pending")
            .values(held=False, due_at=due_at)
        )

    async def has_held(self) -> bool:
        row = (
            await self._conn.execute(
                sa.select(_deliveries.c.id).where(
                    _deliveries.c.held.is_(True), _deliveries.c.state == "pending"
                )
            )
        ).first()
        return row is not None

    async def last_delivered(self) -> Delivery | None:
        row = (
            await self._conn.execute(
                sa.select(_deliveries)
                .where(_deliveries.c.state == "delivered", _deliveries.c.kind != "replay")
                .order_by(_deliveries.c.last_attempt_at.desc(), _deliveries.c.id.desc())
            )
        ).first()
        return None if row is None else _delivery(row)

    async def due_deliveries(self, now: float) -> list[Delivery]:
        rows = await self._conn.execute(
            sa.select(_deliveries)
            .where(_deliveries.c.state == "pending", _deliveries.c.due_at <= now)
            .order_by(_deliveries.c.due_at, _deliveries.c.id)
        )
        return [_delivery(row) for row in rows]

    async def next_due(self) -> float | None:
        value = (
            await self._conn.execute(
                sa.select(sa.func.min(_deliveries.c.due_at)).where(_deliveries.c.state == "pending")
            )
        ).scalar_one_or_none()
        return None if value is None else float(value)

    async def record_attempt(
        self,
        delivery_id: int,
        *,
        state: str,
        attempts: int,
        due_at: float,
        status: int | None,
        error: str | None,
        header: str | None,
        at: float,
    ) -> None:
        await self._conn.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == delivery_id)
            .values(
                state=state,
                attempts=attempts,
                due_at=due_at,
                last_status=status,
                last_error=error,
                last_header=header,
                last_attempt_at=at,
            )
        )

    async def deliveries(self) -> list[Delivery]:
        rows = await self._conn.execute(sa.select(_deliveries).order_by(_deliveries.c.id))
        return [_delivery(row) for row in rows]

    # -- idempotency and settings -------------------------------------------------------------
    async def idempotent_response(self, key: str) -> tuple[str, int, str] | None:
        row = (
            await self._conn.execute(sa.select(_idempotency).where(_idempotency.c.key == key))
        ).first()
        return None if row is None else (row.fingerprint, row.status, row.body)

    async def remember_response(self, key: str, fingerprint: str, status: int, body: str) -> None:
        await self._conn.execute(
            sa.insert(_idempotency).values(
                key=key, fingerprint=fingerprint, status=status, body=body
            )
        )

    async def get_setting(self, name: str) -> Any:
        row = (
            await self._conn.execute(sa.select(_settings.c.value).where(_settings.c.name == name))
        ).first()
        return None if row is None else json.loads(row.value)

    async def set_setting(self, name: str, value: Any) -> None:
        text = json.dumps(value)
        updated = await self._conn.execute(
            sa.update(_settings).where(_settings.c.name == name).values(value=text)
        )
        if updated.rowcount == 0:
            await self._conn.execute(sa.insert(_settings).values(name=name, value=text))


class SandboxStore:
    """The database of one sandbox process. Build with :meth:`open`, end with :meth:`close`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SandboxStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        # payment details are bound parameters: keep them out of a logged database error
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", hide_parameters=True)
        async with engine.begin() as conn:
            await conn.run_sync(_metadata.create_all)
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock, self._engine.begin() as conn:
            yield Transaction(conn)
