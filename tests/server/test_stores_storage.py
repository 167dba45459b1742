"""server/storage/stores.py on SQLite and PostgreSQL: the same answers from both, also when two
requests record the same site or list the same room at once."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage import Registry, RoomRecord
from server.storage.stores import Associate, StoreRoom, StoreStore
from tests.server.storage.conftest import Backend, backend, engine

__all__ = ["backend", "engine"]  # the storage suite's fixtures: every test runs on both backends


async def _shop(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("shop", "Shop", (), "ck_" + "s" * 40, 1)
    await registry.create_room(RoomRecord("r1", "shop", "group", "Trip", 1))


async def test_blocked_sites_are_counted_once_each_under_concurrency(
    backend: Backend, engine: AsyncEngine
) -> None:
    await _shop(engine)
    other = backend.engine()  # another process
    stores = (StoreStore(engine), StoreStore(other))
    outcomes = await asyncio.gather(
        *(stores[i % 2].note_blocked("shop", "https://a.example", 10 + i) for i in range(6))
    )
    assert outcomes.count("added") == 1 and outcomes.count("counted") == 5
    (found,) = await stores[0].blocked("shop")
    assert (found.origin, found.hits) == ("https://a.example", 6)
    assert 10 <= found.first_seen <= 15 and found.last_seen == 15  # the latest refusal
    assert await stores[1].blocked("other") == []


async def test_branding_associates_and_store_rooms(backend: Backend, engine: AsyncEngine) -> None:
    await _shop(engine)
    store = StoreStore(engine)
    assert await store.branding("shop") is None
    await store.set_branding("shop", "Shop Soho", None, 5)
    saved = await store.set_branding("shop", "Shop Soho", "https://cdn.example/l.png", 6)
    assert await store.branding("shop") == saved

    await store.add_associate(Associate("as1", "shop", "Sam", 7, None), "as_" + "k" * 43)
    assert await store.associate_by_key("as_" + "x" * 43, 8) is None
    used = await store.associate_by_key("as_" + "k" * 43, 100_000)
    assert used is not None and used.last_used_at == 100_000
    again = await store.associate_by_key("as_" + "k" * 43, 100_500)  # within the minute
    assert again is not None and again.last_used_at == 100_000
    assert [a.name for a in await store.associates("shop")] == ["Sam"]
    assert await store.remove_associate("shop", "as1") is True
    assert await store.remove_associate("shop", "as1") is False

    other = StoreStore(backend.engine())
    first, second = await asyncio.gather(
        store.list_room(StoreRoom("r1", "shop", "Ana", 10, None)),
        other.list_room(StoreRoom("r1", "shop", "Ana", 11, 11)),
    )
    listed = await store.store_room("r1")
    assert listed is not None and listed.created_at in (10, 11)  # one listing, kept
    assert first.room_id == second.room_id == "r1"
    helped = await store.set_help("r1", 20)
    assert helped is not None and helped.help_at == 20
    assert [r.room_id for r in await store.recent_rooms("shop", 0, 10)] == ["r1"]
    assert await store.recent_rooms("shop", 12, 10) == []
    assert await store.set_help("nope", 1) is None
