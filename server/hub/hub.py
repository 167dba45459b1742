"""The hub: loads room actors on demand, wires them to storage and the broker.

It holds no room rules (those are in ``rooms``) and never touches a socket (sessions do). One
instance per process, built in the app's lifespan and kept on ``app.state.hub``.

Presence across processes (a shared broker only). Who is connected travels as peer messages
(``server/hub/peers.py``): a room actor announces its process's presence whenever a member
connects or disconnects (coalesced: the newest announcement of a room replaces one not yet
sent), a process that loads a room asks the others (``PresenceQuery``) and they answer, and each
process repeats its announcements every refresh (``presence_ttl_s / 3``) so a lost message heals.
Every process keeps the last announcement of every other process per room, so rosters and counts
converge as fast as the broker carries a message. The TTL keys in the broker only clean up after
a process that died without saying goodbye: each process keeps a key per room it has members in
(written *before* its first announcement there, so a key read after hearing it finds it), the
keys expire after ``presence_ttl_s - refresh`` unless rewritten, and every refresh forgets the
processes whose key is gone — a killed process's members vanish within ``presence_ttl_s``. A
process that stops cleanly says goodbye (an empty announcement) before it closes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rooms import Command, Room
from server.broker.base import Broker, BrokerMessage
from server.hub import peers
from server.hub.actor import RoomActor
from server.hub.catalogs import CatalogCache
from server.hub.committer import Committer
from server.hub.peers import HeadAnnounced, PeerMessage, PresenceChanged, PresenceQuery
from server.hub.services import RoomServices
from server.hub.shares import ClientShareExceeded, ClientShares, RoomHolders
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
from server.waiting import stop_task, wait_event

__all__ = ["ClientShareExceeded", "Hub", "HubFull", "RoomNotFound"]

log = logging.getLogger("coshop.hub")

T = TypeVar("T")

_IDLE_UNLOAD_S = 120.0
_PUBLISH_BACKLOG = 10_000
# At the room cap, rooms nobody is connected to and idle this long are unloaded to make room,
# a few at a time, and a load waits this long for one of them to go before answering server_full.
_EVICT_MIN_IDLE_S = 1.0
_EVICT_WAIT_S = 1.0
# A process that stops cleanly waits this long at most for its goodbyes to reach the broker.
_GOODBYE_WAIT_S = 1.0
# A big room's count goes to the other processes at most this often (a join storm of thousands
# is a few messages a second, not one per viewer); clients see counts once a second anyway.
_COUNT_ANNOUNCE_S = 0.1


@dataclass(slots=True)
class _PeerPresence:
    """Another process's presence in one room, as it last announced it."""

    count: int
    members: dict[str, dict[str, object]] | None  # None: a big room there, only the count
    heard_at: float  # time.monotonic() when it arrived


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
        # room -> process id -> what that process last announced (see the module docstring)
        self._peers: dict[str, dict[str, _PeerPresence]] = {}
        self._janitor: asyncio.Task[None] | None = None
        self._presence_task: asyncio.Task[None] | None = None
        self._publisher_task: asyncio.Task[None] | None = None
        # (room, kind, payload); kind None: the room's newest presence in _pending_presence
        self._outgoing: deque[tuple[str, str | None, bytes]] = deque()
        self._pending_presence: dict[str, PresenceChanged] = {}
        self._count_sent_at: dict[str, float] = {}  # big rooms: when their count last went out
        self._drained = asyncio.Event()  # nothing queued, nothing being sent
        self._drained.set()
        self._publish_wake = asyncio.Event()
        self._publish_dropped = False
        # Rooms whose presence key this process wrote and keeps alive; one lock per room keeps
        # the writes of the publisher and the refresh from overtaking each other.
        self._keyed: set[str] = set()
        self._key_locks: dict[str, asyncio.Lock] = {}
        ttl = settings.presence_ttl_s
        self._refresh_s = max(0.5, ttl / 3)
        # rewritten every refresh, gone at most refresh later: forgotten within the TTL
        self._key_ttl = max(1, math.ceil(ttl - self._refresh_s))
        # Fair shares of the caps (server/hub/shares.py): whom each loaded room counts against.
        self.shares = ClientShares.from_settings(settings)
        self._loaded_by: dict[str, RoomHolders] = {}
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
            live_window_us_per_viewer=settings.live_window_us_per_viewer,
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
        await self._say_goodbye()
        for task in (self._janitor, self._presence_task, self._publisher_task):
            if task is not None:
                await stop_task(task)
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
        holders = self.shares.holders(room_id)  # the client's address, the room's key
        refusal = self.shares.take_room(holders, self.settings.max_rooms)
        if refusal is not None:
            raise ClientShareExceeded(refusal)
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
            # ... and who is connected elsewhere: they answer at once (the module docstring)
            self.publish(room_id, PresenceQuery())
            self._loaded_by[room_id] = holders
            future.set_result(actor)
            return actor
        except BaseException as exc:
            self.shares.give_back_room(holders)
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
                async with asyncio.timeout(left):
                    await self._room_freed.wait()
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
        self.shares.give_back_room(self._loaded_by.pop(room_id, None))
        self._peers.pop(room_id, None)
        self._count_sent_at.pop(room_id, None)
        self._keyed.discard(room_id)  # a key left behind expires; a reload writes it again
        self._key_locks.pop(room_id, None)
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
        self.shares.started(room_id)  # a shopper room counts against its publishable key
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

    def peek(self, room_id: str, fn: Callable[[Room, int], T]) -> T | None:
        """``fn(room, seq)`` on a room loaded here as it is now, at once; None if not loaded.

        Unlike :meth:`inspect` this does not wait for the actor's turn, so the room may hold
        the events of a turn being committed. Only for checks such an event cannot fool: a
        member being known to the room (their own join in flight was checked when it began).
        """
        actor = self._actors.get(room_id)
        if actor is None or actor.room is None:
            return None
        return fn(actor.room, actor.seq)

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

        Presence goes only to a shared broker, coalesced per room (the newest announcement
        replaces one still queued); nothing else is encoded when nobody else listens.
        """
        if isinstance(message, PresenceChanged):
            if self.shared_broker:
                if room_id not in self._pending_presence:
                    self._enqueue((room_id, None, b""))
                self._pending_presence[room_id] = message
        elif isinstance(message, PresenceQuery):
            if self.shared_broker:
                self._enqueue((room_id, *peers.encode(message)))
        elif self.broker.others_may_listen(room_id):
            self._enqueue((room_id, *peers.encode(message)))

    def _enqueue(self, item: tuple[str, str | None, bytes]) -> None:
        # One publisher task keeps notifications in commit order; a full queue drops the
        # oldest notifications, which peers recover from the log (docs/broker.md), and
        # presence from the announcements repeated once the queue drains.
        if len(self._outgoing) >= _PUBLISH_BACKLOG:
            room_id, kind, _ = self._outgoing.popleft()
            if kind is None:
                self._pending_presence.pop(room_id, None)
            self._publish_dropped = True
        self._outgoing.append(item)
        self._drained.clear()
        self._publish_wake.set()

    async def _publisher(self) -> None:
        while True:
            await self._publish_wake.wait()
            self._publish_wake.clear()
            while self._outgoing:
                room_id, kind, payload = self._outgoing.popleft()
                try:
                    if kind is None:
                        await self._send_presence(room_id)
                    else:
                        await self.broker.publish(room_id, kind, payload)
                except Exception as exc:
                    log.warning("broker publish failed: %s", type(exc).__name__)
                    self._publish_dropped = True
                    continue
                if self._publish_dropped and self.broker.healthy:
                    # Something was lost while the broker was down: tell peers our rooms'
                    # heads again so they read the gap from the log, and who is here.
                    self._publish_dropped = False
                    self._announce_heads()
                    self._announce_presence()
            self._drained.set()

    async def _send_presence(self, room_id: str) -> None:
        message = self._pending_presence.pop(room_id, None)
        if message is None:
            return
        if message.members is None and message.count:
            now = time.monotonic()
            wait = self._count_sent_at.get(room_id, -_COUNT_ANNOUNCE_S) + _COUNT_ANNOUNCE_S - now
            if wait > 0:
                # too soon after the last: it waits (newer counts replace it meanwhile)
                self._pending_presence[room_id] = message
                loop = asyncio.get_running_loop()
                loop.call_later(wait, self._enqueue, (room_id, None, b""))
                return
            self._count_sent_at[room_id] = now
        if message.count and room_id not in self._keyed:
            # the key first: a peer that hears us and then reads the keys must find ours
            await self._write_key(room_id)
        await self.broker.publish(room_id, *peers.encode(message))

    def _announce_heads(self) -> None:
        for actor in self._actors.values():
            if actor.seq:
                self._enqueue((actor.room_id, *peers.encode(HeadAnnounced(actor.seq))))

    def _announce(self, actor: RoomActor) -> None:
        """Queue this process's presence in the actor's room (built by its roster)."""
        self.publish(actor.room_id, actor.roster.announcement(roster=not actor.is_big))

    def _announce_presence(self, *, ask: bool = False) -> None:
        """Announce our presence in every room we have members in; ``ask``: and ask others."""
        for actor in list(self._actors.values()):
            if actor.sessions:
                self._announce(actor)
            if ask:
                self.publish(actor.room_id, PresenceQuery())

    async def _say_goodbye(self) -> None:
        """Stopping cleanly: tell peers our members left, and give the publisher a moment to
        send that and what is queued (the leaves of the sockets the server closed first)."""
        if not self.shared_broker or self._publisher_task is None:
            return
        for actor in self._actors.values():
            if actor.sessions or actor.room_id in self._pending_presence:
                # queued now even if an earlier count of the room waits for its turn
                self._pending_presence[actor.room_id] = PresenceChanged(0, {})
                self._enqueue((actor.room_id, None, b""))
        await wait_event(self._drained, _GOODBYE_WAIT_S)

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
        match decoded:
            case PresenceQuery():
                if actor.sessions:
                    self._announce(actor)
                return
            case PresenceChanged(count, members):
                room = self._peers.setdefault(message.room_id, {})
                known = room.get(message.origin)
                if count and known is not None and (known.count, known.members) == (count, members):
                    known.heard_at = time.monotonic()
                    return  # a repeat (the refresh): nothing to tell this room's sessions
                if count:
                    room[message.origin] = _PeerPresence(count, members, time.monotonic())
                elif room.pop(message.origin, None) is None:
                    return  # gone already
                # else it has nobody here now (or it stopped)
            case _:
                pass
        actor.post(Remote(decoded))

    def _broker_reconnected(self) -> None:
        # Keys may have expired (or Redis restarted empty) while we were away: write them
        # again before announcing; what others announced meanwhile was lost: ask them.
        self._keyed.clear()
        for actor in self._actors.values():
            actor.post(CatchUp())  # through the queue: never beside a running turn
        if self.shared_broker:
            self._announce_presence(ask=True)

    def remote_presence(self, room_id: str) -> dict[str, dict[str, object]]:
        """Members connected to other processes (from their rosters), by member id."""
        merged: dict[str, dict[str, object]] = {}
        for peer in self._peers.get(room_id, {}).values():
            if peer.members:
                merged.update(peer.members)
        return merged

    def remote_count(self, room_id: str) -> int:
        """Members connected to other processes and not here: rosters are told apart by member
        id, the counts of big rooms added up."""
        ids: set[str] = set()
        counted = 0
        for peer in self._peers.get(room_id, {}).values():
            if peer.members is None:
                counted += peer.count
            else:
                ids.update(peer.members)
        actor = self._actors.get(room_id)
        if actor is not None:
            ids.difference_update(actor.roster.by_member)
        return len(ids) + counted

    async def _refresh_presence(self) -> None:
        """Every ``presence_ttl_s / 3``: keep our presence keys alive, repeat our announcements,
        and forget the processes whose keys expired (they died: the module docstring)."""
        while True:
            if self.shared_broker:
                for actor in list(self._actors.values()):
                    try:
                        await self._refresh_room(actor)
                    except Exception as exc:
                        log.warning("presence refresh failed: %s", type(exc).__name__)
            await asyncio.sleep(self._refresh_s)

    async def _refresh_room(self, actor: RoomActor) -> None:
        room_id = actor.room_id
        await self._write_key(room_id)
        if actor.sessions:
            self._announce(actor)  # heals an announcement a peer missed
        remote = self._peers.get(room_id)
        if not remote:
            return
        asked_at = time.monotonic()
        alive = await self.broker.present_processes(room_id)
        # a process heard after we asked may have written its key after Redis answered
        gone = [p for p, peer in remote.items() if p not in alive and peer.heard_at < asked_at]
        for process_id in gone:
            del remote[process_id]
        if gone:
            actor.post(PeersChanged())

    async def _write_key(self, room_id: str) -> None:
        """Write our presence key of a room as the roster is now (withdraw it when empty)."""
        lock = self._key_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            actor = self._actors.get(room_id)
            names = actor.roster.names() if actor is not None else {}
            if names:
                await self.broker.set_presence(room_id, names, self._key_ttl)
                if room_id in self._actors:
                    self._keyed.add(room_id)
            elif room_id in self._keyed:
                await self.broker.set_presence(room_id, {}, self._key_ttl)
                self._keyed.discard(room_id)


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
