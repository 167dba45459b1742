"""Store mode and the widget's blocked sites: four small tables and their queries (issue 16).

This module is for: storing what the merchant console and the associates' page read —

- ``merchant_blocked_origins``: the sites a merchant's widget was opened on without being
  registered (origin, first and last seen, how many times), at most :data:`KEEP_BLOCKED` per
  merchant, the least recently seen dropped first;
- ``merchant_stores``: a merchant's store branding (name, logo URL) shown on the QR sign, the
  start page and in store rooms;
- ``store_associates``: the store associates' sign-in links (only the SHA-256 of each link's
  secret is kept, like API keys and manage links);
- ``store_rooms``: the rooms shoppers started in the store (from the QR sign) and when they
  asked for help.

It must not: decide who may do what, rate-limit, read the clock (callers pass ``now``), or know
HTTP (``server.api.stores`` does). Migration ``0015_merchant_store`` creates exactly these tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.base import metadata
from server.db.engine import begin_write
from server.storage._sql import translate_unavailable
from server.storage.tables import ID

__all__ = [
    "KEEP_BLOCKED",
    "Associate",
    "BlockedOrigin",
    "StoreBranding",
    "StoreRoom",
    "StoreStore",
    "blocked_origins",
    "hash_associate_key",
    "merchant_stores",
    "store_associates",
    "store_rooms",
]

KEEP_BLOCKED = 50
"""Blocked sites kept per merchant; recording a new one beyond that drops the stalest."""
_USE_NOTED_MS = 60_000  # an associate's last use is written at most once a minute

blocked_origins = Table(
    "merchant_blocked_origins",
    metadata,
    Column(
        "merchant_id",
        String(ID),
        ForeignKey("merchants.merchant_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("origin", String(255), nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False),
    PrimaryKeyConstraint("merchant_id", "origin"),
    Index("ix_merchant_blocked_origins_seen", "merchant_id", "last_seen"),
)

merchant_stores = Table(
    "merchant_stores",
    metadata,
    Column("merchant_id", String(ID), ForeignKey("merchants.merchant_id", ondelete="CASCADE")),
    Column("name", String(80), nullable=False),
    Column("logo_url", String(2048), nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("merchant_id"),
)

store_associates = Table(
    "store_associates",
    metadata,
    Column("associate_id", String(ID), nullable=False),
    Column(
        "merchant_id",
        String(ID),
        ForeignKey("merchants.merchant_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(80), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("associate_id"),
    Index("ix_store_associates_merchant", "merchant_id", "created_at"),
)

store_rooms = Table(
    "store_rooms",
    metadata,
    Column("room_id", String(ID), ForeignKey("rooms.room_id", ondelete="CASCADE")),
    Column("merchant_id", String(ID), nullable=False),
    Column("shopper", String(80), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("help_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("room_id"),
    Index("ix_store_rooms_merchant", "merchant_id", "created_at"),
)


def hash_associate_key(key: str) -> str:
    """Hex SHA-256 of an associate's key (drawn with 256 bits: no salt needed)."""
    return hashlib.sha256(("coshop.associate.v1:" + key).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class BlockedOrigin:
    origin: str
    first_seen: int
    last_seen: int
    hits: int


@dataclass(frozen=True, slots=True)
class StoreBranding:
    merchant_id: str
    name: str
    logo_url: str | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class Associate:
    associate_id: str
    merchant_id: str
    name: str
    created_at: int
    last_used_at: int | None


@dataclass(frozen=True, slots=True)
class StoreRoom:
    room_id: str
    merchant_id: str
    shopper: str
    created_at: int
    help_at: int | None


class StoreStore:
    """The four tables on an :class:`AsyncEngine` (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # -- blocked origins -------------------------------------------------------------------------

    async def note_blocked(
        self, merchant_id: str, origin: str, now: int, *, may_add: bool = True
    ) -> str:
        """Count one refusal of ``origin``: ``"counted"`` (known), ``"added"`` (new; the stalest
        beyond :data:`KEEP_BLOCKED` dropped) or ``"skipped"`` (new, and ``may_add`` is false)."""
        try:
            return await self._note_blocked(merchant_id, origin, now, may_add)
        except sa_exc.IntegrityError:
            # another request added it first (PostgreSQL, the same instant): count this one
            return await self._note_blocked(merchant_id, origin, now, False)

    async def _note_blocked(self, merchant_id: str, origin: str, now: int, may_add: bool) -> str:
        c = blocked_origins.c
        mine = (c.merchant_id == merchant_id) & (c.origin == origin)
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                bumped = await conn.execute(
                    update(blocked_origins)
                    .where(mine)
                    .values(
                        last_seen=case((c.last_seen < now, now), else_=c.last_seen),
                        hits=c.hits + 1,
                    )
                )
                if bumped.rowcount:
                    return "counted"
                if not may_add:
                    return "skipped"
                await conn.execute(
                    insert(blocked_origins).values(
                        merchant_id=merchant_id,
                        origin=origin,
                        first_seen=now,
                        last_seen=now,
                        hits=1,
                    )
                )
                stale = (
                    select(c.origin)
                    .where(c.merchant_id == merchant_id)
                    .order_by(c.last_seen.desc(), c.origin)
                    .offset(KEEP_BLOCKED)
                )
                old = [row.origin for row in await conn.execute(stale)]
                if old:
                    await conn.execute(
                        delete(blocked_origins).where(
                            (c.merchant_id == merchant_id) & c.origin.in_(old)
                        )
                    )
        return "added"

    async def blocked(self, merchant_id: str) -> list[BlockedOrigin]:
        """The merchant's blocked sites, most recently seen first."""
        c = blocked_origins.c
        stmt = (
            select(c.origin, c.first_seen, c.last_seen, c.hits)
            .where(c.merchant_id == merchant_id)
            .order_by(c.last_seen.desc(), c.origin)
            .limit(KEEP_BLOCKED)
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [
            BlockedOrigin(r.origin, int(r.first_seen), int(r.last_seen), int(r.hits)) for r in rows
        ]

    async def forget_blocked(self, merchant_id: str, origin: str | None) -> int:
        """Drop one blocked site (or all with ``origin`` None); how many rows went."""
        c = blocked_origins.c
        where = c.merchant_id == merchant_id
        if origin is not None:
            where = where & (c.origin == origin)
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(delete(blocked_origins).where(where))
        return int(result.rowcount or 0)

    # -- branding ----------------------------------------------------------------------------------

    async def branding(self, merchant_id: str) -> StoreBranding | None:
        c = merchant_stores.c
        stmt = select(c.name, c.logo_url, c.updated_at).where(c.merchant_id == merchant_id)
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return StoreBranding(merchant_id, row.name, row.logo_url, int(row.updated_at))

    async def set_branding(
        self, merchant_id: str, name: str, logo_url: str | None, now: int
    ) -> StoreBranding:
        """Replace the merchant's store branding (one transaction)."""
        c = merchant_stores.c
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(delete(merchant_stores).where(c.merchant_id == merchant_id))
                await conn.execute(
                    insert(merchant_stores).values(
                        merchant_id=merchant_id, name=name, logo_url=logo_url, updated_at=now
                    )
                )
        return StoreBranding(merchant_id, name, logo_url, now)

    # -- associates --------------------------------------------------------------------------------

    async def add_associate(self, associate: Associate, key: str) -> None:
        values = {
            "associate_id": associate.associate_id,
            "merchant_id": associate.merchant_id,
            "name": associate.name,
            "key_hash": hash_associate_key(key),
            "created_at": associate.created_at,
            "last_used_at": None,
        }
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(insert(store_associates).values(values))

    async def associates(self, merchant_id: str) -> list[Associate]:
        """The merchant's associates, newest first."""
        c = store_associates.c
        stmt = (
            select(store_associates)
            .where(c.merchant_id == merchant_id)
            .order_by(c.created_at.desc(), c.associate_id)
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [_associate(row) for row in rows]

    async def associate_by_key(self, key: str, now: int) -> Associate | None:
        """The associate whose link carries ``key``, or None; notes the use (at most once a
        minute: the associates' page polls)."""
        c = store_associates.c
        digest = hash_associate_key(key)
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(select(store_associates).where(c.key_hash == digest))
                ).first()
        if row is None:
            return None
        found = _associate(row)
        if found.last_used_at is not None and now - found.last_used_at < _USE_NOTED_MS:
            return found
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(
                    update(store_associates)
                    .where(c.associate_id == found.associate_id)
                    .values(last_used_at=now)
                )
        return Associate(found.associate_id, found.merchant_id, found.name, found.created_at, now)

    async def remove_associate(self, merchant_id: str, associate_id: str) -> bool:
        c = store_associates.c
        where = (c.merchant_id == merchant_id) & (c.associate_id == associate_id)
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(delete(store_associates).where(where))
        return bool(result.rowcount)

    # -- store rooms -------------------------------------------------------------------------------

    async def store_room(self, room_id: str) -> StoreRoom | None:
        c = store_rooms.c
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row = (await conn.execute(select(store_rooms).where(c.room_id == room_id))).first()
        return None if row is None else _store_room(row)

    async def list_room(self, room: StoreRoom) -> StoreRoom:
        """List ``room`` in its store (idempotent: a listed room keeps its first listing, and
        only its help flag changes to ``room.help_at``)."""
        c = store_rooms.c
        try:
            with translate_unavailable():
                async with begin_write(self._engine) as conn:
                    found = (
                        await conn.execute(select(store_rooms).where(c.room_id == room.room_id))
                    ).first()
                    if found is None:
                        await conn.execute(
                            insert(store_rooms).values(
                                room_id=room.room_id,
                                merchant_id=room.merchant_id,
                                shopper=room.shopper,
                                created_at=room.created_at,
                                help_at=room.help_at,
                            )
                        )
                        return room
        except sa_exc.IntegrityError:
            pass  # listed by a concurrent request: set the flag below
        listed = await self.set_help(room.room_id, room.help_at)
        return room if listed is None else listed

    async def set_help(self, room_id: str, help_at: int | None) -> StoreRoom | None:
        """Ask for help (``help_at`` the time) or withdraw it (None); None if not listed."""
        c = store_rooms.c
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(
                    update(store_rooms).where(c.room_id == room_id).values(help_at=help_at)
                )
                row = (await conn.execute(select(store_rooms).where(c.room_id == room_id))).first()
        return None if row is None else _store_room(row)

    async def recent_rooms(self, merchant_id: str, since: int, limit: int) -> list[StoreRoom]:
        """The store's rooms listed since ``since``, newest first."""
        c = store_rooms.c
        stmt = (
            select(store_rooms)
            .where((c.merchant_id == merchant_id) & (c.created_at >= since))
            .order_by(c.created_at.desc(), c.room_id)
            .limit(limit)
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [_store_room(row) for row in rows]


def _associate(row: Row[Any]) -> Associate:
    last = row.last_used_at
    return Associate(
        str(row.associate_id),
        str(row.merchant_id),
        str(row.name),
        int(row.created_at),
        None if last is None else int(last),
    )


def _store_room(row: Row[Any]) -> StoreRoom:
    help_at = row.help_at
    return StoreRoom(
        str(row.room_id),
        str(row.merchant_id),
        str(row.shopper),
        int(row.created_at),
        None if help_at is None else int(help_at),
    )
