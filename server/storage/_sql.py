"""Private helpers shared by the storage modules: JSON columns, the clock, error translation.

Must not hold state or know any table.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc

from server.storage.errors import StorageUnavailable

__all__ = ["dump_json", "load_json", "translate_unavailable", "wall_clock_ms"]


def wall_clock_ms() -> int:
    """Milliseconds since the epoch (the default clock of the stores)."""
    return time.time_ns() // 1_000_000


def dump_json(value: Any) -> str:
    """Compact JSON text; rejects NaN/Infinity, which PostgreSQL's JSON and browsers refuse."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def load_json(text: str) -> Any:
    return json.loads(text)


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
    except (OSError, TimeoutError) as exc:
        raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
