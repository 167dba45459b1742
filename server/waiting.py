"""Bounded waits that a shutdown can always cancel.

``asyncio.wait_for`` is not used in the server (ruff bans it outside the tests): on Python 3.11
it swallows a cancellation that arrives in the loop turn the awaited thing completes — it
returns the result instead (cpython gh-86296, fixed in 3.12). A background loop waiting with it
on its wake-up event then goes round again, and the ``close()`` that cancelled it waits for
ever: a shutdown hung that way in CI when an outbox was woken as the server stopped.
``asyncio.timeout`` and ``asyncio.wait`` do not swallow it.

Stopping a task the same way: ``task.cancel()`` then ``with suppress(CancelledError): await
task`` also swallows a cancellation *of the caller* (a shutdown given up on, a request's
timeout): :func:`stop_task` waits with ``asyncio.wait``, which lets it through, and gives a
loop that was told to stop a grace period to finish its pass before it is cancelled.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["STOP_GRACE_S", "stop_task", "wait_event"]

STOP_GRACE_S = 5.0  # how long a background loop told to stop may take to finish its pass


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set."""
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def stop_task(task: asyncio.Task[Any], *, grace_s: float = 0.0) -> None:
    """Stop ``task``: give it ``grace_s`` seconds to end by itself (a loop told to stop
    finishes its pass), then cancel it and wait until it has stopped. Raise what it raised,
    other than its cancellation. The caller's own cancellation is never swallowed.

    A grace matters for tasks that talk to the database: a query cancelled half way makes
    SQLAlchemy terminate the connection, and with aiosqlite that can leave a close task behind
    that a single cancellation never ends (the process's exit then waits for ever).
    """
    if grace_s > 0 and not task.done():
        await asyncio.wait({task}, timeout=grace_s)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
    if not task.cancelled():
        task.result()  # it ended on its own: its error (if any) is the caller's
