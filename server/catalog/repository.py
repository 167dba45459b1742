"""Store and read the product catalogue over an ``AsyncEngine`` (SQLite or PostgreSQL).

The only module in ``server.catalog`` that runs SQL. Writes go through one transaction per call;
reads use SQLAlchemy Core, so no ORM session or lazy load is involved. Must not parse feeds or
know about HTTP.

Every write transaction takes the merchant's next catalogue revision first (``_next_revision``:
an upsert of the merchant's ``catalog_revisions`` row, whose lock is held until the commit, so
revisions commit in order) and stamps it on what it writes: products on their row, deletions on
a tombstone. :meth:`CatalogRepository.changes` reads the head revision *first*, then what was
written after the caller's revision, in pages of 500 skus: every revision up to the head it
reports is then fully in the answer (later ones may be partly in it, and come again next time).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from sys import intern
from typing import Any, TypeVar

from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rooms.catalog import ProductFacts
from server.catalog.errors import CatalogUnavailable, InvalidMerchantId
from server.catalog.models import CatalogChanges, Listed, Product, Shown, ShownVariant, Variant
from server.catalog.records import ProductRecord
from server.catalog.tables import products, revisions, tombstones, variants
from server.db.engine import begin_write

__all__ = ["CatalogRepository", "check_merchant_id", "search_text"]

# SQLSTATE classes meaning "not now": connection exception, insufficient resources, operator
# intervention (shutdown, "the database system is starting up"), system error.
_UNAVAILABLE_STATES = ("08", "53", "57", "58")
_MERCHANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CHUNK = 500  # rows per statement: stays far below SQLite's bound-parameter limit
_KEY = ["merchant_id", "sku"]
T = TypeVar("T")
# ``CatalogRepository.list`` shadows the builtin inside the class body, so annotations there use
# these aliases.
_Products = list[Product]
_Rows = list[dict[str, Any]]
_FactsList = list[ProductFacts]
_ListedList = list[Listed]
_ShownList = list[Shown]
_AnyList = list[Any]


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
        """Insert or replace ``products_`` (and their variants); returns how many were written.

        One transaction (and one revision) per 500 products: on SQLite the write lock is the
        whole database's, and a room's commit must never wait for a 50,000-product import. A
        failure leaves the chunks already written; importing the feed again completes it.
        """
        check_merchant_id(merchant_id)
        for chunk in _chunks(products_):
            async with self._writing() as conn:
                revision = await _next_revision(conn, merchant_id)
                rows = [self._product_row(merchant_id, p, now, revision) for p in chunk]
                await _upsert(conn, products, rows)
                skus = [p.sku for p in chunk]
                for table in (variants, tombstones):
                    await conn.execute(
                        delete(table).where(
                            table.c.merchant_id == merchant_id, table.c.sku.in_(skus)
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
        async with self._writing() as conn:
            result = await conn.execute(
                select(products.c.sku).where(products.c.merchant_id == merchant_id)
            )
            gone = sorted(sku for (sku,) in result if sku not in keep_set)
            if not gone:
                return 0
            revision = await _next_revision(conn, merchant_id)
            for chunk in _chunks(gone):
                for table in (variants, products):
                    await conn.execute(
                        delete(table).where(
                            table.c.merchant_id == merchant_id, table.c.sku.in_(chunk)
                        )
                    )
                marks = [
                    {"merchant_id": merchant_id, "sku": s, "revision": revision} for s in chunk
                ]
                await _upsert(conn, tombstones, marks)
        return len(gone)

    async def get(self, merchant_id: str, sku: str) -> Product | None:
        async with self._reading() as conn:
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
        async with self._reading() as conn:
            total = await conn.scalar(select(func.count()).select_from(products).where(*conditions))
            page = await self._load(conn, *conditions, limit=max(limit, 0), offset=max(offset, 0))
        return page, int(total or 0)

    async def facts(self, merchant_id: str, skus: Iterable[str]) -> dict[str, ProductFacts]:
        """Room-core facts for those of ``skus`` that exist (unknown skus are left out)."""
        wanted = sorted(set(skus))
        found: dict[str, ProductFacts] = {}
        async with self._reading() as conn:
            for chunk in _chunks(wanted):
                for product in await self._load(
                    conn, products.c.merchant_id == merchant_id, products.c.sku.in_(chunk)
                ):
                    found[product.sku] = product.to_facts()
        return found

    async def products(self, merchant_id: str, skus: Sequence[str]) -> _Products:
        """The products ``skus`` names, in that order; skus that do not exist are left out."""
        found: dict[str, Product] = {}
        async with self._reading() as conn:
            for chunk in _chunks(list(dict.fromkeys(skus))):
                for product in await self._load(
                    conn, products.c.merchant_id == merchant_id, products.c.sku.in_(chunk)
                ):
                    found[product.sku] = product
        return [found[sku] for sku in skus if sku in found]

    async def revision(self, merchant_id: str) -> int:
        """The merchant's last committed catalogue revision (0: none yet)."""
        async with self._reading() as conn:
            return await _head(conn, merchant_id)

    async def changes(self, merchant_id: str, since: int) -> CatalogChanges:
        """What changed in the merchant's catalogue after revision ``since`` (module docstring).

        ``since < 0`` (never read) or a ``since`` beyond the head (the table was restored or
        emptied) answers the whole catalogue, ``full=True``.
        """
        async with self._reading() as conn:
            head = await _head(conn, merchant_id)
            full = since < 0 or since > head
            if not full and since == head:
                return CatalogChanges(head, full=False)
            gone: tuple[str, ...] = ()
            conditions: _AnyList = [products.c.merchant_id == merchant_id]
            if not full:
                found = await conn.execute(
                    select(tombstones.c.sku).where(
                        tombstones.c.merchant_id == merchant_id, tombstones.c.revision > since
                    )
                )
                gone = tuple(sku for (sku,) in found)
                conditions.append(products.c.revision > since)
            listed: _ListedList = []
            shown: _ShownList = []
            after = ""
            while True:
                page, page_shown = await self._listed_page(conn, merchant_id, conditions, after)
                # End the read transaction between pages: a 50,000-product read must not hold
                # one snapshot for seconds (SQLite could not checkpoint its WAL meanwhile).
                await conn.rollback()
                listed.extend(page)
                shown.extend(page_shown)
                if len(page) < _CHUNK:
                    break
                after = page[-1][0]
        return CatalogChanges(head, full, tuple(listed), gone, tuple(shown))

    async def all_facts(self, merchant_id: str) -> _FactsList:
        async with self._reading() as conn:
            loaded = await self._load(conn, products.c.merchant_id == merchant_id)
        return [p.to_facts() for p in loaded]

    # -- internals ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        with _translated():
            async with self._engine.connect() as conn:
                yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        with _translated():
            async with begin_write(self._engine) as conn:
                yield conn

    @staticmethod
    async def _listed_page(
        conn: AsyncConnection, merchant_id: str, conditions: _AnyList, after: str
    ) -> tuple[_ListedList, _ShownList]:
        """Up to ``_CHUNK`` products after sku ``after``, in sku order, with their variants: the
        facts rooms read, and what the product list shows."""
        rows = (
            await conn.execute(
                select(
                    products.c.sku,
                    products.c.title,
                    products.c.price_minor,
                    products.c.currency,
                    products.c.stock,
                    products.c.image,
                    products.c.url,
                    products.c.search_text,
                    products.c.description,
                    products.c.compare_at_minor,
                    products.c.availability,
                    products.c.brand,
                    products.c.external_id,
                    products.c.updated_at,
                )
                .where(*conditions, products.c.sku > after)
                .order_by(products.c.sku)
                .limit(_CHUNK)
            )
        ).all()
        if not rows:
            return [], []
        ids: dict[str, list[str]] = {}
        own: dict[str, list[tuple[str, int | None, int | None]]] = {}
        shown: dict[str, list[ShownVariant]] = {}
        result = await conn.execute(
            select(
                variants.c.sku,
                variants.c.variant_id,
                variants.c.price_minor,
                variants.c.stock,
                variants.c.title,
                variants.c.external_id,
            )
            .where(
                variants.c.merchant_id == merchant_id,
                variants.c.sku.in_([row.sku for row in rows]),
            )
            .order_by(variants.c.sku, variants.c.position)
        )
        for sku, variant_id, price_minor, stock, title, external_id in result:
            ids.setdefault(sku, []).append(variant_id)
            if price_minor is not None or stock is not None:
                own.setdefault(sku, []).append((variant_id, price_minor, stock))
            shown.setdefault(sku, []).append((variant_id, title, price_minor, stock, external_id))
        # Currencies, availabilities and brands repeat: one string each for all the products
        # held in memory (50,000 products: ~8 MiB less).
        listed: _ListedList = [
            (row.sku, row.title, row.price_minor, intern(row.currency), tuple(ids.get(row.sku, ())),
             row.stock, row.image, row.url, row.search_text,
             tuple((v, row.price_minor if p is None else p, s) for v, p, s in own.get(row.sku, ())))
            for row in rows
        ]  # fmt: skip
        return listed, [
            (row.description, row.compare_at_minor, intern(row.availability),
             None if row.brand is None else intern(row.brand),
             row.external_id, row.updated_at, tuple(shown.get(row.sku, ())))
            for row in rows
        ]  # fmt: skip

    @staticmethod
    def _product_row(merchant_id: str, p: ProductRecord, now: int, revision: int) -> dict[str, Any]:
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
            "revision": revision,
        }

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


