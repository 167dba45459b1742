"""The storage package's exceptions: one tree, each with a stable string ``code``.

::

    StorageError                 code: "storage_error"
    ├── StorageUnavailable       "storage_unavailable"  database unreachable / locked too long
    ├── SeqConflict              "seq_conflict"         another writer moved a room's log on
    ├── DuplicateOp              "duplicate_op"         an op key was already recorded
    ├── InvalidBatch             "invalid_batch"        a batch contradicts itself (caller bug)
    ├── WriteRefused             "write_refused"        the database refused this data (a
    │                                                   constraint, a trigger, an encoding)
    ├── NotFound                 "merchant_unknown" / "room_unknown"
    ├── AlreadyExists            "merchant_exists" / "room_exists" / "invite_exists"
    └── InviteError              "invite_unknown" / "invite_expired" / "invite_exhausted" /
                                 "invite_revoked"

Foreign (SQLAlchemy / driver) errors are translated at the package boundary with
``raise ... from exc``; callers never need to import SQLAlchemy to handle storage failures.
This module must not import SQLAlchemy itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.storage.events import OpKey, OpOutcome

__all__ = [
    "AlreadyExists",
    "DuplicateOp",
    "InvalidBatch",
    "InviteError",
    "NotFound",
    "SeqConflict",
    "StorageError",
    "StorageUnavailable",
    "WriteRefused",
]


class StorageError(Exception):
    """Base of every storage error. ``code`` is stable and safe to show to a client."""

    code: str = "storage_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class StorageUnavailable(StorageError):
    """The database could not be reached or stayed locked; the operation may be retried."""

    code = "storage_unavailable"


class SeqConflict(StorageError):
    """Nothing was committed: some room's log is not where the writer believed it was.

    ``rooms`` maps each conflicting room id to its real last seq now; the writer reloads those
    rooms and retries.
    """

    code = "seq_conflict"

    def __init__(self, rooms: Mapping[str, int]) -> None:
        self.rooms: dict[str, int] = dict(rooms)
        listing = ", ".join(f"{room}@{seq}" for room, seq in sorted(self.rooms.items()))
        super().__init__(f"room log moved on: {listing}")


class DuplicateOp(StorageError):
    """Nothing was committed: an op key in the batch was already recorded.

    ``key``/``outcome`` name the first duplicate; ``duplicates`` holds all of them, so the
    writer can answer those ops with their original outcome and retry the rest.
    ``existing_digest`` is the arguments digest recorded with the first duplicate (None when it
    was recorded without one): a writer whose op carries another digest refuses it as a
    conflict instead of answering it as a retry.
    """

    code = "duplicate_op"

    def __init__(
        self,
        key: OpKey,
        outcome: OpOutcome,
        duplicates: Mapping[OpKey, OpOutcome] | None = None,
    ) -> None:
        self.key = key
        self.outcome = outcome
        self.duplicates: dict[OpKey, OpOutcome] = dict(duplicates or {key: outcome})
        self.existing_digest: str | None = outcome.args_digest
        super().__init__(f"op {key.op_id!r} of {key.actor!r} in {key.room_id!r} already applied")


class InvalidBatch(StorageError):
    """The batch contradicts itself (e.g. one op key twice). A caller bug; nothing committed."""

    code = "invalid_batch"


class WriteRefused(StorageError):
    """Nothing was committed: the database refused the rows themselves.

    Not a conflict and not an outage: a constraint or trigger rejected them, or a value cannot be
    stored (too long, not encodable). Writing the same rows again fails the same way; the
    committer isolates such an append so that it fails alone (server/hub/committer.py).
    """

    code = "write_refused"


class NotFound(StorageError):
    """The named merchant or room does not exist (``code`` says which)."""

    code = "not_found"


class AlreadyExists(StorageError):
    """A merchant, room or invite with that id already exists (``code`` says which)."""

    code = "already_exists"


class InviteError(StorageError):
    """An invite cannot be used; ``code`` says why (unknown, expired, exhausted, revoked)."""

    code = "invite_unknown"
