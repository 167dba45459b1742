"""The checkout status in a live room shows an audience member only their own part (DESIGN §11):
their lines, issues and share, with their own totals; staff see the whole order."""

from __future__ import annotations

from pathlib import Path

from tests.server.checkout.support import add_line, checkout_env, command


async def test_a_live_viewer_sees_only_their_own_lines_and_share(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        r = await env.http.post(
            "/api/v1/rooms", json={"kind": "live", "title": "Show", "host_name": "Ada"}
        )
        assert r.status_code == 201, r.text
        room = r.json()
        rid, host_token = room["room_id"], room["host"]["token"]
        viewers = []
        for name in ("Bea", "Cy"):
            j = await env.http.post(
                f"/api/v1/rooms/{rid}/join", json={"invite": room["invite"]["token"], "name": name}
            )
            assert j.status_code == 201, j.text
            viewers.append(j.json())
        host = await env.peer(rid, host_token)
        bea, cy = viewers
        for op, viewer, sku in (("b1", bea, "tent-2p"), ("c1", cy, "tent-4p")):
            peer = await env.peer(rid, viewer["token"])
            assert (await add_line(peer, op, sku, 1, note=f"for {viewer['member_id']}"))[
                "t"
            ] == "ack"
        assert (await command(host, "h1", "LockCart"))["t"] == "ack"
        r = await env.call(
            "POST", f"/api/v1/rooms/{rid}/checkout", host_token,
            json={"mode": "own_lines", "all_or_nothing": False},
        )  # fmt: skip
        assert r.status_code == 200, r.text

        url = f"/api/v1/rooms/{rid}/checkout"
        whole = (await env.call("GET", url, host_token)).json()
        assert len(whole["snapshot"]["lines"]) == 2 and len(whole["order"]["shares"]) == 2
        assert whole["order"]["total_minor"] == 28900 + 44900

        mine = (await env.call("GET", url, bea["token"])).json()
        assert [line["sku"] for line in mine["snapshot"]["lines"]] == ["tent-2p"]
        assert mine["snapshot"]["total_minor"] == 28900
        assert [s["payer"] for s in mine["order"]["shares"]] == [bea["member_id"]]
        assert mine["order"]["total_minor"] == 28900
        assert cy["member_id"] not in str(mine) and "tent-4p" not in str(mine)
