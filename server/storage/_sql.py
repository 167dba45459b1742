"""Private helpers shared by the storage modules: JSON columns, the clock, error translation.

Must not hold state or know any table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc

from server.ids import now_ms
from server.storage.errors import StorageUnavailable

__all__ = [
    "dump_json",
    "load_json",
    "refused_by_database",
    "translate_unavailable",
    "wall_clock_ms",
]

# SQLSTATE classes that say "not now" rather than "not this": connection exceptions, transaction
# rollbacks (serialisation, deadlock), insufficient resources, object not in prerequisite state
# (lock not available), operator intervention (shutdown, cancel), system errors. asyncpg reports
# most server errors as SQLAlchemy's bare ``DBAPIError``; only the SQLSTATE tells them apart.
_UNAVAILABLE_STATES = ("08", "40", "53", "55", "57", "58")


def wall_clock_ms() -> int:
    """Milliseconds since the epoch (the default clock of the stores; :func:`server.ids.now_ms`)."""
    return now_ms()


def dump_json(value: Any) -> str:
    """Compact JSON text; rejects NaN/Infinity, which PostgreSQL's JSON and browsers refuse."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def load_json(text: str) -> Any:
    return json.loads(text)


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _unavailable_state(exc: sa_exc.DBAPIError) -> bool:
    state = _sqlstate(exc)
    return state is not None and state.startswith(_UNAVAILABLE_STATES)


def refused_by_database(exc: sa_exc.DBAPIError) -> bool:
    """Whether ``exc`` is the database refusing a write's data (a trigger, a value it cannot
    store) — not an outage, and not a statement of ours it cannot run (a bug)."""
    if isinstance(
        exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ProgrammingError)
    ) or _unavailable_state(exc):
        return False
    return not isinstance(exc, sa_exc.InternalError)


@contextmanager
def translate_unavailable() -> Iterator[None]:
    """Turn "the database is not there / stayed locked" into :class:`StorageUnavailable`.

    Programming errors (bad SQL, integrity errors the caller did not expect) are not
    translated: they are bugs and must surface as such.
    """
    try:
        yield
    except (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
        sqlite3.OperationalError,  # the log's own SQLite connection (sqlite_append.py)
    ) as exc:
        raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
    except sa_exc.DBAPIError as exc:
        if not _unavailable_state(exc):
            raise
        raise StorageUnavailable(f"database unavailable: SQLSTATE {_sqlstate(exc)}") from exc
    except (OSError, TimeoutError) as exc:
        raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
