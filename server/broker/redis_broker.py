"""The Redis broker: committed-event notifications, signals and presence between processes.

Channels, framing and keys are described in ``docs/broker.md``. In short:

- One classic pub/sub channel per room, ``{prefix}:room:{room_id}``; a process subscribes only
  while the room has local members. Messages carry the publisher's process id in a small binary
  header (:mod:`server.broker.framing`); a process drops its own messages.
- One dedicated listener connection (RESP2, raw ``Connection``) owned by a supervisor task. When
  the connection is lost or goes silent (no PONG to the heartbeat), the supervisor marks the
  broker unhealthy, reconnects with capped, jittered backoff, re-subscribes every current room,
  waits for Redis to confirm each subscription, marks the broker healthy and only then calls
  ``on_reconnect`` — so the hub's re-read of the logs cannot miss anything published after it.
- Commands (PUBLISH, presence) go through a separate pooled client with short socket timeouts
  and a single immediate retry, so they fail fast with :class:`BrokerUnavailable` instead of
  hanging while Redis is down.
- Presence: one hash per (room, process) with EXPIRE, plus a per-room index set of process ids.

:class:`~server.broker.redis_cluster.RedisClusterBroker` reuses all of this on Redis Cluster with
sharded pub/sub: it overrides the hooks below (client, channel name, publish command, one
listener connection per primary, how channels map to listeners); the supervisor, heartbeat,
confirmation and re-subscription logic is shared.

Must not: hold room state, decide anything about events, import msgpack, or let a Redis error
escape untranslated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.typing import EncodableT

from server.broker.backoff import backoff_delay
from server.broker.base import BrokerMessage, Handler
from server.broker.errors import BrokerClosed, BrokerUnavailable, InvalidFrame
from server.broker.framing import check_kind, decode_frame, encode_frame
from server.broker.names import (
    check_prefix,
    check_process_id,
    check_room_id,
    check_ttl,
    presence_index_key,
    presence_key,
    room_channel,
)
from server.waiting import stop_task

__all__ = ["RedisBroker"]

log = logging.getLogger("coshop.broker")

# RedisClusterException is not a RedisError: a cluster with no reachable node or an uncovered
# slot raises it.
_IO_ERRORS = (RedisError, RedisClusterException, OSError)

# Forget processes whose presence hash expired, atomically: a process that refreshed its entry
# between our read and this script keeps its place in the index.
# KEYS[1] = index set, KEYS[i+1] = presence hash of ARGV[i].
_FORGET_EXPIRED = """
local removed = 0
for i, process_id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    removed = removed + redis.call('SREM', KEYS[1], process_id)
  end
