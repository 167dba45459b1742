"""Idempotency like Stripe's, over the real WebSocket: an op id resent with the same arguments
gets its original answer (``dup: true``); the same op id with other arguments is refused with
``op_conflict`` and changes nothing — from the actor's memory and from the log's op table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from server.hub.opdigest import op_digest
from server.storage.events import OpKey
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer, create_room


def _chat(op: str, text: str, *, retry: bool = False) -> dict[str, Any]:
    return {"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": text}, "retry": retry}


async def test_the_same_op_id_with_other_arguments_is_op_conflict(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    peer = await Peer.open(live_server.ws_url(room["room_id"]))
    await peer.hello(room["host"]["token"])
    await peer.send(_chat("o1", "first"))
    ack = await peer.recv_until("ack")
    assert ack["op"] == "o1" and "dup" not in ack
    # the same arguments, keys in another order included: the original answer
    await peer.send({"t": "cmd", "op": "o1", "args": {"text": "first"}, "name": "PostMessage"})
    dup = await peer.recv_until("ack")
    assert (dup["op"], dup["seq"], dup.get("dup")) == ("o1", ack["seq"], True)
    # other arguments: refused, nothing applied
    await peer.send(_chat("o1", "second"))
    err = await peer.recv_until("err")
    assert (err["op"], err["code"]) == ("o1", "op_conflict")
    await peer.send(_chat("o2", "third"))
    after = await peer.recv_until("ack")
    assert after["seq"][0] == ack["seq"][1] + 1  # "second" was never stored
    # an op that changed nothing (nothing stored for it) is remembered with its arguments too
    await peer.send({"t": "cmd", "op": "o3", "name": "SetFollowMode", "args": {"mode": "free"}})
    await peer.recv_until("ack")
    await peer.send({"t": "cmd", "op": "o4", "name": "SetFollowMode", "args": {"mode": "free"}})
    assert (await peer.recv_until("ack"))["seq"] == [0, 0]
    follow = {"t": "cmd", "op": "o4", "name": "SetFollowMode", "args": {"mode": "follow_host"}}
    await peer.send(follow)
    assert (await peer.recv_until("err"))["code"] == "op_conflict"
    await peer.close()


async def test_a_retry_after_a_restart_is_checked_against_the_stored_digest(
    tmp_path: Path,
) -> None:
    settings = server_settings(tmp_path)
    async with run_server(settings) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http:
            room = await create_room(http)
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        await peer.hello(room["host"]["token"])
        await peer.send(_chat("keep", "hello"))
        ack = await peer.recv_until("ack")
        stored = await srv.app_state.hub.store.find_op(
            OpKey(room["room_id"], room["host"]["member_id"], "keep")
        )
        assert stored.args_digest == op_digest("PostMessage", {"text": "hello"})
        await peer.close()
    # A new process knows the op only from the log's op table.
    async with run_server(settings) as srv:
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        welcome = await peer.hello(room["host"]["token"], last_seq=ack["seq"][1])
        assert welcome["resumed"] is True
        await peer.send(_chat("keep", "something else", retry=True))
        err = await peer.recv_until("err")
        assert (err["op"], err["code"]) == ("keep", "op_conflict")
        await peer.send(_chat("keep", "hello", retry=True))
        dup = await peer.recv_until("ack")
        assert (dup["seq"], dup.get("dup")) == (ack["seq"], True)
        await peer.send({"t": "ping"})
        assert (await peer.recv_until("pong"))["seq"] == ack["seq"][1]  # nothing new applied
        await peer.close()
