"""The Python client against the real server (uvicorn on a loopback port, this test's loop).

Covers both subprotocols, acks and refusals, two clients agreeing on the order of events, resume
after a socket is killed mid-stream (nothing lost, nothing twice), an op whose ack was lost being
answered instead of applied again, snapshots for clients too far behind, close codes that stop
the client, and batches that cover seqs they leave out (events not for this member).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from server.client import (
    CommandRefused,
    ConnectionFailed,
    CoshopClient,
    Event,
    ServerClosed,
    create_room,
    join_room,
    room_snapshot,
)
from server.protocol.close import CloseAction, CloseCode
from server.transport.wire import JSON
from tests.server.conftest import LiveServer, run_server, server_settings

Codec = Literal["json", "msgpack"]
SKU = "tent-2p"  # in the bundled demo catalogue


@pytest.fixture
async def room(live_server: LiveServer) -> dict[str, Any]:
    return await create_room(live_server.base_url, "group", "Weekend trip", "Ana")


async def _member_token(srv: LiveServer, room: Mapping[str, Any], name: str) -> str:
    joined = await join_room(srv.base_url, room["room_id"], room["invite"]["token"], name)
    return str(joined["token"])


def _client(room: Mapping[str, Any], token: str | None = None, **kw: Any) -> CoshopClient:
    return CoshopClient(room["links"]["ws"], token or room["host"]["token"], **kw)


@pytest.fixture
async def host(room: dict[str, Any]) -> AsyncIterator[CoshopClient]:
    async with _client(room) as client:
        yield client


def _seqs(events: list[Event]) -> list[int]:
    return [e.seq for e in events]


def _assert_contiguous(client: CoshopClient) -> None:
    assert client.last_seq is not None
    assert _seqs(client.events) == list(range(client.base_seq + 1, client.last_seq + 1))


def _kill(client: CoshopClient) -> None:
    """Drop the TCP connection without a closing handshake, as a network failure would."""
    ws = client._ws
    assert ws is not None
    ws.transport.abort()


@pytest.mark.parametrize("codec", ["json", "msgpack"])
async def test_command_is_acked_after_its_event(
    live_server: LiveServer, room: dict[str, Any], codec: Codec
) -> None:
    async with _client(room, codec=codec) as client:
        assert client.welcome is not None
        assert client.welcome.member["role"] == "host"
        assert client.view is not None and client.base_seq == client.welcome.seq
        ack = await client.command("AddLine", {"sku": SKU, "variant": None, "quantity": 2})
        assert ack.first_seq == ack.last_seq == client.welcome.seq + 1
        assert not ack.duplicate
        # Acks follow their events: the event is already here when command() returns.
        assert client.last_seq == ack.last_seq
        event = await client.next_event("LineAdded")
        assert (event.seq, event.data["sku"], event.data["quantity"]) == (ack.first_seq, SKU, 2)
        assert event.actor == client.member_id
        assert await client.sync() == ack.last_seq


@pytest.mark.parametrize("codec", ["json", "msgpack"])
async def test_refused_commands_raise_with_the_server_code(
    host: CoshopClient, codec: Codec
) -> None:
    before = host.last_seq
    with pytest.raises(CommandRefused) as refused:
        await host.command("SetQuantity", {"line_id": "nope", "quantity": 2})
    assert refused.value.code == "not_found"
    with pytest.raises(CommandRefused) as unknown:
        await host.command("MakeItFree", {})
    assert unknown.value.code == "unknown_command"
    with pytest.raises(CommandRefused) as internal:
        await host.command("SettleOrder", {"order_id": "o1", "outcome": "paid"})
    assert internal.value.code == "unknown_command"  # server-only commands are not on the wire
    assert host.state == "open"
    await host.sync()
    assert host.last_seq == before  # a refused command changes nothing


async def test_two_clients_see_the_same_events_in_the_same_order(
    live_server: LiveServer, room: dict[str, Any], host: CoshopClient
) -> None:
    token = await _member_token(live_server, room, "Ben")
    async with _client(room, token, codec="msgpack") as ben:
        await asyncio.gather(
            *(host.command("PostMessage", {"text": f"host {i}"}) for i in range(15)),
            *(ben.command("PostMessage", {"text": f"ben {i}"}) for i in range(15)),
            ben.command("AddLine", {"sku": SKU, "variant": None, "quantity": 1}),
        )
        await host.sync()
        await ben.sync()
        assert host.last_seq == ben.last_seq
        _assert_contiguous(host)
        _assert_contiguous(ben)
        shared = [e for e in host.events if e.seq > ben.base_seq]
        assert shared == ben.events  # same seqs, same order, same payloads across both codecs
        texts = [e.data["text"] for e in ben.events if e.type == "MessagePosted"]
        assert sorted(texts) == sorted(
            [f"host {i}" for i in range(15)] + [f"ben {i}" for i in range(15)]
        )
        assert [e.type for e in ben.events].count("MemberJoined") == 1


async def test_resume_after_a_killed_socket_loses_and_repeats_nothing(
    live_server: LiveServer, room: dict[str, Any], host: CoshopClient
) -> None:
    token = await _member_token(live_server, room, "Cleo")
    async with _client(room, token) as watcher:
        seen_mid_stream = asyncio.Event()
        watcher.on_event.append(
            lambda e: seen_mid_stream.set() if e.data.get("text") == "msg 10" else None
        )

        async def write() -> None:
            for i in range(40):
                await host.command("PostMessage", {"text": f"msg {i}"})

        writer = asyncio.create_task(write())
        await asyncio.wait_for(seen_mid_stream.wait(), 10)
        _kill(watcher)
        await writer
        await watcher.sync()
        assert watcher.reconnects >= 1
        assert watcher.snapshots == 0  # resumed from its seq, not re-snapshotted
        assert watcher.state == "open"
        _assert_contiguous(watcher)
        texts = [e.data["text"] for e in watcher.events if e.type == "MessagePosted"]
        assert texts == [f"msg {i}" for i in range(40)]
        await host.sync()
        assert [e for e in host.events if e.seq > watcher.base_seq] == watcher.events


@pytest.mark.parametrize("codec", ["json", "msgpack"])
async def test_op_retried_after_a_lost_ack_is_applied_once(
    live_server: LiveServer, room: dict[str, Any], host: CoshopClient, codec: Codec
) -> None:
    token = await _member_token(live_server, room, "Dev")
    async with _client(room, token, codec=codec) as dev:
        seq_before = dev.last_seq
        ws = dev._ws
        assert ws is not None
        ws.transport.pause_reading()  # the ack will arrive but never be read
        task = asyncio.create_task(
            dev.command("AddLine", {"sku": SKU, "variant": None, "quantity": 1}, op_id="op-1")
        )
        added = await host.next_event("LineAdded")  # committed on the server
        assert added.actor == dev.member_id
        assert not task.done() and dev.last_seq == seq_before
        ws.transport.abort()  # the answer is lost with the socket
        ack = await asyncio.wait_for(task, 10)
        assert ack.duplicate  # the resent op was answered from the record, not applied again
        assert (ack.first_seq, ack.last_seq) == (added.seq, added.seq)
        await dev.sync()
        _assert_contiguous(dev)
        assert [e.type for e in dev.events].count("LineAdded") == 1
        snapshot = await room_snapshot(live_server.base_url, room["room_id"], token)
        assert len(snapshot["view"]["lines"]) == 1
        # The same op id again, even without a lost connection: still one line.
        again = await dev.command(
            "AddLine", {"sku": SKU, "variant": None, "quantity": 1}, op_id="op-1"
        )
        assert again.duplicate and again.first_seq == added.seq


async def test_a_client_far_behind_gets_a_snapshot_and_a_near_one_a_batch(tmp_path: Path) -> None:
    async with run_server(server_settings(tmp_path, replay_limit=3)) as srv:
        room = await create_room(srv.base_url, "group", "Snap", "Ana")
        async with _client(room) as host:
            start = host.last_seq
            assert start is not None
            for i in range(6):
                await host.command("PostMessage", {"text": f"m{i}"})
            end = host.last_seq
            assert end == start + 6
            token = room["host"]["token"]
            async with _client(room, token, last_seq=end - 2) as near:
                assert near.welcome is not None and near.welcome.resumed
                await near.sync()
                assert _seqs(near.events) == [end - 1, end]
                assert near.events == host.events[-2:]
            async with _client(room, token, last_seq=start, codec="msgpack") as far:
                assert far.welcome is not None and not far.welcome.resumed
                assert far.view is not None and far.base_seq == end
                assert [m["text"] for m in far.view["chat"]["messages"]][-1] == "m5"
                await far.command("PostMessage", {"text": "after"})
                _assert_contiguous(far)


async def test_signals_reach_the_other_members(
    live_server: LiveServer, room: dict[str, Any], host: CoshopClient
) -> None:
    token = await _member_token(live_server, room, "Eli")
    got: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
    host.on_message.append(lambda m: got.put_nowait(m) if m["t"] == "sig" else None)
    async with _client(room, token) as eli:
        await eli.signal("Viewing", {"sku": SKU})
        msg = await asyncio.wait_for(got.get(), 10)
        assert msg["from"] == eli.member_id
        assert msg["sig"] == {"type": "Viewing", "sku": SKU}
        await eli.signal("Wave", {})
        for _ in range(100):
            if eli.errors:
                break
            await asyncio.sleep(0.01)
        assert eli.errors[0].code != "" and eli.errors[0].op is None
        assert eli.state == "open"


async def test_a_bad_token_stops_the_client_without_retrying(room: dict[str, Any]) -> None:
    client = _client(room, "not-a-token")
    with pytest.raises(ServerClosed) as closed:
        await client.connect()
    assert (closed.value.close_code, closed.value.code) == (4401, "token_invalid")
    assert client.state == "closed" and client.reconnects == 0
    with pytest.raises(ConnectionFailed):
        await client.command("PostMessage", {"text": "hi"})


async def test_a_foreign_origin_is_refused_at_the_handshake(room: dict[str, Any]) -> None:
    client = _client(room, origin="https://evil.example")
    with pytest.raises(ServerClosed) as closed:
        await client.connect()
    assert closed.value.code == "handshake_refused"
    async with _client(room, origin=room["links"]["ws"].replace("ws", "http", 1).split("/ws/")[0]):
        pass  # the server's own public origin is allowed


async def test_a_kicked_member_is_closed_with_4403_and_stops(
    live_server: LiveServer, room: dict[str, Any], host: CoshopClient
) -> None:
    token = await _member_token(live_server, room, "Fay")
    fay = _client(room, token)
    await fay.connect()
    assert fay.member_id is not None
    await host.command("Ban", {"member_id": fay.member_id})
    for _ in range(500):
        if fay.state == "closed":
            break
        await asyncio.sleep(0.01)
    assert isinstance(fay.error, ServerClosed) and fay.error.close_code == 4403
    assert fay.reconnects == 0
    await fay.close()


async def test_commands_dropped_by_the_rate_limit_are_resent_and_applied_once(
    tmp_path: Path,
) -> None:
    settings = server_settings(tmp_path, commands_per_second=15.0, command_burst=10)
    async with run_server(settings) as srv:
        room = await create_room(srv.base_url, "group", "Busy", "Ana")
        async with _client(room) as host:
            acks = await asyncio.gather(
                *(host.command("PostMessage", {"text": f"n{i}"}, timeout=30) for i in range(25))
            )
            assert any(e.code == "rate_limited" for e in host.errors)
            await host.sync()
            texts = [e.data["text"] for e in host.events if e.type == "MessagePosted"]
            assert sorted(texts) == sorted(f"n{i}" for i in range(25))
            assert sorted(a.first_seq for a in acks) == [e.seq for e in host.events]
            _assert_contiguous(host)


async def test_live_room_batches_arrive_before_their_acks(live_server: LiveServer) -> None:
    room = await create_room(live_server.base_url, "live", "Launch", "Host")
    token = await _member_token(live_server, room, "Viewer")
    async with _client(room) as host, _client(room, token, codec="msgpack") as viewer:
        acks = [await host.command("Announce", {"text": f"drop {i}"}) for i in range(3)]
        for ack in acks:
            assert host.last_seq is not None and host.last_seq >= ack.last_seq
        await viewer.sync()
        _assert_contiguous(viewer)
        assert [e.data["text"] for e in viewer.events if e.type == "Announced"] == [
            f"drop {i}" for i in range(3)
        ]
        for _ in range(200):
            if viewer.online == 2:
                break
            await asyncio.sleep(0.01)
        assert viewer.online == 2  # live rooms send counts, not rosters
        assert viewer.members == 2  # and the member count, as viewers see no one else's join
        assert viewer.presence == []


async def test_the_client_resumes_across_a_server_restart(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    async with run_server(settings) as srv:
        room = await create_room(srv.base_url, "group", "Restart", "Ana")
        client = _client(room, backoff=(0.05, 0.2))
        await client.connect()
        for i in range(3):
            await client.command("PostMessage", {"text": f"before {i}"})
    # The server is gone; the client keeps trying and waiting commands wait with it.
    pending = asyncio.create_task(client.command("PostMessage", {"text": "during"}, timeout=30))
    async with run_server(settings):  # same port and data directory: a restart
        ack = await asyncio.wait_for(pending, 30)
        await client.sync()
        assert client.reconnects >= 1 and client.snapshots == 0
        _assert_contiguous(client)
        texts = [e.data["text"] for e in client.events if e.type == "MessagePosted"]
        assert texts == ["before 0", "before 1", "before 2", "during"]
        assert client.events[-1].seq == ack.first_seq
        await client.close()
    assert client.state == "closed"


async def test_a_ping_dropped_by_the_rate_limit_is_asked_again(tmp_path: Path) -> None:
    # two frames a second after a burst of five: nothing refills while the burst is refused
    settings = server_settings(tmp_path, commands_per_second=2.0, command_burst=5)
    async with run_server(settings) as srv:
        room = await create_room(srv.base_url, "group", "Tight budget", "Ana")
        async with _client(room) as host:
            # spend the whole budget, and ask for the room's seq while it is still spent
            sends = [
                asyncio.create_task(host.command("PostMessage", {"text": f"m{i}"}))
                for i in range(8)
            ]
            await asyncio.sleep(0)  # let them go out first
            seq = await host.sync(timeout=15)
            assert any(e.code == "rate_limited" and e.op is None for e in host.errors)
            acks = await asyncio.gather(*sends)
            assert seq >= 1
            assert len({a.first_seq for a in acks}) == 8  # each applied once, none lost


async def test_a_batch_range_moves_the_cursor_over_hidden_events_and_a_later_one_is_a_gap() -> None:
    """Against a scripted WebSocket server: the seqs a batch's range covers but leaves out are
    not a gap; a range that starts past the cursor is one, and the client resumes from it."""
    hellos: list[dict[str, Any]] = []
    welcome = {
        "t": "welcome",
        "room": {"id": "r"},
        "member": {"member_id": "m", "display_name": "Mo", "role": "member"},
        "view": {},
    }

    def ev(seq: int) -> dict[str, Any]:
        return {"t": "ev", "seq": seq, "at": 1, "actor": "x", "ev": {"type": "Announced"}}

    async def handler(ws: ServerConnection) -> None:
        hellos.append(JSON.decode(await ws.recv()))
        if len(hellos) == 1:
            await ws.send(JSON.encode({**welcome, "seq": 3, "resumed": False}))
            # 4 and 6 are not for us; 5 is
            await ws.send(JSON.encode({"t": "batch", "from": 4, "to": 6, "evs": [ev(5)]}))
            await ws.send(JSON.encode({"t": "batch", "from": 9, "to": 9, "evs": [ev(9)]}))  # gap
        else:
            await ws.send(JSON.encode({**welcome, "seq": 9, "resumed": True, "view": None}))
            await ws.send(JSON.encode({"t": "batch", "from": 7, "to": 9, "evs": [ev(8)]}))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol(JSON.name)]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with CoshopClient(f"ws://127.0.0.1:{port}/ws/rooms/r", "token") as client:
            await client.wait_for_seq(9)
            assert _seqs(client.events) == [5, 8]
            assert client.reconnects == 1 and client.snapshots == 0
            assert [h["last_seq"] for h in hellos] == [None, 6]


async def test_a_sixth_socket_of_one_member_stops_the_oldest_with_4409(
    live_server: LiveServer, room: dict[str, Any]
) -> None:
    """The replaced client stops and says why; it does not reconnect (that would replace the
    next oldest, and so on forever)."""
    token = await _member_token(live_server, room, "Gus")
    tabs = [_client(room, token) for _ in range(6)]
    for tab in tabs:
        await tab.connect()
    oldest = tabs[0]
    for _ in range(500):
        if oldest.state == "closed":
            break
        await asyncio.sleep(0.01)
    assert isinstance(oldest.error, ServerClosed) and oldest.error.close_code == 4409
    assert oldest.reconnects == 0
    await tabs[-1].sync()
    assert [t.state for t in tabs[1:]] == ["open"] * 5
    for tab in tabs:
        await tab.close()


@pytest.mark.parametrize("code", [c for c in CloseCode if c not in (1005, 1006)])
async def test_the_client_does_what_the_close_code_table_says(code: CloseCode) -> None:
    """Against a scripted server that closes the first socket with ``code``: resume and back_off
    codes reconnect and resume, stop codes end the client with ServerClosed."""
    hellos: list[dict[str, Any]] = []
    welcome = {
        "t": "welcome",
        "room": {"id": "r"},
        "member": {"member_id": "m", "display_name": "Mo", "role": "member"},
        "view": {},
    }

    async def handler(ws: ServerConnection) -> None:
        hellos.append(JSON.decode(await ws.recv()))
        if len(hellos) == 1:
            await ws.send(JSON.encode({**welcome, "seq": 3, "resumed": False}))
            await ws.close(int(code), code.wire_name)
        else:
            await ws.send(JSON.encode({**welcome, "seq": 3, "resumed": True, "view": None}))
            await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol(JSON.name)]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = CoshopClient(f"ws://127.0.0.1:{port}/ws/rooms/r", "token")
        await client.connect()
        for _ in range(1000):
            if client.state == "closed" or (len(hellos) == 2 and client.state == "open"):
                break
            await asyncio.sleep(0.01)
        if code.action is CloseAction.STOP:
            assert client.state == "closed" and len(hellos) == 1
            assert isinstance(client.error, ServerClosed) and client.error.close_code == code
        else:
            assert client.state == "open" and client.reconnects == 1
            assert [h["last_seq"] for h in hellos] == [None, 3]
        await client.close()


async def test_a_promoted_member_gets_a_fresh_view_with_what_they_may_now_do(
    live_server: LiveServer, room: dict[str, Any], host: CoshopClient
) -> None:
    token = await _member_token(live_server, room, "Hal")
    async with _client(room, token) as hal:
        assert hal.member_id is not None
        await hal.next_event("MemberJoined")  # the welcome came first: its view had no "you"
        snapshots = hal.snapshots
        await host.command("PromoteMember", {"member_id": hal.member_id, "role": "cohost"})
        for _ in range(500):
            if hal.snapshots > snapshots:
                break
            await asyncio.sleep(0.01)
        assert hal.view is not None
        you = hal.view["you"]
        assert (you["role"], you["may"]["pin_product"], you["may"]["check_out"]) == (
            "cohost",
            True,
            False,
        )
