"""Room links in storage (migration 0008), on SQLite and PostgreSQL: the declared tables, the
refusals a join meets, a rotation that only one of two racing hosts wins, and a manage secret
kept as a hash that a new one replaces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.tables  # noqa: F401  # registers every table on the shared metadata
from server.db.base import metadata
from server.storage import InviteError, NotFound
from server.storage.registry import Invite, Registry, RoomRecord, hash_manage_secret
from server.storage.tables import invites, merchants, room_manage_links, rooms
from tests.server.storage.conftest import backend, engine  # noqa: F401  # the fixtures

# with the tables their foreign keys name
TABLES = {invites.name, room_manage_links.name, rooms.name, merchants.name}


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


async def _room(engine: AsyncEngine) -> Registry:  # noqa: F811  # the fixture's name
    registry = Registry(engine)
    await registry.create_merchant("acme", "Acme", (), "ck_" + "k" * 40, 1)
    await registry.create_room(RoomRecord("r1", "acme", "group", "Trip", 1))
    return registry


async def test_migration_0008_matches_the_declared_tables(engine: AsyncEngine) -> None:  # noqa: F811
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_a_join_meets_the_refusal_that_fits(engine: AsyncEngine) -> None:  # noqa: F811
    registry = await _room(engine)
    await registry.create_invite(Invite("s1", "r1", "member", None, None, 0, 2))
    await registry.create_invite(
        Invite("p1", "r1", "member", None, 1, 0, 3, kind="personal", name="Sam")
    )
    assert (await registry.use_invite("p1", 10)).uses == 1
    with pytest.raises(InviteError) as used:
        await registry.use_invite("p1", 11)
    assert used.value.code == "invite_used"
    await registry.note_invite_user("p1", "m-sam", "Samantha")
    found = await registry.get_invite("p1")
    assert found is not None and found.status(12) == "used"
    assert (found.used_by, found.used_name, found.name) == ("m-sam", "Samantha", "Sam")

    off = await registry.set_invite_disabled("s1", True)
    assert off.disabled and off.status(12) == "off"
    with pytest.raises(InviteError) as disabled:
        await registry.use_invite("s1", 12)
    assert disabled.value.code == "invite_disabled"
    assert not (await registry.set_invite_disabled("s1", False)).disabled
    assert (await registry.use_invite("s1", 13)).uses == 1

    await registry.rotate_invite("s1", Invite("s2", "r1", "member", None, None, 0, 14))
    with pytest.raises(InviteError) as replaced:
        await registry.use_invite("s1", 15)
    assert replaced.value.code == "invite_replaced"
    old = await registry.get_invite("s1")
    assert old is not None and old.replaced_by == "s2" and old.status(15) == "replaced"
    assert (await registry.use_invite("s2", 16)).uses == 1
    with pytest.raises(InviteError) as switched:
        await registry.set_invite_disabled("s1", False)
    assert switched.value.code == "invite_revoked"
    with pytest.raises(InviteError) as unknown:
        await registry.set_invite_disabled("nope", False)
    assert unknown.value.code == "invite_unknown"


async def test_of_two_racing_rotations_one_wins(engine: AsyncEngine) -> None:  # noqa: F811
    registry = await _room(engine)
    await registry.create_invite(Invite("s1", "r1", "member", None, None, 0, 2))
    outcomes = await asyncio.gather(
        *(
            registry.rotate_invite("s1", Invite(f"n{i}", "r1", "member", None, None, 0, 3))
            for i in range(3)
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, InviteError)]
    assert len(refused) == 2 and {e.code for e in refused} == {"invite_revoked"}
    listed = await registry.list_invites("r1")
    live = [i for i in listed if i.status(4) == "active"]
    assert len(live) == 1  # exactly one successor exists, and the old link names it
    old = await registry.get_invite("s1")
    assert old is not None and old.replaced_by == live[0].invite_id
    with pytest.raises(InviteError) as unknown:
        await registry.rotate_invite("nope", Invite("x", "r1", "member", None, None, 0, 5))
    assert unknown.value.code == "invite_unknown"


async def test_a_manage_secret_is_kept_as_a_hash_and_a_new_one_replaces_it(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    registry = await _room(engine)
    assert not await registry.manage_secret_matches("r1", "s" * 43)  # none yet
    await registry.set_manage_secret("r1", "a" * 43, 5)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(room_manage_links))).all()
    assert [(r.room_id, r.secret_hash) for r in stored] == [("r1", hash_manage_secret("a" * 43))]
    assert await registry.manage_secret_matches("r1", "a" * 43)
    await registry.set_manage_secret("r1", "b" * 43, 6)
    assert not await registry.manage_secret_matches("r1", "a" * 43)
    assert await registry.manage_secret_matches("r1", "b" * 43)
    assert not await registry.manage_secret_matches("r2", "b" * 43)
    with pytest.raises(NotFound):
        await registry.set_manage_secret("r-none", "c" * 43, 7)
