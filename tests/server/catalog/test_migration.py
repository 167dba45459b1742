"""The 0002_catalog revision creates exactly the tables ``server/catalog/tables.py`` declares."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.tables import products, variants

REVISION = Path(__file__).resolve().parents[3] / "server/migrations/versions/0002_catalog.py"


def _revision() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coshop_rev_0002_catalog", REVISION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalog_only() -> MetaData:
    only = MetaData(naming_convention=products.metadata.naming_convention)
    products.to_metadata(only)
    variants.to_metadata(only)
    return only


def _upgrade_and_diff(conn: Connection) -> list[Any]:
    revision = _revision()
    assert (revision.revision, revision.down_revision) == ("0002_catalog", "0001_storage")
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    with Operations.context(context):
        revision.upgrade()
    diff: list[Any] = compare_metadata(context, _catalog_only())
    with Operations.context(context):
        revision.downgrade()
    remaining = set(inspect(conn).get_table_names())
    assert not remaining & {"catalog_products", "catalog_variants"}
    return diff


async def test_migration_matches_tables(engine: AsyncEngine) -> None:
    # The fixture created the tables from metadata; drop them so the migration starts clean.
    async with engine.begin() as conn:
        await conn.run_sync(_catalog_only().drop_all)
        diff = await conn.run_sync(_upgrade_and_diff)
    # compare_metadata sees the other engineers' tables as "remove_table"; only ours matter.
    assert [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table")] == []
