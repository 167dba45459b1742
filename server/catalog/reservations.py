"""Stock held for open checkouts, so that many buyers at once never oversell (DESIGN §10).

``stock_reservations`` holds one row per (order, sku, variant): ``variant`` is the variant's id
when that variant has a stock of its own (``catalog_variants.stock`` not NULL), else ``""`` (the
line draws on the product's stock), as ``checkout_bridge.pricing`` counts stock. A row is
``held`` while the order is open, ``committed`` once it is paid (the product's ``stock``, or the
variant's, is lowered by that quantity, in the same transaction, under a new catalogue revision
so every cached catalogue sees it), ``released`` when it is void (expired, cancelled, payment
failed). What a new checkout may take is that stock less what open orders hold of it.

The caller passes the connection of the write transaction that creates (or ends) the order, so
the reservation and the order stand or fall together. Races: on PostgreSQL :func:`reserve`
locks the products' rows (``FOR UPDATE``, in sku order so two checkouts never deadlock) before
it sums the holds, so concurrent checkouts of one product take turns; on SQLite the write
transaction (``BEGIN IMMEDIATE``) already runs alone. A variant's holds are guarded by its
product's row lock too. Whether a variant has its own stock is read here, from the catalogue,
in the same transaction: a wanted ``(sku, variant)`` whose variant has none is held against the
product. A stock that is not tracked (``NULL``) is never short.

This module knows SQL only: no rules about orders, no clock (``now`` is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from server.catalog.repository import _next_revision
from server.catalog.tables import products, variants
from server.db.base import metadata

__all__ = ["OutOfStock", "StockKey", "commit", "held", "release", "reservations", "reserve"]

reservations = Table(
    "stock_reservations",
    metadata,
    Column("order_id", String(64), nullable=False),
    Column("merchant_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("variant", String(64), nullable=False, server_default=""),  # "": the product's stock
    Column("quantity", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # held | committed | released
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("order_id", "sku", "variant"),
    Index("ix_stock_reservations_held", "merchant_id", "sku", "variant", "status"),
)


StockKey = tuple[str, str]
"""``(sku, variant)``: ``variant`` is ``""`` for the product's own stock."""


class OutOfStock(Exception):
    """Not enough of ``sku`` left for this checkout: ``available`` can still be taken."""

    def __init__(self, sku: str, available: int, variant: str = "") -> None:
        named = f"{sku}/{variant}" if variant else sku
        super().__init__(f"only {available} of {named} left")
        self.sku = sku
        self.variant = variant
        self.available = available


async def held(conn: AsyncConnection, merchant_id: str, skus: list[str]) -> dict[StockKey, int]:
    """What open orders hold of each of ``skus``, by ``(sku, variant)``."""
    result = await conn.execute(
        select(reservations.c.sku, reservations.c.variant, func.sum(reservations.c.quantity))
        .where(
            reservations.c.merchant_id == merchant_id,
            reservations.c.sku.in_(skus),
            reservations.c.status == "held",
        )
        .group_by(reservations.c.sku, reservations.c.variant)
    )
    return {(str(sku), str(variant)): int(total) for sku, variant, total in result}


