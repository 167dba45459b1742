"""order.paid in the merchant's system: the receiver of docs/merchant-integration.md, run as it
is printed, takes a real delivery from a real coshop and makes one order with two payments."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
import sqlite3
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.server.checkout.support import add_line, checkout_env, command
from tests.server.conftest import free_port
from tests.server.webhook_receiver import add_endpoint, demo_key, receiver, verify_all

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "merchant-integration.md"
ORDER_TYPES = ["checkout.started", "order.paid", "order.void", "order.refunded"]


def _doc_receiver(tmp_path: Path) -> ModuleType:
    """The docs' receiver: the python block after the marker, written out and imported."""
    text = DOC.read_text(encoding="utf-8")
    marker = text.index("<!-- tests/server/test_webhooks_orders.py runs the next code block")
    found = re.search(r"```python\n(.*?)```", text[marker:], re.DOTALL)
    assert found is not None
    path = tmp_path / "receiver.py"
    path.write_text(found.group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("merchant_receiver", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return list(conn.execute(query))


async def _rows_when(db: Path, query: str, count: int) -> list[tuple[Any, ...]]:
    async with asyncio.timeout(30):
        while True:
            rows = await asyncio.to_thread(_rows, db, query)
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)


async def test_order_paid_makes_one_order_with_a_payment_per_payer(tmp_path: Path) -> None:
    module = _doc_receiver(tmp_path)
    port, db = free_port(), tmp_path / "shop.db"
    async with checkout_env(tmp_path) as env, receiver() as rx:
        env.app.state.webhooks.worker.schedule = (0.05, 0.05)
        key = await demo_key(env)
        shop = await add_endpoint(
            env.http, key, f"http://127.0.0.1:{port}/webhooks/coshop", ["order.paid"]
        )
        watcher = await add_endpoint(env.http, key, rx.url, ORDER_TYPES)
        server = module.make_server(str(db), shop["secret"], port)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            room, (bea,) = await env.room(("Bea",))
            rid = room["room_id"]
            host = await env.peer(rid, room["host"]["token"])
            guest = await env.peer(rid, bea["token"])
            await host.until_event("MemberJoined", member_id=bea["member_id"])
            assert (await add_line(host, "a1", "tent-2p", 1))["t"] == "ack"
            assert (await add_line(guest, "b1", "tent-4p", 1))["t"] == "ack"
            assert (await command(host, "l1", "LockCart"))["t"] == "ack"
            base = f"/api/v1/rooms/{rid}/checkout"
            r = await env.call("POST", base, room["host"]["token"], json={"mode": "own_lines"})
            assert r.status_code == 200, r.text
            order = r.json()["order"]
            pay = f"{base}/{order['order_id']}/pay"
            for token in (room["host"]["token"], bea["token"]):
                session = await env.call("POST", pay, token)
                assert session.status_code == 200, session.text
                await env.pay_on_page(session.json()["url"])

            # The merchant's system: one order, two lines, two payments with provider ids.
            orders = await _rows_when(db, "SELECT order_id, currency, total_minor FROM orders", 1)
            assert orders == [(order["order_id"], "USD", 28900 + 44900)]
            payments = await _rows_when(
                db, "SELECT payer, amount_minor, provider, payment_id FROM payments", 2
            )
            assert sorted((p[0], p[1]) for p in payments) == [("Ada", 28900), ("Bea", 44900)]
            assert all(p[2] and p[3] for p in payments)
            lines = _rows(db, "SELECT sku, added_by, payer, unit_price_minor FROM order_lines")
            assert sorted(lines) == [
                ("tent-2p", "Ada", "Ada", 28900),
                ("tent-4p", "Bea", "Bea", 44900),
            ]

            # The watcher got checkout.started then order.paid, both verified.
            got = await rx.until_types("checkout.started", "order.paid")
            verify_all(rx.received, watcher["secret"])
            assert [r.json["type"] for r in got] == ["checkout.started", "order.paid"]
            paid = got[1].json["data"]
            assert paid["order_id"] == order["order_id"] and paid["split"] == "own_lines"
            ids = {p["payment_id"] for p in paid["payments"]}
            assert ids == {p[3] for p in payments} and None not in ids

            # The same delivery again (a retry or a resend): still one order, two payments.
            auth = {"Authorization": f"Bearer {key}"}
            log_url = f"/api/v1/merchant/webhooks/{shop['id']}/deliveries"
            (delivery,) = (await env.http.get(log_url, headers=auth)).json()["deliveries"]
            r = await env.http.post(f"{log_url}/{delivery['id']}/resend", headers=auth)
            assert r.status_code == 202
            async with asyncio.timeout(30):
                while True:
                    detail = (
                        await env.http.get(f"{log_url}/{delivery['id']}", headers=auth)
                    ).json()
                    if len(detail["attempt_log"]) == 2 and detail["status"] == "delivered":
                        break
                    await asyncio.sleep(0.05)
            assert [a["status"] for a in detail["attempt_log"]] == [200, 200]
            assert len(await asyncio.to_thread(_rows, db, "SELECT * FROM orders")) == 1
            assert len(await asyncio.to_thread(_rows, db, "SELECT * FROM payments")) == 2
        finally:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
            thread.join(10)


def test_the_doc_receiver_refuses_a_forged_delivery(tmp_path: Path) -> None:
    module = _doc_receiver(tmp_path)
    db = sqlite3.connect(":memory:")
    db.executescript(module.SCHEMA)
    forged = {"webhook-id": "msg_x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    assert module.receive(db, "whsec_" + "A" * 43 + "=", b"{}", forged) == 400
    db.close()


async def test_a_canceled_order_sends_void_then_the_refund_of_the_paid_share(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env, receiver() as rx:
        env.app.state.webhooks.worker.schedule = (0.05, 0.05)
        key = await demo_key(env)
        watcher = await add_endpoint(env.http, key, rx.url, ORDER_TYPES)
        room, (bea,) = await env.room(("Bea",))
        rid, token = room["room_id"], room["host"]["token"]
        host = await env.peer(rid, token)
        guest = await env.peer(rid, bea["token"])
        await host.until_event("MemberJoined", member_id=bea["member_id"])
        assert (await add_line(host, "a1", "tent-2p", 1))["t"] == "ack"
        assert (await add_line(guest, "b1", "tent-4p", 1))["t"] == "ack"
        assert (await command(host, "l1", "LockCart"))["t"] == "ack"
        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", base, token, json={"mode": "own_lines"})
        assert r.status_code == 200, r.text
        order_id = r.json()["order"]["order_id"]
        session = await env.call("POST", f"{base}/{order_id}/pay", token)
        await env.pay_on_page(session.json()["url"])
        await host.until_event("ShareUpdated", status="paid")
        r = await env.call("POST", f"{base}/{order_id}/cancel", token)
        assert r.status_code == 200, r.text

        got = await rx.until_types("checkout.started", "order.void", "order.refunded")
        verify_all(rx.received, watcher["secret"])
        assert [g.json["type"] for g in got] == ["checkout.started", "order.void", "order.refunded"]
        void = got[1].json["data"]
        assert void["status"] == "void" and void["void_reason"] == "canceled_by_host"
        paid = next(p for p in void["payments"] if p["paid_minor"])
        assert paid["payer"]["display_name"] == "Ada" and paid["payment_id"]
        refund = got[2].json["data"]["refund"]
        assert refund["amount_minor"] == 28900 and refund["payment_id"] == paid["payment_id"]
        assert refund["payer"]["display_name"] == "Ada"
        assert got[2].json["data"]["refunded_minor"] == 28900
