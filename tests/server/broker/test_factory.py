"""create_broker picks the implementation from the URL."""

from __future__ import annotations

import pytest

from server.broker import (
    InMemoryBroker,
    InvalidBrokerUrl,
    RedisBroker,
    RedisClusterBroker,
    create_broker,
)


@pytest.mark.parametrize("url", [None, "memory://"])
def test_memory(url: str | None) -> None:
    broker = create_broker(url, process_id="p1")
    assert isinstance(broker, InMemoryBroker)
    assert broker.process_id == "p1"


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1"])
def test_redis(url: str) -> None:
    broker = create_broker(url, prefix="shop-a")
    assert isinstance(broker, RedisBroker)
    assert broker.prefix == "shop-a"
    assert broker.process_id  # a random id by default
    assert not broker.healthy  # nothing connects before start()


@pytest.mark.parametrize(
    ("url", "seed"),
    [
        ("redis+cluster://127.0.0.1:7000", "redis://127.0.0.1:7000"),
        ("rediss+cluster://user:pw@cache.example:6380", "rediss://user:pw@cache.example:6380"),
    ],
)
def test_redis_cluster(url: str, seed: str) -> None:
    broker = create_broker(url, prefix="shop-a", process_id="p1")
    assert isinstance(broker, RedisClusterBroker)
    assert (broker.prefix, broker.process_id) == ("shop-a", "p1")
    assert broker._url == seed  # the cluster client is seeded with the plain URL
    assert not broker.healthy


def test_process_ids_default_to_unique() -> None:
    assert create_broker(None).process_id != create_broker(None).process_id


@pytest.mark.parametrize("url", ["kafka://x", "nonsense", "postgresql://x", "unix+cluster://x"])
def test_unknown_scheme(url: str) -> None:
    with pytest.raises(InvalidBrokerUrl) as excinfo:
        create_broker(url)
    assert excinfo.value.code == "broker_url_invalid"