async def reserve(
    conn: AsyncConnection,
    merchant_id: str,
    order_id: str,
    wants: Mapping[StockKey, int],
    now: int,
    *,
    set_aside: Mapping[StockKey, int] | None = None,
) -> None:
    """Hold ``wants`` (``(sku, variant)`` -> quantity; ``variant`` ``""`` for none) for
    ``order_id``, or raise :class:`OutOfStock`. A variant without a stock of its own is held
    against its product's stock. ``set_aside`` is stock held outside this table that this
    checkout may not take either — a running drop's units (server/checkout/viewer.py), keyed
    the same way."""
    skus = sorted({sku for sku, _variant in wants})
    query = (
        select(products.c.sku, products.c.stock)
        .where(products.c.merchant_id == merchant_id, products.c.sku.in_(skus))
        .order_by(products.c.sku)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # also guards the variants' holds of these products
    stock: dict[StockKey, int | None] = {
        (str(sku), ""): level for sku, level in await conn.execute(query)
    }
    aside = {key: n for key, n in (set_aside or {}).items() if key[0] in skus and n > 0}
    named = sorted({key for key in (*wants, *aside) if key[1]})
    if named:
        own = await conn.execute(
            select(variants.c.sku, variants.c.variant_id, variants.c.stock).where(
                variants.c.merchant_id == merchant_id,
                tuple_(variants.c.sku, variants.c.variant_id).in_(named),
                variants.c.stock.is_not(None),
            )
        )
        stock.update({(str(sku), str(variant)): level for sku, variant, level in own})
    merged: dict[StockKey, int] = {}
    for (sku, variant), quantity in wants.items():
        key = (sku, variant) if (sku, variant) in stock else (sku, "")
        merged[key] = merged.get(key, 0) + quantity
    taken = await held(conn, merchant_id, skus)
    for (sku, variant), quantity in aside.items():
        key = (sku, variant) if (sku, variant) in stock else (sku, "")
        if key in merged:
            taken[key] = taken.get(key, 0) + quantity
    for key in sorted(merged):
        sku, variant = key
        if key not in stock:
            raise OutOfStock(sku, 0, variant)  # gone from the catalogue
        level = stock[key]
        if level is not None and merged[key] > level - taken.get(key, 0):
            raise OutOfStock(sku, max(0, level - taken.get(key, 0)), variant)
    await conn.execute(
        insert(reservations),
        [
            {
                "order_id": order_id,
                "merchant_id": merchant_id,
                "sku": sku,
                "variant": variant,
                "quantity": merged[(sku, variant)],
                "status": "held",
                "created_at": now,
                "updated_at": now,
            }
            for sku, variant in sorted(merged)
        ],
    )


async def release(conn: AsyncConnection, order_id: str, now: int) -> None:
    """The order is void: what it held goes back to everyone."""
    await conn.execute(
        update(reservations)
        .where(reservations.c.order_id == order_id, reservations.c.status == "held")
        .values(status="released", updated_at=now)
    )


async def commit(conn: AsyncConnection, order_id: str, now: int) -> None:
    """The order is paid: lower each product's stock, or each variant's with a stock of its
    own, by what it held (a new catalogue revision, so cached catalogues see it), and mark the
    holds committed."""
    rows = (
        await conn.execute(
            select(
                reservations.c.merchant_id,
                reservations.c.sku,
                reservations.c.variant,
                reservations.c.quantity,
            )
            .where(reservations.c.order_id == order_id, reservations.c.status == "held")
            .order_by(reservations.c.sku, reservations.c.variant)
        )
    ).all()
    if not rows:
        return
    revision = await _next_revision(conn, str(rows[0].merchant_id))
    lowest = func.max if conn.dialect.name == "sqlite" else func.greatest
    for row in rows:
        if row.variant:
            await conn.execute(
                update(variants)
                .where(
                    variants.c.merchant_id == row.merchant_id,
                    variants.c.sku == row.sku,
                    variants.c.variant_id == row.variant,
                    variants.c.stock.is_not(None),
                )
                .values(stock=lowest(variants.c.stock - row.quantity, 0))
            )
            await conn.execute(  # the product changed: a new revision for the caches
                update(products)
                .where(products.c.merchant_id == row.merchant_id, products.c.sku == row.sku)
                .values(revision=revision, updated_at=now)
            )
            continue
        await conn.execute(
            update(products)
            .where(
                products.c.merchant_id == row.merchant_id,
                products.c.sku == row.sku,
                products.c.stock.is_not(None),
            )
            .values(
                stock=lowest(products.c.stock - row.quantity, 0),
                revision=revision,
                updated_at=now,
            )
        )
    await conn.execute(
        update(reservations)
        .where(reservations.c.order_id == order_id, reservations.c.status == "held")
        .values(status="committed", updated_at=now)
    )
