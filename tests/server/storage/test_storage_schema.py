"""The engine factory, SQLite settings, and migrations that match the declared tables."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Connection, Integer, MetaData, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.tables  # noqa: F401  # registers every table on the shared metadata
from server.db.base import metadata
from server.db.engine import (
    alembic_config,
    create_engine,
    database_url_for_data_dir,
    upgrade_database,
    upgrade_engine,
)
from server.storage import Append, EventStore, NewEvent, OpKey, OpOutcome
from server.storage import tables as storage_tables

from .conftest import Backend

STORAGE_TABLES = {
    storage_tables.room_events.name,
    storage_tables.room_ops.name,
    storage_tables.room_snapshots.name,
    storage_tables.merchants.name,
    storage_tables.rooms.name,
    storage_tables.invites.name,
}


def test_default_url_points_into_the_data_dir(tmp_path: Path) -> None:
    url = database_url_for_data_dir(tmp_path / "data")
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/data/coshop.db"


async def test_sqlite_engine_creates_its_directory_and_sets_durable_pragmas(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "missing" / "nested"
    engine = create_engine(database_url_for_data_dir(data_dir))
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert data_dir.is_dir()
    assert (data_dir / "coshop.db").exists()
    # synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "busy_timeout": 10_000,
        "foreign_keys": 1,
    }


async def test_upgrade_is_idempotent_at_every_start_up(tmp_path: Path) -> None:
    url = database_url_for_data_dir(tmp_path)
    await upgrade_database(url)
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    assert len(version) == 1


async def test_the_version_table_lives_in_the_migrated_schema(backend: Backend) -> None:
    engine = backend.engine()
    async with engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert len(versions) == 1
    assert versions[0][0]


def _own_metadata() -> MetaData:
    own = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        if table.name in STORAGE_TABLES:
            table.to_metadata(own)
    return own


def _storage_diff(conn: Connection, own: MetaData) -> list[Any]:

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in STORAGE_TABLES

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, own))


async def test_migrations_produce_exactly_the_declared_storage_tables(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_storage_diff, _own_metadata())
    assert diff == []


async def test_the_schema_comparison_does_notice_a_difference(engine: AsyncEngine) -> None:
    own = _own_metadata()
    own.tables["room_events"].append_column(Column("extra", Integer, nullable=True))
    async with engine.connect() as conn:
        diff = await conn.run_sync(_storage_diff, own)
    assert [entry[0] for entry in diff] == ["add_column"]


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    from sqlalchemy import exc, insert

    async with engine.connect() as conn:
        try:
            await conn.execute(
                insert(storage_tables.rooms).values(
                    room_id="r",
                    merchant_id="ghost",
                    kind="group",
                    title="t",
                    created_at=1,
                    closed=False,
                )
            )
        except exc.IntegrityError:
            await conn.rollback()
        else:
            raise AssertionError("a room with an unknown merchant was accepted")


async def test_processes_starting_together_upgrade_once(backend: Backend) -> None:
    # The fixture already migrated; more concurrent "start-ups" must all succeed as no-ops.
    engines = [backend.engine() for _ in range(3)]
    await asyncio.gather(*(upgrade_engine(engine) for engine in engines))
    async with engines[0].connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert len(versions) == 1


async def test_fresh_databases_upgraded_concurrently_end_at_head(tmp_path: Path) -> None:
    url = database_url_for_data_dir(tmp_path)
    await asyncio.gather(*(upgrade_database(url) for _ in range(3)))
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert len(versions) == 1


async def test_the_op_digest_migration_goes_down_and_up_again(backend: Backend) -> None:
    """0005 adds room_ops.args_digest; its downgrade drops it (SQLite: by copying the table)
    and keeps the rows; upgrading again matches the declared tables."""
    engine = backend.engine()
    store = EventStore(engine)
    key = OpKey("r1", "ann", "op")
    await store.append_batch([Append("r1", 0, (NewEvent("x", {}, 1, "ann"),), key, "d" * 64)])
    await store.close()

    def _downgrade(sync_conn: Connection) -> list[str]:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        command.downgrade(config, "0004_outbox")
        return [column["name"] for column in inspect(sync_conn).get_columns("room_ops")]

    async with engine.begin() as conn:
        columns = await conn.run_sync(_downgrade)
    assert "args_digest" not in columns
    await upgrade_engine(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_storage_diff, _own_metadata()) == []
    store = EventStore(engine)
    assert await store.find_op(key) == OpOutcome(1, 1, None)
    await store.close()
