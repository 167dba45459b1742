"""server/waiting.py: waits and stops that never swallow a cancellation (Python 3.11)."""

from __future__ import annotations

import asyncio

import pytest

from server.waiting import stop_task, wait_event


async def test_wait_event_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    assert await wait_event(event, -1) is False  # a deadline already past
    event.set()
    assert await wait_event(event, 0) is True


async def _loop_on(event: asyncio.Event) -> None:
    while True:
        await wait_event(event, 60)
        event.clear()


async def test_a_loop_set_and_cancelled_in_one_turn_stops() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(_loop_on(event))
    await asyncio.sleep(0.01)  # waiting on the event
    event.set()
    task.cancel()  # the same turn: asyncio.wait_for would return True and go round again
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done == {task} and task.cancelled()


async def test_stop_task_stops_it_and_lets_the_callers_cancellation_through() -> None:
    event = asyncio.Event()
    worker = asyncio.create_task(_loop_on(event))
    await asyncio.sleep(0.01)
    await stop_task(worker)
    assert worker.cancelled()

    async def stubborn() -> None:  # takes its time to stop
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(60)

    slow = asyncio.create_task(stubborn())
    await asyncio.sleep(0.01)
    closer = asyncio.create_task(stop_task(slow))
    await asyncio.sleep(0.01)
    closer.cancel()  # the caller gives up: that reaches it
    done, _ = await asyncio.wait({closer}, timeout=5)
    assert done == {closer} and closer.cancelled()
    slow.cancel()
    await asyncio.wait({slow})


async def test_stop_task_raises_what_the_task_raised() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="boom"):
        await stop_task(task)
