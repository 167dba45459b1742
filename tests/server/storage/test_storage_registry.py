"""Contract tests of the merchant / room / invite registries, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage import (
    AlreadyExists,
    Invite,
    InviteError,
    Merchant,
    NotFound,
    Registry,
    RoomRecord,
)
from server.storage.tables import merchants

API_KEY = "ck_live_9hQ2vV1bWm3KXz0cT4Yp8sLr6uJe5nAa"


async def registry_with_room(engine: AsyncEngine) -> Registry:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", ["https://shop.example"], API_KEY, now=10)
    await registry.create_room(RoomRecord("room1", "m1", "group", "Friends", 20, False))
    return registry


def invite(invite_id: str = "inv1", **overrides: object) -> Invite:
    fields: dict[str, object] = {
        "invite_id": invite_id,
        "room_id": "room1",
        "role": "member",
        "expires_at": None,
        "max_uses": None,
        "uses": 0,
        "created_at": 30,
        "revoked": False,
    }
    fields.update(overrides)
    return Invite(**fields)  # type: ignore[arg-type]  # test helper: overrides are typed loosely


async def test_merchant_is_found_by_its_api_key_only(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    created = await registry.create_merchant(
        "m1", "Shop", ["https://shop.example", "https://www.shop.example"], API_KEY, now=10
    )
    assert created == Merchant(
        "m1", "Shop", ("https://shop.example", "https://www.shop.example"), 10
    )
    assert await registry.get_merchant("m1") == created
    assert await registry.merchant_by_api_key(API_KEY) == created
    assert await registry.merchant_by_api_key(API_KEY + "x") is None
    assert await registry.merchant_by_api_key("") is None
    assert await registry.get_merchant("m2") is None


async def test_the_api_key_itself_is_never_stored(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", [], API_KEY, now=10)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(merchants))).all()
    stored = [str(value) for row in rows for value in row]
    assert all(API_KEY not in value for value in stored)
    assert hashlib.sha256(API_KEY.encode()).hexdigest() in stored


async def test_rotating_the_key_retires_the_old_one(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", [], API_KEY, now=10)
    await registry.rotate_api_key("m1", "ck_new_key_0123456789abcdef")
    assert await registry.merchant_by_api_key(API_KEY) is None
    found = await registry.merchant_by_api_key("ck_new_key_0123456789abcdef")
    assert found is not None
    assert found.merchant_id == "m1"
    with pytest.raises(NotFound) as caught:
        await registry.rotate_api_key("nobody", "k")
    assert caught.value.code == "merchant_unknown"


async def test_origins_are_replaced(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", ["https://a.example"], API_KEY, now=10)
    await registry.set_origins("m1", ["https://b.example", "http://localhost:8000"])
    merchant = await registry.get_merchant("m1")
    assert merchant is not None
    assert merchant.origins == ("https://b.example", "http://localhost:8000")
    with pytest.raises(NotFound):
        await registry.set_origins("nobody", [])


async def test_merchant_ids_and_keys_are_unique(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", [], API_KEY, now=10)
    with pytest.raises(AlreadyExists) as caught:
        await registry.create_merchant("m1", "Other", [], "another-key", now=11)
    assert caught.value.code == "merchant_exists"
    with pytest.raises(AlreadyExists):
        await registry.create_merchant("m2", "Other", [], API_KEY, now=11)


async def test_rooms_are_created_listed_newest_first_and_closed(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", [], API_KEY, now=10)
    await registry.create_merchant("m2", "Other", [], "key-2", now=10)
    for index in range(5):
        await registry.create_room(RoomRecord(f"r{index}", "m1", "group", f"T{index}", 100 + index))
    await registry.create_room(RoomRecord("other", "m2", "live", "Show", 200))

    assert await registry.get_room("r0") == RoomRecord("r0", "m1", "group", "T0", 100, False)
    assert await registry.get_room("missing") is None
    page = await registry.list_rooms("m1", 3)
    assert [r.room_id for r in page] == ["r4", "r3", "r2"]
    rest = await registry.list_rooms("m1", 3, before=page[-1])
    assert [r.room_id for r in rest] == ["r1", "r0"]

    await registry.close_room("r3")
    await registry.close_room("r3")  # idempotent
    closed = await registry.get_room("r3")
    assert closed is not None
    assert closed.closed
    open_rooms = await registry.list_rooms("m1", 10, include_closed=False)
    assert [r.room_id for r in open_rooms] == ["r4", "r2", "r1", "r0"]
    with pytest.raises(NotFound) as caught:
        await registry.close_room("missing")
    assert caught.value.code == "room_unknown"


async def test_room_needs_a_known_merchant_and_a_fresh_id(engine: AsyncEngine) -> None:
    registry = await registry_with_room(engine)
    with pytest.raises(NotFound) as unknown:
        await registry.create_room(RoomRecord("r9", "nobody", "group", "T", 1))
    assert unknown.value.code == "merchant_unknown"
    with pytest.raises(AlreadyExists) as exists:
        await registry.create_room(RoomRecord("room1", "m1", "group", "T", 1))
    assert exists.value.code == "room_exists"


async def test_invite_uses_are_counted_up_to_the_limit(engine: AsyncEngine) -> None:
    registry = await registry_with_room(engine)
    await registry.create_invite(invite(max_uses=2, expires_at=1_000))
    assert (await registry.use_invite("inv1", now=100)).uses == 1
    second = await registry.use_invite("inv1", now=200)
    assert second == invite(max_uses=2, expires_at=1_000, uses=2)
    with pytest.raises(InviteError) as caught:
        await registry.use_invite("inv1", now=300)
    assert caught.value.code == "invite_exhausted"
    assert await registry.get_invite("inv1") == second


async def test_invite_refusals_say_why(engine: AsyncEngine) -> None:
    registry = await registry_with_room(engine)
    await registry.create_invite(invite("expiring", expires_at=500))
    await registry.create_invite(invite("revoked"))
    await registry.revoke_invite("revoked")
    await registry.revoke_invite("revoked")  # idempotent

    assert (await registry.use_invite("expiring", now=499)).uses == 1
    for invite_id, now, code in [
        ("expiring", 500, "invite_expired"),
        ("revoked", 1, "invite_revoked"),
        ("missing", 1, "invite_unknown"),
    ]:
        with pytest.raises(InviteError) as caught:
            await registry.use_invite(invite_id, now=now)
        assert caught.value.code == code
    with pytest.raises(InviteError) as unknown:
        await registry.revoke_invite("missing")
    assert unknown.value.code == "invite_unknown"
    assert [i.invite_id for i in await registry.list_invites("room1")] == ["expiring", "revoked"]


async def test_invite_needs_a_known_room_and_a_fresh_id(engine: AsyncEngine) -> None:
    registry = await registry_with_room(engine)
    with pytest.raises(NotFound) as unknown:
        await registry.create_invite(invite(room_id="nowhere"))
    assert unknown.value.code == "room_unknown"
    await registry.create_invite(invite())
    with pytest.raises(AlreadyExists) as exists:
        await registry.create_invite(invite())
    assert exists.value.code == "invite_exists"


async def test_single_use_invite_admits_exactly_one_of_ten_concurrent_users(
    engine: AsyncEngine,
) -> None:
    registry = await registry_with_room(engine)
    await registry.create_invite(invite(max_uses=1))

    results = await asyncio.gather(
        *(registry.use_invite("inv1", now=100 + n) for n in range(10)), return_exceptions=True
    )
    admitted = [r for r in results if isinstance(r, Invite)]
    refused = [r for r in results if isinstance(r, InviteError)]
    assert len(admitted) == 1, results
    assert len(refused) == 9, results
    assert {r.code for r in refused} == {"invite_exhausted"}
    stored = await registry.get_invite("inv1")
    assert stored is not None
    assert stored.uses == 1
