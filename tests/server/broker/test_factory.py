"""create_broker picks the implementation from the URL."""

from __future__ import annotations

import pytest

from server.broker import InMemoryBroker, InvalidBrokerUrl, RedisBroker, create_broker


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


def test_process_ids_default_to_unique() -> None:
    assert create_broker(None).process_id != create_broker(None).process_id


@pytest.mark.parametrize("url", ["kafka://x", "nonsense", "postgresql://x"])
def test_unknown_scheme(url: str) -> None:
    with pytest.raises(InvalidBrokerUrl) as excinfo:
        create_broker(url)
    assert excinfo.value.code == "broker_url_invalid"
