"""The merchant console's REST routes (server/api/console.py), over loopback with the sandbox.

The merchant sees its rooms and its paid order (total, paid, payers), uploads a feed and reads
back which rows were refused and why, and nothing answers without its API key or for another
merchant's data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.server.checkout.support import Env, checkout_env, frozen_order

KEY = "ck_console-" + "k" * 30
OTHER_KEY = "ck_other-" + "o" * 30
FEED = (
    "id,title,price,availability\n"
    "lamp-1,Camp Lamp,12.50 USD,in stock\n"
    "stove-1,Stove,not a price,in stock\n"
    "mug-9,Enamel Mug,8 USD,out of stock\n"
)


def _auth(key: str = KEY) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def _keys(env: Env) -> None:
    """The demo merchant's API key is set here (coshop demo draws one nobody prints); a second
    merchant has rooms and orders of its own: none."""
    registry = env.app.state.registry
    await registry.rotate_api_key("demo", KEY)
    await registry.create_merchant("other", "Other Shop", (), OTHER_KEY, 1)


def _problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_the_merchant_sees_its_rooms_and_a_paid_order(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        await _keys(env)
        room, _joined, host, order = await frozen_order(env)
        pay = f"/api/v1/rooms/{room['room_id']}/checkout/{order['order_id']}/pay"
        r = await env.call("POST", pay, room["host"]["token"])
        assert r.status_code == 200, r.text
        await env.pay_on_page(r.json()["url"])
        assert (await host.until_event("OrderSettled"))["outcome"] == "paid"

        rooms = (await env.http.get("/api/v1/merchant/rooms", headers=_auth())).json()["rooms"]
        mine = [r for r in rooms if r["room_id"] == room["room_id"]]
        assert mine and mine[0]["kind"] == "group" and mine[0]["title"] == "Trip"
        assert mine[0]["closed"] is False and mine[0]["last_activity_at"] is not None
        opened = await env.http.get("/api/v1/merchant/rooms?status=open", headers=_auth())
        assert room["room_id"] in {r["room_id"] for r in opened.json()["rooms"]}
        closed = await env.http.get("/api/v1/merchant/rooms?status=closed", headers=_auth())
        assert closed.json()["rooms"] == []

        listed = (await env.http.get("/api/v1/merchant/orders", headers=_auth())).json()
        (summary,) = listed["orders"]
        assert summary["order_id"] == order["order_id"]
        assert summary["status"] == "paid" and summary["currency"] == "USD"
        assert summary["total_minor"] == order["total_minor"] == summary["paid_minor"]
        assert (summary["payers"], summary["paid_payers"]) == (1, 1)
        assert listed["next_before"] is None
        first = await env.http.get("/api/v1/merchant/orders?limit=1", headers=_auth())
        cursor = first.json()["next_before"]
        assert cursor and first.json()["orders"] == [summary]
        page = await env.http.get(f"/api/v1/merchant/orders?before={cursor}", headers=_auth())
        assert page.json() == {"orders": [], "next_before": None}

        # analytics from the room's log: the host joined, added both lines, checked out, paid
        stats = (await env.http.get("/api/v1/merchant/analytics", headers=_auth())).json()
        assert stats["funnel"] == {"joined": 1, "added": 1, "checked_out": 1, "paid": 1}
        assert (stats["carts"], stats["orders"], stats["paid_orders"]) == (1, 1, 1)
        assert stats["revenue"] == {"USD": order["total_minor"]}
        assert stats["attribution"] == {
            "self": {"lines": 2, "units": 2, "value": {"USD": order["total_minor"]}}
        }
        one = await env.http.get(
            f"/api/v1/merchant/analytics?room_id={room['room_id']}", headers=_auth()
        )
        assert one.json()["rooms"][0]["paid_orders"] == 1
        live = await env.http.get("/api/v1/merchant/analytics?kind=live", headers=_auth())
        assert live.json()["rooms_count"] == 0
        later = await env.http.get(
            "/api/v1/merchant/analytics?since=99999999999999", headers=_auth()
        )
        assert later.json()["funnel"]["joined"] == 0
        csv_rooms = await env.http.get("/api/v1/merchant/analytics.csv", headers=_auth())
        assert csv_rooms.headers["content-type"].startswith("text/csv")
        header, row = csv_rooms.text.strip().split("\r\n")
        assert header.startswith("room_id,kind,title") and row.startswith(room["room_id"])
        assert row.endswith(f",USD,{order['total_minor']}")
        csv_causes = await env.http.get(
            "/api/v1/merchant/analytics.csv?table=attribution", headers=_auth()
        )
        assert csv_causes.text.split("\r\n")[1] == f"self,2,2,USD,{order['total_minor']}"

        # another merchant sees none of it
        _problem(
            await env.http.get(
                f"/api/v1/merchant/analytics?room_id={room['room_id']}", headers=_auth(OTHER_KEY)
            ),
            404,
            "room_not_found",
        )
        other = await env.http.get("/api/v1/merchant/orders", headers=_auth(OTHER_KEY))
        assert other.json()["orders"] == []
        other_rooms = await env.http.get("/api/v1/merchant/rooms", headers=_auth(OTHER_KEY))
        assert other_rooms.json()["rooms"] == []


async def test_a_feed_upload_reports_every_refused_row_and_is_kept(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        await _keys(env)
        r = await env.http.post(
            "/api/v1/merchant/catalog/import?filename=shop.csv",
            content=FEED.encode(),
            headers={**_auth(), "content-type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        report: dict[str, Any] = r.json()
        assert report["format"] == "csv" and report["products"] == 2
        assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "price")]
        assert report["errors"][0]["code"]

        status = (await env.http.get("/api/v1/merchant/catalog", headers=_auth())).json()
        demo_products = status["products"]
        assert demo_products >= 2 and status["out_of_stock"] >= 1
        (last, *_older) = status["imports"]
        assert last["source"] == "shop.csv" and last["products"] == 2
        assert last["error_count"] == 1 and last["errors"] == report["errors"]

        # the other merchant's catalogue is its own: empty, no imports
        other = (await env.http.get("/api/v1/merchant/catalog", headers=_auth(OTHER_KEY))).json()
        assert other["products"] == 0 and other["imports"] == []
        # the new product is in the shop at once
        found = await env.http.get("/api/v1/merchants/demo/products/lamp-1")
        assert found.status_code == 200 and found.json()["title"] == "Camp Lamp"


async def test_console_routes_refuse_what_they_cannot_use(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        await _keys(env)
        for path in (
            "/api/v1/merchant/rooms",
            "/api/v1/merchant/orders",
            "/api/v1/merchant/catalog",
        ):
            _problem(await env.http.get(path), 401, "invalid_api_key")
            _problem(await env.http.get(path, headers=_auth("ck_wrong")), 401, "invalid_api_key")
        _problem(
            await env.http.get("/api/v1/merchant/rooms?status=maybe", headers=_auth()),
            422,
            "invalid_field",
        )
        for bad in ("analytics?kind=show", "analytics?since=soon", "analytics.csv?table=x"):
            _problem(
                await env.http.get(f"/api/v1/merchant/{bad}", headers=_auth()),
                422,
                "invalid_field",
            )
        _problem(
            await env.http.get("/api/v1/merchant/orders?limit=0", headers=_auth()),
            422,
            "invalid_field",
        )
        _problem(
            await env.http.get("/api/v1/merchant/orders?before=yesterday", headers=_auth()),
            422,
            "invalid_field",
        )
        # a parameter the route does not take is refused, not ignored (a typo'd filter)
        for bad in ("rooms?stauts=open", "orders?page=2", "catalog?x=1", "analytics?room=r1"):
            r = await env.http.get(f"/api/v1/merchant/{bad}", headers=_auth())
            _problem(r, 400, "invalid_parameter")
            assert "this route takes" in r.json()["detail"]
        # a cursor with non-ASCII digits is not a cursor
        _problem(
            await env.http.get("/api/v1/merchant/orders?before=\u00b2-abc", headers=_auth()),
            422,
            "invalid_field",
        )
        upload = "/api/v1/merchant/catalog/import"
        _problem(
            await env.http.post(
                f"{upload}?filename=", content=b"x", headers={**_auth(), "content-type": "text/csv"}
            ),
            422,
            "invalid_field",
        )
        _problem(
            await env.http.post(
                upload, content=b"x", headers={**_auth(), "content-type": "image/png"}
            ),
            415,
            "unsupported_media_type",
        )
        _problem(
            await env.http.post(
                f"{upload}?filename=feed.exe",
                content=b"x",
                headers={**_auth(), "content-type": "text/csv"},
            ),
            422,
            "invalid_field",
        )
        _problem(
            await env.http.post(
                f"{upload}?filename=feed.csv",
                content=b"id,title\n\xff\xfe,x\n",
                headers={**_auth(), "content-type": "text/csv"},
            ),
            422,
            "bad_encoding",
        )
        _problem(
            await env.http.post(
                f"{upload}?filename=feed.csv&prune=maybe",
                content=FEED.encode(),
                headers={**_auth(), "content-type": "text/csv"},
            ),
            422,
            "invalid_field",
        )
        # a feed with no good row changes nothing and says why
        r = await env.http.post(
            f"{upload}?filename=feed.json",
            content=b"{}",
            headers={**_auth(), "content-type": "application/json"},
        )
        assert r.status_code == 200 and r.json()["products"] == 0 and r.json()["errors"]


async def test_the_console_page_is_served(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        r = await env.http.get("/console")
        assert r.status_code == 200
        assert "Sign in to your shop" in r.text and "/static/js/console.js" in r.text
        assert "order.paid" in r.text  # the events an endpoint may subscribe to
        js = await env.http.get("/static/js/console.js")
        assert js.status_code == 200 and "/api/v1/merchant/catalog/import" in js.text
