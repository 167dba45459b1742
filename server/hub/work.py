"""The work items a room actor's queue carries. Plain data; the actor interprets them.

Every item that someone waits on (a client's op, a system command, an attach, an inspection)
is answered exactly once — with a result or an error — even when the turn that carried it
failed (``answered`` / the futures record that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms import Command, Room, Signal
from server.hub.peers import PeerMessage
from server.storage import StoredEvent
from server.transport.session import Session

__all__ = [
    "Attach",
    "CatchUp",
    "Detach",
    "Inspect",
    "PeersChanged",
    "Relay",
    "Remote",
    "Submit",
    "SystemSubmit",
    "Tick",
    "Unload",
    "Work",
]


@dataclass(slots=True)
class Attach:
    """A socket finished its hello: join the member if needed, then welcome or resume."""

    session: Session
    last_seq: int | None
    done: asyncio.Future[bool]


@dataclass(slots=True)
class Detach:
    session: Session


@dataclass(slots=True)
class Submit:
    """A client command with its op id; ``retry`` marks a resend after a lost answer."""

    session: Session
    op_id: str
    command: Command
    retry: bool = False
    attempts: int = 0
    answered: bool = False
    digest: str | None = None  # server.hub.opdigest of the frame's name and args (op_conflict)


@dataclass(slots=True)
class SystemSubmit:
    """A command the server itself issues (checkout bridge), answered through a future."""

    command: Command
    done: asyncio.Future[tuple[StoredEvent, ...]]
    attempts: int = 0
    actor: str | None = None  # a member on whose behalf the server acts (REST); None = system


@dataclass(slots=True)
class Relay:
    """An ephemeral signal from a local session."""

    session: Session
    signal: Signal


@dataclass(slots=True)
class Remote:
    """Something another process published for this room (``server/hub/peers.py``)."""

    message: PeerMessage


@dataclass(slots=True)
class CatchUp:
    """Read whatever the log has beyond our seq (after a load or a broker outage)."""


@dataclass(slots=True)
class PeersChanged:
    """Who is connected to other processes changed: tell this room's sessions."""


@dataclass(slots=True)
class Inspect:
    """Run ``fn`` on the room between turns: a consistent, committed view for REST callers."""

    fn: Callable[[Room, int], Any]
    done: asyncio.Future[Any]


@dataclass(slots=True)
class Tick:
    """A busy live room's tick came while commands were held for it: decide them, then flush."""

    held: list[Submit | SystemSubmit]


@dataclass(slots=True)
class Unload:
    """The hub wants this idle room unloaded; the actor checks it is still idle first."""


Work = (
    Attach
    | Detach
    | Submit
    | SystemSubmit
    | Relay
    | Remote
    | CatchUp
    | PeersChanged
    | Inspect
    | Tick
    | Unload
)
