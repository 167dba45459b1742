"""Moving committed-event notifications and ephemeral signals between coshop processes.

One process uses :class:`InMemoryBroker`; several processes share Redis through
:class:`RedisBroker`, or Redis Cluster through :class:`RedisClusterBroker`. The broker only
notifies: the room log in SQL is the truth, and a lost broker message is recovered by the hub
re-reading the log by seq (``docs/broker.md``).
This package holds no room state and knows nothing of events beyond opaque payload bytes.
"""

from __future__ import annotations

from server.broker.base import Broker, BrokerMessage, Handler
from server.broker.errors import (
    BrokerClosed,
    BrokerError,
    BrokerUnavailable,
    InvalidBrokerUrl,
    InvalidFrame,
    InvalidName,
    UnknownKind,
)
from server.broker.factory import create_broker
from server.broker.framing import KINDS
from server.broker.memory import InMemoryBroker, InMemoryBus
from server.broker.redis_broker import RedisBroker
from server.broker.redis_cluster import RedisClusterBroker

__all__ = [
    "KINDS",
    "Broker",
    "BrokerClosed",
    "BrokerError",
    "BrokerMessage",
    "BrokerUnavailable",
    "Handler",
    "InMemoryBroker",
    "InMemoryBus",
    "InvalidBrokerUrl",
    "InvalidFrame",
    "InvalidName",
    "RedisBroker",
    "RedisClusterBroker",
    "UnknownKind",
    "create_broker",
]
