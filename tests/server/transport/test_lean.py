"""The lean inbox and flag behave as the asyncio.Queue and Event uvicorn uses, for its uses.

One contract, run against asyncio's own classes and ours: what a reader gets, in order, what a
cancelled ``get`` leaves behind, and how waiters are released. Then the protocol: the server
really uses it, and an idle socket keeps no container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.transport.lean import Flag, Inbox, LeanWebSocketProtocol
from tests.server.conftest import LiveServer
from tests.server.peers import Peer, create_room

QUEUES: list[Callable[[], Any]] = [asyncio.Queue, Inbox]
EVENTS: list[Callable[[], Any]] = [asyncio.Event, Flag]


@pytest.mark.parametrize("make", QUEUES)
async def test_a_reader_gets_every_item_in_order(make: Callable[[], Any]) -> None:
    queue = make()
    assert queue.empty() and queue.qsize() == 0
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert not queue.empty() and queue.qsize() == 2
    assert [await queue.get(), await queue.get()] == [1, 2]
    assert queue.empty()


@pytest.mark.parametrize("make", QUEUES)
async def test_a_waiting_reader_is_woken_by_a_put(make: Callable[[], Any]) -> None:
    queue = make()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reader.done()
    queue.put_nowait("x")
    assert await asyncio.wait_for(reader, 1) == "x"


@pytest.mark.parametrize("make", QUEUES)
async def test_a_cancelled_get_loses_nothing(make: Callable[[], Any]) -> None:
    queue = make()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)
    queue.put_nowait("kept")
    reader = asyncio.ensure_future(queue.get())
    queue.put_nowait("next")  # put while a reader waits, then cancel that reader
    reader.cancel()
    await asyncio.sleep(0)
    got = [] if reader.cancelled() else [reader.result()]
    while not queue.empty():
        got.append(await queue.get())
    assert got == ["kept", "next"]


@pytest.mark.parametrize("make", QUEUES)
async def test_two_readers_waiting_at_once_each_get_an_item(make: Callable[[], Any]) -> None:
    # uvicorn's receive and the app's can both wait: an inbox that woke only its latest reader
    # left the other (reading the close frame) hanging until the client gave up, 60 s
    queue = make()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("a")
    queue.put_nowait("b")
    got = await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert sorted(got) == ["a", "b"]
    # a reader woken and then cancelled passes its item on to the one still waiting
    third = asyncio.ensure_future(queue.get())
    fourth = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("c")
    third.cancel()
    assert await asyncio.wait_for(fourth, 1) == "c" or third.result() == "c"
    assert queue.empty()


@pytest.mark.parametrize("make", EVENTS)
async def test_a_flag_releases_its_waiters_and_can_be_cleared(make: Callable[[], Any]) -> None:
    flag = make()
    assert not flag.is_set()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert flag.is_set() and await flag.wait() is True
    flag.clear()
    assert not flag.is_set()
    late = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    late.cancel()  # a cancelled waiter is forgotten; the next set still works
    await asyncio.sleep(0)
    flag.set()
    assert flag.is_set()


def test_no_container_while_idle() -> None:
    inbox: Inbox[int] = Inbox()
    flag = Flag()
    assert not hasattr(inbox, "__dict__") and not hasattr(flag, "__dict__")
    assert inbox._items is None and inbox._waiters is None and flag._waiters is None


async def test_the_server_serves_room_sockets_with_it(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    host = await Peer.open(live_server.ws_url(room["room_id"]), origin=live_server.base_url)
    await host.hello(room["host"]["token"])
    await host.send({"t": "cmd", "op": "l1", "name": "PostMessage", "args": {"text": "hi"}})
    assert (await host.recv_until("ack"))["op"] == "l1"
    connections = live_server.server.server_state.connections
    [proto] = [p for p in connections if isinstance(p, WebSocketsSansIOProtocol)]
    assert isinstance(proto, LeanWebSocketProtocol)
    writable: Any = proto.writable  # typed as asyncio.Event by uvicorn
    assert isinstance(proto.queue, Inbox) and isinstance(writable, Flag)
    assert writable.is_set()
    await host.close()


def test_the_server_reaches_room_sockets_before_the_application() -> None:
    from server.cli import uvicorn_config
    from server.settings import Settings
    from server.transport.ws import RoomSockets

    class App:
        state = object()

    app = App()
    config = uvicorn_config(app, Settings())
    assert isinstance(config.app, RoomSockets) and config.app.app is app
    assert config.app.state is app.state  # the serving protocol reads the app's metrics there
    assert config.ws is LeanWebSocketProtocol
