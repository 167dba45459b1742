"""The hub when storage misbehaves: every waiting client gets an answer, nothing half-applied."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from rooms import event_to_wire
from rooms import events as e
from rooms.commands import SetSlowMode
from server.db.engine import create_engine
from server.storage import Append, EventStore, NewEvent, StorageUnavailable, StoredEvent
from tests.server.conftest import LiveServer
from tests.server.peers import Peer, create_room


async def test_a_failed_commit_answers_everyone_and_changes_nothing(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    host = await Peer.open(live_server.ws_url(rid))
    await host.hello(room["host"]["token"])
    hub = live_server.app_state.hub
    store = hub.store
    real = store.append_batch

    async def database_down(batch: Sequence[Append]) -> list[tuple[StoredEvent, ...]]:
        raise StorageUnavailable("the database is down")

    store.append_batch = database_down
    try:
        await host.send({"t": "cmd", "op": "lost", "name": "PostMessage", "args": {"text": "x"}})
        err = await host.recv_until("err")
        assert (err["op"], err["code"]) == ("lost", "storage_unavailable")
        with pytest.raises(Exception, match=r"down|saved") as info:
            await hub.system_command(rid, SetSlowMode(5), member_id=room["host"]["member_id"])
        assert getattr(info.value, "code", "") == "storage_unavailable"
    finally:
        store.append_batch = real
    # nothing of the failed turn stuck to the room, and it serves again
    r = await http.get(
        f"/api/v1/rooms/{rid}", headers={"authorization": f"Bearer {room['host']['token']}"}
    )
    assert r.json()["view"]["chat"]["messages"] == []
    assert r.json()["view"]["chat"]["slow_mode"] == 0
    await host.send({"t": "cmd", "op": "lost", "name": "PostMessage", "args": {"text": "x"}})
    ack = await host.recv_until("ack")
    assert ack["op"] == "lost"
    await host.close()


async def test_another_writer_wins_a_race_and_the_hub_retries_in_order(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    host = await Peer.open(live_server.ws_url(rid))
    welcome = await host.hello(room["host"]["token"])
    head = welcome["seq"]
    # "another process": its own engine on the same database appends behind the hub's back
    other = create_engine(live_server.settings.effective_database_url)
    try:
        foreign = e.MessagePosted(
            "f1", room["host"]["member_id"], "from elsewhere", False, 1, "Ada"
        )
        await EventStore(other).append_batch(
            [
                Append(
                    rid,
                    head,
                    (
                        NewEvent(
                            "MessagePosted", event_to_wire(foreign), 1, room["host"]["member_id"]
                        ),
                    ),
                    None,
                )
            ]
        )
    finally:
        await other.dispose()
    await host.send({"t": "cmd", "op": "mine", "name": "PostMessage", "args": {"text": "mine"}})
    seen: list[tuple[int, str]] = []
    while True:
        msg = await host.recv()
        if msg["t"] == "ev":
            seen.append((msg["seq"], msg["ev"]["text"]))
        if msg["t"] == "ack":
            break
    assert msg["seq"] == [head + 2, head + 2]  # retried after the foreign event
    # the client saw the winner's event first, then its own, before the ack
    assert seen == [(head + 1, "from elsewhere"), (head + 2, "mine")]
    r = await http.get(
        f"/api/v1/rooms/{rid}", headers={"authorization": f"Bearer {room['host']['token']}"}
    )
    texts = [m["text"] for m in r.json()["view"]["chat"]["messages"]]
    assert texts == ["from elsewhere", "mine"]
    await host.close()


async def test_a_duplicate_op_found_only_in_the_log_is_answered_not_applied(
    live_server: LiveServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    host = await Peer.open(live_server.ws_url(rid))
    await host.hello(room["host"]["token"])
    await host.send({"t": "cmd", "op": "once", "name": "PostMessage", "args": {"text": "one"}})
    first = await host.recv_until("ack")
    # forget the in-memory answer, as after a restart or a long time
    actor = await live_server.app_state.hub.actor(rid)
    actor._ops.clear()
    # resent without the retry flag: the log's op table still refuses to apply it twice
    await host.send({"t": "cmd", "op": "once", "name": "PostMessage", "args": {"text": "one"}})
    again = await host.recv_until("ack")
    assert again["seq"] == first["seq"]
    assert again.get("dup") is True
    r = await http.get(
        f"/api/v1/rooms/{rid}", headers={"authorization": f"Bearer {room['host']['token']}"}
    )
    assert [m["text"] for m in r.json()["view"]["chat"]["messages"]] == ["one"]
    await host.close()
