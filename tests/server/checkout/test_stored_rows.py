"""The checkout store reads rows written before the one JSON codec, and writes the same text.

The rows are ``tests/checkout_bridge/stored_rows_v1.json``, put into a real SQLite database as
the old code stored them; :class:`CheckoutStore` must read them back, and storing the decoded
values again must write byte-identical ``data`` columns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout_bridge.orders import OrderOpened, event_from_dict
from server.checkout.store import CheckoutStore
from server.checkout.tables import order_events, orders, snapshots
from server.db.base import metadata
from server.db.engine import create_engine
from tests.checkout_bridge.test_stored_format import EVENTS, FIXTURE, SNAPSHOT

NOW = 1_800_000_000


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'checkout.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=[snapshots, orders, order_events])
    yield engine
    await engine.dispose()


async def put_old_rows(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(snapshots).values(
                room_id="r1", version=4, digest=FIXTURE["snapshot_digest"], ready=False,
                data=FIXTURE["snapshot_row"], created_at=NOW,
            )
        )  # fmt: skip
        await conn.execute(
            insert(orders).values(
                order_id="o1", room_id="r1", merchant_id="m1", snapshot_version=4,
                status="void", deadline=NOW + 3600, created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        await conn.execute(
            insert(order_events),
            [
                {"order_id": "o1", "seq": seq, "type": json.loads(row)["type"], "data": row,
                 "at": NOW}
                for seq, row in enumerate(FIXTURE["order_event_rows"], start=1)
            ],
        )  # fmt: skip


async def data_column(engine: AsyncEngine, query: Select[Any]) -> list[str]:
    async with engine.connect() as conn:
        return [str(row[0]) for row in await conn.execute(query)]


async def test_old_rows_read_back(engine: AsyncEngine) -> None:
    await put_old_rows(engine)
    store = CheckoutStore(engine)
    assert await store.snapshot("r1") == SNAPSHOT
    assert await store.snapshot("r1", 4) == SNAPSHOT
    record = await store.load("o1")
    assert record is not None
    assert record.seq == len(EVENTS)
    assert record.order.status == "void"
    assert [s.status for s in record.order.shares] == ["partially_refunded", "paid"]


async def test_the_store_writes_the_old_text(engine: AsyncEngine) -> None:
    store = CheckoutStore(engine)
    await store.save_snapshot("r1", SNAPSHOT, NOW)
    stored = await data_column(engine, select(snapshots.c.data))
    assert stored == [FIXTURE["snapshot_row"]]

    opened = EVENTS[0]
    assert isinstance(opened, OrderOpened)
    await store.create_order(opened, "m1", NOW)
    async with store.order_tx("o1", now=NOW) as tx:
        assert tx is not None
        await tx.append(EVENTS[1:], NOW)
    rows = await data_column(engine, select(order_events.c.data).order_by(order_events.c.seq))
    assert rows == FIXTURE["order_event_rows"]
    assert [event_from_dict(json.loads(row)) for row in rows] == EVENTS
