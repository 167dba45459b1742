"""Events reach only their audience (DESIGN.md §11), over real sockets.

A live room with a host and two viewers: viewer A's cart line and note never reach viewer B — not
in live batches, not on resume, not in a snapshot, not through the REST snapshot, not from
another process — while the host (staff) receives everything. B's batches say which seqs they
cover, so the events left out are no gap for B. In a group room everyone still receives
everything.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.client import CoshopClient
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import JSON, MSGPACK, Peer, create_room, join
from tests.server.test_scale_out import pg_database, redis_prefix  # noqa: F401 - fixtures

SKU = "tent-2p"  # in the bundled demo catalogue
SECRET = "for my sister, size M"


@dataclass
class Cast:
    srv: LiveServer
    http: httpx.AsyncClient
    room: dict[str, Any]
    host: Peer
    a: Peer
    b: Peer
    a_token: str
    b_token: str
    a_id: str
    b_id: str
    first: dict[str, list[dict[str, Any]]]  # events each read before the test began


@contextlib.asynccontextmanager
async def _cast(tmp_path: Path, kind: str = "live", **settings: Any) -> AsyncIterator[Cast]:
    """A room on its own server with its host and two members, A (JSON) and B (msgpack).

    Everyone has read up to B's join (each reads frames until then)."""
    async with (
        run_server(server_settings(tmp_path, **settings)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        room = await create_room(http, kind=kind, title="Flash sale")
        url = srv.ws_url(room["room_id"])
        host = await Peer.open(url)
        await host.hello(room["host"]["token"])
        a_join, b_join = await join(http, room, "Ann"), await join(http, room, "Bob")
        a = await Peer.open(url)
        a_welcome = await a.hello(a_join["token"])
        b = await Peer.open(url, codec=MSGPACK)
        b_welcome = await b.hello(b_join["token"])
        b_id = b_welcome["member"]["member_id"]
        await host.send({"t": "cmd", "op": "ready", "name": "Announce", "args": {"text": "ready"}})
        first = {}  # what each has read up to then
        for name, peer in (("host", host), ("a", a), ("b", b)):
            first[name] = _events((await _until(peer, _fence("ready")))[0])
        cast = Cast(
            srv, http, room, host, a, b, a_join["token"], b_join["token"],
            a_welcome["member"]["member_id"], b_id, first,
        )  # fmt: skip
        try:
            yield cast
        finally:
            _BACKLOG.clear()
            for peer in (host, a, b, cast.b):  # a test may have replaced B's socket
                await peer.close()


_BACKLOG: dict[int, list[dict[str, Any]]] = {}  # frames read past while waiting for an ack


async def _recv(peer: Peer) -> dict[str, Any]:
    backlog = _BACKLOG.get(id(peer))
    if backlog:
        return backlog.pop(0)
    return await peer.recv()


async def _until(peer: Peer, found: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Frames up to and including the one that carries an event ``found`` accepts."""
    frames: list[dict[str, Any]] = []
    while True:
        msg = await _recv(peer)
        frames.append(msg)
        evs = (
            [msg] if msg.get("t") == "ev" else msg.get("evs", []) if msg.get("t") == "batch" else []
        )
        for ev in evs:
            if found(ev):
                return frames, ev


def _events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for msg in frames:
        if msg.get("t") == "ev":
            out.append(msg)
        elif msg.get("t") == "batch":
            out.extend(msg["evs"])
    return out


def _covered(frames: list[dict[str, Any]]) -> set[int]:
    """The seqs the durable frames say they cover (events received or left out)."""
    seqs: set[int] = set()
    for msg in frames:
        if msg.get("t") == "ev":
            seqs.add(msg["seq"])
        elif msg.get("t") == "batch":
            seqs.update(range(msg["from"], msg["to"] + 1))
    return seqs


async def _cmd(peer: Peer, op: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    await peer.send({"t": "cmd", "op": op, "name": name, "args": args})
    skipped: list[dict[str, Any]] = []
    while True:
        msg = await _recv(peer)
        if msg.get("t") in ("ack", "err") and msg.get("op") == op:
            assert msg["t"] == "ack", msg
            _BACKLOG.setdefault(id(peer), []).extend(skipped)  # still to be read by _until
            return msg
        skipped.append(msg)


def _add(note: str = SECRET, quantity: int = 1) -> dict[str, Any]:
    return {"sku": SKU, "variant": None, "quantity": quantity, "note": note}


def _fence(text: str) -> Any:
    return lambda ev: ev["ev"]["type"] == "Announced" and ev["ev"]["text"] == text


def _is_line_of(member_id: str) -> Any:
    return lambda ev: ev["ev"]["type"] == "LineAdded" and ev["ev"]["added_by"] == member_id


async def test_a_viewers_line_and_note_reach_only_that_viewer_and_staff(tmp_path: Path) -> None:
    async with _cast(tmp_path) as c:
        ack = await _cmd(c.a, "a1", "AddLine", _add())
        line_seq = ack["seq"][0]
        # A sees her own line; the host sees it with its note
        _frames, mine = await _until(c.a, _is_line_of(c.a_id))
        assert mine["ev"]["note"] == SECRET and mine["seq"] == line_seq
        _frames, seen = await _until(c.host, _is_line_of(c.a_id))
        assert seen["ev"]["note"] == SECRET
        # B: nothing of it up to the host's next announcement, yet no gap in what B covers
        await _cmd(c.host, "h1", "Announce", {"text": "fence"})
        frames, fence = await _until(c.b, _fence("fence"))
        assert SECRET not in json.dumps(frames)
        assert all(ev["ev"]["type"] != "LineAdded" for ev in _events(frames))
        assert line_seq in _covered(frames) and fence["seq"] > line_seq
        assert all(msg.get("t") != "ev" for msg in frames)  # live rooms: batches with a range
        # B changes what B may see only: A's line is not B's to edit, and B's own line is B's
        line_id = mine["ev"]["line_id"]
        await c.b.send({"t": "cmd", "op": "b0", "name": "RemoveLine", "args": {"line_id": line_id}})
        refused = await c.b.recv_until("err")
        assert refused["code"] == "not_your_line"
        await _cmd(c.b, "b1", "AddLine", _add("B's own"))
        _frames, own = await _until(c.b, _is_line_of(c.b_id))
        assert own["ev"]["note"] == "B's own"
        await _cmd(c.host, "h2", "Announce", {"text": "fence 2"})
        frames, _ = await _until(c.a, _fence("fence 2"))
        assert "B's own" not in json.dumps(frames)


async def test_a_resuming_viewer_gets_only_what_its_view_shows(tmp_path: Path) -> None:
    async with _cast(tmp_path) as c:
        await _cmd(c.host, "h0", "Announce", {"text": "start"})
        frames, start = await _until(c.b, _fence("start"))
        b_seq = max(_covered(frames))
        await c.b.close()
        first = await _cmd(c.a, "a1", "AddLine", _add())
        await _cmd(c.a, "a2", "AddLine", _add("another secret", 2))
        await _cmd(c.host, "h1", "Announce", {"text": "while away"})
        back = await Peer.open(c.srv.ws_url(c.room["room_id"]), codec=MSGPACK)
        c.b = back  # closed by the fixture
        welcome = await back.hello(c.b_token, last_seq=b_seq)
        assert welcome["resumed"] is True and welcome["view"] is None
        frames, fence = await _until(back, _fence("while away"))
        replay = frames[0]
        assert replay["t"] == "batch" and replay["from"] == b_seq + 1
        assert replay["to"] == welcome["seq"] >= fence["seq"]
        assert first["seq"][0] in _covered(frames)
        assert [ev["ev"]["type"] for ev in _events(frames)] == ["Announced"]
        dumped = json.dumps(frames)
        assert SECRET not in dumped and "another secret" not in dumped
        # the host resuming from the same point gets the lines and their notes
        again = await Peer.open(c.srv.ws_url(c.room["room_id"]))
        try:
            await again.hello(c.room["host"]["token"], last_seq=b_seq)
            frames, _ = await _until(again, _fence("while away"))
            notes = [ev["ev"].get("note") for ev in _events(frames)]
            assert notes == [SECRET, "another secret", None]
        finally:
            await again.close()
        assert start["seq"] <= b_seq


async def test_snapshots_and_the_rest_view_hide_other_viewers_lines(tmp_path: Path) -> None:
    async with _cast(tmp_path, replay_limit=2) as c:
        await _cmd(c.a, "a1", "AddLine", _add())
        await _cmd(c.b, "b1", "AddLine", _add("mine"))
        for i in range(3):  # B's seq 1 is now too far behind to replay
            await _cmd(c.host, f"h{i}", "Announce", {"text": f"news {i}"})
        url = c.srv.ws_url(c.room["room_id"])
        for last_seq in (None, 1):
            peer = await Peer.open(url, codec=JSON)
            try:
                welcome = await peer.hello(c.b_token, last_seq=last_seq)
            finally:
                await peer.close()
            assert welcome["resumed"] is False
            view = welcome["view"]
            assert SECRET not in json.dumps(welcome)
            assert [line["note"] for line in view["lines"]] == ["mine"]
        r = await c.http.get(
            f"/api/v1/rooms/{c.room['room_id']}", headers={"Authorization": f"Bearer {c.b_token}"}
        )
        assert r.status_code == 200, r.text
        assert SECRET not in r.text
        assert [line["note"] for line in r.json()["view"]["lines"]] == ["mine"]
        # the host sees every line, in its snapshot and over REST
        host = await Peer.open(url)
        try:
            welcome = await host.hello(c.room["host"]["token"])
        finally:
            await host.close()
        assert sorted(line["note"] for line in welcome["view"]["lines"]) == sorted(["mine", SECRET])
        r = await c.http.get(
            f"/api/v1/rooms/{c.room['room_id']}",
            headers={"Authorization": f"Bearer {c.room['host']['token']}"},
        )
        assert sorted(line["note"] for line in r.json()["view"]["lines"]) == sorted(
            ["mine", SECRET]
        )


async def test_a_line_staff_give_a_viewer_to_pay_reaches_that_viewer_only(tmp_path: Path) -> None:
    async with _cast(tmp_path) as c:
        await _cmd(c.host, "h1", "AddLine", _add("picked for Bob"))
        _frames, line = await _until(c.host, lambda ev: ev["ev"]["type"] == "LineAdded")
        line_id = line["ev"]["line_id"]
        ack = await _cmd(c.host, "h2", "AssignPayer", {"line_id": line_id, "member_id": c.b_id})
        # B is shown the line it now pays for as it is, in place of the payer change
        frames, got = await _until(c.b, lambda ev: ev["ev"].get("line_id") == line_id)
        assert got["seq"] == ack["seq"][0]
        assert got["ev"]["type"] == "LineAdded" and got["ev"]["payer"] == c.b_id
        assert got["ev"]["note"] == "picked for Bob"
        # the host gets the true event; A gets neither the line nor the change
        _frames, true = await _until(c.host, lambda ev: ev["ev"]["type"] == "PayerAssigned")
        assert true["seq"] == got["seq"]
        await _cmd(c.host, "h3", "Announce", {"text": "fence"})
        frames, _ = await _until(c.a, _fence("fence"))
        assert all(ev["ev"].get("line_id") != line_id for ev in _events(frames))
        assert got["seq"] in _covered(frames)
        # B's snapshot shows the same line
        peer = await Peer.open(c.srv.ws_url(c.room["room_id"]))
        try:
            view = (await peer.hello(c.b_token))["view"]
        finally:
            await peer.close()
        assert [(x["line_id"], x["payer"]) for x in view["lines"]] == [(line_id, c.b_id)]


async def test_in_a_group_room_everyone_receives_every_line(tmp_path: Path) -> None:
    async with _cast(tmp_path, kind="group") as c:
        ack = await _cmd(c.a, "a1", "AddLine", _add())
        for peer in (c.host, c.b):
            _frames, seen = await _until(peer, _is_line_of(c.a_id))
            assert seen["ev"]["note"] == SECRET and seen["seq"] == ack["seq"][0]


async def test_the_python_client_follows_a_live_room_with_hidden_events(
    tmp_path: Path,
) -> None:
    async with (
        _cast(tmp_path) as c,
        CoshopClient(c.room["links"]["ws"], c.b_token, codec="msgpack") as bob,
    ):
        await _cmd(c.a, "a1", "AddLine", _add())
        ack = await _cmd(c.a, "a2", "AddLine", _add("last"))  # the room's newest event
        await bob.sync()  # the cursor moves over events Bob may not see
        assert bob.last_seq == ack["seq"][1]
        assert all(e.type != "LineAdded" for e in bob.events)
        assert bob.reconnects == 0 and bob.snapshots == 0
        await bob.command("AddLine", _add("Bob's"))
        mine = [e for e in bob.events if e.type == "LineAdded"]
        assert [e.data["note"] for e in mine] == ["Bob's"]


@pytest.mark.postgres
@pytest.mark.redis
async def test_another_process_keeps_a_viewers_line_from_the_others(
    tmp_path: Path,
    pg_database: str,  # noqa: F811 - the fixture imported above
    redis_prefix: tuple[str, str],  # noqa: F811 - the fixture imported above
) -> None:
    """B is on a second process: A's line reaches it through the broker and stops there."""
    broker, prefix = redis_prefix
    shared = {"database_url": pg_database, "broker_url": broker, "broker_prefix": prefix}
    async with (
        run_server(server_settings(tmp_path / "one", process_id="one", **shared)) as one,
        run_server(server_settings(tmp_path / "two", process_id="two", **shared)) as two,
        httpx.AsyncClient(base_url=one.base_url) as http,
    ):
        room = await create_room(http, kind="live", title="Two processes")
        a_join, b_join = await join(http, room, "Ann"), await join(http, room, "Bob")
        host = await Peer.open(one.ws_url(room["room_id"]))
        a = await Peer.open(one.ws_url(room["room_id"]))
        b = await Peer.open(two.ws_url(room["room_id"]), codec=MSGPACK)
        try:
            await host.hello(room["host"]["token"])
            a_id = (await a.hello(a_join["token"]))["member"]["member_id"]
            await b.hello(b_join["token"])
            ack = await _cmd(a, "a1", "AddLine", _add())
            await _cmd(host, "h1", "Announce", {"text": "fence"})
            frames, _ = await _until(b, _fence("fence"))
            assert SECRET not in json.dumps(frames)
            assert ack["seq"][0] in _covered(frames)
            _frames, seen = await _until(host, _is_line_of(a_id))
            assert seen["ev"]["note"] == SECRET
        finally:
            _BACKLOG.clear()
            for peer in (host, a, b):
                await peer.close()


def _joins(events: list[dict[str, Any]]) -> list[str]:
    return [ev["ev"]["display_name"] for ev in events if ev["ev"]["type"] == "MemberJoined"]


async def test_a_live_audience_sees_its_own_join_and_stage_changes_only(tmp_path: Path) -> None:
    async with _cast(tmp_path) as c:
        assert _joins(c.first["host"]) == ["Ann", "Bob"]
        assert _joins(c.first["a"]) == ["Ann"] and _joins(c.first["b"]) == ["Bob"]
        # promoting A to moderator puts her on stage: the audience sees her join it, and she,
        # now staff, gets a fresh view that shows every line
        await _cmd(c.b, "b1", "AddLine", _add("Bob's"))
        ack = await _cmd(c.host, "h1", "PromoteMember", {"member_id": c.a_id, "role": "moderator"})
        _frames, staged = await _until(c.b, lambda ev: ev["seq"] == ack["seq"][0])
        assert staged["ev"]["type"] == "MemberJoined"
        assert (staged["ev"]["member_id"], staged["ev"]["role"]) == (c.a_id, "moderator")
        _frames, promoted = await _until(c.host, lambda ev: ev["seq"] == ack["seq"][0])
        assert promoted["ev"]["type"] == "MemberPromoted"
        fresh = await _recv(c.a)
        while fresh["t"] != "welcome":
            fresh = await _recv(c.a)
        assert fresh["resumed"] is False and fresh["member"]["role"] == "moderator"
        assert [line["note"] for line in fresh["view"]["lines"]] == ["Bob's"]
        # a live roster is the stage (and oneself), for staff too: Bob is counted, not listed
        assert {m["display_name"] for m in fresh["view"]["members"]} == {"Ada", "Ann"}
        assert fresh["view"]["member_count"] == 3
        # and, as staff, receives the audience's lines from now on
        await _cmd(c.b, "b2", "AddLine", _add("Bob's second"))
        _frames, seen = await _until(c.a, _is_line_of(c.b_id))
        assert seen["ev"]["note"] in ("Bob's", "Bob's second")


async def test_a_group_room_shows_everyone_every_join(tmp_path: Path) -> None:
    async with _cast(tmp_path, kind="group") as c:
        assert _joins(c.first["a"]) == ["Ann", "Bob"] and _joins(c.first["b"]) == ["Bob"]
