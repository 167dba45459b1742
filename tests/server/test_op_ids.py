"""Op ids over the real WebSocket: counters, timestamps and UUIDs are always accepted; an op id
that reads as a card number (in any separator style) is refused with ``op_looks_like_card`` and
nothing of it is applied or stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.storage.events import OpKey
from server.transport.wire import Codec
from tests.server.conftest import LiveServer
from tests.server.peers import JSON, MSGPACK, Peer, create_room

ACCEPTED = [
    "1765080000123",  # a millisecond timestamp (Luhn-invalid)
    "1765080000125",  # a millisecond timestamp that happens to pass Luhn
    "1765080000125-7",
    "op:1765080000125",
    "1765080000.125130",
    "1765080000125130",  # microseconds
    "550e8400-e29b-41d4-a716-446655440000",
    "12345678-4242-4242-4242-424242424242",  # UUID-shaped
    "c42",
]
REFUSED = [
    "4242424242424242",
    "4242-4242-4242-4242",
    "4242.4242.4242.4242",
    "4242_4242_4242_4242",
    "4242:4242:4242:4242",
    "3782-822463-10005",
    "op:5555.5555.5555.4444",
    "1765080000125-4242424242424242",
]


async def _open(live_server: LiveServer, http: httpx.AsyncClient) -> tuple[Peer, dict[str, Any]]:
    room = await create_room(http)
    peer = await Peer.open(live_server.ws_url(room["room_id"]))
    await peer.hello(room["host"]["token"])
    return peer, room


async def test_timestamp_and_uuid_op_ids_are_acked(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    peer, room = await _open(live_server, http)
    store = live_server.app_state.hub.store
    for op in ACCEPTED:
        await peer.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": op}})
        ack = await peer.recv_until("ack")
        assert ack["op"] == op
        key = OpKey(room["room_id"], room["host"]["member_id"], op)
        assert await store.find_op(key) is not None
    await peer.close()


@pytest.mark.parametrize("codec", [JSON, MSGPACK], ids=["json", "msgpack"])
async def test_card_number_op_ids_are_refused_and_nothing_is_stored(
    live_server: LiveServer, http: httpx.AsyncClient, codec: Codec
) -> None:
    room = await create_room(http)
    peer = await Peer.open(live_server.ws_url(room["room_id"]), codec=codec)
    await peer.hello(room["host"]["token"])
    store = live_server.app_state.hub.store
    await peer.send({"t": "cmd", "op": "before", "name": "PostMessage", "args": {"text": "a"}})
    first = (await peer.recv_until("ack"))["seq"][1]
    for op in REFUSED:
        await peer.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": "x"}})
        err = await peer.recv_until("err")
        assert (err["op"], err["code"]) == (op, "op_looks_like_card")
        assert "counter, UUID or timestamp" in err["message"]
        key = OpKey(room["room_id"], room["host"]["member_id"], op)
        assert await store.find_op(key) is None
    # nothing was applied: the next command's event directly follows the one before
    await peer.send({"t": "cmd", "op": "after", "name": "PostMessage", "args": {"text": "b"}})
    assert (await peer.recv_until("ack"))["seq"][0] == first + 1
    assert await store.last_seq(room["room_id"]) == first + 1
    await peer.close()
