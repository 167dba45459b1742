"""The catalogue's revisions (0002_catalog, 0006_catalog_revision) create exactly the tables
``server/catalog/tables.py`` declares, and 0006 goes down and up again keeping the rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.records import ProductRecord
from server.catalog.repository import CatalogRepository
from server.catalog.tables import products, revisions, tombstones, variants

VERSIONS = Path(__file__).resolve().parents[3] / "server/migrations/versions"
TABLES = (products, variants, revisions, tombstones)
NAMES = {t.name for t in TABLES}


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"coshop_rev_{name}", VERSIONS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalog_only() -> MetaData:
    only = MetaData(naming_convention=products.metadata.naming_convention)
    for table in TABLES:
        table.to_metadata(only)
    return only


def _diff(conn: Connection) -> list[Any]:
    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in NAMES

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, _catalog_only()))


def _run(conn: Connection, name: str, step: str) -> None:
    context = MigrationContext.configure(conn)
    with Operations.context(context):
        getattr(_revision(name), step)()


def _upgrade_diff_downgrade(conn: Connection) -> list[Any]:
    first, second = _revision("0002_catalog"), _revision("0006_catalog_revision")
    assert (first.revision, first.down_revision) == ("0002_catalog", "0001_storage")
    assert (second.revision, second.down_revision) == ("0006_catalog_revision", "0005_op_digest")
    _run(conn, "0002_catalog", "upgrade")
    _run(conn, "0006_catalog_revision", "upgrade")
    diff = _diff(conn)
    _run(conn, "0006_catalog_revision", "downgrade")
    _run(conn, "0002_catalog", "downgrade")
    assert not set(inspect(conn).get_table_names()) & NAMES
    return diff


async def test_migrations_match_tables(engine: AsyncEngine) -> None:
    # The fixture created the tables from metadata; drop them so the migrations start clean.
    async with engine.begin() as conn:
        await conn.run_sync(_catalog_only().drop_all)
        diff = await conn.run_sync(_upgrade_diff_downgrade)
    assert diff == []


async def test_the_schema_comparison_does_notice_a_missing_revision(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_catalog_only().drop_all)
        await conn.run_sync(_run, "0002_catalog", "upgrade")
        diff = await conn.run_sync(_diff)
        await conn.run_sync(_run, "0002_catalog", "downgrade")
    assert {entry[0] for entry in diff if isinstance(entry, tuple)} >= {"add_table", "add_column"}


async def test_rows_written_before_0006_read_as_revision_0_and_survive_its_round_trip(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_catalog_only().drop_all)
        await conn.run_sync(_run, "0002_catalog", "upgrade")
        await conn.execute(
            products.insert().values(
                merchant_id="m1",
                sku="old",
                title="Old",
                description="",
                price_minor=100,
                currency="USD",
                availability="in_stock",
                search_text="old",
                updated_at=1,
            )
        )
        await conn.run_sync(_run, "0006_catalog_revision", "upgrade")
    repo = CatalogRepository(engine)
    changes = await repo.changes("m1", -1)
    assert (changes.revision, changes.full, [p[0] for p in changes.products]) == (
        0,
        True,
        ["old"],
    )
    await repo.upsert("m1", [ProductRecord("new", "New", 200, "USD")], now=2)
    later = await repo.changes("m1", 0)
    assert (later.revision, [p[0] for p in later.products]) == (1, ["new"])
    async with engine.begin() as conn:
        await conn.run_sync(_run, "0006_catalog_revision", "downgrade")
        skus = sorted((await conn.execute(select(products.c.sku))).scalars())
        await conn.run_sync(_run, "0006_catalog_revision", "upgrade")
        assert await conn.run_sync(_diff) == []
    assert skus == ["new", "old"]
