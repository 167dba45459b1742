"""A live viewer's own order reaches only that viewer and staff (DESIGN §11), over real sockets.

Bea checks out and pays her own lines while Cal watches. Nothing of Bea's order — its id, its
lines, its share, its end, her receipt — reaches Cal: not in live ``ev``/``batch`` frames, not on
resume, not in a snapshot, not over REST (the room view and the checkout status). Bea sees her
order and receipt everywhere; the host (staff) sees it all and the sales count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.server.checkout.support import Env, RecordingPeer, add_line, checkout_env
from tests.server.peers import Peer


async def _live(env: Env) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    r = await env.http.post(
        "/api/v1/rooms", json={"kind": "live", "title": "Show", "host_name": "Ada"}
    )
    assert r.status_code == 201, r.text
    room = r.json()
    joined = []
    for name in ("Bea", "Cal"):
        j = await env.http.post(
            f"/api/v1/rooms/{room['room_id']}/join",
            json={"invite": room["invite"]["token"], "name": name},
        )
        assert j.status_code == 201, j.text
        joined.append(j.json())
    return room, joined[0], joined[1]


def _frames(peer: RecordingPeer) -> str:
    return json.dumps([peer.codec.decode(f) for f in getattr(peer, "frames", [])])


async def test_a_viewers_order_reaches_only_them_and_staff(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, bea, cal = await _live(env)
        rid = room["room_id"]
        host = await env.peer(rid, room["host"]["token"])
        pb, pc = await env.peer(rid, bea["token"]), await env.peer(rid, cal["token"])
        assert (await add_line(pc, "c1", "tent-4p"))["t"] == "ack"
        assert (await add_line(pb, "b1", "tent-2p"))["t"] == "ack"
        await pc.send({"t": "cmd", "op": "c-mark", "name": "PostMessage", "args": {"text": "mark"}})
        mark = await pc.until_event("MessagePosted", text="mark")
        resume_from = mark.get("seq") or 0
        r = await env.call("POST", f"/api/v1/rooms/{rid}/checkout", bea["token"], json={})
        assert r.status_code == 200, r.text
        order_id = r.json()["order"]["order_id"]
        await env.pay_on_page(r.json()["pay"]["url"])
        await pb.until_event("OrderSettled", order_id=order_id, outcome="paid")
        await host.until_event("OrderSettled", order_id=order_id, outcome="paid")
        await pc.send(
            {"t": "cmd", "op": "c-fence", "name": "PostMessage", "args": {"text": "fence"}}
        )
        await pc.until_event("MessagePosted", text="fence")

        # live frames: Cal heard nothing of it; Bea and the host did
        assert order_id not in _frames(pc)
        assert order_id in _frames(pb) and order_id in _frames(host)

        url = env.base_url.replace("http", "ws", 1) + f"/ws/rooms/{rid}"
        # resume from before the order, and a fresh snapshot: still nothing of Bea's order
        for last_seq in (resume_from or 1, None):
            peer = await Peer.open(url)
            try:
                welcome = await peer.hello(cal["token"], last_seq=last_seq)
                seen = [welcome]
                if welcome.get("resumed"):
                    while True:
                        msg = await peer.recv()
                        seen.append(msg)
                        if msg.get("t") == "batch" and msg.get("to", 0) >= welcome["seq"]:
                            break
            finally:
                await peer.close()
            assert order_id not in json.dumps(seen)
            if welcome["view"] is not None:
                co = welcome["view"]["checkout"]
                assert co["viewer_orders"] == [] and co["my_receipts"] == [] and co["sales"] is None

        # REST: the room view and the checkout status
        for token, sees in (
            (cal["token"], False),
            (bea["token"], True),
            (room["host"]["token"], True),
        ):
            view = await env.call("GET", f"/api/v1/rooms/{rid}", token)
            status = await env.call("GET", f"/api/v1/rooms/{rid}/checkout", token)
            assert view.status_code == status.status_code == 200
            assert (order_id in view.text) is sees
            assert (order_id in status.text) is (sees and token == bea["token"])
        bea_view = (await env.call("GET", f"/api/v1/rooms/{rid}", bea["token"])).json()["view"]
        assert [r["order_id"] for r in bea_view["checkout"]["my_receipts"]] == [order_id]
        host_view = (await env.call("GET", f"/api/v1/rooms/{rid}", room["host"]["token"])).json()
        sales = host_view["view"]["checkout"]["sales"]
        assert sales["orders"] == 1 and sales["recent"][0]["order_id"] == order_id
