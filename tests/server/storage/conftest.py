"""Fixtures for the storage contract suite: every test runs on SQLite and on PostgreSQL.

The PostgreSQL variant gets its own schema per test (``search_path`` pinned through asyncpg's
``server_settings``), migrated with the same :func:`upgrade_database` the server runs at start-up,
so Alembic's version table lands in that schema too. The schema is dropped afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import create_engine, database_url_for_data_dir, upgrade_database
from tests.services import postgres_url, unique_name


@dataclass
class Backend:
    """A migrated, isolated database; ``engine()`` opens another "process" onto it."""

    name: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    engines: list[AsyncEngine] = field(default_factory=list)

    def engine(self) -> AsyncEngine:
        engine = create_engine(self.url, connect_args=self.connect_args)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        url = database_url_for_data_dir(tmp_path / "data")
        await upgrade_database(url)
        sqlite_backend = Backend("sqlite", url)
        yield sqlite_backend
        await sqlite_backend.close()
        return
    url = postgres_url()
    schema = unique_name("t")
    admin = create_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        connect_args = {"server_settings": {"search_path": schema}}
        await upgrade_database(url, connect_args=connect_args)
        pg_backend = Backend("postgres", url, connect_args)
        try:
            yield pg_backend
        finally:
            await pg_backend.close()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def engine(backend: Backend) -> AsyncEngine:
    return backend.engine()