@contextmanager
def _translated() -> Iterator[None]:
    """Turn "the database is not there" into :class:`CatalogUnavailable` (bugs pass through)."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError) as exc:
        raise CatalogUnavailable(f"catalogue database unavailable: {type(exc).__name__}") from exc
    except sa_exc.DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if not (isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES)):
            raise
        raise CatalogUnavailable(f"catalogue database unavailable: SQLSTATE {state}") from exc


async def _head(conn: AsyncConnection, merchant_id: str) -> int:
    head = await conn.scalar(
        select(revisions.c.revision).where(revisions.c.merchant_id == merchant_id)
    )
    return int(head or 0)


async def _next_revision(conn: AsyncConnection, merchant_id: str) -> int:
    """Take the merchant's next revision inside the caller's write transaction.

    The upsert locks the merchant's row until the transaction ends: a second writer of the same
    merchant waits here, so revisions commit in the order they are taken.
    """
    dialect = conn.dialect.name
    if dialect in {"sqlite", "postgresql"}:
        stmt = sqlite_insert(revisions) if dialect == "sqlite" else pg_insert(revisions)
        upsert = stmt.values(merchant_id=merchant_id, revision=1).on_conflict_do_update(
            index_elements=["merchant_id"], set_={"revision": revisions.c.revision + 1}
        )
        return int((await conn.execute(upsert.returning(revisions.c.revision))).scalar_one())
    head = await _head(conn, merchant_id)  # other dialects: read, then write in the transaction
    if head:
        await conn.execute(
            revisions.update()
            .where(revisions.c.merchant_id == merchant_id)
            .values(revision=head + 1)
        )
    else:
        await conn.execute(insert(revisions).values(merchant_id=merchant_id, revision=1))
    return head + 1


async def _upsert(conn: AsyncConnection, table: Any, rows: _Rows) -> None:
    """Insert ``rows`` into ``table`` (keyed by merchant and sku), replacing rows with their key."""
    dialect = conn.dialect.name
    if dialect in {"sqlite", "postgresql"}:
        stmt = sqlite_insert(table) if dialect == "sqlite" else pg_insert(table)
        update = {c.name: stmt.excluded[c.name] for c in table.c if c.name not in _KEY}
        await conn.execute(stmt.on_conflict_do_update(index_elements=_KEY, set_=update), rows)
        return
    # Other dialects: delete then insert inside the caller's transaction.
    await conn.execute(
        delete(table).where(
            table.c.merchant_id == rows[0]["merchant_id"],
            table.c.sku.in_([r["sku"] for r in rows]),
        )
    )
    await conn.execute(insert(table), rows)


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
