"""Pick the broker implementation from a URL. Builds nothing at import time."""

from __future__ import annotations

from server.broker.base import Broker
from server.broker.errors import InvalidBrokerUrl
from server.broker.memory import InMemoryBroker
from server.broker.redis_broker import RedisBroker
from server.broker.redis_cluster import RedisClusterBroker

__all__ = ["create_broker"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# "+cluster" selects Redis Cluster (sharded pub/sub); the rest is the seed node's plain URL.
_CLUSTER_SCHEMES = {"redis+cluster://": "redis://", "rediss+cluster://": "rediss://"}


def create_broker(
    url: str | None, *, prefix: str = "coshop", process_id: str | None = None
) -> Broker:
    """``None``/``"memory://"`` -> :class:`InMemoryBroker`; ``redis://…`` -> :class:`RedisBroker`;
    ``redis+cluster://host:port`` (or ``rediss+cluster://``) -> :class:`RedisClusterBroker`
    seeded from that node.

    ``prefix`` namespaces Redis channels and keys (several coshop deployments may share one
    Redis). ``process_id`` defaults to a random id; it must be unique among live processes.
    """
    if url is None or url == "memory://":
        return InMemoryBroker(process_id=process_id)
    for scheme, plain in _CLUSTER_SCHEMES.items():
        if url.startswith(scheme):
            seed = plain + url.removeprefix(scheme)
            return RedisClusterBroker(seed, prefix=prefix, process_id=process_id)
    if url.startswith(_REDIS_SCHEMES):
        return RedisBroker(url, prefix=prefix, process_id=process_id)
    scheme = url.split("://", 1)[0] if "://" in url else url[:20]
    raise InvalidBrokerUrl(f"unsupported broker URL scheme: {scheme!r}")
