"""Migration 0015_merchant_store creates exactly the tables server/storage/stores.py declares,
and goes down and up again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect

from server.db.engine import (
    alembic_config,
    create_engine,
    database_url_for_data_dir,
    upgrade_engine,
)
from server.storage import tables as storage_tables
from server.storage.stores import blocked_origins, merchant_stores, store_associates, store_rooms

DECLARED = (blocked_origins, merchant_stores, store_associates, store_rooms)
NAMES = {t.name for t in DECLARED}


def _diff(conn: Connection) -> list[Any]:
    own = MetaData(naming_convention=blocked_origins.metadata.naming_convention)
    for table in (storage_tables.merchants, storage_tables.rooms, *DECLARED):
        table.to_metadata(own)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in NAMES

    def include_object(obj: Any, name: str | None, type_: str, *_rest: Any) -> bool:
        # merchants and rooms are here only for the foreign keys: compare our tables only
        return type_ != "table" or name in NAMES

    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "include_name": include_name,
            "include_object": include_object,
        },
    )
    return list(compare_metadata(context, own))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_the_migration_creates_exactly_the_declared_tables(tmp_path: Path) -> None:
    url = database_url_for_data_dir(tmp_path)
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_tables) >= NAMES

        def down_and_up(conn: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0014_show_schedule")
            assert not NAMES & _tables(conn)
            command.upgrade(config, "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()
