"""The hub over a real socket: ordering, acks after commit, resume, op retry, fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pythonjsonlogger.json import JsonFormatter

from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import JSON, MSGPACK, Peer, create_room, join


def _evs(frame: dict[str, object]) -> list[dict[str, Any]]:
    evs = frame.get("evs")
    return evs if isinstance(evs, list) else []


def _commits(srv: LiveServer) -> float:
    """How many group commits the server has made (its commit-latency histogram's count)."""
    for family in srv.app_state.metrics.commit_latency.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                return float(sample.value)
    raise AssertionError("no commit histogram")


@contextlib.asynccontextmanager
async def _live_room_with_a_viewer(
    tmp_path: Path, live_tick_ms: int = 20
) -> AsyncIterator[tuple[LiveServer, Peer, Peer]]:
    """A live room on its own server (a short tick, a 1 s busy tick, no command limit in the
    way), its host and one viewer who has seen her own join."""
    settings = server_settings(
        tmp_path,
        live_tick_ms=live_tick_ms,
        live_busy_tick_ms=1_000,
        commands_per_second=1_000.0,
        command_burst=1_000,
    )
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        room = await create_room(http, kind="live", title="Flash sale")
        url = srv.ws_url(room["room_id"])
        host = await Peer.open(url)
        await host.hello(room["host"]["token"])
        viewer = await Peer.open(url)
        await viewer.hello((await join(http, room, "Vi"))["token"])
        await viewer.events(1)  # her own join
        try:
            yield srv, host, viewer
        finally:
            await host.close()
            await viewer.close()


async def test_commands_are_acked_after_their_events_and_reach_every_member(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url, codec=JSON)
    welcome = await host.hello(room["host"]["token"])
    assert welcome["member"]["role"] == "host"
    assert welcome["view"] is not None
    bea = await join(http, room, "Bea")
    guest = await Peer.open(url, codec=MSGPACK)
    await guest.hello(bea["token"])
    joined = await host.events(1)
    assert joined[0]["ev"]["type"] == "MemberJoined"
    assert await guest.events(1) == joined  # the guest sees its own join after the welcome

    await guest.send(
        {
            "t": "cmd",
            "op": "op-1",
            "name": "AddLine",
            "args": {"sku": "tent-2p", "variant": None, "quantity": 2},
        }
    )
    first = await guest.recv_until("ev")
    ack = await guest.recv_until("ack")
    assert first["ev"]["type"] == "LineAdded"
    assert ack == {"t": "ack", "op": "op-1", "seq": [first["seq"], first["seq"]]}
    seen_by_host = await host.events(1)
    assert seen_by_host[0] == first  # same seq, same data, whichever subprotocol
    await host.close()
    await guest.close()


async def test_a_retried_op_is_answered_not_applied_again(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    host = await Peer.open(live_server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    cmd = {
        "t": "cmd",
        "op": "same",
        "name": "AddLine",
        "args": {"sku": "tent-2p", "variant": None, "quantity": 1},
    }
    await host.send(cmd)
    ev = await host.recv_until("ev")
    ack = await host.recv_until("ack")
    await host.send({**cmd, "retry": True})
    dup = await host.recv_until("ack")
    assert dup["seq"] == ack["seq"] and dup.get("dup") is True
    # a new connection that retries the same op after a "lost" answer gets the same answer
    await host.close()
    again = await Peer.open(live_server.ws_url(room["room_id"]))
    await again.hello(room["host"]["token"], last_seq=ev["seq"])
    await again.send({**cmd, "retry": True})
    assert (await again.recv_until("ack"))["seq"] == ack["seq"]
    r = await http.get(
        f"/api/v1/rooms/{room['room_id']}",
        headers={"authorization": f"Bearer {room['host']['token']}"},
    )
    assert len(r.json()["view"]["lines"]) == 1
    await again.close()


async def test_resume_sends_exactly_what_was_missed(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url)
    welcome = await host.hello(room["host"]["token"])
    start = welcome["seq"]
    bea = await join(http, room, "Bea")
    guest = await Peer.open(url)
    await guest.hello(bea["token"])
    await host.events(1)  # Bea joined
    await host.close()
    for i in range(5):
        await guest.send(
            {"t": "cmd", "op": f"c{i}", "name": "PostMessage", "args": {"text": f"hi {i}"}}
        )
        await guest.recv_until("ack")
    back = await Peer.open(url)
    resumed = await back.hello(room["host"]["token"], last_seq=start + 1)
    assert resumed["resumed"] is True and resumed["view"] is None
    missed = await back.events(5)
    assert [m["seq"] for m in missed] == list(range(start + 2, start + 7))
    assert [m["ev"]["text"] for m in missed] == [f"hi {i}" for i in range(5)]
    await back.close()
    await guest.close()


async def test_a_restart_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        room = await create_room(http)
        host = await Peer.open(srv.ws_url(room["room_id"]))
        await host.hello(room["host"]["token"])
        for i in range(3):
            await host.send(
                {"t": "cmd", "op": f"m{i}", "name": "PostMessage", "args": {"text": f"m{i}"}}
            )
            last = await host.recv_until("ack")
        await host.close()
    async with run_server(settings) as srv:
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        welcome = await peer.hello(room["host"]["token"])
        assert welcome["seq"] == last["seq"][1]
        texts = [m["text"] for m in welcome["view"]["chat"]["messages"]]
        assert texts[-3:] == ["m0", "m1", "m2"]
        await peer.close()


async def test_many_concurrent_writers_get_one_gapless_order(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    peers = []
    for i in range(4):
        member = await join(http, room, f"P{i}")
        p = await Peer.open(url)
        await p.hello(member["token"])
        peers.append(p)
    await asyncio.sleep(0.2)

    async def write(p: Peer, n: int) -> None:
        for j in range(10):
            await p.send(
                {"t": "cmd", "op": f"{n}-{j}", "name": "PostMessage", "args": {"text": f"{n}/{j}"}}
            )

    await asyncio.gather(*(write(p, n) for n, p in enumerate(peers)))
    orders = []
    for p in peers:
        msgs: list[tuple[int, str]] = []
        while len(msgs) < 40:
            m = await p.recv()
            if m.get("t") == "ev" and m["ev"]["type"] == "MessagePosted":
                msgs.append((m["seq"], m["ev"]["text"]))
        orders.append(msgs)
    assert all(o == orders[0] for o in orders)
    seqs = [s for s, _ in orders[0]]
    assert seqs == list(range(seqs[0], seqs[0] + 40))
    for p in peers:
        await p.close()


async def test_logs_never_carry_message_bodies_or_tokens(
    live_server: LiveServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    room = await create_room(http)
    bea = await join(http, room, "Bea")
    host = await Peer.open(live_server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    await host.send({"t": "hello", "token": "garbage"})  # a stray frame, logged or not
    await host.send(
        {"t": "cmd", "op": "s1", "name": "PostMessage", "args": {"text": "very-private-words"}}
    )
    await host.recv_until("ack")
    bad = await Peer.open(live_server.ws_url(room["room_id"]))
    await bad.send({"t": "hello", "token": bea["token"] + "tampered", "last_seq": None})
    await bad.recv_until("err")
    # exactly what the production formatter writes (server/logs.py)
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    server_records = [r for r in caplog.records if r.name.startswith(("coshop", "uvicorn"))]
    assert any(r.name.startswith("coshop") for r in server_records)
    text = "\n".join(formatter.format(r) for r in server_records)
    assert server_records, "the server should have logged something"
    for secret in (
        "very-private-words",
        room["host"]["token"],
        bea["token"],
        room["invite"]["token"],
    ):
        assert secret not in text
    await host.close()


async def test_a_client_too_far_behind_is_closed_with_1013_and_others_are_unaffected(
    tmp_path: Path,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    settings = server_settings(
        tmp_path,
        outbox_frames=400,
        commands_per_second=10_000.0,
        command_burst=10_000,
        bytes_per_second=1 << 30,
    )
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        room = await create_room(http)
        url = srv.ws_url(room["room_id"])
        slow_member = await join(http, room, "Slow")
        # a client that stops reading: a tiny TCP receive buffer and receive queue, no recv()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", settings.port))
        sock.setblocking(False)
        slow = await connect(
            url,
            sock=sock,
            subprotocols=["coshop.v1.json"],  # type: ignore[list-item]  # NewType of str
            max_queue=1,
            compression=None,
        )
        await slow.send(
            JSON.encode({"t": "hello", "token": slow_member["token"], "last_seq": None})
        )
        host = await Peer.open(url)
        await host.hello(room["host"]["token"])
        # more than the kernel's socket buffers can absorb (tcp_wmem max is 4 MiB here)
        text = "x" * 500
        total = 9_000
        for i in range(total):
            await host.send(
                {"t": "cmd", "op": f"f{i}", "name": "PostMessage", "args": {"text": text}}
            )
            if i % 50 == 49:  # keep the (reading) host's own outbox short
                await host.recv_until("ack", timeout=10)
        last = None
        while last is None or last["op"] != f"f{total - 1}":
            last = await host.recv_until("ack", timeout=10)
        metrics = (await http.get("/metrics")).text
        assert "coshop_outbox_evictions_total 1.0" in metrics
        # the slow client was closed with 1013 (try again later) ...
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(slow.recv(), 10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1013
        # ... and resumes from where it stopped: nothing lost
        back = await Peer.open(url)
        welcome = await back.hello(slow_member["token"], last_seq=0)
        assert welcome["seq"] == last["seq"][1]
        await back.close()
        await host.close()


async def test_a_crowd_arriving_at_once_joins_once_each_with_shared_commits(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http, kind="live", title="Launch")
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url)
    await host.hello(room["host"]["token"])
    members = [await join(http, room, f"Viewer {i}") for i in range(40)]
    peers = [await Peer.open(url) for _ in members]
    twin = await Peer.open(url)  # a second tab of the first viewer, opened at the same moment

    before = _commits(live_server)
    for peer, member in zip(peers, members, strict=True):
        await peer.send({"t": "hello", "token": member["token"], "last_seq": None})
    await twin.send({"t": "hello", "token": members[0]["token"], "last_seq": None})
    welcomes = [await p.recv_until("welcome") for p in [*peers, twin]]
    assert {w["member"]["member_id"] for w in welcomes} == {m["member_id"] for m in members}

    joined = [e for e in await host.events(40, timeout=10) if e["ev"]["type"] == "MemberJoined"]
    assert sorted(e["ev"]["member_id"] for e in joined) == sorted(m["member_id"] for m in members)
    assert [e["seq"] for e in joined] == list(range(joined[0]["seq"], joined[0]["seq"] + 40))
    # the joins that arrived together shared commits: fewer commits than joins
    assert _commits(live_server) - before < 40
    # both tabs of the first viewer stay connected and see the room go on
    await host.send({"t": "cmd", "op": "a1", "name": "Announce", "args": {"text": "Hello all"}})
    for peer in (peers[0], twin, peers[-1]):
        seen: list[str] = []
        while "Announced" not in seen:
            seen.extend(e["ev"]["type"] for e in await peer.events(1))
    for peer in [host, *peers, twin]:
        await peer.close()


async def test_a_burst_in_a_live_room_arrives_complete_in_order_and_in_few_frames(
    tmp_path: Path,
) -> None:
    # the pacing itself is unit-tested in test_live_ticks.py; this is the real server end to end
    async with _live_room_with_a_viewer(tmp_path) as (_srv, host, viewer):
        for i in range(20):  # at once, like a drop's claims: the first goes out alone, the
            # rest are decided as they come and share the short windows that follow
            await host.send(
                {"t": "cmd", "op": f"b{i}", "name": "PostMessage", "args": {"text": f"m{i}"}}
            )
        texts: list[str] = []
        frames = 0
        while len(texts) < 20:
            msg = await viewer.recv(timeout=10)
            if msg["t"] == "batch":
                frames += 1
                texts.extend(
                    e["ev"]["text"] for e in msg["evs"] if e["ev"]["type"] == "MessagePosted"
                )
        assert texts == [f"m{i}" for i in range(20)]
        assert frames <= 10, frames  # coalesced: 20 events never cost 20 frames per viewer


async def test_a_busy_live_room_decides_a_windows_commands_in_one_commit(tmp_path: Path) -> None:
    async with _live_room_with_a_viewer(tmp_path) as (srv, host, viewer):

        async def post(op: str, text: str) -> None:
            await host.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": text}})

        # chat at about 65 events/s until the room is busy: that takes a whole rate window
        # (250 ms) at 40 events/s or more (a burst would not do), and its windows last a second
        [actor] = srv.app_state.hub._actors.values()
        warm = 0
        while not actor.pacer.holding:
            assert warm < 200, "the room never became busy"
            await post(f"warm{warm}", f"w{warm}")
            warm += 1
            await asyncio.sleep(0.015)

        before = _commits(srv)
        for i in range(10):  # one by one, all within the busy window (1 s): held for its tick
            await post(f"b{i}", f"m{i}")
            await asyncio.sleep(0.01)
        await post("bad", "")  # refused when the window's commands are decided
        host_seen: list[dict[str, object]] = []
        while not any(m.get("op") == "b9" for m in host_seen if m["t"] == "ack"):
            host_seen.append(await host.recv(timeout=5))
        mine: list[dict[str, object]] = []  # the viewer's batches with the window's messages
        texts: list[str] = []
        while len(texts) < 10:
            frame = await viewer.recv(timeout=5)
            if frame["t"] == "batch":
                found = [
                    e["ev"]["text"] for e in frame["evs"] if e["ev"].get("text", "")[:1] == "m"
                ]
                if found:
                    mine.append(frame)
                    texts.extend(found)
        assert texts == [f"m{i}" for i in range(10)]
        assert len(mine) == 1  # one frame for the window
        assert _commits(srv) - before == 1  # ten commands (and held warm-ups), one transaction
        # the host got its events before their acks, acks in order, and the refusal
        kinds = [
            (m["t"], m.get("op"))
            for m in host_seen
            if (m["t"] == "ack" and str(m.get("op"))[:1] == "b")
            or (m["t"] == "batch" and any(e["ev"].get("text") == "m0" for e in _evs(m)))
        ]
        assert kinds[0] == ("batch", None)
        assert [op for t, op in kinds if t == "ack"] == [f"b{i}" for i in range(10)]
        while not any(m["t"] == "err" for m in host_seen):
            host_seen.append(await host.recv(timeout=5))
        [refusal] = [m for m in host_seen if m["t"] == "err"]
        assert refusal["op"] == "bad"


async def test_one_process_on_the_in_memory_broker_publishes_nothing(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    broker = live_server.app_state.broker
    published: list[str] = []
    real_publish = broker.publish

    async def counting_publish(room_id: str, kind: str, payload: bytes) -> None:
        published.append(kind)
        await real_publish(room_id, kind, payload)

    broker.publish = counting_publish
    room = await create_room(http, kind="live", title="Solo")
    host = await Peer.open(live_server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    await host.send({"t": "cmd", "op": "c1", "name": "PostMessage", "args": {"text": "hi"}})
    await host.recv_until("ack")
    await host.send({"t": "sig", "name": "React", "args": {"emoji": "🔥"}})
    await host.send({"t": "ping"})
    await host.recv_until("pong")
    assert published == []  # no other process could receive it: nothing encoded or sent
    await host.close()
