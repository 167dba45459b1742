"""The Redis Cluster broker: sharded pub/sub (SSUBSCRIBE/SPUBLISH) and slot-local presence.

Everything but the hooks is :class:`~server.broker.redis_broker.RedisBroker`: the supervised
listener, heartbeat, confirmed subscriptions, re-subscription and ``on_reconnect``. Here:

- Room channels are ``{prefix}:room:{<room_id>}``: the braces are a hash tag, so a room's
  channel and its presence keys hash to one slot and live on one shard. ``SPUBLISH`` goes to
  that shard only (classic ``PUBLISH`` would be broadcast over the cluster bus to every node).
- Commands go through redis-py's ``RedisCluster`` client, which routes each by its key's slot
  and follows ``MOVED``/``ASK``. Presence never spans slots: its ``MULTI``, pipelined reads and
  Lua script name keys of one room only.
- A listener session holds one raw connection per primary (RESP2, no redis-py retries), opened
  after re-reading the slot map. ``SSUBSCRIBE`` goes to the primary that owns the channel's slot,
  one channel per command (a command may not span slots). When a slot moves, Redis sends an
  unsolicited ``sunsubscribe`` for its channels; that, a ``MOVED`` answer, a lost or silent
  connection, or a room whose slot belongs to a node we have no listener for ends the session.
  The next one re-reads the slot map, re-subscribes every room where it now lives and then
  calls ``on_reconnect``, so the hub re-reads the room logs and nothing falls between.

We do not use redis-py's ``ClusterPubSub``: it re-subscribes silently after a reconnect or slot
move, and the hub must hear of every gap (``docs/broker.md``).

Must not: hold room state, import msgpack, or let a Redis error escape untranslated.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from server.broker.names import room_shard_channel
from server.broker.redis_broker import RedisBroker, _connected, _disconnect_all

__all__ = ["RedisClusterBroker"]

# Connection options of the command client a RESP2 listener must not get: redis-py's
# maintenance notifications need RESP3 and refuse to connect otherwise.
_NOT_FOR_LISTENERS = frozenset(
    {"maint_notifications_config", "oss_cluster_maint_notifications_handler"}
)


class RedisClusterBroker(RedisBroker):
    """A :class:`~server.broker.base.Broker` over Redis Cluster (see the module docstring).

    ``url`` is a plain ``redis://`` or ``rediss://`` URL of any node; the rest of the cluster is
    discovered from it. Keyword arguments are those of :class:`RedisBroker`.
    """

    _SUBSCRIBE = "SSUBSCRIBE"
    _UNSUBSCRIBE = "SUNSUBSCRIBE"
    _MESSAGE = b"smessage"
    _SUBSCRIBED = b"ssubscribe"
    _UNSUBSCRIBED = b"sunsubscribe"

    def _create_client(self, options: dict[str, Any]) -> Redis | RedisCluster:
        # The cluster client retries MOVED/ASK and a lost node on its own; one retry after a
        # refreshed slot map is enough, more would only delay BrokerUnavailable.
        return RedisCluster.from_url(self._url, retry=Retry(NoBackoff(), 1), **options)

    def _cluster(self) -> RedisCluster:
        client = self._client
        assert isinstance(client, RedisCluster), "created by _create_client, used while started"
        return client

    def _channel(self, room_id: str) -> str:
        return room_shard_channel(self.prefix, room_id)

    async def _publish(self, client: Redis | RedisCluster, channel: str, frame: bytes) -> None:
        await client.spublish(channel, frame)

    async def _open_listeners(self) -> dict[str, AbstractConnection]:
        cluster = self._cluster()
        # Re-read the slot map: a new session usually follows a failover or a moved slot.
        await cluster.nodes_manager.initialize()
        conns: dict[str, AbstractConnection] = {}
        try:
            for node in cluster.get_primaries():
                options = {
                    key: value
                    for key, value in node.connection_kwargs.items()
                    if key not in _NOT_FOR_LISTENERS
                }
                options |= {
                    "protocol": 2,
                    "client_name": self.listener_name,
                    # The supervisor reconnects; redis-py must not retry behind our back.
                    "retry": Retry(NoBackoff(), 0),
                }
                conns[node.name] = await _connected(node.connection_class(**options))
        except BaseException:
            await _disconnect_all(conns)
            raise
        return conns

    def _listener_for(self, channel: bytes) -> str:
        try:
            node = self._cluster().nodes_manager.get_node_from_slot(key_slot(channel))
        except RedisClusterException:
            return ""  # slot not covered right now: no listener, so a fresh session
        name: str = node.name
        return name

    def _subscribe_commands(self, channels: list[bytes]) -> list[list[bytes]]:
        # SSUBSCRIBE with several channels must name one slot; rooms rarely share one.
        return [[channel] for channel in channels]
