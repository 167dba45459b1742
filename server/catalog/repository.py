"""Store and read the product catalogue over an ``AsyncEngine`` (SQLite or PostgreSQL).

The only module in ``server.catalog`` that runs SQL. Writes go through one transaction per call;
reads use SQLAlchemy Core, so no ORM session or lazy load is involved. Must not parse feeds or
know about HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rooms.catalog import ProductFacts
from server.catalog.errors import InvalidMerchantId
from server.catalog.models import Product, Variant
from server.catalog.records import ProductRecord
from server.catalog.tables import products, variants

__all__ = ["CatalogRepository", "check_merchant_id", "search_text"]

_MERCHANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CHUNK = 500  # rows per statement: stays far below SQLite's bound-parameter limit
_KEY = ["merchant_id", "sku"]
T = TypeVar("T")
# ``CatalogRepository.list`` shadows the builtin inside the class body, so annotations there use
# these aliases.
_Products = list[Product]
_Rows = list[dict[str, Any]]
_FactsList = list[ProductFacts]


def check_merchant_id(merchant_id: str) -> str:
    """Return ``merchant_id`` if it is 1-64 of ``[A-Za-z0-9_.-]``; raise InvalidMerchantId."""
    if not _MERCHANT_RE.fullmatch(merchant_id):
        raise InvalidMerchantId(f"invalid merchant id {merchant_id!r}")
    return merchant_id


def search_text(record: ProductRecord) -> str:
    """What a search matches against: case-folded title, description and brand."""
    return "\n".join((record.title, record.description, record.brand or "")).casefold()


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class CatalogRepository:
    """Products per merchant: upsert from feeds, page and search, and facts for the room core."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def upsert(self, merchant_id: str, products_: Sequence[ProductRecord], now: int) -> int:
        """Insert or replace ``products_`` (and their variants); returns how many were written."""
        check_merchant_id(merchant_id)
        async with self._engine.begin() as conn:
            for chunk in _chunks(products_):
                rows = [self._product_row(merchant_id, p, now) for p in chunk]
                await self._upsert_products(conn, rows)
                skus = [p.sku for p in chunk]
                await conn.execute(
                    delete(variants).where(
                        variants.c.merchant_id == merchant_id, variants.c.sku.in_(skus)
                    )
                )
                variant_rows = [
                    {
                        "merchant_id": merchant_id,
                        "sku": p.sku,
                        "variant_id": v.variant_id,
                        "position": position,
                        "title": v.title,
                        "price_minor": v.price_minor,
                        "stock": v.stock,
                        "external_id": v.external_id,
                    }
                    for p in chunk
                    for position, v in enumerate(p.variants)
                ]
                for variant_chunk in _chunks(variant_rows):
                    await conn.execute(insert(variants), list(variant_chunk))
        return len(products_)

    async def prune(self, merchant_id: str, keep: Iterable[str]) -> int:
        """Delete the merchant's products whose sku is not in ``keep``; returns how many."""
        keep_set = set(keep)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                select(products.c.sku).where(products.c.merchant_id == merchant_id)
            )
            gone = sorted(sku for (sku,) in result if sku not in keep_set)
            for chunk in _chunks(gone):
                for table in (variants, products):
                    await conn.execute(
                        delete(table).where(
                            table.c.merchant_id == merchant_id, table.c.sku.in_(chunk)
                        )
                    )
        return len(gone)

    async def get(self, merchant_id: str, sku: str) -> Product | None:
        async with self._engine.connect() as conn:
            found = await self._load(
                conn, products.c.merchant_id == merchant_id, products.c.sku == sku
            )
        return found[0] if found else None

    async def list(
        self, merchant_id: str, *, query: str | None = None, limit: int = 24, offset: int = 0
    ) -> tuple[_Products, int]:
        """One page of products ordered by title, and the total matching ``query``.

        ``query`` matches a case-insensitive substring of title, description or brand.
        """
        conditions: list[Any] = [products.c.merchant_id == merchant_id]
        needle = (query or "").strip().casefold()
        if needle:
            conditions.append(products.c.search_text.contains(needle, autoescape=True))
        async with self._engine.connect() as conn:
            total = await conn.scalar(select(func.count()).select_from(products).where(*conditions))
            page = await self._load(conn, *conditions, limit=max(limit, 0), offset=max(offset, 0))
        return page, int(total or 0)

    async def facts(self, merchant_id: str, skus: Iterable[str]) -> dict[str, ProductFacts]:
        """Room-core facts for those of ``skus`` that exist (unknown skus are left out)."""
        wanted = sorted(set(skus))
        found: dict[str, ProductFacts] = {}
        async with self._engine.connect() as conn:
            for chunk in _chunks(wanted):
                for product in await self._load(
                    conn, products.c.merchant_id == merchant_id, products.c.sku.in_(chunk)
                ):
                    found[product.sku] = product.to_facts()
        return found

    async def all_facts(self, merchant_id: str) -> _FactsList:
        async with self._engine.connect() as conn:
            loaded = await self._load(conn, products.c.merchant_id == merchant_id)
        return [p.to_facts() for p in loaded]

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _product_row(merchant_id: str, p: ProductRecord, now: int) -> dict[str, Any]:
        return {
            "merchant_id": merchant_id,
            "sku": p.sku,
            "title": p.title,
            "description": p.description,
            "price_minor": p.price_minor,
            "compare_at_minor": p.compare_at_minor,
            "currency": p.currency,
            "url": p.url,
            "image": p.image,
            "stock": p.stock,
            "availability": p.availability,
            "brand": p.brand,
            "external_id": p.external_id,
            "search_text": search_text(p),
            "updated_at": now,
        }

    async def _upsert_products(self, conn: AsyncConnection, rows: _Rows) -> None:
        dialect = conn.dialect.name
        if dialect in {"sqlite", "postgresql"}:
            stmt = sqlite_insert(products) if dialect == "sqlite" else pg_insert(products)
            update = {c.name: stmt.excluded[c.name] for c in products.c if c.name not in _KEY}
            await conn.execute(stmt.on_conflict_do_update(index_elements=_KEY, set_=update), rows)
            return
        # Other dialects: delete then insert inside the caller's transaction.
        merchant_id = rows[0]["merchant_id"]
        await conn.execute(
            delete(products).where(
                products.c.merchant_id == merchant_id,
                products.c.sku.in_([r["sku"] for r in rows]),
            )
        )
        await conn.execute(insert(products), rows)

    async def _load(
        self,
        conn: AsyncConnection,
        *conditions: Any,
        limit: int | None = None,
        offset: int = 0,
    ) -> _Products:
        stmt = select(products).where(*conditions).order_by(products.c.title, products.c.sku)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        rows = (await conn.execute(stmt)).all()
        if not rows:
            return []
        by_product: dict[tuple[str, str], list[Variant]] = {}
        merchants = {row.merchant_id for row in rows}
        skus = [row.sku for row in rows]
        for chunk in _chunks(skus):
            result = await conn.execute(
                select(variants)
                .where(variants.c.merchant_id.in_(merchants), variants.c.sku.in_(chunk))
                .order_by(variants.c.sku, variants.c.position)
            )
            for v in result:
                by_product.setdefault((v.merchant_id, v.sku), []).append(
                    Variant(
                        variant_id=v.variant_id,
                        title=v.title,
                        price_minor=v.price_minor,
                        stock=v.stock,
                        external_id=v.external_id,
                    )
                )
        return [_product(row, by_product.get((row.merchant_id, row.sku), [])) for row in rows]


def _product(row: Row[Any], found: list[Variant]) -> Product:
    return Product(
        merchant_id=row.merchant_id,
        sku=row.sku,
        title=row.title,
        description=row.description,
        price_minor=row.price_minor,
        currency=row.currency,
        url=row.url,
        image=row.image,
        stock=row.stock,
        availability=row.availability,
        brand=row.brand,
        compare_at_minor=row.compare_at_minor,
        external_id=row.external_id,
        updated_at=row.updated_at,
        variants=tuple(found),
    )
