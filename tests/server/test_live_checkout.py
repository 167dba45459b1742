"""Every live viewer checks out on their own while the show goes on (DESIGN §10, docs/live.md).

Real processes on loopback: coshop and the sandbox payment provider (tests/server/checkout/
support.py). A viewer's ``POST …/checkout`` opens an order of their own lines only; the room
stays open, only those lines freeze, other viewers and chat carry on; paid, the lines become the
viewer's receipt and the host's sales count; a failed payment, a cancel or the end of the
payment window gives the stock back. Stock is reserved in the order's own transaction:
200 viewers checking out a product with 50 in stock at once get exactly 50 orders.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from server.catalog.reservations import reservations
from server.catalog.tables import products, variants
from tests.server.checkout.support import Env, RecordingPeer, add_line, checkout_env, command
from tests.server.test_scale_out import pg_database

__all__ = ["pg_database"]


async def _live(env: Env, *names: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    r = await env.http.post(
        "/api/v1/rooms", json={"kind": "live", "title": "Gear show", "host_name": "Ada"}
    )
    assert r.status_code == 201, r.text
    room = r.json()
    viewers = []
    for name in names:
        j = await env.http.post(
            f"/api/v1/rooms/{room['room_id']}/join",
            json={"invite": room["invite"]["token"], "name": name},
        )
        assert j.status_code == 201, j.text
        viewers.append(j.json())
    return room, viewers


async def _set_stock(env: Env, sku: str, stock: int | None) -> None:
    async with env.app.state.engine.begin() as conn:
        await conn.execute(update(products).where(products.c.sku == sku).values(stock=stock))


async def _held(env: Env, sku: str, status: str = "held") -> int:
    async with env.app.state.engine.connect() as conn:
        total = await conn.scalar(
            select(func.coalesce(func.sum(reservations.c.quantity), 0)).where(
                reservations.c.sku == sku, reservations.c.status == status
            )
        )
    return int(total)


async def _stock(env: Env, sku: str) -> int | None:
    async with env.app.state.engine.connect() as conn:
        level = await conn.scalar(select(products.c.stock).where(products.c.sku == sku))
    return None if level is None else int(level)


def _events(peer: RecordingPeer) -> list[dict[str, Any]]:
    """Every event a peer received so far, in ``ev`` and ``batch`` frames."""
    found: list[dict[str, Any]] = []
    for frame in getattr(peer, "frames", []):
        msg = peer.codec.decode(frame)
        if msg.get("t") == "ev":
            found.append(msg["ev"])
        elif msg.get("t") == "batch":
            found.extend(ev["ev"] for ev in msg["evs"])
    return found


async def test_a_viewer_checks_out_their_own_lines_while_the_show_goes_on(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        await _set_stock(env, "tent-2p", 5)
        room, (bea, cal) = await _live(env, "Bea Lopez", "Cal")
        rid, host_token = room["room_id"], room["host"]["token"]
        host = await env.peer(rid, host_token)
        pb, pc = await env.peer(rid, bea["token"]), await env.peer(rid, cal["token"])
        assert (await add_line(pb, "b1", "tent-2p", 2))["t"] == "ack"
        assert (await add_line(pc, "c1", "tent-4p", 1))["t"] == "ack"
        assert (await command(host, "h0", "SetBuyTicker", on=True))["t"] == "ack"

        url = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", url, bea["token"], json={"total_minor": 1})  # ignored
        assert r.status_code == 200, r.text
        answer = r.json()
        order = answer["order"]
        assert [s["payer"] for s in order["shares"]] == [bea["member_id"]]
        assert order["total_minor"] == 2 * 28900
        assert answer["pay"]["url"].startswith(env.sandbox_url)
        assert answer["pay"]["navigation"] == "top-level"
        assert await _held(env, "tent-2p") == 2

        began = await pb.until_event("ViewerOrderBegan", order_id=order["order_id"])
        (mine,) = began["lines"]
        # the show goes on: the room is open, chat works, the other viewer edits their cart
        _seq, view = await env.app.state.hub.room_view(rid, room["host"]["member_id"])
        assert view["phase"] == "open"
        assert [o["payer"] for o in view["checkout"]["viewer_orders"]] == [bea["member_id"]]
        assert (await command(pc, "c2", "PostMessage", text="nice tent"))["t"] == "ack"
        cal_line = next(ev for ev in _events(pc) if ev["type"] == "LineAdded")["line_id"]
        moved = await command(pc, "c3", "SetQuantity", line_id=cal_line, quantity=2)
        assert moved["t"] == "ack"  # the other viewer is unaffected
        err = await command(pb, "b2", "SetQuantity", line_id=mine["line_id"], quantity=3)
        assert err["t"] == "err" and err["code"] == "line_in_checkout"
        assert (await add_line(pb, "b3", "tent-2p", 1))["t"] == "ack"  # a new line, not in it
        again = await env.call("POST", url, bea["token"], json={"line_ids": [mine["line_id"]]})
        assert again.status_code == 409 and again.json()["code"] == "line_in_checkout"
        locked = await command(host, "h1", "LockCart")
        assert locked["t"] == "err" and locked["code"] == "viewer_checkouts_open"
        whole = await env.call("POST", url, host_token, json={})
        assert whole.status_code == 409 and whole.json()["code"] == "viewer_checkouts_open"

        # the viewer pays on the hosted page; the lines leave the cart as their receipt
        await env.pay_on_page(answer["pay"]["url"])
        await pb.until_event("OrderSettled", order_id=order["order_id"], outcome="paid")
        shown = await pc.until_event("PurchaseShown")
        assert shown["buyer"] == "Bea" and shown["title"]
        assert set(shown) == {"type", "buyer", "title", "more", "at"}
        _seq, bea_view = await env.app.state.hub.room_view(rid, bea["member_id"])
        (receipt,) = bea_view["checkout"]["my_receipts"]
        assert receipt["total_minor"] == 2 * 28900
        assert mine["line_id"] not in {line["line_id"] for line in bea_view["lines"]}
        _seq, host_view = await env.app.state.hub.room_view(rid, room["host"]["member_id"])
        sales = host_view["checkout"]["sales"]
        assert (sales["orders"], sales["revenue_minor"]) == (1, 2 * 28900)
        assert await _held(env, "tent-2p") == 0
        assert await _held(env, "tent-2p", "committed") == 2
        assert await _stock(env, "tent-2p") == 3  # sold: the catalogue's stock went down

        # the other viewer never heard of Bea's order; staff saw it all
        cal_types = {ev["type"] for ev in _events(pc)}
        assert "ViewerOrderBegan" not in cal_types
        assert all(
            ev.get("order_id") != order["order_id"] for ev in _events(pc) if "order_id" in ev
        )
        await host.until_event("OrderSettled", order_id=order["order_id"])  # staff see it
        status = (await env.call("GET", url, cal["token"])).json()
        assert status["own"] is None and bea["member_id"] not in str(status)
        own = (await env.call("GET", url, bea["token"])).json()["own"]
        assert own["order"]["status"] == "paid" and own["snapshot"]["total_minor"] == 57800


async def test_buy_now_adds_the_variant_and_opens_the_payment_page_in_one_step(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        async with env.app.state.engine.connect() as conn:
            sku, variant = (
                await conn.execute(select(variants.c.sku, variants.c.variant_id))
            ).first()
        room, (bea,) = await _live(env, "Bea")
        rid = room["room_id"]
        await env.peer(rid, bea["token"])
        url = f"/api/v1/rooms/{rid}/checkout"
        bad = await env.call("POST", url, bea["token"], json={"buy": {"sku": sku}})
        assert bad.status_code == 409 and bad.json()["code"] == "invalid_variant"
        shape = await env.call("POST", url, bea["token"], json={"buy": {"sku": 7}})
        assert shape.status_code == 422 and shape.json()["field"] == "buy"
        r = await env.call(
            "POST", url, bea["token"], json={"buy": {"sku": sku, "variant": variant, "quantity": 1}}
        )
        assert r.status_code == 200, r.text
        (line,) = r.json()["snapshot"]["lines"]
        assert (line["sku"], line["variant"]) == (sku, variant)
        assert r.json()["pay"]["url"]
        empty = await env.call("POST", url, bea["token"], json={})
        assert empty.status_code == 409 and empty.json()["code"] == "cart_empty"


async def test_a_failed_payment_or_a_cancel_gives_the_stock_back_and_thaws_the_lines(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        await _set_stock(env, "tent-4p", 1)
        room, (bea, cal) = await _live(env, "Bea", "Cal")
        rid = room["room_id"]
        pb = await env.peer(rid, bea["token"])
        pc = await env.peer(rid, cal["token"])
        url = f"/api/v1/rooms/{rid}/checkout"
        buy = {"buy": {"sku": "tent-4p", "variant": None, "quantity": 1}}
        first = await env.call("POST", url, bea["token"], json=buy)
        assert first.status_code == 200, first.text
        late = await env.call("POST", url, cal["token"], json=buy)
        assert late.status_code == 409, late.text
        assert (late.json()["code"], late.json()["sku"], late.json()["available"]) == (
            "out_of_stock",
            "tent-4p",
            0,
        )
        order_id = first.json()["order"]["order_id"]
        await env.pay_on_page(first.json()["pay"]["url"], scenario="delayed_failure")
        await pb.until_event("OrderSettled", order_id=order_id, outcome="void")
        assert await _held(env, "tent-4p") == 0
        # the lines thaw: Bea may change them again; Cal now gets the tent
        (line,) = next(ev for ev in _events(pb) if ev["type"] == "ViewerOrderBegan")["lines"]
        ok = await command(pb, "b1", "SetQuantity", line_id=line["line_id"], quantity=1)
        assert ok["t"] == "ack"
        second = await env.call("POST", url, cal["token"], json={})
        assert second.status_code == 200, second.text
        cancel = await env.call(
            "POST", f"{url}/{second.json()['order']['order_id']}/cancel", cal["token"]
        )
        assert cancel.status_code == 200 and cancel.json()["order"]["status"] == "void"
        assert cancel.json()["order"]["void_reason"] == "canceled_by_buyer"
        await pc.until_event("OrderSettled", outcome="void")
        assert await _held(env, "tent-4p") == 0
        other = await env.call("POST", f"{url}/{order_id}/cancel", cal["token"])
        assert other.status_code == 403


async def test_an_order_not_paid_in_its_window_gives_the_stock_back(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea,) = await _live(env, "Bea")
        rid = room["room_id"]
        pb = await env.peer(rid, bea["token"])
        assert (await add_line(pb, "b1", "tent-2p", 1))["t"] == "ack"
        r = await env.call("POST", f"/api/v1/rooms/{rid}/checkout", bea["token"], json={})
        assert r.status_code == 200, r.text
        assert await _held(env, "tent-2p") == 1
        # the payment window passes: the service's clock (and its outbox's) moves on, and its
        # sweep voids the order
        shift = env.service.viewer_window_s + 60

        def clock() -> float:
            return time.time() + shift

        env.service._clock = env.service.outbox._clock = clock
        await pb.until_event("OrderSettled", order_id=r.json()["order"]["order_id"], outcome="void")
        assert await _held(env, "tent-2p") == 0
        _seq, view = await env.app.state.hub.room_view(rid, bea["member_id"])
        assert view["checkout"]["my_last_order"]["status"] == "void"
        assert view["you"]["may"]["check_out_own"] is True


async def test_group_rooms_keep_one_order_for_the_whole_group(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bob,) = await env.room(("Bob",))
        rid = room["room_id"]
        await env.peer(rid, bob["token"])
        r = await env.call("POST", f"/api/v1/rooms/{rid}/checkout", bob["token"], json={})
        assert r.status_code == 403 and r.json()["code"] == "host_only"


async def _crowd(env: Env, viewers: int, stock: int) -> list[Any]:
    await _set_stock(env, "tent-2p", stock)
    room, joined = await _live(env, *(f"Viewer {n}" for n in range(viewers)))
    rid = room["room_id"]
    for viewer in joined:
        await env.peer(rid, viewer["token"])  # in the room: a viewer's line needs a member
    url = f"/api/v1/rooms/{rid}/checkout"
    buy = {"buy": {"sku": "tent-2p", "variant": None, "quantity": 1}}
    async with env.devices(-(-viewers // 50)) as devices:
        return list(
            await asyncio.gather(
                *(
                    env.call("POST", url, v["token"], via=devices[n // 50], json=buy, timeout=120)
                    for n, v in enumerate(joined)
                )
            )
        )


async def _check_no_oversell(env: Env) -> None:
    answers = await _crowd(env, 200, 50)
    opened = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    assert len(opened) == 50, [r.text for r in refused[:3]]
    assert {(r.status_code, r.json()["code"]) for r in refused} == {(409, "out_of_stock")}
    assert await _held(env, "tent-2p") == 50


@pytest.mark.slow
async def test_200_viewers_at_once_never_oversell_on_sqlite(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        await _check_no_oversell(env)


@pytest.mark.slow
@pytest.mark.postgres
async def test_200_viewers_at_once_never_oversell_on_postgresql(
    tmp_path: Path, pg_database: str
) -> None:
    async with checkout_env(tmp_path, database_url=pg_database) as env:
        await _check_no_oversell(env)
