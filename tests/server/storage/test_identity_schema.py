"""Migration 0007 (identity) builds exactly the declared tables, and the registry's identity
bindings behave on SQLite and PostgreSQL: one member per identity, races settle on one."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.tables  # noqa: F401  # registers every table on the shared metadata
from server.db.base import metadata
from server.storage.registry import Invite, Registry, RoomRecord
from server.storage.tables import merchants, room_identities, rooms

TABLES = {merchants.name, rooms.name, room_identities.name}


def _diff(conn: Connection) -> list[Any]:
    own = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        if table.name in TABLES:
            table.to_metadata(own)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in TABLES

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, own))


async def test_migration_0007_matches_the_declared_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_an_identity_binds_once_and_racing_binds_agree(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.create_merchant("acme", "Acme", (), "ck_" + "k" * 40, 1)
    await registry.create_room(RoomRecord("r1", "acme", "live", "Show", 1))
    assert (await registry.get_room("r1")).join_policy == "anyone_with_link"  # type: ignore[union-attr]
    assert await registry.identity_member("r1", "a" * 64) is None
    won = await asyncio.gather(
        *(registry.bind_identity("r1", "a" * 64, f"m{i}", 5) for i in range(4))
    )
    assert len(set(won)) == 1
    assert await registry.identity_member("r1", "a" * 64) == (won[0], 5)
    # a re-admission moves the binding only from the member it names
    assert await registry.bind_identity("r1", "a" * 64, "new", 6, replaces="stale") == won[0]
    assert await registry.bind_identity("r1", "a" * 64, "new", 6, replaces=won[0]) == "new"
    await registry.set_join_policy("r1", "customers_only")
    assert (await registry.get_room("r1")).join_policy == "customers_only"  # type: ignore[union-attr]


async def test_the_identity_migration_goes_down_and_up_again(engine: AsyncEngine) -> None:
    """0007's downgrade drops what it added and keeps merchants and rooms (SQLite: by copying
    the tables); upgrading again matches the declared tables."""
    from alembic import command
    from sqlalchemy import inspect

    from server.db.engine import alembic_config, upgrade_engine

    registry = Registry(engine)
    await registry.create_merchant("acme", "Acme", (), "ck_" + "k" * 40, 1)
    await registry.create_room(RoomRecord("r1", "acme", "live", "Show", 1))
    await registry.rotate_signing_secret("acme", "cs_secret", 2)
    await registry.create_invite(Invite("i1", "r1", "viewer", None, None, 0, 3))

    def _downgrade(sync_conn: Connection) -> tuple[list[str], list[str]]:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        command.downgrade(config, "0006_catalog_revision")
        found = inspect(sync_conn)
        return found.get_table_names(), [c["name"] for c in found.get_columns("merchants")]

    async with engine.begin() as conn:
        tables, columns = await conn.run_sync(_downgrade)
    assert "room_identities" not in tables
    assert "signing_secret" not in columns
    await upgrade_engine(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    assert (await registry.get_merchant("acme")) is not None
    room = await registry.get_room("r1")
    assert room is not None and room.join_policy == "anyone_with_link"
    assert (await registry.get_invite("i1")) is not None  # no cascade emptied a child table
