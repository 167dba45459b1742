"""Group commit: everything that arrived while the previous transaction ran goes in the next one.

Room actors hand in :class:`~server.storage.events.Append` records and await their own future.
There is no fixed delay: under light load a batch is one append and commits at once; under heavy
load batches grow by themselves, so durability does not cost one disk sync per command
(DESIGN.md §3). A conflict or duplicate in one room fails only that room's appends; the rest of
the batch is retried at once.

Isolation (DESIGN.md §11): a batch that fails for any other reason is committed again room by
room, and a room that still fails, op by op — so an append whose rows the database refuses
(:class:`~server.storage.WriteRefused`: a constraint, a trigger, a value it cannot store) fails
alone with ``write_refused``, and the appends of its room decided on top of it fail as a
:class:`~server.storage.SeqConflict` so the actor decides them again. Any other failure
(:class:`~server.storage.StorageUnavailable`, an error nobody classified) is no one append's
fault: the first room that fails that way fails every append not yet tried, without trying
each, so a database that is down costs one more transaction, not one per room. The split costs
at most one transaction per room plus one per append of a refused room, and only after a
failure: a batch that commits is one transaction, as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server.metrics import Metrics
from server.storage import (
    Append,
    DuplicateOp,
    EventStore,
    InvalidBatch,
    SeqConflict,
    StorageError,
    StoredEvent,
    WriteRefused,
)
from server.waiting import STOP_GRACE_S, stop_task

__all__ = ["Committer"]

log = logging.getLogger("coshop.commit")


@dataclass(slots=True)
class _Pending:
    append: Append
    future: asyncio.Future[tuple[StoredEvent, ...]]


class Committer:
    def __init__(self, store: EventStore, metrics: Metrics, *, max_batch: int = 256) -> None:
        self._store = store
        self._metrics = metrics
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Told of every group that committed, after its futures are resolved, on this task:
        # the webhook feed notes which rooms' logs grew (server/webhooks/feed.py). It must
        # only take note (no I/O, no await): the next group waits for it.
        self.committed: Callable[[Sequence[tuple[StoredEvent, ...]]], None] | None = None

    def start(self) -> None:
        self._stopping = False  # a worker closed and started again runs again
        self._task = asyncio.get_running_loop().create_task(self._run(), name="committer")
        self._task.add_done_callback(self._died)

    @staticmethod
    def _died(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.critical("the committer died; no command can be saved", exc_info=task.exception())

    async def close(self) -> None:
        # the group being written finishes (cancelled half way, a query costs SQLAlchemy its
        # connection: server/waiting.py); what waits behind it is refused below
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await stop_task(self._task, grace_s=STOP_GRACE_S)
        for p in self._queue:
            if not p.future.done():
                p.future.set_exception(StorageError("server is stopping", code="shutting_down"))
        self._queue.clear()

    async def commit(self, append: Append) -> tuple[StoredEvent, ...]:
        """Commit one room's append in the next group; raises SeqConflict, DuplicateOp, …"""
        return await self.submit(append)

    def submit(self, append: Append) -> asyncio.Future[tuple[StoredEvent, ...]]:
        """Queue ``append`` for the next group; its future resolves when that group commits.

        No task per append: a room actor awaits the futures of its turn directly.
        """
        future: asyncio.Future[tuple[StoredEvent, ...]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(append, future))
        self._wake.set()
        return future

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and not self._stopping:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._commit_group(batch)

    async def _commit_group(self, batch: list[_Pending]) -> None:
        failure = await self._commit(batch)
        if failure is None:
            return
        rest, error = failure
        rooms: dict[str, list[_Pending]] = {}
        for p in rest:
            rooms.setdefault(p.append.room_id, []).append(p)
        parts = list(rooms.values())
        if len(parts) == 1:  # nothing to split but the room's own ops
            left = await self._commit_each(rest, error) if _refused(error) else (rest, error)
            if left is not None:
                _give_up(left[0], left[1])
            return
        log.warning(
            "group commit of %d rooms failed (%s): committing room by room",
            len(parts),
            type(error).__name__,
        )
        for index, part in enumerate(parts):
            failure = await self._commit(part)
            left = failure
            if failure is not None and _refused(failure[1]):
                left = await self._commit_each(*failure)
            if left is not None:
                # Not this data's fault: the rooms not tried yet would fail the same way.
                untried = [p for later in parts[index + 1 :] for p in later]
                _give_up([*left[0], *untried], left[1])
                return

    async def _commit(self, batch: list[_Pending]) -> tuple[list[_Pending], Exception] | None:
        """Commit ``batch`` in one transaction, dropping appends that conflict or repeat an op.

        Returns None once everything was answered, or the appends still unanswered and the error
        that is neither a conflict nor a duplicate.
        """
        while batch:
            batch = [p for p in batch if not p.future.cancelled()]
            if not batch:
                return None
            started = time.perf_counter()
            try:
                results = await self._store.append_batch([p.append for p in batch])
            except SeqConflict as exc:
                batch = self._fail_rooms(batch, set(exc.rooms), exc)
                continue
            except DuplicateOp as exc:
                batch = self._fail_op(batch, exc)
                continue
            except Exception as exc:
                return batch, exc
            self._metrics.commit_latency.observe(time.perf_counter() - started)
            self._metrics.commit_batch.observe(len(batch))
            for p, stored in zip(batch, results, strict=True):
                self._metrics.events.inc(len(stored))
                if not p.future.done():
                    p.future.set_result(stored)
            if self.committed is not None:
                try:
                    self.committed(results)
                except Exception:  # a listener's bug must never stop commits
                    log.exception("a commit listener failed")
            return None
        return None

    async def _commit_each(
        self, part: list[_Pending], error: Exception
    ) -> tuple[list[_Pending], Exception] | None:
        """One room's appends, refused together with ``error``: commit them one by one.

        The first one refused fails alone; those after it were decided on top of it and fail as
        a conflict. Returns what is left unanswered if an append fails for another reason.
        """
        if len(part) > 1:
            for index, p in enumerate(part):
                failure = await self._commit([p])
                if failure is None:
                    continue
                if not _refused(failure[1]):
                    return [p, *part[index + 1 :]], failure[1]
                self._refuse(p, failure[1], part[index + 1 :])
                return None
            return None
        self._refuse(part[0], error, [])
        return None

    @staticmethod
    def _refuse(refused: _Pending, error: Exception, later: list[_Pending]) -> None:
        room = refused.append.room_id
        log.warning("a write was refused: %s", type(error).__name__, extra={"room_id": room})
        _fail([refused], _storage_error(error))
        _fail(later, SeqConflict({room: refused.append.after_seq}))

    @staticmethod
    def _fail_rooms(batch: list[_Pending], rooms: set[str], error: Exception) -> list[_Pending]:
        rest = []
        for p in batch:
            if p.append.room_id in rooms:
                if not p.future.done():
                    p.future.set_exception(error)
            else:
                rest.append(p)
        return rest

    @staticmethod
    def _fail_op(batch: list[_Pending], error: DuplicateOp) -> list[_Pending]:
        # Appends of the same room after the duplicate were decided on top of it: fail them too
        # so the actor re-decides them against the log.
        rest = []
        failed_room: str | None = None
        for p in batch:
            if p.append.op == error.key:
                failed_room = p.append.room_id
                if not p.future.done():
                    p.future.set_exception(error)
            elif failed_room is not None and p.append.room_id == failed_room:
                if not p.future.done():
                    p.future.set_exception(SeqConflict({failed_room: p.append.after_seq}))
            else:
                rest.append(p)
        return rest


def _refused(error: Exception) -> bool:
    """The database refused these rows: the same rows fail again, the others need not."""
    return isinstance(error, WriteRefused | InvalidBatch)


def _storage_error(error: Exception) -> StorageError:
    if isinstance(error, StorageError):
        return error
    return StorageError("the database did not accept the write", code="storage_unavailable")


def _give_up(pending: list[_Pending], error: Exception) -> None:
    log.warning("group commit failed: %s", type(error).__name__)
    _fail(pending, _storage_error(error))


def _fail(pending: list[_Pending], error: Exception) -> None:
    for p in pending:
        if not p.future.done():
            p.future.set_exception(error)
