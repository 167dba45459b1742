"""Group commit: everything that arrived while the previous transaction ran goes in the next one.

Room actors hand in :class:`~server.storage.events.Append` records and await their own future.
There is no fixed delay: under light load a batch is one append and commits at once; under heavy
load batches grow by themselves, so durability does not cost one disk sync per command
(DESIGN.md §3). A conflict or duplicate in one room fails only that room's appends; the rest of
the batch is retried at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from server.metrics import Metrics
from server.storage import Append, DuplicateOp, EventStore, SeqConflict, StorageError, StoredEvent

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

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="committer")
        self._task.add_done_callback(self._died)

    @staticmethod
    def _died(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.critical("the committer died; no command can be saved", exc_info=task.exception())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
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
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._commit_group(batch)

    async def _commit_group(self, batch: list[_Pending]) -> None:
        while batch:
            batch = [p for p in batch if not p.future.cancelled()]
            if not batch:
                return
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
                log.warning("group commit failed: %s", type(exc).__name__)
                error = (
                    exc
                    if isinstance(exc, StorageError)
                    else StorageError(
                        "the database did not accept the write", code="storage_unavailable"
                    )
                )
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(error)
                return
            self._metrics.commit_latency.observe(time.perf_counter() - started)
            self._metrics.commit_batch.observe(len(batch))
            for p, stored in zip(batch, results, strict=True):
                self._metrics.events.inc(len(stored))
                if not p.future.done():
                    p.future.set_result(stored)
            return

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
