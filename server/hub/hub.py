"""The hub: loads room actors on demand, wires them to storage and the broker.

It holds no room rules (those are in ``rooms``) and never touches a socket (sessions do). One
instance per process, built in the app's lifespan and kept on ``app.state.hub``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from rooms import Command, Room
from server.broker.base import Broker, BrokerMessage
from server.hub import peers
from server.hub.actor import RoomActor
from server.hub.catalogs import CatalogCache
from server.hub.committer import Committer
from server.hub.peers import HeadAnnounced, PeerMessage, RosterChanged
from server.hub.services import RoomServices
from server.hub.shares import ClientShareExceeded, ClientShares, current_client
from server.hub.work import (
    Attach,
    CatchUp,
    Detach,
    Inspect,
    PeersChanged,
    Relay,
    Remote,
    Submit,
    SystemSubmit,
    Unload,
)
from server.metrics import Metrics
from server.settings import Settings
from server.storage import Append, EventStore, NewEvent, Registry, StoredEvent
from server.transport.session import Session

__all__ = ["ClientShareExceeded", "Hub", "HubFull", "RoomNotFound"]

log = logging.getLogger("coshop.hub")

T = TypeVar("T")

_IDLE_UNLOAD_S = 120.0
_PUBLISH_BACKLOG = 10_000
# At the room cap, rooms nobody is connected to and idle this long are unloaded to make room,
# a few at a time, and a load waits this long for one of them to go before answering server_full.
_EVICT_MIN_IDLE_S = 1.0
_EVICT_WAIT_S = 1.0


class RoomNotFound(Exception):
    code = "room_not_found"


class HubFull(Exception):
    code = "server_full"


class Hub:
    def __init__(
        self,
        *,
        settings: Settings,
        store: EventStore,
        registry: Registry,
        catalogs: CatalogCache,
        broker: Broker,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.catalogs = catalogs
        self.broker = broker
        self.metrics = metrics
        self.committer = Committer(store, metrics)
        self._actors: dict[str, RoomActor] = {}
        self._loading: dict[str, asyncio.Future[RoomActor]] = {}
        self._remote_presence: dict[str, dict[str, dict[str, dict[str, object]]]] = {}
        self._janitor: asyncio.Task[None] | None = None
        self._presence_task: asyncio.Task[None] | None = None
        self._publisher_task: asyncio.Task[None] | None = None
        self._outgoing: deque[tuple[str, str, bytes]] = deque()
        self._publish_wake = asyncio.Event()
        self._publish_dropped = False
        self._alive_counts: dict[str, tuple[int, int]] = {}  # room -> (all processes, ours then)
        # Fair shares of the caps (server/hub/shares.py): which client loaded each room.
        self.shares = ClientShares(settings.client_share, settings.client_share_floor)
        self._loaded_by: dict[str, str] = {}
        self._room_freed = asyncio.Event()  # set whenever a room is unloaded
        self._evicting: set[str] = set()  # idle rooms asked to unload to make room
        # Only a shared broker (Redis) has other processes to tell about presence.
        self.shared_broker = bool(settings.broker_url) and not settings.broker_url.startswith(
            "memory"
        )
        # What every room actor may use of this process (not the hub itself).
        self.room_services = RoomServices(
            store=store,
            committer=self.committer,
            catalogs=catalogs,
            metrics=metrics,
            publish=self.publish,
            remote_presence=self.remote_presence,
            remote_count=self.remote_count,
            unloaded=self.unloaded,
            snapshot_every=settings.snapshot_every,
            replay_limit=settings.replay_limit,
            live_tick_ms=settings.live_tick_ms,
            live_busy_tick_ms=settings.live_busy_tick_ms,
        )

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.committer.start()
        self.broker.on_reconnect = self._broker_reconnected
        loop = asyncio.get_running_loop()
        self._janitor = _supervised(loop.create_task(self._unload_idle(), name="hub-janitor"))
        self._presence_task = _supervised(
            loop.create_task(self._refresh_presence(), name="hub-presence")
        )
        self._publisher_task = _supervised(
            loop.create_task(self._publisher(), name="hub-publisher")
        )

    async def close(self) -> None:
        for task in (self._janitor, self._presence_task, self._publisher_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for actor in list(self._actors.values()):
            for s in list(actor.sessions.values()):
                s.close(1001, "server is restarting; reconnect")
            await actor.stop()
        self._actors.clear()
        await self.committer.close()

    @property
    def room_count(self) -> int:
        return len(self._actors)

    # ---- actors ----------------------------------------------------------------------------

    async def actor(self, room_id: str) -> RoomActor:
        actor = self._actors.get(room_id)
        if actor is not None:
            return actor
        pending = self._loading.get(room_id)
        if pending is not None:
            return await asyncio.shield(pending)
        if self._full() and not await self._make_room():
            raise HubFull("this server hosts as many rooms as it may; try again later")
        pending = self._loading.get(room_id)  # loaded by someone else while we made room
        if pending is not None:
            return await asyncio.shield(pending)
        if room_id in self._actors:
            return self._actors[room_id]
        client = current_client.get()
        if client is not None and not self.shares.take(
            self.shares.rooms, client, self.shares.cap(self.settings.max_rooms)
        ):
            raise ClientShareExceeded(
                "this client has loaded its share of this server's rooms; try again later"
            )
        future: asyncio.Future[RoomActor] = asyncio.get_running_loop().create_future()
        self._loading[room_id] = future
        try:
            record = await self.registry.get_room(room_id)
            if record is None or record.closed:
                raise RoomNotFound(f"no open room {room_id!r}")
            actor = RoomActor(self.room_services, room_id, record.merchant_id)
            await actor.load()
            actor.start()
            self._actors[room_id] = actor
            self.metrics.rooms.set(len(self._actors))
            await self.broker.subscribe(room_id, self._on_broker_message)
            # Events another process committed between our load and our subscription reached
            # nobody: read them now, through the actor's queue.
            actor.post(CatchUp())
            if client is not None:
                self._loaded_by[room_id] = client
            future.set_result(actor)
            return actor
        except BaseException as exc:
            if client is not None:
                self.shares.give_back(self.shares.rooms, client)
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters got it through shield
            raise
        finally:
            del self._loading[room_id]

    def _full(self) -> bool:
        return len(self._actors) + len(self._loading) >= self.settings.max_rooms

    async def _make_room(self) -> bool:
        """At the room cap: unload the room idle longest that nobody is connected to, one at a
        time, and wait (briefly) for it to go. A room nobody uses never keeps out one that
        someone wants."""
        deadline = time.monotonic() + _EVICT_WAIT_S
        while self._full():
            if not self._evicting:
                victim = self._idle_victim()
                if victim is None:
                    return False
                self._evicting.add(victim.room_id)
                victim.post(Unload())  # the actor checks again, in order, and stops itself
            left = deadline - time.monotonic()
            self._room_freed.clear()
            try:
                if left <= 0:
                    raise TimeoutError
                await asyncio.wait_for(self._room_freed.wait(), left)
            except TimeoutError:
                # the room asked to go stayed (someone came in): ask another next time
                self._evicting.clear()
                return False
        return True

    def _idle_victim(self) -> RoomActor | None:
        now = time.monotonic()
        idle = [
            a
            for a in self._actors.values()
            if not a.sessions
            and a.idle_since is not None
            and now - a.idle_since >= _EVICT_MIN_IDLE_S
        ]
        return min(idle, key=lambda a: a.idle_since or 0.0) if idle else None

    def unloaded(self, room_id: str, actor: object) -> None:
        """Called by an actor that found itself idle and stopped (see ``_unload_idle``)."""
        if self._actors.get(room_id) is not actor:
            return
        del self._actors[room_id]
        client = self._loaded_by.pop(room_id, None)
        if client is not None:
            self.shares.give_back(self.shares.rooms, client)
        self._remote_presence.pop(room_id, None)
        self._alive_counts.pop(room_id, None)
        self.metrics.rooms.set(len(self._actors))
        self._evicting.discard(room_id)
        self._room_freed.set()
        task = asyncio.get_running_loop().create_task(self._unsubscribe(room_id))
        task.add_done_callback(_ignore)

    async def _unsubscribe(self, room_id: str) -> None:
        if room_id not in self._actors and room_id not in self._loading:
            await self.broker.unsubscribe(room_id)

    @property
    def connection_count(self) -> int:
        return sum(len(a.sessions) for a in self._actors.values())

    async def open_room(self, room_id: str, events: Sequence[NewEvent]) -> tuple[StoredEvent, ...]:
        """Commit a new room's opening events (seq 1…) before anyone can connect."""
        return await self.committer.commit(Append(room_id, 0, tuple(events), None))

    async def attach(self, session: Session, last_seq: int | None) -> RoomActor | None:
        actor = await self.actor(session.room_id)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        actor.post(Attach(session, last_seq, done))
        return actor if await done else None

    @staticmethod
    def detach(actor: RoomActor, session: Session) -> None:
        actor.post(Detach(session))

    @staticmethod
    def submit(
        actor: RoomActor,
        session: Session,
        op_id: str,
        command: Command,
        retry: bool,
        digest: str | None = None,
    ) -> None:
        item = Submit(session, op_id, command, retry, digest=digest)
        if not actor.hold(item):
            actor.post(item)

    @staticmethod
    def relay(actor: RoomActor, session: Session, signal: object) -> None:
        actor.post(Relay(session, signal))  # type: ignore[arg-type]  # checked by the actor

    async def system_command(
        self, room_id: str, command: Command, *, member_id: str | None = None
    ) -> tuple[StoredEvent, ...]:
        """Run a server-issued command and wait for its commit.

        With ``member_id`` the command is decided as that member's (a REST call the member
        authenticated, e.g. the host locking the cart to check out); the room's permission
        table applies exactly as over the WebSocket. Raises ``RoomError`` when refused.
        """
        actor = await self.actor(room_id)
        done: asyncio.Future[tuple[StoredEvent, ...]] = asyncio.get_running_loop().create_future()
        actor.post(SystemSubmit(command, done, actor=member_id))
        return await done

    async def inspect(self, room_id: str, fn: Callable[[Room, int], T]) -> T:
        """Run ``fn(room, seq)`` inside the room's actor between turns.

        REST callers read the room through this: they see committed state only, never a turn's
        events that are not yet in the log, and never a room object a reload replaced.
        """
        actor = await self.actor(room_id)
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        actor.post(Inspect(fn, done))
        return await done

    async def room_copy(self, room_id: str) -> Room:
        """A copy of the room's committed state that later events cannot change."""
        return await self.inspect(room_id, lambda room, _seq: room.copy())

    async def room_view(
        self, room_id: str, viewer: str, *, as_staff: bool = False
    ) -> tuple[int, dict[str, Any]]:
        """The room as ``viewer`` sees it (``as_staff``: as staff see it, e.g. the merchant)."""
        return await self.inspect(
            room_id, lambda room, seq: (seq, room.view(viewer, as_staff=as_staff))
        )

    async def _unload_idle(self) -> None:
        while True:
            await asyncio.sleep(10)
            now = time.monotonic()
            for actor in list(self._actors.values()):
                if (
                    actor.idle_since is not None
                    and not actor.sessions
                    and now - actor.idle_since > _IDLE_UNLOAD_S
                ):
                    actor.post(Unload())  # the actor checks again, in order, and stops itself

    # ---- broker ----------------------------------------------------------------------------

    def publish(self, room_id: str, message: PeerMessage) -> None:
        """Tell other processes about a room (``server/hub/peers.py``), if any may listen.

        Rosters go only to a shared broker; nothing else is encoded when nobody else listens.
        """
        if isinstance(message, RosterChanged):
            if self.shared_broker:
                self._publish(room_id, *peers.encode(message))
        elif self.broker.others_may_listen(room_id):
            self._publish(room_id, *peers.encode(message))

    def _publish(self, room_id: str, kind: str, payload: bytes) -> None:
        # One publisher task keeps notifications in commit order; a full queue drops the
        # oldest notifications, which peers recover from the log (docs/broker.md).
        if len(self._outgoing) >= _PUBLISH_BACKLOG:
            self._outgoing.popleft()
            self._publish_dropped = True
        self._outgoing.append((room_id, kind, payload))
        self._publish_wake.set()

    async def _publisher(self) -> None:
        while True:
            await self._publish_wake.wait()
            self._publish_wake.clear()
            while self._outgoing:
                room_id, kind, payload = self._outgoing.popleft()
                try:
                    await self.broker.publish(room_id, kind, payload)
                except Exception as exc:
                    log.warning("broker publish failed: %s", type(exc).__name__)
                    self._publish_dropped = True
                    continue
                if self._publish_dropped and self.broker.healthy:
                    # Something was lost while the broker was down: tell peers our rooms'
                    # heads again so they read the gap from the log.
                    self._publish_dropped = False
                    self._announce_heads()

    def _announce_heads(self) -> None:
        for actor in self._actors.values():
            if actor.seq:
                self._outgoing.append((actor.room_id, *peers.encode(HeadAnnounced(actor.seq))))

    def _on_broker_message(self, message: BrokerMessage) -> None:
        if message.origin == self.broker.process_id:
            return
        actor = self._actors.get(message.room_id)
        if actor is None:
            return
        try:
            decoded = peers.decode(message.room_id, message.kind, message.payload)
        except peers.PeerMessageError as exc:
            log.warning("unreadable broker message dropped: %s", exc)
            return
        if isinstance(decoded, RosterChanged):
            self._remote_presence.setdefault(message.room_id, {})[message.origin] = decoded.members
        actor.post(Remote(decoded))

    def _broker_reconnected(self) -> None:
        for actor in self._actors.values():
            actor.post(CatchUp())  # through the queue: never beside a running turn

    def remote_presence(self, room_id: str) -> dict[str, dict[str, object]]:
        merged: dict[str, dict[str, object]] = {}
        for members in self._remote_presence.get(room_id, {}).values():
            merged.update(members)
        return merged

    def remote_count(self, room_id: str) -> int:
        """Members connected to other processes (rosters for group rooms, counts otherwise)."""
        counted = self._alive_counts.get(room_id)
        if counted is None:
            return len(self.remote_presence(room_id))
        total, local_then = counted
        return max(len(self.remote_presence(room_id)), total - local_then)

    async def _refresh_presence(self) -> None:
        """Keep this process's presence alive in the broker and drop other processes' ghosts.

        Presence entries expire by TTL when a process dies, so members of a dead process vanish
        from every other process within ``presence_ttl_s``.
        """
        ttl = self.settings.presence_ttl_s
        while True:
            for actor in list(self._actors.values()):
                names = {s.member_id: s.name for s in actor.sessions.values()}
                try:
                    await self.broker.set_presence(actor.room_id, names, ttl)
                    alive = await self.broker.presence(actor.room_id)
                except Exception as exc:
                    log.warning("presence refresh failed: %s", type(exc).__name__)
                    continue
                before = self.remote_count(actor.room_id)
                self._alive_counts[actor.room_id] = (len(alive), len(names))
                pruned = self._prune_remote(actor.room_id, alive)
                if pruned or self.remote_count(actor.room_id) != before:
                    actor.post(PeersChanged())
            self.metrics.broker_healthy.set(1 if self.broker.healthy else 0)
            await asyncio.sleep(max(0.5, ttl / 3))

    def _prune_remote(self, room_id: str, alive: Mapping[str, str]) -> bool:
        remote = self._remote_presence.get(room_id, {})
        changed = False
        for origin, members in list(remote.items()):
            kept = {m: v for m, v in members.items() if m in alive}
            if len(kept) != len(members):
                remote[origin] = kept
                changed = True
        return changed


def _ignore(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


def _supervised(task: asyncio.Task[None]) -> asyncio.Task[None]:
    """A background task that dies unexpectedly says so loudly instead of vanishing."""

    def done(t: asyncio.Task[None]) -> None:
        if not t.cancelled() and t.exception() is not None:
            log.critical("background task %s died", t.get_name(), exc_info=t.exception())

    task.add_done_callback(done)
    return task
