"""The broker's ``present_processes`` (contract: memory, Redis, Redis Cluster).

The hub forgets another process's members when that process's presence key is gone from this
answer (server/hub/hub.py): a live process must always be in it, a dead one must leave it once
its key expires, and one that withdrew must leave it at once.
"""

from __future__ import annotations

import asyncio

from tests.server.broker.conftest import MakeBroker


async def test_every_process_with_a_live_entry_is_present(make_broker: MakeBroker) -> None:
    a, b, c = await make_broker(), await make_broker(), await make_broker()
    assert await a.present_processes("room-1") == set()
    await a.set_presence("room-1", {"m1": "Ann"}, 30)
    await b.set_presence("room-1", {"m2": "Bo", "m1": "Ann"}, 30)
    await c.set_presence("room-2", {"m3": "Cy"}, 30)  # another room

    assert await c.present_processes("room-1") == {a.process_id, b.process_id}
    assert await a.present_processes("room-2") == {c.process_id}


async def test_a_withdrawn_process_leaves_at_once(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    await a.set_presence("room-1", {"m1": "Ann"}, 30)
    await b.set_presence("room-1", {"m2": "Bo"}, 30)
    await b.set_presence("room-1", {}, 30)

    assert await a.present_processes("room-1") == {a.process_id}


async def test_a_process_whose_entry_expired_leaves(make_broker: MakeBroker) -> None:
    alive, dead = await make_broker(), await make_broker()
    await alive.set_presence("room-1", {"m1": "Ann"}, 30)
    await dead.set_presence("room-1", {"ghost": "Gus"}, 1)
    assert await alive.present_processes("room-1") == {alive.process_id, dead.process_id}

    # never refreshed: gone by itself (a wait past the 1 s TTL, not a timing assertion)
    await asyncio.sleep(1.5)

    assert await alive.present_processes("room-1") == {alive.process_id}
    assert await alive.present_processes("room-1") == {alive.process_id}  # and stays gone
    assert await alive.presence("room-1") == {"m1": "Ann"}
