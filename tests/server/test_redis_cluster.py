"""coshop on Redis Cluster: sharded pub/sub, slot-local presence, slot moves, two processes.

Each test starts its own three-master cluster on loopback ports (``local_cluster``) or shares
the module's; the contract suite (``tests/server/broker/test_contract.py``) runs against a
cluster too. Without ``redis-server`` on PATH these skip on a laptop and fail when ``CI=true``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from server.broker import BrokerUnavailable, RedisClusterBroker, create_broker
from server.broker.names import presence_index_key, presence_key, room_shard_channel
from tests.server.broker.conftest import Inbox
from tests.server.broker.local_cluster import LocalCluster, local_cluster
from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer, create_room, join
from tests.server.test_scale_out import hub_process, pg_database
from tests.services import unique_name

# the tests that share the module's cluster run on one worker, which starts it once
pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("redis_cluster_module")]

__all__ = ["pg_database"]  # a fixture the e2e test uses; imported, not redefined


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with local_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


async def wait_until(condition: Callable[[], bool], limit_s: float = 15.0) -> None:
    """Poll ``condition``; a bound on waiting, never a timing assertion."""
    async with asyncio.timeout(limit_s):
        while not condition():
            await asyncio.sleep(0.01)


class Reconnects:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


async def started(url: str, prefix: str, process_id: str) -> RedisClusterBroker:
    broker = create_broker(url, prefix=prefix, process_id=process_id)
    assert isinstance(broker, RedisClusterBroker)
    await broker.start()
    return broker


async def shard_subscribers(cluster: LocalCluster, channel: str) -> dict[int, int]:
    """Subscribers of a shard channel as each node counts them (port -> count)."""
    counts: dict[int, int] = {}
    for port in cluster.ports:
        node = Redis(host="127.0.0.1", port=port)
        try:
            ((_, count),) = await node.pubsub_shardnumsub(channel)
        finally:
            await node.aclose()
        counts[port] = count
    return counts


def test_a_rooms_channel_and_presence_keys_share_one_slot() -> None:
    for room in ("r-42", "shop:acme:Zürich-live", "x" * 200):
        slots = {
            key_slot(room_shard_channel("coshop", room).encode()),
            key_slot(presence_key("coshop", room, "proc-a").encode()),
            key_slot(presence_index_key("coshop", room).encode()),
            key_slot(room.encode()),  # the hash tag is the room id itself
        }
        assert len(slots) == 1, room
    # ... and rooms spread over the slots (so over the shards).
    assert len({key_slot(room_shard_channel("p", f"room-{i}").encode()) for i in range(50)}) > 40


async def test_rooms_are_subscribed_on_the_shard_that_owns_them(cluster: LocalCluster) -> None:
    prefix = unique_name("shard")
    a = await started(cluster.url, prefix, "proc-a")
    b = await started(cluster.url, prefix, "proc-b")
    rc = await RedisCluster.from_url(cluster.seed_url).initialize()
    try:
        rooms = [f"room-{i}" for i in range(12)]
        inboxes = {room: Inbox() for room in rooms}
        for room in rooms:
            await a.subscribe(room, inboxes[room])
        owners = {rc.get_node_from_key(room_shard_channel(prefix, r)).port for r in rooms}  # type: ignore[union-attr]  # every slot is covered
        assert len(owners) == 3, "twelve rooms should land on all three shards"
        for room in rooms:
            channel = room_shard_channel(prefix, room)
            owner_port = int(rc.get_node_from_key(channel).port)  # type: ignore[union-attr]  # see above
            counts = await shard_subscribers(cluster, channel)
            assert counts == {p: int(p == owner_port) for p in cluster.ports}, room
            await b.publish(room, "events", room.encode())
        for room in rooms:
            got = await inboxes[room].next()
            assert (got.room_id, got.origin, got.payload) == (room, "proc-b", room.encode())
    finally:
        await a.close()
        await b.close()
        await rc.aclose()


async def test_a_killed_listener_reconnects_on_every_shard(cluster: LocalCluster) -> None:
    prefix = unique_name("kill")
    a = await started(cluster.url, prefix, "proc-a")
    b = await started(cluster.url, prefix, "proc-b")
    reconnects = Reconnects()
    a.on_reconnect = reconnects
    try:
        rooms = [f"room-{i}" for i in range(9)]
        inboxes = {room: Inbox() for room in rooms}
        for room in rooms:
            await a.subscribe(room, inboxes[room])
        # Kill a's listener on one node only: the whole session restarts.
        node = Redis(host="127.0.0.1", port=cluster.ports[1], decode_responses=True)
        try:
            clients = await node.client_list()
            (victim,) = [c["id"] for c in clients if c["name"] == a.listener_name]
            assert await node.client_kill_filter(_id=victim) == 1
        finally:
            await node.aclose()
        await wait_until(lambda: reconnects.calls >= 1 and a.healthy)
        for room in rooms:
            await b.publish(room, "events", b"after")
        for room in rooms:
            assert (await inboxes[room].next()).payload == b"after"
        assert reconnects.calls == 1
    finally:
        await a.close()
        await b.close()


async def test_a_moved_slot_resubscribes_the_room_on_its_new_shard(tmp_path: Path) -> None:
    with local_cluster(tmp_path / "moving") as moving:
        prefix = unique_name("move")
        a = await started(moving.url, prefix, "proc-a")
        b = await started(moving.url, prefix, "proc-b")
        reconnects = Reconnects()
        a.on_reconnect = reconnects
        rc = await RedisCluster.from_url(moving.seed_url).initialize()
        try:
            room, inbox = "moving-room", Inbox()
            await a.subscribe(room, inbox)
            channel = room_shard_channel(prefix, room)
            slot = key_slot(channel.encode())
            source = rc.get_node_from_key(channel)
            assert source is not None
            target = next(n for n in rc.get_primaries() if n.name != source.name)
            target_id = await node_id(int(target.port))
            # The slot holds no keys, so it can be handed over at once, as the last step of a
            # resharding does: the new owner first, then the old one, then the rest.
            order = [int(target.port), int(source.port)]
            order += [p for p in moving.ports if p not in order]
            for port in order:
                node = Redis(host="127.0.0.1", port=port)
                try:
                    await node.cluster("SETSLOT", slot, "NODE", target_id)
                finally:
                    await node.aclose()
            # The old owner dropped the subscription (sunsubscribe): a fresh session finds the
            # room on its new shard and tells the hub to re-read the log.
            await wait_until(lambda: reconnects.calls >= 1 and a.healthy)
            counts = await shard_subscribers(moving, channel)
            assert counts[int(target.port)] == 1
            assert counts[int(source.port)] == 0
            await b.publish(room, "events", b"on the new shard")
            assert (await inbox.next()).payload == b"on the new shard"
            await b.set_presence(room, {"m1": "Ann"}, 30)
            assert await a.presence(room) == {"m1": "Ann"}
        finally:
            await a.close()
            await b.close()
            await rc.aclose()


async def node_id(port: int) -> str:
    node = Redis(host="127.0.0.1", port=port)
    try:
        reply: Any = await node.cluster("MYID")
    finally:
        await node.aclose()
    return reply.decode() if isinstance(reply, bytes) else str(reply)


async def wait_for_text(peer: Peer, text: str) -> None:
    while True:
        msg = await peer.recv(timeout=10)
        events = msg["evs"] if msg.get("t") == "batch" else [msg] if msg.get("t") == "ev" else []
        if any(event["ev"].get("text") == text for event in events):
            return


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.postgres
async def test_two_processes_share_a_room_through_the_cluster(
    tmp_path: Path, pg_database: str, cluster: LocalCluster
) -> None:
    broker, prefix = cluster.url, unique_name("coshop")
    port_a, port_b = free_port(), free_port()
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    with (
        hub_process(tmp_path, "cl-a", port_a, pg_database, broker, prefix),
        hub_process(tmp_path, "cl-b", port_b, pg_database, broker, prefix),
    ):
        await asyncio.gather(wait_ready(base_a), wait_ready(base_b))
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http, title="Across shards")
            ann, bo = await join(http, room, "Ann"), await join(http, room, "Bo")
        rid = room["room_id"]
        on_a = await Peer.open(base_a.replace("http", "ws") + f"/ws/rooms/{rid}")
        await on_a.hello(ann["token"])
        on_b = await Peer.open(base_b.replace("http", "ws") + f"/ws/rooms/{rid}")
        await on_b.hello(bo["token"])

        # Both processes listen on the room's shard channel, on the shard that owns it.
        channel = room_shard_channel(prefix, rid)
        rc = await RedisCluster.from_url(cluster.seed_url).initialize()
        try:
            owner_port = int(rc.get_node_from_key(channel).port)  # type: ignore[union-attr]  # covered
        finally:
            await rc.aclose()
        counts = await shard_subscribers(cluster, channel)
        assert counts == {p: 2 * int(p == owner_port) for p in cluster.ports}

        # Each side's message reaches the other side.
        await on_a.send({"t": "cmd", "op": "from-a", "name": "PostMessage", "args": {"text": "A"}})
        await asyncio.wait_for(wait_for_text(on_b, "A"), 20)
        await on_b.send({"t": "cmd", "op": "from-b", "name": "PostMessage", "args": {"text": "B"}})
        await asyncio.wait_for(wait_for_text(on_a, "B"), 20)

        # Presence lives in the room's slot and is the union of both processes.
        reader = await started(broker, prefix, "reader")
        try:
            wanted = {ann["member_id"], bo["member_id"]}
            async with asyncio.timeout(20):  # a bound on waiting for the first refresh
                while not wanted <= (await reader.presence(rid)).keys():
                    await asyncio.sleep(0.05)
        finally:
            await reader.close()
        await on_a.close()
        await on_b.close()


async def test_an_unreachable_cluster_is_broker_unavailable() -> None:
    broker = create_broker(f"redis+cluster://127.0.0.1:{free_port()}", process_id="lonely")
    with pytest.raises(BrokerUnavailable) as excinfo:
        await broker.start()
    assert excinfo.value.code == "broker_unavailable"
    assert not broker.healthy
