"""Pick the broker implementation from a URL. Builds nothing at import time."""

from __future__ import annotations

from server.broker.base import Broker
from server.broker.errors import InvalidBrokerUrl
from server.broker.memory import InMemoryBroker
from server.broker.redis_broker import RedisBroker

__all__ = ["create_broker"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def create_broker(
    url: str | None, *, prefix: str = "coshop", process_id: str | None = None
) -> Broker:
    """``None``/``"memory://"`` -> :class:`InMemoryBroker`; ``redis://…`` -> :class:`RedisBroker`.

    ``prefix`` namespaces Redis channels and keys (several coshop deployments may share one
    Redis). ``process_id`` defaults to a random id; it must be unique among live processes.
    """
    if url is None or url == "memory://":
        return InMemoryBroker(process_id=process_id)
    if url.startswith(_REDIS_SCHEMES):
        return RedisBroker(url, prefix=prefix, process_id=process_id)
    scheme = url.split("://", 1)[0] if "://" in url else url[:20]
    raise InvalidBrokerUrl(f"unsupported broker URL scheme: {scheme!r}")
