"""Build the async SQLAlchemy engine and bring the schema up to date.

This module is for: turning a database URL into a configured :class:`AsyncEngine` (SQLite
pragmas, SQLite transaction control, pool settings for asyncpg), running Alembic migrations at
start-up, and opening *write* transactions that take SQLite's write lock up front.

It must not: hold an engine at import time, know any table, or read the environment — the
caller (settings, the app lifespan, the CLI) passes the URL in.

SQLite notes (docs/storage.md explains the choices):

* ``journal_mode=WAL`` so readers never block the writer; ``busy_timeout`` so a second
  process waits for the write lock instead of failing at once; ``foreign_keys=ON``.
* ``synchronous=FULL`` by default: every commit is fsynced, so neither a SIGKILL nor a power
  cut loses an acknowledged transaction. Group commit keeps that to one sync per batch.
* Python's ``sqlite3`` "legacy transaction control" is switched off; SQLAlchemy's ``begin``
  event emits ``BEGIN`` itself. Write transactions (:func:`begin_write`) emit
  ``BEGIN IMMEDIATE`` so the write lock is taken before the first read: two processes racing
  on one room then serialise cleanly instead of failing with ``SQLITE_BUSY`` on lock upgrade.
* Every engine hides statement parameters (``hide_parameters=True``): a logged database error
  names the statement, never the chat text, names or key hashes bound to it.
* One writer at a time per process, in arrival order: every in-process write transaction on a
  SQLite file (:func:`begin_write`, the event log's appender, the registry's invite uses) first
  waits for its turn (:func:`sqlite_write_turn`), a FIFO lock per file. SQLite's busy handler
  is not a queue: waiters poll with growing sleeps, the lock sits idle between them and an
  unlucky waiter can starve past the busy timeout — 200 viewers buying at once got 503s on a
  loaded machine. The busy timeout still settles writers of *other* processes.
* :func:`sqlite_file` tells a caller that wants its own ``sqlite3`` connection to the same file
  (the event log's append path, see ``server/storage/sqlite_append.py``) where the file is and
  which pragmas to apply (:func:`apply_sqlite_pragmas`), so both connections behave alike.
"""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = [
    "MIGRATIONS_DIR",
    "SqliteFile",
    "SqliteSynchronous",
    "alembic_config",
    "apply_sqlite_pragmas",
    "begin_write",
    "create_engine",
    "database_url_for_data_dir",
    "sqlite_file",
    "sqlite_write_turn",
    "upgrade_database",
    "upgrade_engine",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
"""Alembic's script location: ``server/migrations`` (no alembic.ini needed)."""

SqliteSynchronous = Literal["FULL", "NORMAL", "EXTRA"]

_BEGIN_OPTION = "coshop_begin"
_SQLITE_BUSY_TIMEOUT_MS = 10_000
_MIGRATION_LOCK = 0x636F73686F70  # "coshop": the advisory lock id held while migrating
WRITE_TURN_WAIT_S = 30.0
"""How long an in-process SQLite writer waits for its turn before "database is locked"."""


@dataclass(frozen=True, slots=True)
class SqliteFile:
    """A SQLite database file behind an engine, and the ``synchronous`` mode it runs with."""

    path: str
    synchronous: SqliteSynchronous


_SQLITE_FILES: weakref.WeakKeyDictionary[Engine, SqliteFile] = weakref.WeakKeyDictionary()
# The write turns (module docstring): per event loop (an asyncio.Lock belongs to one), per file.
_WRITE_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def database_url_for_data_dir(data_dir: Path) -> str:
    """The default SQLite URL for a data directory: ``<data_dir>/coshop.db``."""
    return f"sqlite+aiosqlite:///{Path(data_dir).resolve() / 'coshop.db'}"


def create_engine(
    url: str,
    *,
    echo: bool = False,
    connect_args: dict[str, Any] | None = None,
    sqlite_synchronous: SqliteSynchronous = "FULL",
    pool_size: int = 10,
) -> AsyncEngine:
    """An :class:`AsyncEngine` for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    For a SQLite file the parent directory is created if missing and every new connection gets
    the pragmas listed in the module docstring. ``connect_args`` go to the driver (the tests
    pass asyncpg ``server_settings`` to pin a ``search_path``).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {
        "echo": echo,
        # Statement parameters are chat text, names and key hashes: never in a log record or in
        # the text of a database error that is logged with its traceback (server/logs.py).
        "hide_parameters": True,
        "connect_args": dict(connect_args or {}),
    }
    database_file: Path | None = None
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            database_file = Path(database).expanduser()
            database_file.parent.mkdir(parents=True, exist_ok=True)
    elif backend == "postgresql":
        # pre_ping survives a restarted PostgreSQL; recycle stays under typical idle cut-offs.
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
            pool_timeout=30,
        )
    engine = create_async_engine(url, **kwargs)
    if backend == "sqlite":
        _install_sqlite_hooks(engine, sqlite_synchronous)
        if database_file is not None:
            _SQLITE_FILES[engine.sync_engine] = SqliteFile(str(database_file), sqlite_synchronous)
    return engine


def sqlite_file(engine: AsyncEngine) -> SqliteFile | None:
    """The SQLite file behind ``engine`` (built by :func:`create_engine`), or None.

    None for PostgreSQL, for in-memory or ``file:`` URI databases, and for engines built
    elsewhere: a second connection could not reach the same data, or not with known settings.
    """
    return _SQLITE_FILES.get(engine.sync_engine)


def apply_sqlite_pragmas(dbapi_connection: Any, synchronous: SqliteSynchronous) -> None:
    """Put a ``sqlite3``-compatible connection into coshop's mode (module docstring).

    Python's own transaction handling is switched off: the caller emits ``BEGIN``.
    """
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):  # never interpolate anything else
        raise ValueError(f"unsupported sqlite synchronous mode {synchronous!r}")
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        # Switching to WAL needs an exclusive lock that SQLite takes without the busy handler;
        # a file already in WAL (every file after its first connection) needs no switch.
        cursor.execute("PRAGMA journal_mode")
        row = cursor.fetchone()
        if row is None or str(row[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _install_sqlite_hooks(engine: AsyncEngine, synchronous: SqliteSynchronous) -> None:
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):  # never interpolate anything else
        raise ValueError(f"unsupported sqlite synchronous mode {synchronous!r}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver; _on_begin below emits it.
        apply_sqlite_pragmas(dbapi_connection, synchronous)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_BEGIN_OPTION) == "IMMEDIATE":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@asynccontextmanager
async def sqlite_write_turn(database: SqliteFile | None) -> AsyncIterator[None]:
    """Hold this process's turn to write to ``database``; nothing to wait for when None.

    Turns are given in arrival order (module docstring). A writer still waiting after
    :data:`WRITE_TURN_WAIT_S` gets :class:`sqlite3.OperationalError` ("database is locked"),
    which callers already answer as storage being unavailable. Must not be nested: a writer
    holding the turn that waits for another write to the same file waits for itself.
    """
    if database is None:
        yield
        return
    turns = _WRITE_TURNS.setdefault(asyncio.get_running_loop(), {})
    turn = turns.setdefault(database.path, asyncio.Lock())
    try:
        async with asyncio.timeout(WRITE_TURN_WAIT_S):
            await turn.acquire()
    except TimeoutError:
        raise sqlite3.OperationalError(
            f"database is locked: no turn to write within {WRITE_TURN_WAIT_S:g} s"
        ) from None
    try:
        yield
    finally:
        turn.release()


@asynccontextmanager
async def begin_write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction meant to write; commits on success, rolls back on error.

    On SQLite this is ``BEGIN IMMEDIATE`` (write lock first, then reads are consistent with the
    writes), after waiting for the process's turn to write (:func:`sqlite_write_turn`); on
    PostgreSQL a plain read-committed transaction, where unique constraints settle races.
    """
    async with sqlite_write_turn(sqlite_file(engine)), engine.connect() as conn:
        await conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        async with conn.begin():
            yield conn


def alembic_config() -> Config:
    """An Alembic :class:`Config` pointing at ``server/migrations`` (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` over one connection of ``engine``."""

    def _upgrade(sync_conn: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    # Several processes may start at once: serialise their upgrades so the later ones find the
    # schema already at head (SQLite: a lock file beside the database, taken before the first
    # connection — a brand-new file's switch to WAL cannot wait for a busy lock — then the write
    # lock; PostgreSQL: a transaction advisory lock).
    database = sqlite_file(engine)
    async with (
        _sqlite_migration_lock(database.path if database is not None else None),
        begin_write(engine) as conn,
    ):
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        await conn.run_sync(_upgrade)


@asynccontextmanager
async def _sqlite_migration_lock(path: str | None) -> AsyncIterator[None]:
    """Hold an exclusive ``flock`` on ``<path>.migrate-lock`` (nothing when ``path`` is None)."""
    if path is None:
        yield
        return
    handle = await asyncio.to_thread(_open_and_lock, f"{path}.migrate-lock")
    try:
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


def _open_and_lock(lock_path: str) -> IO[bytes]:
    handle = open(lock_path, "ab")  # noqa: SIM115 - closed by the caller, which holds the lock
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    except BaseException:
        handle.close()
        raise
    return handle


async def upgrade_database(
    url: str, *, revision: str = "head", connect_args: dict[str, Any] | None = None
) -> None:
    """Bring the database at ``url`` to ``revision`` (default: head). Safe at every start-up."""
    engine = create_engine(url, connect_args=connect_args)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()
