"""A room's turn never waits on the catalogue (DESIGN.md §11): the real server, a real database.

The hub's catalogue cache reads through a subclass of the real repository whose change query
can be held at an ``asyncio.Event``: while a background refresh is held there, the room still
decides commands (on the snapshot it has); once the refresh completes, a changed price and stock
reach the room, and a deleted product disappears — each from an incremental read.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from server.catalog.models import CatalogChanges, Product
from server.catalog.records import ProductRecord, VariantRecord
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


async def test_product_search_follows_the_refreshes_of_the_snapshot(tmp_path: Path) -> None:
    """The list searches the snapshot's word index: a renamed, a new and a deleted product are
    found (or not) by their new words once a background refresh has updated the index, and the
    answers are the database's."""
    async with (
        run_server(server_settings(tmp_path)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        state = srv.app_state
        repo = CatalogRepository(state.engine)
        cache = CatalogCache(repo, refresh_s=3600.0)  # a refresh only when the test asks
        state.hub.catalogs = cache
        state.hub.room_services = dataclasses.replace(state.hub.room_services, catalogs=cache)
        await repo.upsert(MERCHANT, [kettle(2500, 3), LAMP], now=1)
        before = await cache.refresh(MERCHANT)

        async def search(query: str) -> tuple[list[str], int]:
            r = await http.get(
                f"/api/v1/merchants/{MERCHANT}/products", params={"q": query, "limit": "100"}
            )
            assert r.status_code == 200, r.text
            page, total = await repo.list(MERCHANT, query=query, limit=100)
            found = ([item["sku"] for item in r.json()["items"]], r.json()["total"])
            assert found == ([p.sku for p in page], total), query  # what the database says
            return found

        assert await search("camp kettle") == (["kettle-1l"], 1)
        assert await search("LAMP X") == (["lamp-x"], 1)
        await repo.upsert(
            MERCHANT,
            [
                ProductRecord("kettle-1l", "Trail Kettle", 2500, "USD", description="Enamel"),
                ProductRecord("mug-zq", "Zq Enamel Mug", 900, "USD", brand="Zq-Works"),
            ],
            now=2,
        )
        keep = [p.sku for p in (await repo.list(MERCHANT, limit=100))[0] if p.sku != "lamp-x"]
        assert await repo.prune(MERCHANT, keep) == 1
        assert cache.current(MERCHANT) is before  # not refreshed yet: served from memory
        stale = await http.get(f"/api/v1/merchants/{MERCHANT}/products", params={"q": "lamp x"})
        assert (stale.json()["total"], (await repo.list(MERCHANT, query="lamp x"))[1]) == (1, 0)
        cache.invalidate(MERCHANT)
        cache.current(MERCHANT)  # starts the background refresh
        for _ in range(500):
            current = cache.current(MERCHANT)
            if current is not None and current is not before:
                break
            await asyncio.sleep(0.01)
        current = cache.current(MERCHANT)
        assert current is not None and current.revision > before.revision
        assert await search("trail kettle") == (["kettle-1l"], 1)
        assert (await search("camp kettle"))[1] == 0
        assert await search("zq") == (["mug-zq"], 1)
        assert await search("zq-works") == (["mug-zq"], 1)
        assert (await search("lamp x"))[1] == 0
        assert "kettle-1l" in (await search("ENAMEL"))[0]
        # The snapshot the refresh replaced still answers as it did.
        assert before.search("lamp x", 10, 0) == (["lamp-x"], 1)
        await cache.close()


class NoPageReads(CatalogRepository):
    """The real repository, but reading a page of products by sku fails the test."""

    async def products(self, merchant_id: str, skus: Sequence[str]) -> list[Product]:
        raise AssertionError(f"read a page from the database: {list(skus)}")


async def test_a_search_of_the_snapshot_answers_without_the_database(tmp_path: Path) -> None:
    """The snapshot holds what the list shows of each product: a search of a merchant in memory
    answers from it (what the database has, at the snapshot's revision), no query made."""
    async with (
        run_server(server_settings(tmp_path)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        state = srv.app_state
        writer = CatalogRepository(state.engine)
        await writer.upsert(
            MERCHANT,
            [
                kettle(2500, 3),
                LAMP,
                ProductRecord(
                    "mug-zq", "Zq Enamel Mug", 900, "USD", description="Blue enamel",
                    brand="Zq-Works", compare_at_minor=1200, availability="preorder",
                    variants=(VariantRecord("mug-s", "Small", 800, 2), VariantRecord("mug-l", "L")),
                ),
            ],
            now=1,
        )  # fmt: skip
        state.catalog = repo = NoPageReads(state.engine)
        cache = CatalogCache(repo, refresh_s=3600.0)
        state.hub.catalogs = cache
        state.hub.room_services = dataclasses.replace(state.hub.room_services, catalogs=cache)
        await cache.refresh(MERCHANT)
        for query in ["enamel", "lamp", "kettle 1l", None]:
            r = await http.get(
                f"/api/v1/merchants/{MERCHANT}/products", params={"q": query or "", "limit": "2"}
            )
            assert r.status_code == 200, r.text
            page, total = await writer.list(MERCHANT, query=query, limit=2)
            assert r.json()["total"] == total
            assert r.json()["items"] == [p.to_json() for p in page], query
        await cache.close()