end
return removed
"""


class _StaleConnection(Exception):
    """The listener heard nothing from Redis, not even a PONG, for too long."""


class _TopologyChanged(Exception):
    """Redis dropped a subscription we still hold, or a room maps to no listener we have
    (Redis Cluster: a slot moved); a fresh session re-reads where each room lives."""


_ONE_LISTENER = "listener"  # the key of the single listener connection on one server


class RedisBroker:
    """A :class:`~server.broker.base.Broker` over one Redis server (see the module docstring)."""

    # The pub/sub dialect; RedisClusterBroker speaks the sharded one.
    _SUBSCRIBE = "SUBSCRIBE"
    _UNSUBSCRIBE = "UNSUBSCRIBE"
    _MESSAGE = b"message"
    _SUBSCRIBED = b"subscribe"
    _UNSUBSCRIBED = b"unsubscribe"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "coshop",
        process_id: str | None = None,
        socket_timeout: float = 2.0,
        heartbeat_s: float = 5.0,
        backoff_base: float = 0.05,
        backoff_cap: float = 5.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.process_id = check_process_id(process_id or uuid.uuid4().hex)
        self.prefix = check_prefix(prefix)
        self.on_reconnect: Callable[[], None] | None = None
        self._url = url
        self._socket_timeout = socket_timeout
        self._heartbeat_s = heartbeat_s
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rand = rand
        self._client: Redis | RedisCluster | None = None
        self._listener_pool: ConnectionPool | None = None
        self._supervisor: asyncio.Task[None] | None = None
        # The live listener connections by key; empty while disconnected.
        self._conns: dict[str, AbstractConnection] = {}
        self._healthy = False
        self._reconnected = False
        self._attempt = 0
        self._last_rx: dict[str, float] = {}
        self._topology_changed = asyncio.Event()
        self._rooms: dict[str, Handler] = {}
        self._room_by_channel: dict[bytes, str] = {}
        self._confirm_waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._resubscribing: set[bytes] = set()
        # Our own UNSUBSCRIBEs not yet confirmed, so an unsolicited one can be told apart.
        self._unsubscribing: dict[bytes, int] = {}
        self._presence_rooms: set[str] = set()

    @property
    def listener_name(self) -> str:
        """The ``CLIENT SETNAME`` of the listener connection (find it in ``CLIENT LIST``)."""
        return f"{self.prefix}:listener:{self.process_id}"

    @property
    def healthy(self) -> bool:
        return self._healthy

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect; raises :class:`BrokerUnavailable` if Redis cannot be reached at all."""
        if self._supervisor is not None:
            return
        self._client = self._create_client(self._timeouts())
        try:
            await self._client.ping()
            conns = await self._open_listeners()
        except _IO_ERRORS as exc:
            await self._client.aclose()
            self._client = None
            raise BrokerUnavailable(f"cannot reach Redis: {type(exc).__name__}") from exc
        self._conns = conns
        self._healthy = True
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(conns), name=f"broker-listener-{self.process_id}"
        )

    async def close(self) -> None:
        """Stop the listener and withdraw this process's presence (best effort)."""
        task, client = self._supervisor, self._client
        if task is None or client is None:
            return
        self._supervisor = None
        await stop_task(task)
        if self._presence_rooms:
            with contextlib.suppress(*_IO_ERRORS):
                async with client.pipeline(transaction=False) as pipe:
                    for room_id in self._presence_rooms:
                        pipe.delete(presence_key(self.prefix, room_id, self.process_id))
                        pipe.srem(presence_index_key(self.prefix, room_id), self.process_id)
                    await pipe.execute()
        await client.aclose()
        self._client = None
        self._healthy = False
        self._rooms.clear()
        self._room_by_channel.clear()
        self._presence_rooms.clear()

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, room_id: str, handler: Handler) -> None:
        self._require_started()
        channel = self._channel(check_room_id(room_id)).encode()
        known = room_id in self._rooms
        self._rooms[room_id] = handler
        self._room_by_channel[channel] = room_id
        if known or not self._conns:
            # Down: the supervisor subscribes every room in self._rooms when it reconnects.
            return
        conn = self._conns.get(self._listener_for(channel))
        if conn is None:
            # The room lives on a node this session has no listener for: start a fresh one.
            self._topology_changed.set()
            return
        confirmed = asyncio.get_running_loop().create_future()
        self._confirm_waiters.setdefault(channel, []).append(confirmed)
        try:
            await self._send(conn, self._SUBSCRIBE, channel)
            async with asyncio.timeout(self._socket_timeout):
                await confirmed
        except (*_IO_ERRORS, TimeoutError):
            # The listener's connection is failing; it re-subscribes this room after
            # reconnecting and then calls on_reconnect, so the hub fills any gap.
            log.info("broker subscribe deferred until the listener reconnects")

    async def unsubscribe(self, room_id: str) -> None:
        self._require_started()
        if self._rooms.pop(room_id, None) is None:
            return
        channel = self._channel(room_id).encode()
        self._room_by_channel.pop(channel, None)
        conn = self._conns.get(self._listener_for(channel)) if self._conns else None
        if conn is not None:
            self._unsubscribing[channel] = self._unsubscribing.get(channel, 0) + 1
            # If this fails the connection is gone, and with it the subscription.
            with contextlib.suppress(*_IO_ERRORS):
                await self._send(conn, self._UNSUBSCRIBE, channel)

    # -- publishing ------------------------------------------------------------------------

    def others_may_listen(self, room_id: str) -> bool:
        return True  # other processes subscribe on the server; asking would cost a round trip

    async def publish(self, room_id: str, kind: str, payload: bytes) -> None:
        client = self._require_started()
        channel = self._channel(check_room_id(room_id))
        frame = encode_frame(self.process_id, check_kind(kind), payload)
        try:
            await self._publish(client, channel, frame)
        except _IO_ERRORS as exc:
            raise BrokerUnavailable(f"publish failed: {type(exc).__name__}") from exc

    # -- presence --------------------------------------------------------------------------

    async def set_presence(self, room_id: str, member_ids: Mapping[str, str], ttl_s: int) -> None:
        client = self._require_started()
        check_ttl(ttl_s)
        key = presence_key(self.prefix, check_room_id(room_id), self.process_id)
        index = presence_index_key(self.prefix, room_id)
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if member_ids:
                    fields: dict[EncodableT, EncodableT] = dict(member_ids.items())
                    pipe.hset(key, mapping=fields)
                    pipe.expire(key, ttl_s)
                    pipe.sadd(index, self.process_id)
                    # The index lives as long as its longest-lived entry: NX gives a fresh
                    # index a TTL, GT only ever extends it.
                    pipe.expire(index, ttl_s, nx=True)
                    pipe.expire(index, ttl_s, gt=True)
                else:
                    pipe.srem(index, self.process_id)
                await pipe.execute()
        except _IO_ERRORS as exc:
            raise BrokerUnavailable(f"set_presence failed: {type(exc).__name__}") from exc
        if member_ids:
            self._presence_rooms.add(room_id)
        else:
            self._presence_rooms.discard(room_id)

    async def presence(self, room_id: str) -> dict[str, str]:
        client = self._require_started()
        index = presence_index_key(self.prefix, check_room_id(room_id))
        try:
            raw_ids = await client.smembers(index)
            process_ids = sorted(_text(p) for p in raw_ids)
            if not process_ids:
                return {}
            keys = [presence_key(self.prefix, room_id, p) for p in process_ids]
            async with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                entries: list[Any] = await pipe.execute()
            union: dict[str, str] = {}
            expired: list[str] = []
            for process_id, entry in zip(process_ids, entries, strict=True):
                if not entry:
                    expired.append(process_id)
                for member_id, name in entry.items():
                    union[_text(member_id)] = _text(name)
            if expired:
                forget_keys = [index, *(presence_key(self.prefix, room_id, p) for p in expired)]
                await client.eval(_FORGET_EXPIRED, len(forget_keys), *forget_keys, *expired)
        except _IO_ERRORS as exc:
            raise BrokerUnavailable(f"presence failed: {type(exc).__name__}") from exc
        return union

    async def present_processes(self, room_id: str) -> set[str]:
        client = self._require_started()
        index = presence_index_key(self.prefix, check_room_id(room_id))
        try:
            process_ids = sorted(_text(p) for p in await client.smembers(index))
            if not process_ids:
                return set()
            keys = [presence_key(self.prefix, room_id, p) for p in process_ids]
            async with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(key)
                exists: list[Any] = await pipe.execute()
            alive = {p for p, n in zip(process_ids, exists, strict=True) if n}
            expired = [p for p in process_ids if p not in alive]
            if expired:
                forget_keys = [index, *(presence_key(self.prefix, room_id, p) for p in expired)]
                await client.eval(_FORGET_EXPIRED, len(forget_keys), *forget_keys, *expired)
        except _IO_ERRORS as exc:
            raise BrokerUnavailable(f"present_processes failed: {type(exc).__name__}") from exc
        return alive

    async def viewer_count(self, room_id: str) -> int:
        return len(await self.presence(room_id))

    # -- hooks: what differs on Redis Cluster (RedisClusterBroker overrides them) ---------------

    def _timeouts(self) -> dict[str, Any]:
        return {
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
            "socket_keepalive": True,
        }

    def _create_client(self, options: dict[str, Any]) -> Redis | RedisCluster:
        # One immediate retry: the first command on a pooled connection that died with a
        # Redis restart fails, the retry on a fresh connection succeeds if Redis is back.
        return Redis.from_url(self._url, retry=Retry(NoBackoff(), 1), **options)

    def _channel(self, room_id: str) -> str:
        return room_channel(self.prefix, room_id)

    async def _publish(self, client: Redis | RedisCluster, channel: str, frame: bytes) -> None:
        await client.publish(channel, frame)

    async def _open_listeners(self) -> dict[str, AbstractConnection]:
        """Open this session's listener connections, keyed as :meth:`_listener_for` answers."""
        if self._listener_pool is None:
            # The listener reconnects itself (below), so redis-py must not retry behind our back.
            self._listener_pool = ConnectionPool.from_url(
                self._url,
                protocol=2,
                retry=Retry(NoBackoff(), 0),
                client_name=self.listener_name,
                **self._timeouts(),
            )
        # redis-py leaves make_connection() unannotated.
        make = self._listener_pool.make_connection
        conn: AbstractConnection = make()  # type: ignore[no-untyped-call]  # see above
        return {_ONE_LISTENER: await _connected(conn)}

    def _listener_for(self, channel: bytes) -> str:
        """The key of the listener connection that must subscribe ``channel``."""
        return _ONE_LISTENER

    def _subscribe_commands(self, channels: list[bytes]) -> list[list[bytes]]:
        """Channels one listener re-subscribes, split into commands (here: one)."""
        return [channels]

    # -- the supervised listener -----------------------------------------------------------

    async def _supervise(self, first: dict[str, AbstractConnection]) -> None:
        """Run listener sessions forever; each ends with a lost connection, then we reconnect."""
        conns = first
        resubscribe = False
        try:
            while True:
                if not conns:
                    try:
                        conns = await self._open_listeners()
                    except _IO_ERRORS as exc:
                        log.warning("broker reconnect failed: %s", type(exc).__name__)
                        await self._sleep_backoff()
                        continue
                try:
                    await self._serve(conns, resubscribe=resubscribe)
                except (*_IO_ERRORS, _StaleConnection, _TopologyChanged) as exc:
                    log.warning("broker listener lost Redis: %s", type(exc).__name__)
                except Exception:
                    # Supervised means it never dies of a bug either; log it and reconnect.
                    log.exception("broker listener failed")
                self._end_session()
                await _disconnect_all(conns)
                conns = {}
                resubscribe = True
                await self._sleep_backoff()
        finally:
            self._end_session()
            await _disconnect_all(conns)

    async def _serve(self, conns: dict[str, AbstractConnection], *, resubscribe: bool) -> None:
        """One listener session; returns only by raising when a connection is lost."""
        now = asyncio.get_running_loop().time()
        self._last_rx = dict.fromkeys(conns, now)
        self._conns = conns
        self._topology_changed.clear()
        if resubscribe:
            self._reconnected = True
            by_listener: dict[str, list[bytes]] = {}
            for channel in self._room_by_channel:
                by_listener.setdefault(self._listener_for(channel), []).append(channel)
            if not by_listener.keys() <= conns.keys():
                raise _TopologyChanged("a room maps to a node without a listener")
            self._resubscribing = set(self._room_by_channel)
            for key, channels in by_listener.items():
                for command in self._subscribe_commands(channels):
                    await self._send(conns[key], self._SUBSCRIBE, *command)
            if not by_listener:
                self._mark_ready()
        tasks = [asyncio.ensure_future(self._watch_topology())]
        for key, conn in conns.items():
            tasks.append(asyncio.ensure_future(self._read_loop(key, conn)))
            tasks.append(asyncio.ensure_future(self._heartbeat(key, conn)))
        try:
            done, _ = await asyncio.wait(tasks, return_when="FIRST_COMPLETED")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()  # re-raise what ended the session
        raise RedisConnectionError(
            "listener session ended"
        )  # pragma: no cover - loops never return

    async def _watch_topology(self) -> None:
        await self._topology_changed.wait()
        raise _TopologyChanged("a room maps to a node without a listener")

    async def _read_loop(self, key: str, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            reply = await conn.read_response(timeout=math.inf, disconnect_on_error=False)
            self._last_rx[key] = loop.time()
            self._on_reply(reply)

    async def _heartbeat(self, key: str, conn: AbstractConnection) -> None:
        # A silent TCP peer (partition, frozen host) never closes the socket; a PING every
        # heartbeat_s that stays unanswered tells us the connection is dead.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._heartbeat_s)
            if loop.time() - self._last_rx[key] > 2 * self._heartbeat_s + self._socket_timeout:
                raise _StaleConnection("no reply to PING")
            await self._send(conn, "PING")

    def _on_reply(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return  # PONG outside subscribed mode
        kind = reply[0]
        if kind == self._MESSAGE and len(reply) == 3:
            self._dispatch(reply[1], reply[2])
        elif kind == self._SUBSCRIBED:
            self._confirmed(reply[1])
        elif kind == self._UNSUBSCRIBED:
            self._unsubscribed(reply[1])
        # ["pong", ""] needs nothing.

    def _unsubscribed(self, channel: bytes) -> None:
        pending = self._unsubscribing.get(channel, 0)
        if pending > 1:
            self._unsubscribing[channel] = pending - 1
        elif pending == 1:
            del self._unsubscribing[channel]
        elif channel in self._room_by_channel:
            # Not ours: Redis dropped a room we still serve (Redis Cluster does so when the
            # room's slot moves to another node). A fresh session subscribes it where it lives.
            raise _TopologyChanged("Redis dropped a subscription")

    def _confirmed(self, channel: bytes) -> None:
        for waiter in self._confirm_waiters.pop(channel, []):
            if not waiter.done():
                waiter.set_result(None)
        if channel in self._resubscribing:
            self._resubscribing.discard(channel)
            if not self._resubscribing:
                self._mark_ready()

    def _dispatch(self, channel: bytes, frame: bytes) -> None:
        room_id = self._room_by_channel.get(channel)
        handler = self._rooms.get(room_id) if room_id is not None else None
        if room_id is None or handler is None:
            return  # unsubscribed while the message was in flight
        try:
            origin, kind, payload = decode_frame(frame)
        except InvalidFrame as exc:
            log.warning("dropping a broker frame: %s", exc)
            return
        if origin == self.process_id:
            return
        try:
            handler(BrokerMessage(room_id=room_id, kind=kind, origin=origin, payload=payload))
        except Exception:
            log.exception("broker handler failed")

    def _mark_ready(self) -> None:
        self._healthy = True
        self._attempt = 0
        if not self._reconnected:
            return
        log.info("broker listener reconnected and re-subscribed %d rooms", len(self._rooms))
        callback = self.on_reconnect
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("on_reconnect callback failed")

    def _end_session(self) -> None:
        self._healthy = False
        self._conns = {}
        self._resubscribing.clear()
        self._unsubscribing.clear()
        # Subscribers waiting for a confirmation stop waiting; their rooms stay in
        # self._rooms and are re-subscribed by the next session.
        for waiters in self._confirm_waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._confirm_waiters.clear()

    async def _sleep_backoff(self) -> None:
        delay = backoff_delay(
            self._attempt, base=self._backoff_base, cap=self._backoff_cap, rand=self._rand
        )
        self._attempt += 1
        await asyncio.sleep(delay)

    async def _send(self, conn: AbstractConnection, *args: str | bytes) -> None:
        # redis-py reconnects a closed Connection silently on send; that would give us a
        # connection without our subscriptions, so refuse and let the supervisor reconnect.
        if not conn.is_connected:
            raise RedisConnectionError("listener connection is closed")
        await conn.send_command(*args, check_health=False)

    def _require_started(self) -> Redis | RedisCluster:
        if self._client is None or self._supervisor is None:
            raise BrokerClosed("the broker is not started")
        return self._client


async def _connected(conn: AbstractConnection) -> AbstractConnection:
    """``conn`` after connecting it; disconnected again if that fails."""
    try:
        await conn.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py
    except BaseException:
        await conn.disconnect(nowait=True)
        raise
    return conn


async def _disconnect_all(conns: Mapping[str, AbstractConnection]) -> None:
    for conn in conns.values():
        await conn.disconnect(nowait=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
