"""Real database faults for tests: a trigger that refuses one room's rows of the event log.

Not a mocked store: the database itself rejects the insert, the way a constraint, a full column or
a broken row would, and the driver reports it exactly as it would in production.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["POISON_MESSAGE", "poison_room"]

POISON_MESSAGE = "poisoned"


async def poison_room(engine: AsyncEngine, room_id: str) -> None:
    """From now on the database refuses every ``room_events`` row of ``room_id``."""
    assert re.fullmatch(r"[A-Za-z0-9_-]+", room_id), "the id is spliced into SQL"
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON room_events"
                    f" WHEN NEW.room_id = '{room_id}'"
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
                f" WHEN (NEW.room_id = '{room_id}') EXECUTE FUNCTION poison()"
            )
        )
