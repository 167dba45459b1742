"""Fixtures for the broker contract suite: N brokers that behave as N processes.

``broker_kind`` is "memory" (brokers share one ``InMemoryBus``), "redis" (brokers share the
test Redis under a unique key prefix, deleted afterwards) or "cluster" (brokers share a local
three-master Redis Cluster the session starts on loopback ports, :mod:`.local_cluster`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from server.broker import (
    Broker,
    BrokerMessage,
    InMemoryBroker,
    InMemoryBus,
    RedisBroker,
    create_broker,
)
from tests.server.broker.local_cluster import LocalCluster, local_cluster
from tests.services import redis_url, unique_name

MakeBroker = Callable[..., Coroutine[Any, Any, Broker]]

# Bound for waiting on a message that must arrive; never a timing assertion.
DELIVERY_WAIT_S = 5.0


class Inbox:
    """A handler that queues what it receives, in order."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[BrokerMessage] = asyncio.Queue()

    def __call__(self, message: BrokerMessage) -> None:
        self.queue.put_nowait(message)

    async def next(self) -> BrokerMessage:
        return await asyncio.wait_for(self.queue.get(), DELIVERY_WAIT_S)

    def empty(self) -> bool:
        return self.queue.empty()


async def delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A three-master Redis Cluster on loopback for the whole session (each test its prefix)."""
    with local_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        # one worker runs every cluster case: the session's cluster is started once
        pytest.param(
            "cluster", marks=[pytest.mark.redis, pytest.mark.xdist_group("broker_cluster")]
        ),
    ]
)
def broker_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def make_broker(
    broker_kind: str, request: pytest.FixtureRequest
) -> AsyncIterator[MakeBroker]:
    """Start a new broker ("process") on the shared medium; all are closed at teardown."""
    started: list[Broker] = []
    bus = InMemoryBus()
    url = redis_url() if broker_kind == "redis" else ""
    if broker_kind == "cluster":
        # Started only when a cluster case runs; the cluster is thrown away with its keys.
        url = request.getfixturevalue("redis_cluster").url
    prefix = unique_name("brokertest")

    async def make(**options: Any) -> Broker:
        broker: Broker
        if broker_kind == "memory":
            broker = InMemoryBroker(bus, **options)
        elif broker_kind == "cluster":
            broker = create_broker(url, prefix=prefix, **options)
        else:
            broker = RedisBroker(url, prefix=prefix, **options)
        await broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        await broker.close()
    if broker_kind == "redis":
        await delete_prefix(url, prefix)
