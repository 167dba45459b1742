"""Registries: merchants (with hashed API keys), the rooms they create, and invites into rooms.

This module is for: durable records the REST API and the WebSocket handshake look up.
It must not: keep an API key in clear anywhere (only its SHA-256 is stored), decide who may do
what (``server.auth`` and ``rooms/`` do), or read the clock — callers pass ``now`` in.

API keys are high-entropy random strings (e.g. ``secrets.token_urlsafe(32)``), so an unsalted
SHA-256 is enough: there is nothing to brute-force, and the hash can be looked up by index. The
found hash is still compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ColumnElement, Update

from server.db.engine import begin_write, sqlite_file
from server.storage._sql import dump_json, load_json, translate_unavailable
from server.storage.errors import AlreadyExists, InviteError, NotFound
from server.storage.sqlite_registry import SqliteRegistryPath
from server.storage.tables import (
    invites,
    merchants,
    publishable_keys,
    room_events,
    room_identities,
    room_manage_links,
    rooms,
)

__all__ = [
    "INVITE_KINDS",
    "JOIN_POLICIES",
    "IdentityRoom",
    "Invite",
    "Merchant",
    "MerchantKeys",
    "Registry",
    "RoomRecord",
    "hash_api_key",
    "hash_manage_secret",
]

JOIN_POLICIES = ("anyone_with_link", "customers_only")
"""Who may join a room: anyone who has an invite, or only the merchant's signed-in customers."""

INVITE_KINDS = ("shared", "personal")
"""A shared link (many people; the host rotates it or switches it off) or a personal invite
(one named person, one use)."""


@dataclass(frozen=True)
class Merchant:
    """A merchant: who may create rooms, and which web origins may embed them."""

    merchant_id: str
    name: str
    origins: tuple[str, ...]
    created_at: int
    sign_in_url: str | None = None
    has_signing_secret: bool = False
    has_public_key: bool = False


@dataclass(frozen=True)
class MerchantKeys:
    """What verifies a merchant's customer tokens (never returned over the API)."""

    merchant_id: str
    signing_secret: str | None
    previous_signing_secret: str | None
    signing_rotated_at: int | None
    public_key: str | None


@dataclass(frozen=True)
class RoomRecord:
    """A room's registry entry; ``kind`` is ``"group"`` or ``"live"``."""

    room_id: str
    merchant_id: str
    kind: str
    title: str
    created_at: int
    closed: bool = False
    join_policy: str = "anyone_with_link"


@dataclass(frozen=True)
class Invite:
    """An invite link: grants ``role`` in ``room_id`` until expiry or ``max_uses`` joins."""

    invite_id: str
    room_id: str
    role: str
    expires_at: int | None
    max_uses: int | None
    uses: int
    created_at: int
    revoked: bool = False
    kind: str = "shared"
    name: str | None = None  # the invitee's name (a personal invite)
    disabled: bool = False  # a shared link switched off (it can be switched on again)
    replaced_by: str | None = None  # the invite a rotation replaced this one with
    used_by: str | None = None  # the member who used a personal invite
    used_name: str | None = None  # and the name they joined with

    def status(self, now: int) -> str:
        """What the host sees: active, off, replaced, revoked, expired, used (a personal
        invite) or used_up (a shared link's last use)."""
        if self.replaced_by is not None:
            return "replaced"
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used" if self.kind == "personal" else "used_up"
        if self.disabled:
            return "off"
        return "active"


@dataclass(frozen=True)
class IdentityRoom:
    """A room an identity belongs to: the room, its member id there, when it was bound."""

    room: RoomRecord
    member_id: str
    bound_at: int


