"""Holdout recovery end to end through the sandbox provider (issue 14, item 6).

Three friends pay their own lines all-or-nothing. Bea's payment fails; the order does not fall
apart: Ada and Cal's card holds stay, and the host decides — here the others re-split Bea's share.
The order core re-plans (Bea's share released, two new shares), Ada and Cal pay their new parts,
every hold is captured once, and the provider's books show exactly the total charged, nothing
charged to Bea, and nobody charged twice. The room shows everyone the choice and the outcome.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.server.checkout.support import AUTH, Env, add_line, checkout_env, command

TENT2, TENT4, STOVE = 28900, 44900, 5495


async def _pay(env: Env, url: str, token: str, scenario: str = "pay") -> dict[str, Any]:
    r = await env.call("POST", url, token)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    await env.pay_on_page(data["url"], scenario=scenario)
    return data


async def _intent(env: Env, session_id: str) -> dict[str, Any]:
    session = await env.session(session_id)
    r = await env.sandbox.get(f"/v1/payment_intents/{session['payment_intent']}", headers=AUTH)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_the_others_re_split_a_failed_share_and_nobody_is_charged_twice(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea, cal) = await env.room(("Bea", "Cal"))
        rid, host_token = room["room_id"], room["host"]["token"]
        ada_id = room["host"]["member_id"]
        host = await env.peer(rid, host_token)
        b = await env.peer(rid, bea["token"])
        c = await env.peer(rid, cal["token"])
        assert (await add_line(host, "a", "tent-2p"))["t"] == "ack"
        assert (await add_line(b, "b", "tent-4p"))["t"] == "ack"
        assert (await add_line(c, "c", "stove-firefly"))["t"] == "ack"
        assert (await command(host, "l", "LockCart"))["t"] == "ack"
        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call(
            "POST", base, host_token, json={"mode": "own_lines", "all_or_nothing": True}
        )
        assert r.status_code == 200, r.text
        order = r.json()["order"]
        total = order["total_minor"]
        assert total == TENT2 + TENT4 + STOVE
        pay = f"{base}/{order['order_id']}/pay"
        holdout = f"{base}/{order['order_id']}/holdout"

        # nothing to resolve while Bea may still pay; a member may not decide
        r = await env.call(
            "POST", holdout, bea["token"], json={"payer": cal["member_id"], "choice": "host_covers"}
        )
        assert r.status_code == 403 and r.json()["code"] == "host_only"

        first = {
            ada_id: await _pay(env, pay, host_token),
            cal["member_id"]: await _pay(env, pay, cal["token"]),
        }
        await host.until_event("ShareUpdated", payer=cal["member_id"], status="authorized")
        bea_try = await _pay(env, pay, bea["token"], scenario="delayed_failure")
        await host.until_event("ShareUpdated", payer=bea["member_id"], status="failed")
        # the order waits for the group: the holds are kept, nothing is captured yet
        status = (await env.call("GET", base, host_token)).json()["order"]
        assert status["status"] == "collecting"
        for data in first.values():
            assert (await _intent(env, data["session_id"]))["status"] == "requires_capture"

        # bad choices are refused with clear codes
        r = await env.call(
            "POST", holdout, host_token, json={"payer": bea["member_id"], "choice": "shrug"}
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_field"
        r = await env.call(
            "POST", holdout, host_token, json={"payer": ada_id, "choice": "split_others"}
        )
        assert r.status_code == 409 and r.json()["code"] == "share_not_holdout"

        # the host decides: Ada and Cal split Bea's share
        r = await env.call(
            "POST", holdout, host_token, json={"payer": bea["member_id"], "choice": "split_others"}
        )
        assert r.status_code == 200, r.text
        replanned = r.json()["order"]
        assert replanned["total_minor"] == total
        by_status = [(s["payer"], s["status"], s["amount_minor"]) for s in replanned["shares"]]
        assert (bea["member_id"], "released", TENT4) in by_status
        assert (ada_id, "pending", TENT4 // 2 + TENT4 % 2) in by_status
        assert (cal["member_id"], "pending", TENT4 // 2) in by_status
        seen = await c.until_event("HoldoutResolved")
        assert seen["payer"] == bea["member_id"] and seen["choice"] == "split_others"
        assert seen["covered_by"] == [ada_id, cal["member_id"]]
        released = await c.until_event("ShareUpdated", payer=bea["member_id"])
        assert (released["status"], released["amount_minor"]) == ("released", 0)
        # Bea has nothing left to pay
        r = await env.call("POST", pay, bea["token"])
        assert r.status_code == 409 and r.json()["code"] == "share_settled"

        # Ada and Cal pay their new parts: every hold is captured once, the order is paid
        second = {
            ada_id: await _pay(env, pay, host_token),
            cal["member_id"]: await _pay(env, pay, cal["token"]),
        }
        for member, data in second.items():
            assert data["session_id"] != first[member]["session_id"]
        settled = await b.until_event("OrderSettled", timeout=20)
        assert settled["outcome"] == "paid"
        final = (await env.call("GET", base, host_token)).json()["order"]
        assert final["status"] == "paid" and final["paid_minor"] == total

        # the provider's books: exactly the total charged, Bea charged nothing
        charged = 0
        for data in [*first.values(), *second.values()]:
            for _ in range(100):
                intent = await _intent(env, data["session_id"])
                if intent["status"] == "succeeded":
                    break
                await asyncio.sleep(0.05)
            assert (
                intent["status"] == "succeeded"
                and intent["amount_received"] == data["amount_minor"]
            )
            charged += intent["amount_received"]
        assert charged == total
        assert (await _intent(env, bea_try["session_id"]))["amount_received"] == 0

        # the room keeps the receipt: who paid what, and the choice in its history
        view = (await env.call("GET", f"/api/v1/rooms/{rid}", host_token)).json()["view"]
        (receipt,) = view["checkout"]["receipts"]
        shares = {s["payer"]: (s["status"], s["amount_minor"]) for s in receipt["shares"]}
        assert shares == {
            ada_id: ("paid", TENT2 + TENT4 // 2 + TENT4 % 2),
            cal["member_id"]: ("paid", STOVE + TENT4 // 2),
            bea["member_id"]: ("released", 0),
        }
        assert receipt["total_minor"] == total
        assert ["split_others", bea["member_id"]] in [
            [h["what"], h["who"]] for h in receipt["history"]
        ]


async def test_the_holdouts_lines_are_dropped_and_the_rest_is_bought(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea,) = await env.room(("Bea",))
        rid, host_token = room["room_id"], room["host"]["token"]
        host = await env.peer(rid, host_token)
        b = await env.peer(rid, bea["token"])
        assert (await add_line(host, "a", "tent-2p"))["t"] == "ack"
        assert (await add_line(b, "b", "tent-4p"))["t"] == "ack"
        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", base, host_token, json={"mode": "own_lines"})
        assert r.status_code == 200, r.text
        order = r.json()["order"]
        pay = f"{base}/{order['order_id']}/pay"
        mine = await _pay(env, pay, host_token)
        await b.until_event("ShareUpdated", status="paid")
        # Bea opened her page and walked away: the host drops her lines
        r = await env.call("POST", pay, bea["token"])
        assert r.status_code == 200, r.text
        beas_page = r.json()["session_id"]
        r = await env.call(
            "POST", f"{base}/{order['order_id']}/holdout", host_token,
            json={"payer": bea["member_id"], "choice": "drop_lines"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["order"]["total_minor"] == TENT2
        dropped = await b.until_event("HoldoutResolved")
        assert dropped["choice"] == "drop_lines" and len(dropped["dropped_line_ids"]) == 1
        assert (await b.until_event("OrderSettled"))["outcome"] == "paid"
        # her open page is expired at the provider: it can no longer charge her
        for _ in range(100):
            if (await env.session(beas_page))["status"] == "expired":
                break
            await asyncio.sleep(0.05)
        assert (await env.session(beas_page))["status"] == "expired"
        assert (await _intent(env, mine["session_id"]))["amount_received"] == TENT2
        view = (await env.call("GET", f"/api/v1/rooms/{rid}", host_token)).json()["view"]
        (receipt,) = view["checkout"]["receipts"]
        assert [line["sku"] for line in receipt["lines"]] == ["tent-2p"]
        assert receipt["total_minor"] == TENT2
