"""The checkout endpoints ask the permission table (rooms.permissions.REST_PERMISSIONS).

A member who is not the host is refused checking out, cancelling and handing off with 403
``host_only`` and nothing happens in the room; the host's calls go past the check. A promoted
cohost is still refused (the table gives these actions to the host only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.server.checkout.support import add_line, checkout_env, command


async def test_only_the_host_checks_out_cancels_or_hands_off(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bob,) = await env.room(("Bob",))
        rid = room["room_id"]
        host = await env.peer(rid, room["host"]["token"])
        await add_line(host, "h1", "tent-2p", 1)
        await env.peer(rid, bob["token"])  # members join the room by connecting
        await host.until_event("MemberJoined", member_id=bob["member_id"])
        promoted = await command(
            host, "p1", "PromoteMember", member_id=bob["member_id"], role="cohost"
        )
        assert promoted["t"] == "ack", promoted
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", f"/api/v1/rooms/{rid}/checkout", {"json": {"mode": "host_pays"}}),
            ("POST", f"/api/v1/rooms/{rid}/checkout/handoff", {}),
            ("POST", f"/api/v1/rooms/{rid}/checkout/o-none/cancel", {}),
        ]
        for method, url, kw in calls:
            r = await env.call(method, url, bob["token"], **kw)
            assert (r.status_code, r.json()["code"]) == (403, "host_only"), (url, r.text)
        status = await env.call("GET", f"/api/v1/rooms/{rid}/checkout", bob["token"])
        assert status.json()["snapshot"] is None  # nothing was priced for the refused call
        r = await env.call(
            "POST", f"/api/v1/rooms/{rid}/checkout/o-none/cancel", room["host"]["token"]
        )
        assert (r.status_code, r.json()["code"]) == (404, "order_not_found")
