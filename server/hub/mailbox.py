"""A room actor's mailbox: the queue of work, drained a turn at a time, and the held commands.

Everything that touches a room goes through its queue, so decide → commit → apply → fan-out
happens in one order without locks. A turn takes up to ``MAX_DRAIN`` items. While a busy live
room's tick is pending (``server/hub/pacing.py``), commands are *held* and decided together
when it fires: one turn, one commit for the whole window instead of one per command.

It must not: interpret work (the actor does) or await anything but the queue.
"""

from __future__ import annotations

import asyncio

from server.hub.work import Submit, SystemSubmit, Work

__all__ = ["MAX_DRAIN", "Mailbox"]

MAX_DRAIN = 128  # work items handled per turn of the loop


class Mailbox:
    __slots__ = ("held", "queue")

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Work] = asyncio.Queue()
        self.held: list[Submit | SystemSubmit] = []  # commands waiting for the pending tick

    def post(self, work: Work) -> None:
        self.queue.put_nowait(work)

    async def turn(self) -> list[Work]:
        """The next turn's items: waits for one, then takes what else is queued (bounded)."""
        queue = self.queue
        items = [await queue.get()]
        while len(items) < MAX_DRAIN and not queue.empty():
            items.append(queue.get_nowait())
        return items

    def take_held(self) -> list[Submit | SystemSubmit]:
        held, self.held = self.held, []
        return held

    def take_all(self) -> list[Work]:
        """Everything still waiting (held first), to answer when the room stops."""
        left: list[Work] = [*self.take_held()]
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
        return left
