"""Durable storage: the room event log (source of truth) and the merchant/room/invite registries.

Everything here does I/O through SQLAlchemy's async Core on SQLite or PostgreSQL — except the
event log's common append on a SQLite file, which has its own ``sqlite3`` connection
(``sqlite_append.py``); nothing here decides room rules. See docs/storage.md for tables,
durability settings and pruning.
"""

from server.storage._sql import translate_unavailable
from server.storage.errors import (
    AlreadyExists,
    DuplicateOp,
    InvalidBatch,
    InviteError,
    NotFound,
    SeqConflict,
    StorageError,
    StorageUnavailable,
    WriteRefused,
)
from server.storage.events import Append, EventStore, NewEvent, OpKey, OpOutcome, StoredEvent
from server.storage.registry import Invite, Merchant, Registry, RoomRecord, hash_api_key

__all__ = [
    "AlreadyExists",
    "Append",
    "DuplicateOp",
    "EventStore",
    "InvalidBatch",
    "Invite",
    "InviteError",
    "Merchant",
    "NewEvent",
    "NotFound",
    "OpKey",
    "OpOutcome",
    "Registry",
    "RoomRecord",
    "SeqConflict",
    "StorageError",
    "StorageUnavailable",
    "StoredEvent",
    "WriteRefused",
    "hash_api_key",
    "translate_unavailable",
]
