"""A room's turn never waits on the catalogue (DESIGN.md §11): the real server, a real database.

The hub's catalogue cache reads through a subclass of the real repository whose change query
can be held at an ``asyncio.Event``: while a background refresh is held there, the room still
decides commands (on the snapshot it has); once the refresh completes, a changed price and stock
reach the room, and a deleted product disappears — each from an incremental read.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import httpx

from server.catalog.models import CatalogChanges
from server.catalog.records import ProductRecord
from server.catalog.repository import CatalogRepository
from server.hub.catalogs import CatalogCache
from tests.server.conftest import run_server, server_settings
from tests.server.peers import Peer, create_room

MERCHANT = "demo"  # the merchant the server's rooms sell from


def kettle(price_minor: int, stock: int) -> ProductRecord:
    return ProductRecord("kettle-1l", "Camp Kettle", price_minor, "USD", stock=stock)


LAMP = ProductRecord("lamp-x", "Lamp X", 900, "USD")


class GatedRepository(CatalogRepository):
    """The real repository; ``changes`` waits at ``gate`` while one is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.answers: list[CatalogChanges] = []

    async def changes(self, merchant_id: str, since: int) -> CatalogChanges:
        if self.gate is not None:
            self.entered.set()
            await self.gate.wait()
        answer = await super().changes(merchant_id, since)
        self.answers.append(answer)
        return answer


async def add(peer: Peer, op: str, sku: str, quantity: int) -> dict[str, Any]:
    """Send AddLine (a line of its own: the op as its note); returns the LineAdded event, or the
    error frame that refused it."""
    args = {"sku": sku, "variant": None, "quantity": quantity, "note": op}
    await peer.send({"t": "cmd", "op": op, "name": "AddLine", "args": args})
    event: dict[str, Any] | None = None
    while True:
        msg = await peer.recv()
        if msg.get("t") == "ev" and msg["ev"]["type"] == "LineAdded":
            event = msg["ev"]
        if msg.get("op") == op and msg.get("t") == "err":
            return msg
        if msg.get("op") == op and msg.get("t") == "ack":
            assert event is not None
            return event


async def test_a_room_decides_while_its_catalogue_refreshes_and_sees_changes_after(
    tmp_path: Path,
) -> None:
    async with (
        run_server(server_settings(tmp_path)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        state = srv.app_state
        repo = GatedRepository(state.engine)
        # A refresh only when the test asks (invalidate): nothing else starts one.
        cache = CatalogCache(repo, refresh_s=3600.0)
        state.hub.catalogs = cache
        # room actors get the catalogue through the hub's services, not the hub itself
        state.hub.room_services = dataclasses.replace(state.hub.room_services, catalogs=cache)
        await repo.upsert(MERCHANT, [kettle(2500, 3), LAMP], now=1)

        room = await create_room(http)
        host = await Peer.open(srv.ws_url(room["room_id"]))
        await host.hello(room["host"]["token"])  # loads the room: the merchant's first read
        first = repo.answers[-1]
        assert first.full and len(first.products) > 2

        await repo.upsert(MERCHANT, [kettle(3100, 1)], now=2)
        repo.gate = asyncio.Event()
        cache.invalidate(MERCHANT)
        old = await add(host, "a1", "kettle-1l", 1)  # its turn starts the background refresh
        await asyncio.wait_for(repo.entered.wait(), 5)
        # The refresh is held inside its database read; the room still answers, from memory.
        held = await add(host, "a2", "kettle-1l", 2)
        assert not repo.gate.is_set()
        assert (old["price_minor"], held["price_minor"], held["quantity"]) == (2500, 2500, 2)

        repo.gate.set()
        repo.gate = None
        await cache.refresh(MERCHANT)  # waits for the background refresh, then reads again
        refreshed = repo.answers[-2]
        assert (refreshed.full, [p[0] for p in refreshed.products]) == (
            False,
            ["kettle-1l"],
        )
        assert (await add(host, "a3", "kettle-1l", 1))["price_minor"] == 3100
        refused = await add(host, "a4", "kettle-1l", 2)
        assert (refused["t"], refused["code"]) == ("err", "out_of_stock")

        keep = [p[0] for p in first.products if p[0] != "lamp-x"]
        assert await repo.prune(MERCHANT, keep) == 1
        cache.invalidate(MERCHANT)
        assert "t" not in await add(host, "a5", "lamp-x", 1)  # still there: refreshing now
        for _ in range(500):  # the background refresh started by a5's turn
            current = cache.current(MERCHANT)
            if current is not None and current.product("lamp-x") is None:
                break
            await asyncio.sleep(0.01)
        gone = repo.answers[-1]
        assert (gone.full, gone.gone, gone.products) == (False, ("lamp-x",), ())
        refused = await add(host, "a6", "lamp-x", 1)
        assert (refused["t"], refused["code"]) == ("err", "unknown_product")
        await host.close()
        await cache.close()
