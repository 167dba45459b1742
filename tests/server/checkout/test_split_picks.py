"""An equal split bills the people the host picks — by default the host and the members who added
or pay for lines, never the store associate and never a member who left."""

from __future__ import annotations

from pathlib import Path

from tests.server.checkout.support import add_line, checkout_env, command


async def test_the_default_split_skips_staff_and_leavers_and_the_host_picks_others(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea, cal) = await env.room(("Bea", "Cal"))
        rid, host_token = room["room_id"], room["host"]["token"]
        r = await env.call(
            "POST", f"/api/v1/rooms/{rid}/invites", host_token, json={"role": "associate"}
        )
        assert r.status_code == 201, r.text
        j = await env.http.post(
            f"/api/v1/rooms/{rid}/join", json={"invite": r.json()["token"], "name": "Sam"}
        )
        assert j.status_code == 201, j.text
        sam = j.json()
        ada_id, bea_id, sam_id = (
            room["host"]["member_id"],
            bea["member_id"],
            sam["member_id"],
        )
        ada = await env.peer(rid, host_token)
        peers = {m["member_id"]: await env.peer(rid, m["token"]) for m in (bea, cal, sam)}
        assert (await add_line(ada, "a1", "tent-2p", 1))["t"] == "ack"  # 28900
        assert (await add_line(peers[bea_id], "b1", "tent-4p", 1))["t"] == "ack"  # 44900
        assert (await add_line(peers[sam_id], "s1", "tent-2p", 1))["t"] == "ack"  # the associate
        assert (await add_line(peers[cal["member_id"]], "c1", "tent-4p", 1))["t"] == "ack"
        left = await command(peers[cal["member_id"]], "c2", "Leave")  # Cal's line goes with him
        assert left["t"] == "ack", left
        view = (await env.call("GET", f"/api/v1/rooms/{rid}", host_token)).json()["view"]
        assert view["checkout"]["split_roles"] == ["cohost", "host", "member"]
        assert len(view["lines"]) == 3

        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", base, host_token, json={"mode": "equal_split"})
        assert r.status_code == 200, r.text
        order = r.json()["order"]
        total = 28900 + 44900 + 28900
        assert {s["payer"]: s["amount_minor"] for s in order["shares"]} == {
            ada_id: total // 2,
            bea_id: total // 2,
        }
        cancel = await env.call("POST", f"{base}/{order['order_id']}/cancel", host_token)
        assert cancel.status_code == 200, cancel.text
        await ada.until_event("OrderSettled", outcome="void")

        # a member who left cannot be picked; nor can nobody
        for picked in ([ada_id, cal["member_id"]], []):
            r = await env.call(
                "POST", base, host_token, json={"mode": "equal_split", "participants": picked}
            )
            assert r.status_code == 422 and r.json()["code"] == "invalid_participants", r.text
        r = await env.call(
            "POST", base, host_token, json={"mode": "equal_split", "participants": "everyone"}
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_field", r.text

        # the host picks the associate in: three equal shares
        r = await env.call(
            "POST",
            base,
            host_token,
            json={"mode": "equal_split", "participants": [ada_id, bea_id, sam_id]},
        )
        assert r.status_code == 200, r.text
        shares = r.json()["order"]["shares"]
        assert [s["payer"] for s in shares] == [ada_id, bea_id, sam_id]
        assert sum(s["amount_minor"] for s in shares) == total