def hash_api_key(api_key: str) -> str:
    """Hex SHA-256 of an API key: what the ``merchants`` table stores instead of the key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def hash_manage_secret(secret: str) -> str:
    """Hex SHA-256 of a manage-link secret (drawn with 256 bits: no salt needed)."""
    return hashlib.sha256(b"coshop.manage.v1:" + secret.encode("utf-8")).hexdigest()


def _use_invite_stmt(invite_id: Any, now: Any) -> Update:
    """Count one use of an invite that may still be used; returns the row it changed."""
    c = invites.c
    return (
        update(invites)
        .where(
            c.invite_id == invite_id,
            c.revoked.is_(False),
            c.disabled.is_(False),
            or_(c.expires_at.is_(None), c.expires_at > now),
            or_(c.max_uses.is_(None), c.uses < c.max_uses),
        )
        .values(uses=c.uses + 1)
        .returning(*invites.c)
    )


def _by_id(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return column == bindparam("id")


class Registry:
    """Merchants, rooms and invites on an :class:`AsyncEngine`.

    On a SQLite file the three calls every join makes (:meth:`get_room`, :meth:`get_invite`,
    :meth:`use_invite`) take the registry's own connections (``server/storage/sqlite_registry.py``:
    one thread hop each, invite uses group-committed); everything else goes through the engine.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        database = sqlite_file(engine)
        self._fast = (
            None
            if database is None
            else SqliteRegistryPath(
                database,
                room_stmt=select(rooms).where(_by_id(rooms.c.room_id)),
                invite_stmt=select(invites).where(_by_id(invites.c.invite_id)),
                use_stmt=_use_invite_stmt(bindparam("invite_id"), bindparam("now")),
            )
        )

    # -- merchants --------------------------------------------------------------------------

    async def create_merchant(
        self, merchant_id: str, name: str, origins: Iterable[str], api_key: str, now: int
    ) -> Merchant:
        """Register a merchant; raises :class:`AlreadyExists` (``merchant_exists``)."""
        merchant = Merchant(merchant_id, name, tuple(origins), now)
        values = {
            "merchant_id": merchant_id,
            "name": name,
            "origins": dump_json(list(merchant.origins)),
            "api_key_hash": hash_api_key(api_key),
            "created_at": now,
        }
        await self._insert(insert(merchants).values(values), "merchant_exists", merchant_id)
        return merchant

    async def merchant_by_api_key(self, api_key: str) -> Merchant | None:
        """The merchant owning ``api_key``, or None."""
        digest = hash_api_key(api_key)
        stmt = select(merchants).where(merchants.c.api_key_hash == digest)
        row = await self._first(stmt)
        if row is None or not hmac.compare_digest(row.api_key_hash, digest):
            return None
        return _merchant(row)

    async def get_merchant(self, merchant_id: str) -> Merchant | None:
        row = await self._first(select(merchants).where(merchants.c.merchant_id == merchant_id))
        return None if row is None else _merchant(row)

    async def rotate_api_key(self, merchant_id: str, new_key: str) -> None:
        """Replace the merchant's key; the old one stops working at once."""
        stmt = (
            update(merchants)
            .where(merchants.c.merchant_id == merchant_id)
            .values(api_key_hash=hash_api_key(new_key))
        )
        await self._update_one(stmt, "merchant_unknown", merchant_id)

    async def set_origins(self, merchant_id: str, origins: Iterable[str]) -> None:
        """Replace the merchant's exact origin allow-list."""
        stmt = (
            update(merchants)
            .where(merchants.c.merchant_id == merchant_id)
            .values(origins=dump_json(list(origins)))
        )
        await self._update_one(stmt, "merchant_unknown", merchant_id)

    async def merchant_keys(self, merchant_id: str) -> MerchantKeys | None:
        """The keys that verify the merchant's customer tokens, or None for no merchant."""
        row = await self._first(select(merchants).where(merchants.c.merchant_id == merchant_id))
        if row is None:
            return None
        rotated = row.signing_rotated_at
        return MerchantKeys(
            merchant_id=row.merchant_id,
            signing_secret=row.signing_secret,
            previous_signing_secret=row.previous_signing_secret,
            signing_rotated_at=None if rotated is None else int(rotated),
            public_key=row.public_key,
        )

    async def rotate_signing_secret(self, merchant_id: str, secret: str, now: int) -> None:
        """Make ``secret`` the HS256 signing secret; the current one becomes the previous one."""
        c = merchants.c
        stmt = (
            update(merchants)
            .where(c.merchant_id == merchant_id)
            .values(
                previous_signing_secret=c.signing_secret,
                signing_secret=secret,
                signing_rotated_at=now,
            )
        )
        await self._update_one(stmt, "merchant_unknown", merchant_id)

    async def clear_signing_secret(self, merchant_id: str) -> None:
        """Stop accepting HS256 customer tokens at once (current and previous secret)."""
        stmt = (
            update(merchants)
            .where(merchants.c.merchant_id == merchant_id)
            .values(signing_secret=None, previous_signing_secret=None, signing_rotated_at=None)
        )
        await self._update_one(stmt, "merchant_unknown", merchant_id)

    async def set_public_key(self, merchant_id: str, pem: str | None) -> None:
        """Register (or with None remove) the ES256 public key for customer tokens."""
        stmt = (
            update(merchants).where(merchants.c.merchant_id == merchant_id).values(public_key=pem)
        )
        await self._update_one(stmt, "merchant_unknown", merchant_id)

    async def set_sign_in_url(self, merchant_id: str, url: str | None) -> None:
        """Where a shopper signs in to the shop (shown when a room admits customers only)."""
        stmt = (
            update(merchants).where(merchants.c.merchant_id == merchant_id).values(sign_in_url=url)
        )
        await self._update_one(stmt, "merchant_unknown", merchant_id)

    # -- rooms ------------------------------------------------------------------------------

    async def create_room(self, record: RoomRecord) -> None:
        """Register a room; raises ``room_exists`` or ``merchant_unknown``."""
        if await self.get_merchant(record.merchant_id) is None:
            raise NotFound(f"merchant {record.merchant_id!r} unknown", code="merchant_unknown")
        values = {
            "room_id": record.room_id,
            "merchant_id": record.merchant_id,
            "kind": record.kind,
            "title": record.title,
            "created_at": record.created_at,
            "closed": record.closed,
            "join_policy": record.join_policy,
        }
        await self._insert(insert(rooms).values(values), "room_exists", record.room_id)

    async def get_room(self, room_id: str) -> RoomRecord | None:
        if self._fast is not None:
            with translate_unavailable():
                row = await self._fast.room(room_id)
        else:
            row = await self._first(select(rooms).where(rooms.c.room_id == room_id))
        return None if row is None else _room(row)

    async def list_rooms(
        self,
        merchant_id: str,
        limit: int = 50,
        *,
        include_closed: bool = True,
        before: RoomRecord | None = None,
    ) -> list[RoomRecord]:
        """The merchant's rooms, newest first. Pass the last room of a page as ``before``."""
        stmt = select(rooms).where(rooms.c.merchant_id == merchant_id)
        if not include_closed:
            stmt = stmt.where(rooms.c.closed.is_(False))
        if before is not None:
            stmt = stmt.where(
                or_(
                    rooms.c.created_at < before.created_at,
                    and_(
                        rooms.c.created_at == before.created_at,
                        rooms.c.room_id < before.room_id,
                    ),
                )
            )
        stmt = stmt.order_by(rooms.c.created_at.desc(), rooms.c.room_id.desc()).limit(limit)
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [_room(row) for row in rows]

    async def close_room(self, room_id: str) -> None:
        """Mark a room closed (idempotent); raises ``room_unknown``."""
        stmt = update(rooms).where(rooms.c.room_id == room_id).values(closed=True)
        await self._update_one(stmt, "room_unknown", room_id)

    async def set_join_policy(self, room_id: str, policy: str) -> None:
        """Change who may join the room (one of :data:`JOIN_POLICIES`); raises ``room_unknown``."""
        assert policy in JOIN_POLICIES, policy  # callers validate client input
        stmt = update(rooms).where(rooms.c.room_id == room_id).values(join_policy=policy)
        await self._update_one(stmt, "room_unknown", room_id)

    # -- identities -------------------------------------------------------------------------

    async def identity_member(self, room_id: str, identity: str) -> tuple[str, int] | None:
        """(member id, bound at) of the identity hash ``identity`` in the room, or None."""
        c = room_identities.c
        stmt = select(c.member_id, c.bound_at).where(c.room_id == room_id, c.identity == identity)
        row = await self._first(stmt)
        return None if row is None else (str(row.member_id), int(row.bound_at))

    async def bind_identity(
        self, room_id: str, identity: str, member_id: str, now: int, *, replaces: str | None = None
    ) -> str:
        """Bind the identity to ``member_id`` in the room and return the member id that won.

        Without ``replaces`` the identity must be new to the room; with it, the binding moves
        only if it still names ``replaces`` (a kicked member re-admitted by a newer invite).
        Two racing joins of one identity get the same member id either way.
        """
        c = room_identities.c
        with translate_unavailable():
            try:
                async with begin_write(self._engine) as conn:
                    if replaces is None:
                        await conn.execute(
                            insert(room_identities).values(
                                room_id=room_id,
                                identity=identity,
                                member_id=member_id,
                                bound_at=now,
                            )
                        )
                    else:
                        await conn.execute(
                            update(room_identities)
                            .where(
                                c.room_id == room_id,
                                c.identity == identity,
                                c.member_id == replaces,
                            )
                            .values(member_id=member_id, bound_at=now)
                        )
            except sa_exc.IntegrityError:
                pass  # another join of the same identity won: use its member id
        found = await self.identity_member(room_id, identity)
        if found is None:
            raise NotFound(f"room {room_id!r} unknown", code="room_unknown")
        return found[0]

    async def identity_rooms(self, identity: str, limit: int = 50) -> list[IdentityRoom]:
        """The rooms the identity hash ``identity`` is bound in, most recently bound first."""
        c = room_identities.c
        stmt = (
            select(rooms, c.member_id.label("bound_member"), c.bound_at)
            .join(room_identities, c.room_id == rooms.c.room_id)
            .where(c.identity == identity)
            .order_by(c.bound_at.desc(), rooms.c.room_id.desc())
            .limit(limit)
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [IdentityRoom(_room(r), str(r.bound_member), int(r.bound_at)) for r in rows]

    async def member_identity(self, room_id: str, member_id: str) -> str | None:
        """The identity hash bound to ``member_id`` in the room, or None."""
        c = room_identities.c
        stmt = select(c.identity).where(c.room_id == room_id, c.member_id == member_id).limit(1)
        row = await self._first(stmt)
        return None if row is None else str(row.identity)

    async def last_activity(self, room_ids: Iterable[str]) -> dict[str, int]:
        """When each room's log last grew (its newest event's ``at``), by room id."""
        ids = list(room_ids)
        if not ids:
            return {}
        c = room_events.c
        stmt = select(c.room_id, func.max(c.at).label("last")).where(c.room_id.in_(ids))
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt.group_by(c.room_id))).all()
        return {str(r.room_id): int(r.last) for r in rows if r.last is not None}

    # -- publishable keys -------------------------------------------------------------------

    async def set_publishable_key(self, merchant_id: str, key: str, now: int) -> None:
        """Make ``key`` the merchant's publishable key; the previous one stops working at once."""
        if await self.get_merchant(merchant_id) is None:
            raise NotFound(f"merchant {merchant_id!r} unknown", code="merchant_unknown")
        c = publishable_keys.c
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(delete(publishable_keys).where(c.merchant_id == merchant_id))
                values = {"merchant_id": merchant_id, "key": key, "created_at": now}
                await conn.execute(insert(publishable_keys).values(values))

    async def clear_publishable_key(self, merchant_id: str) -> bool:
        """Remove the merchant's publishable key; False if it had none."""
        stmt = delete(publishable_keys).where(publishable_keys.c.merchant_id == merchant_id)
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def publishable_key(self, merchant_id: str) -> tuple[str, int] | None:
        """(key, created at) of the merchant's publishable key, or None."""
        c = publishable_keys.c
        row = await self._first(select(c.key, c.created_at).where(c.merchant_id == merchant_id))
        return None if row is None else (str(row.key), int(row.created_at))

    async def merchant_by_publishable_key(self, key: str) -> Merchant | None:
        """The merchant whose current publishable key is ``key``, or None."""
        stmt = (
            select(merchants, publishable_keys.c.key.label("pk"))
            .join(publishable_keys, publishable_keys.c.merchant_id == merchants.c.merchant_id)
            .where(publishable_keys.c.key == key)
        )
        row = await self._first(stmt)
        if row is None or not hmac.compare_digest(str(row.pk).encode(), key.encode()):
            return None
        return _merchant(row)

    # -- invites ----------------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> None:
        """Store an invite; raises ``invite_exists`` or ``room_unknown``."""
        if await self.get_room(invite.room_id) is None:
            raise NotFound(f"room {invite.room_id!r} unknown", code="room_unknown")
        values = {
            "invite_id": invite.invite_id,
            "room_id": invite.room_id,
            "role": invite.role,
            "expires_at": invite.expires_at,
            "max_uses": invite.max_uses,
            "uses": invite.uses,
            "created_at": invite.created_at,
            "revoked": invite.revoked,
            "kind": invite.kind,
            "name": invite.name,
            "disabled": invite.disabled,
        }
        await self._insert(insert(invites).values(values), "invite_exists", invite.invite_id)

    async def get_invite(self, invite_id: str) -> Invite | None:
        if self._fast is not None:
            with translate_unavailable():
                row = await self._fast.invite(invite_id)
        else:
            row = await self._first(select(invites).where(invites.c.invite_id == invite_id))
        return None if row is None else _invite(row)

    async def list_invites(self, room_id: str) -> list[Invite]:
        """The room's invites, oldest first."""
        stmt = (
            select(invites)
            .where(invites.c.room_id == room_id)
            .order_by(invites.c.created_at, invites.c.invite_id)
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [_invite(row) for row in rows]

    async def use_invite(self, invite_id: str, now: int) -> Invite:
        """Count one use of the invite and return it (with the new ``uses``).

        One conditional ``UPDATE … RETURNING``: concurrent users can never push ``uses`` past
        ``max_uses``; on SQLite the uses that arrive together share one transaction (each still
        its own conditional update), and each caller is answered once it is committed. Raises
        :class:`InviteError` with ``invite_unknown``, ``invite_revoked``, ``invite_expired`` or
        ``invite_exhausted``.
        """
        if self._fast is not None:
            # one conditional UPDATE per use, many uses per transaction (group commit)
            with translate_unavailable():
                outcome = await self._fast.use_invite(invite_id, now)
            if outcome.used is not None:
                return _invite(outcome.used)
            found = outcome.found
        else:
            stmt = _use_invite_stmt(invite_id, now)
            again = select(invites).where(invites.c.invite_id == invite_id)
            with translate_unavailable():
                async with begin_write(self._engine) as conn:
                    row = (await conn.execute(stmt)).first()
                    found = None if row is not None else (await conn.execute(again)).first()
            if row is not None:
                return _invite(row)
        raise _refusal(invite_id, None if found is None else _invite(found), now)

    async def revoke_invite(self, invite_id: str) -> None:
        """Revoke an invite (idempotent); raises ``invite_unknown``."""
        stmt = update(invites).where(invites.c.invite_id == invite_id).values(revoked=True)
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(stmt)
        if result.rowcount == 0:
            raise InviteError(f"invite {invite_id!r} unknown", code="invite_unknown")

    async def rotate_invite(self, invite_id: str, successor: Invite) -> None:
        """Replace a shared link by ``successor`` in one transaction: the old one is revoked and
        names its successor (joins through it are refused with ``invite_replaced``). Raises
        :class:`InviteError` ``invite_unknown`` or ``invite_revoked`` (already revoked or
        replaced: only the newest link rotates)."""
        c = invites.c
        values = {
            "invite_id": successor.invite_id,
            "room_id": successor.room_id,
            "role": successor.role,
            "expires_at": successor.expires_at,
            "max_uses": successor.max_uses,
            "uses": 0,
            "created_at": successor.created_at,
            "revoked": False,
            "kind": successor.kind,
            "name": successor.name,
            "disabled": successor.disabled,
        }
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                retired = await conn.execute(
                    update(invites)
                    .where(c.invite_id == invite_id, c.revoked.is_(False))
                    .values(revoked=True, replaced_by=successor.invite_id)
                )
                if retired.rowcount == 1:
                    await conn.execute(insert(invites).values(values))
        if retired.rowcount == 0:
            found = await self.get_invite(invite_id)
            code = "invite_unknown" if found is None else "invite_revoked"
            raise InviteError(f"invite {invite_id!r} cannot be rotated", code=code)

    async def set_invite_disabled(self, invite_id: str, disabled: bool) -> Invite:
        """Switch a link off (joins refused with ``invite_disabled``) or on again, and return
        it. Raises :class:`InviteError` ``invite_unknown`` or ``invite_revoked``."""
        c = invites.c
        stmt = (
            update(invites)
            .where(c.invite_id == invite_id, c.revoked.is_(False))
            .values(disabled=disabled)
            .returning(*invites.c)
        )
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                row = (await conn.execute(stmt)).first()
        if row is not None:
            return _invite(row)
        code = "invite_unknown" if await self.get_invite(invite_id) is None else "invite_revoked"
        raise InviteError(f"invite {invite_id!r} cannot be changed", code=code)

    async def note_invite_user(self, invite_id: str, member_id: str, name: str) -> None:
        """Remember who used a personal invite (the host's invite list shows it)."""
        stmt = (
            update(invites)
            .where(invites.c.invite_id == invite_id)
            .values(used_by=member_id, used_name=name)
        )
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(stmt)

    # -- manage links -----------------------------------------------------------------------

    async def set_manage_secret(self, room_id: str, secret: str, now: int) -> None:
        """Make ``secret`` the room's manage-link secret (only its hash is stored); the
        previous one stops working at once. Raises ``room_unknown``."""
        c = room_manage_links.c
        digest = hash_manage_secret(secret)
        with translate_unavailable():
            try:
                async with begin_write(self._engine) as conn:
                    changed = await conn.execute(
                        update(room_manage_links)
                        .where(c.room_id == room_id)
                        .values(secret_hash=digest, created_at=now)
                    )
                    if changed.rowcount == 0:
                        await conn.execute(
                            insert(room_manage_links).values(
                                room_id=room_id, secret_hash=digest, created_at=now
                            )
                        )
            except sa_exc.IntegrityError as exc:
                raise NotFound(f"room {room_id!r} unknown", code="room_unknown") from exc

    async def manage_secret_matches(self, room_id: str, secret: str) -> bool:
        """True when ``secret`` is the room's current manage-link secret."""
        c = room_manage_links.c
        row = await self._first(select(c.secret_hash).where(c.room_id == room_id))
        if row is None:
            return False
        return hmac.compare_digest(str(row.secret_hash), hash_manage_secret(secret))

    # -- helpers ----------------------------------------------------------------------------

    async def _first(self, stmt: Any) -> Row[Any] | None:
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row: Row[Any] | None = (await conn.execute(stmt)).first()
        return row

    async def _insert(self, stmt: Any, exists_code: str, ident: str) -> None:
        with translate_unavailable():
            try:
                async with begin_write(self._engine) as conn:
                    await conn.execute(stmt)
            except sa_exc.IntegrityError as exc:
                raise AlreadyExists(f"{ident!r} already exists", code=exists_code) from exc

    async def _update_one(self, stmt: Any, unknown_code: str, ident: str) -> None:
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(stmt)
        if result.rowcount == 0:
            raise NotFound(f"{ident!r} unknown", code=unknown_code)


def _refusal(invite_id: str, invite: Invite | None, now: int) -> InviteError:
    if invite is None:
        return InviteError(f"invite {invite_id!r} unknown", code="invite_unknown")
    if invite.replaced_by is not None:
        return InviteError("invite replaced by a newer link", code="invite_replaced")
    if invite.revoked:
        return InviteError("invite revoked", code="invite_revoked")
    if invite.expires_at is not None and invite.expires_at <= now:
        return InviteError("invite expired", code="invite_expired")
    if invite.disabled:
        return InviteError("invite switched off by the host", code="invite_disabled")
    if invite.kind == "personal":
        return InviteError("personal invite already used", code="invite_used")
    return InviteError("invite has no uses left", code="invite_exhausted")


def _merchant(row: Row[Any]) -> Merchant:
    return Merchant(
        merchant_id=row.merchant_id,
        name=row.name,
        origins=tuple(load_json(row.origins)),
        created_at=int(row.created_at),
        sign_in_url=row.sign_in_url,
        has_signing_secret=row.signing_secret is not None,
        has_public_key=row.public_key is not None,
    )


def _room(row: Any) -> RoomRecord:
    return RoomRecord(
        room_id=row.room_id,
        merchant_id=row.merchant_id,
        kind=row.kind,
        title=row.title,
        created_at=int(row.created_at),
        closed=bool(row.closed),
        join_policy=str(row.join_policy),
    )


def _invite(row: Any) -> Invite:
    return Invite(
        invite_id=row.invite_id,
        room_id=row.room_id,
        role=row.role,
        expires_at=None if row.expires_at is None else int(row.expires_at),
        max_uses=None if row.max_uses is None else int(row.max_uses),
        uses=int(row.uses),
        created_at=int(row.created_at),
        revoked=bool(row.revoked),
        kind=str(row.kind),
        name=row.name,
        disabled=bool(row.disabled),
        replaced_by=row.replaced_by,
        used_by=row.used_by,
        used_name=row.used_name,
    )
