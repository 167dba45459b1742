"""Fixtures for the catalogue tests: a real database engine per backend (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.catalog.tables import imports, products, revisions, tombstones, variants
from server.db.base import metadata
from tests.services import postgres_url, unique_name

CATALOG_TABLES = [products, variants, revisions, tombstones, imports]


async def sqlite_engine(tmp_path: Path) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=CATALOG_TABLES)
    return engine


@pytest.fixture
async def sqlite_catalog_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await sqlite_engine(tmp_path)
    yield engine
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The catalogue tables on SQLite (a temp file) or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        sqlite = await sqlite_engine(tmp_path)
        yield sqlite
        await sqlite.dispose()
        return
    url = postgres_url()
    schema = unique_name("catalog")
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    pg = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with pg.begin() as conn:
            await conn.run_sync(metadata.create_all, tables=CATALOG_TABLES)
        yield pg
    finally:
        await pg.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
