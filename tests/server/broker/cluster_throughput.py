"""Measure the cluster broker on a local three-master Redis Cluster (bounded, about 30 s).

    .venv/bin/python -m tests.server.broker.cluster_throughput [--messages 5000]

Prints, for docs/broker.md and the sizing in docs/deploy.md:

1. SPUBLISH from one process, awaited in turn as the hub's publisher task does: publishes/s, and
   deliveries/s to S subscribing processes (S = 1, 4, 19) until the last message arrived.
2. Many rooms spread over the three shards, four publishing processes at once.
3. Presence of a 100,000-viewer room held by 20 processes (5,000 members each): the cost of one
   ``set_presence`` and one ``presence()`` (what each process does every ``presence_ttl_s / 3``).

Everything (Redis, publishers, subscribers) shares this machine's cores, so figures are a floor.
Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from server.broker import BrokerMessage, RedisClusterBroker, create_broker
from server.broker.names import presence_index_key
from tests.server.broker.local_cluster import local_cluster

PAYLOAD = bytes(300)  # about one encoded batch of a chat message and a cart change
WAIT_LIMIT_S = 60.0


class Counter:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = asyncio.Event()

    def __call__(self, message: BrokerMessage) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


async def brokers(url: str, prefix: str, count: int) -> list[RedisClusterBroker]:
    out = []
    for i in range(count):
        broker = create_broker(url, prefix=prefix, process_id=f"p{i}")
        assert isinstance(broker, RedisClusterBroker)
        await broker.start()
        out.append(broker)
    return out


async def one_room(url: str, messages: int, subscribers: int) -> None:
    publisher, *others = await brokers(url, f"one{subscribers}", subscribers + 1)
    counters = [Counter(messages) for _ in others]
    for broker, counter in zip(others, counters, strict=True):
        await broker.subscribe("show", counter)
    started = time.perf_counter()
    for _ in range(messages):
        await publisher.publish("show", "events", PAYLOAD)
    published = time.perf_counter() - started
    async with asyncio.timeout(WAIT_LIMIT_S):
        await asyncio.gather(*(counter.done.wait() for counter in counters))
    delivered = time.perf_counter() - started
    print(
        f"one room, {subscribers:2d} subscribing processes: "
        f"{messages / published:8,.0f} publishes/s, "
        f"{messages * subscribers / delivered:9,.0f} deliveries/s"
    )
    for broker in [publisher, *others]:
        await broker.close()


async def many_rooms(url: str, messages: int) -> None:
    rooms = [f"room-{i}" for i in range(60)]
    publishers = await brokers(url, "many-pub", 4)
    subscriber = create_broker(url, prefix="many-pub", process_id="sub")
    await subscriber.start()
    per_publisher = messages // len(publishers)
    counter = Counter(per_publisher * len(publishers))
    for room in rooms:
        await subscriber.subscribe(room, counter)

    async def run(broker: RedisClusterBroker, offset: int) -> None:
        for i in range(per_publisher):
            await broker.publish(rooms[(offset + i) % len(rooms)], "events", PAYLOAD)

    started = time.perf_counter()
    await asyncio.gather(*(run(b, i * 15) for i, b in enumerate(publishers)))
    published = time.perf_counter() - started
    async with asyncio.timeout(WAIT_LIMIT_S):
        await counter.done.wait()
    print(
        f"60 rooms on 3 shards, 4 publishing processes: "
        f"{counter.expected / published:8,.0f} publishes/s in all"
    )
    for broker in [*publishers, subscriber]:
        await broker.close()


async def presence(url: str, processes: int = 20, per_process: int = 5000) -> None:
    fleet = await brokers(url, "presence", processes)
    for p, broker in enumerate(fleet):
        members = {f"m{p:02d}-{i:05d}-xxxxxxxxxxxx": f"Viewer {p}-{i}" for i in range(per_process)}
        await broker.set_presence("show", members, 60)
    writes, reads = [], []
    members = {f"m00-{i:05d}-xxxxxxxxxxxx": f"Viewer 0-{i}" for i in range(per_process)}
    for _ in range(5):
        started = time.perf_counter()
        await fleet[0].set_presence("show", members, 60)
        writes.append(time.perf_counter() - started)
        started = time.perf_counter()
        alive = await fleet[0].presence("show")
        reads.append(time.perf_counter() - started)
    assert len(alive) == processes * per_process
    owner = await redis_cpu_per_hgetall(fleet[0])
    print(
        f"presence of {processes * per_process:,} viewers on {processes} processes: "
        f"set_presence({per_process:,}) {statistics.median(writes) * 1000:.0f} ms, "
        f"presence() {statistics.median(reads) * 1000:.0f} ms (median of 5); "
        f"Redis CPU per HGETALL of {per_process:,}: {owner:.0f} µs"
    )
    for broker in fleet:
        await broker.close()


async def redis_cpu_per_hgetall(broker: RedisClusterBroker) -> float:
    """``usec_per_call`` of HGETALL on the shard that owns the room (INFO commandstats)."""
    cluster = broker._cluster()
    node = cluster.get_node_from_key(presence_index_key(broker.prefix, "show"))
    assert node is not None
    stats = await cluster.info("commandstats", target_nodes=node)
    return float(stats["cmdstat_hgetall"]["usec_per_call"])


async def main(url: str, messages: int) -> None:
    for subscribers in (1, 4, 19):
        await one_room(url, messages, subscribers)
    await many_rooms(url, messages)
    await presence(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, local_cluster(Path(workdir)) as cluster:
        asyncio.run(main(cluster.url, args.messages))
