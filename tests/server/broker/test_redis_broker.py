"""Redis-only behaviour: the supervised listener survives a lost or silent connection.

We never restart the shared Redis server (other tests use it): a killed client connection
(``CLIENT KILL ID``) and a loopback proxy we can cut or freeze stand in for Redis failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from server.broker import BrokerClosed, BrokerUnavailable, RedisBroker
from server.broker.names import room_channel
from tests.server.broker.conftest import Inbox, delete_prefix
from tests.server.broker.proxy import TcpProxy
from tests.services import REDIS_HOST, REDIS_PORT, redis_url, unique_name

pytestmark = pytest.mark.redis


async def wait_until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Poll ``condition``; a bound on waiting, never a timing assertion."""
    async with asyncio.timeout(limit_s):
        # ASYNC110 is silenced because ``healthy`` is a plain property with no event to await.
        while not condition():
            await asyncio.sleep(0.005)


def is_healthy(broker: RedisBroker) -> bool:
    # A call, so mypy does not carry a narrowed ``broker.healthy`` across awaits.
    return broker.healthy


class Reconnects:
    """An ``on_reconnect`` callback that records how healthy the broker was when called."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.healthy_at_call: list[bool] = []
        self.event = asyncio.Event()
        broker.on_reconnect = self

    def __call__(self) -> None:
        self.healthy_at_call.append(self.broker.healthy)
        self.event.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.event.wait(), 15)


@pytest.fixture
async def env() -> AsyncIterator[tuple[str, str, list[RedisBroker]]]:
    url, prefix = redis_url(), unique_name("brokertest")
    brokers: list[RedisBroker] = []
    yield url, prefix, brokers
    for broker in brokers:
        await broker.close()
    await delete_prefix(url, prefix)


async def started(brokers: list[RedisBroker], broker: RedisBroker) -> RedisBroker:
    await broker.start()
    brokers.append(broker)
    return broker


async def test_listener_recovers_from_a_killed_connection(
    env: tuple[str, str, list[RedisBroker]],
) -> None:
    url, prefix, brokers = env
    # A backoff of at least 0.15 s keeps the unhealthy window wide enough to observe.
    a = await started(brokers, RedisBroker(url, prefix=prefix, backoff_base=0.3, backoff_cap=0.6))
    b = await started(brokers, RedisBroker(url, prefix=prefix))
    reconnects = Reconnects(a)
    inbox_1, inbox_2 = Inbox(), Inbox()
    await a.subscribe("room-1", inbox_1)
    await a.subscribe("room-2", inbox_2)

    stop = asyncio.Event()

    async def traffic() -> None:
        i = 0
        while not stop.is_set():
            await b.publish("room-1", "signal", b"t%d" % i)
            i += 1
            await asyncio.sleep(0.005)

    traffic_task = asyncio.create_task(traffic())
    await inbox_1.next()  # traffic is flowing

    admin = Redis.from_url(url)
    try:
        clients = await admin.client_list()
        ids = [c["id"] for c in clients if c.get("name") == a.listener_name]
        assert len(ids) == 1
        assert await admin.client_kill_filter(_id=ids[0]) == 1
    finally:
        await admin.aclose()

    await wait_until(lambda: not a.healthy)
    await reconnects.wait()
    stop.set()
    await traffic_task

    assert a.healthy
    assert reconnects.healthy_at_call == [True]  # called once, after re-subscribing
    # Both subscriptions are back: a marker published now arrives in each room.
    await b.publish("room-1", "events", b"marker-1")
    await b.publish("room-2", "events", b"marker-2")
    while (await inbox_1.next()).payload != b"marker-1":
        pass
    assert (await inbox_2.next()).payload == b"marker-2"
    # The broker's own publishing never needed a restart either.
    inbox_b = Inbox()
    await b.subscribe("room-2", inbox_b)
    await a.publish("room-2", "events", b"from a")
    assert (await inbox_b.next()).payload == b"from a"


async def test_redis_outage_degrades_clearly_and_recovers(
    env: tuple[str, str, list[RedisBroker]],
) -> None:
    url, prefix, brokers = env
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT)
    await proxy.start()
    try:
        a = await started(
            brokers,
            RedisBroker(
                f"redis://127.0.0.1:{proxy.port}/0",
                prefix=prefix,
                socket_timeout=0.5,
                backoff_base=0.05,
                backoff_cap=0.2,
            ),
        )
        b = await started(brokers, RedisBroker(url, prefix=prefix))
        reconnects = Reconnects(a)
        inbox = Inbox()
        await a.subscribe("room-1", inbox)
        await b.set_presence("room-1", {"m2": "Bo"}, 30)
        await b.publish("room-1", "events", b"before")
        assert (await inbox.next()).payload == b"before"

        await proxy.cut()
        await wait_until(lambda: not a.healthy)

        with pytest.raises(BrokerUnavailable) as excinfo:
            await a.publish("room-1", "events", b"while down")
        assert excinfo.value.code == "broker_unavailable"
        with pytest.raises(BrokerUnavailable):
            await a.presence("room-1")
        with pytest.raises(BrokerUnavailable):
            await a.set_presence("room-1", {"m1": "Ann"}, 30)
        # Subscribing while down is accepted and restored on reconnect.
        inbox_late = Inbox()
        await a.subscribe("room-late", inbox_late)
        # Published while a's listener is down: lost for a. The hub recovers such gaps by
        # re-reading the room log in on_reconnect.
        await b.publish("room-1", "events", b"lost")
        assert not is_healthy(a)

        await proxy.start()  # Redis is "back" on the same address
        await reconnects.wait()

        assert a.healthy
        assert reconnects.healthy_at_call == [True]
        await b.publish("room-1", "events", b"after")
        await b.publish("room-late", "events", b"late room")
        assert (await inbox.next()).payload == b"after"
        assert (await inbox_late.next()).payload == b"late room"
        await a.set_presence("room-1", {"m1": "Ann"}, 30)
        assert await a.presence("room-1") == {"m1": "Ann", "m2": "Bo"}
        inbox_b = Inbox()
        await b.subscribe("room-1", inbox_b)
        await a.publish("room-1", "events", b"a is back")
        assert (await inbox_b.next()).payload == b"a is back"
    finally:
        await proxy.cut()


async def test_a_silent_connection_is_detected_by_the_heartbeat(
    env: tuple[str, str, list[RedisBroker]],
) -> None:
    url, prefix, brokers = env
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT)
    await proxy.start()
    try:
        a = await started(
            brokers,
            RedisBroker(
                f"redis://127.0.0.1:{proxy.port}/0",
                prefix=prefix,
                socket_timeout=0.3,
                heartbeat_s=0.1,
                backoff_base=0.05,
                backoff_cap=0.2,
            ),
        )
        b = await started(brokers, RedisBroker(url, prefix=prefix))
        reconnects = Reconnects(a)
        inbox = Inbox()
        await a.subscribe("room-1", inbox)

        proxy.freeze()  # connections stay open, nothing gets through
        await wait_until(lambda: not a.healthy)
        proxy.thaw()
        await reconnects.wait()

        assert a.healthy
        await b.publish("room-1", "events", b"after thaw")
        assert (await inbox.next()).payload == b"after thaw"
    finally:
        proxy.thaw()
        await proxy.cut()


async def test_foreign_bytes_on_a_room_channel_are_dropped(
    env: tuple[str, str, list[RedisBroker]],
) -> None:
    url, prefix, brokers = env
    a = await started(brokers, RedisBroker(url, prefix=prefix))
    b = await started(brokers, RedisBroker(url, prefix=prefix))
    inbox = Inbox()
    await a.subscribe("room-1", inbox)

    raw = Redis.from_url(url)
    try:
        channel = room_channel(prefix, "room-1")
        for junk in (b"", b"\x09\x01\x01x", b"\x01\x07\x01x", b"\x01\x01\x05ab"):
            await raw.publish(channel, junk)
    finally:
        await raw.aclose()
    await b.publish("room-1", "events", b"real")

    assert (await inbox.next()).payload == b"real"
    assert a.healthy


async def test_start_fails_fast_when_redis_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0", socket_timeout=0.5)
    with pytest.raises(BrokerUnavailable):
        await broker.start()
    assert not broker.healthy
    with pytest.raises(BrokerClosed):
        await broker.publish("room-1", "events", b"x")
    await broker.close()  # nothing to close; harmless


async def test_close_removes_presence_keys(env: tuple[str, str, list[RedisBroker]]) -> None:
    url, prefix, brokers = env
    a = await started(brokers, RedisBroker(url, prefix=prefix))
    await a.set_presence("room-1", {"m1": "Ann"}, 30)
    await a.close()

    admin = Redis.from_url(url)
    try:
        keys = [k async for k in admin.scan_iter(match=f"{prefix}:*")]
    finally:
        await admin.aclose()
    assert keys == []
    with contextlib.suppress(BrokerClosed):
        await a.unsubscribe("room-1")
