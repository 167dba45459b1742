"""uvicorn's WebSocket protocol with a lighter inbox and writable flag per socket.

uvicorn's ``websockets-sansio`` protocol gives every socket an ``asyncio.Queue`` for what it
receives (four deques and an ``Event`` with a deque of its own: about 3 KiB even when empty) and
an ``asyncio.Event`` for flow control (another deque). An idle member keeps all of them for hours
(memory per idle member, docs/performance.md). :class:`LeanWebSocketProtocol` replaces the two
with :class:`Inbox` and :class:`Flag`: the same few operations uvicorn uses (``put_nowait``,
``get``, ``empty``; ``set``, ``clear``, ``is_set``, ``wait``) for one reader, with their
containers made only while something waits in them.

``coshop serve`` and the tests' live servers use it (``server/cli.py`` ``uvicorn_config``). It
must not change what uvicorn does with a socket, only what it keeps.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["Flag", "Inbox", "LeanWebSocketProtocol"]

T = TypeVar("T")


class Inbox(Generic[T]):
    """``asyncio.Queue`` (unbounded) as uvicorn uses it, with no container while empty.

    Several tasks may wait in ``get`` at once (uvicorn's own ``receive`` and the app's both can):
    each waits on a future of its own, woken first come first served, and a cancelled ``get``
    loses nothing (items stay until a ``get`` returns them; the wake-up it was given passes on).
    """

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: deque[T] | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: T) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._wake_next()

    def _wake_next(self) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> T:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                if self._items and waiter.done() and not waiter.cancelled():
                    self._wake_next()  # it was woken, then cancelled: the next one takes it
                raise
            finally:
                if self._waiters is not None:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                    if not self._waiters:
                        self._waiters = None
        items = self._items
        item = items.popleft()
        if not items:
            self._items = None
        else:
            self._wake_next()
        return item

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0


class Flag:
    """``asyncio.Event`` without a deque per socket: waiters are kept only while they wait."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with :class:`Inbox` and :class:`Flag`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: Any = Inbox()  # uvicorn annotates it as asyncio.Queue; same operations
        writable: Any = Flag()
        writable.set()
        self.writable = writable
