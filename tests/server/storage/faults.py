"""Real database faults for tests: a trigger that refuses some rows of the event log.

Not a mocked store: the database itself rejects the insert, the way a constraint, a full column or
a broken row would, and the driver reports it exactly as it would in production.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["POISON_MESSAGE", "cure", "poison_events", "poison_room"]

POISON_MESSAGE = "poisoned"


async def poison_room(engine: AsyncEngine, room_id: str) -> None:
    """From now on the database refuses every ``room_events`` row of ``room_id``."""
    await poison_events(engine, "room_id", room_id)


async def poison_events(engine: AsyncEngine, column: str, value: str) -> None:
    """From now on the database refuses every ``room_events`` row whose ``column`` is ``value``.

    One such trigger per database (SQLite file or PostgreSQL schema).
    """
    # the names are spliced into SQL: keep them to plain identifiers
    assert re.fullmatch(r"[a-z_]+", column), column
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value), value
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON room_events"
                    f" WHEN NEW.{column} = '{value}'"
                    f" BEGIN SELECT RAISE(ABORT, '{POISON_MESSAGE}'); END"
                )
            )
            return
        await conn.execute(
            text(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS"
                f" $$ BEGIN RAISE EXCEPTION '{POISON_MESSAGE}'; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON room_events FOR EACH ROW"
                f" WHEN (NEW.{column} = '{value}') EXECUTE FUNCTION poison()"
            )
        )


async def cure(engine: AsyncEngine) -> None:
    """Remove the trigger :func:`poison_events` installed."""
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(text("DROP TRIGGER poison"))
            return
        await conn.execute(text("DROP TRIGGER poison ON room_events"))
        await conn.execute(text("DROP FUNCTION poison()"))
