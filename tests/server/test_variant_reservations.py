"""Live viewers' own checkouts reserve a variant's own stock on its own (server/catalog/
reservations.py, docs/live.md): many viewers checking out one size at once never take more than
that size's stock, another size of the same product is untouched, a paid order lowers the
variant's stock (not the product's) and a void one gives the hold back. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, func, insert, select, text, update

from server.catalog.reservations import held, reservations
from server.catalog.tables import products, variants
from server.db.engine import (
    alembic_config,
    create_engine,
    database_url_for_data_dir,
    upgrade_engine,
)
from tests.server.checkout.support import Env, checkout_env
from tests.server.test_live_checkout import _live
from tests.server.test_scale_out import pg_database

__all__ = ["pg_database"]


async def _two_sizes(env: Env) -> tuple[str, str, str]:
    """A product with two variants: the first gets 10 of its own, the second 5; the product 1000."""
    async with env.app.state.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(variants.c.sku, variants.c.variant_id).order_by(
                    variants.c.sku, variants.c.position
                )
            )
        ).all()
    by_sku: dict[str, list[str]] = {}
    for sku, variant in rows:
        by_sku.setdefault(str(sku), []).append(str(variant))
    sku, (first, second, *_rest) = next((s, v) for s, v in by_sku.items() if len(v) >= 2)
    # writes only (a read first would make SQLite's deferred transaction fail as "locked" when
    # the server writes meanwhile)
    async with env.app.state.engine.begin() as conn:
        await conn.execute(update(products).where(products.c.sku == sku).values(stock=1000))
        for variant, level in ((first, 10), (second, 5)):
            await conn.execute(
                update(variants)
                .where(variants.c.sku == sku, variants.c.variant_id == variant)
                .values(stock=level)
            )
    return sku, first, second


async def _held(env: Env, sku: str, variant: str, status: str = "held") -> int:
    async with env.app.state.engine.connect() as conn:
        total = await conn.scalar(
            select(func.coalesce(func.sum(reservations.c.quantity), 0)).where(
                reservations.c.sku == sku,
                reservations.c.variant == variant,
                reservations.c.status == status,
            )
        )
    return int(total)


async def _variant_stock(env: Env, sku: str, variant: str) -> int | None:
    async with env.app.state.engine.connect() as conn:
        level = await conn.scalar(
            select(variants.c.stock).where(variants.c.sku == sku, variants.c.variant_id == variant)
        )
    return None if level is None else int(level)


async def _product_stock(env: Env, sku: str) -> int | None:
    async with env.app.state.engine.connect() as conn:
        level = await conn.scalar(select(products.c.stock).where(products.c.sku == sku))
    return None if level is None else int(level)


async def _crowd_of_one_variant(env: Env) -> None:
    sku, first, second = await _two_sizes(env)
    room, joined = await _live(env, *(f"Viewer {n}" for n in range(42)))
    rid = room["room_id"]
    peers = [await env.peer(rid, viewer["token"]) for viewer in joined]
    url = f"/api/v1/rooms/{rid}/checkout"
    buy = {"buy": {"sku": sku, "variant": first, "quantity": 1}}
    answers: list[Any] = list(
        await asyncio.gather(
            *(env.call("POST", url, v["token"], json=buy, timeout=120) for v in joined[:40])
        )
    )
    opened = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    assert len(opened) == 10, [r.text for r in refused[:3]]
    assert {(r.status_code, r.json()["code"]) for r in refused} == {(409, "out_of_stock")}
    assert {(r.json()["sku"], r.json()["available"]) for r in refused} == {(sku, 0)}
    assert await _held(env, sku, first) == 10
    assert await _held(env, sku, "") == 0
    # the other size of the same product is untouched by the sold-out one
    other = await env.call(
        "POST",
        url,
        joined[40]["token"],
        json={"buy": {"sku": sku, "variant": second, "quantity": 5}},
        timeout=120,
    )
    assert other.status_code == 200, other.text
    assert await _held(env, sku, second) == 5
    # paid: the variant's own stock goes down, the product's stays
    await env.pay_on_page(opened[0].json()["pay"]["url"])
    paid_id = opened[0].json()["order"]["order_id"]
    payer = next(p for p, r in zip(peers, answers, strict=False) if r is opened[0])
    await payer.until_event("OrderSettled", order_id=paid_id, outcome="paid")
    assert await _held(env, sku, first, "committed") == 1
    assert await _variant_stock(env, sku, first) == 9
    assert await _held(env, sku, first) == 9
    assert await _product_stock(env, sku) == 1000
    # void (the buyer cancels): the hold goes back, one more viewer gets that size
    cancel_id = opened[1].json()["order"]["order_id"]
    buyer = next(v for v, r in zip(joined, answers, strict=False) if r is opened[1])
    cancel = await env.call("POST", f"{url}/{cancel_id}/cancel", buyer["token"])
    assert cancel.status_code == 200 and cancel.json()["order"]["status"] == "void", cancel.text
    assert await _held(env, sku, first) == 8
    assert await _held(env, sku, first, "released") == 1
    # a viewer who had not tried yet (a refused Buy now leaves its line in that viewer's cart)
    again = await env.call("POST", url, joined[41]["token"], json=buy, timeout=120)
    assert again.status_code == 200, again.text
    assert await _held(env, sku, first) == 9
    late = next(v for v, r in zip(joined, answers, strict=False) if r.status_code == 409)
    sold_out = await env.call("POST", url, late["token"], json={}, timeout=120)
    assert sold_out.status_code == 409 and sold_out.json()["available"] == 0, sold_out.text


async def test_one_variant_never_oversells_on_sqlite(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        await _crowd_of_one_variant(env)


@pytest.mark.postgres
async def test_one_variant_never_oversells_on_postgresql(tmp_path: Path, pg_database: str) -> None:
    async with checkout_env(tmp_path, database_url=pg_database) as env:
        await _crowd_of_one_variant(env)


async def _migrate_down_and_up(url: str) -> None:
    """0019 keeps the holds 0017 wrote (variant ``""``: the product's) and keys rows by variant;
    its downgrade keeps one row per (order, sku)."""
    engine = create_engine(url)
    row = "INSERT INTO stock_reservations VALUES ('o1', 'm1', 'tee', {}2, 'held', 1, 1)"
    try:
        await upgrade_engine(engine, "0018_show_starting")
        async with engine.begin() as conn:
            await conn.execute(text(row.format("")))
        await upgrade_engine(engine)
        async with engine.begin() as conn:
            await conn.execute(
                insert(reservations).values(
                    order_id="o1", merchant_id="m1", sku="tee", variant="tee-m", quantity=3,
                    status="held", created_at=1, updated_at=1,
                )
            )  # fmt: skip
            keys = (
                await conn.execute(select(reservations.c.variant, reservations.c.quantity))
            ).all()
        assert sorted(keys) == [("", 2), ("tee-m", 3)]

        def _down(sync_conn: Connection) -> int:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, "0018_show_starting")
            return int(
                sync_conn.execute(text("SELECT count(*) FROM stock_reservations")).scalar_one()
            )

        async with engine.begin() as conn:
            assert await conn.run_sync(_down) == 1
        await upgrade_engine(engine)
        async with engine.connect() as conn:
            assert await held(conn, "m1", ["tee"]) == {("tee", ""): 2}
    finally:
        await engine.dispose()


async def test_the_variant_migration_goes_down_and_up_on_sqlite(tmp_path: Path) -> None:
    await _migrate_down_and_up(database_url_for_data_dir(tmp_path / "data"))


@pytest.mark.postgres
async def test_the_variant_migration_goes_down_and_up_on_postgresql(pg_database: str) -> None:
    await _migrate_down_and_up(pg_database)
