"""The sandbox's Stripe-shaped API, driven in the test's loop."""

from __future__ import annotations

import time

from checkout_bridge.sandbox.forms import decode_form
from checkout_bridge.sandbox.service import API_VERSION

from .support import AUTH, Sandbox, card_form, create_session, session_form


def test_bracket_forms_decode_to_nested_lists_and_dicts() -> None:
    decoded = decode_form(
        [
            ("line_items[1][quantity]", "1"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][quantity]", "2"),
            ("metadata[order]", "o1"),
            ("mode", "payment"),
        ]
    )
    assert decoded == {
        "line_items": [{"price_data": {"currency": "usd"}, "quantity": "2"}, {"quantity": "1"}],
        "metadata": {"order": "o1"},
        "mode": "payment",
    }


async def test_create_and_retrieve_a_session(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    assert session["id"].startswith("cs_test_")
    assert session["object"] == "checkout.session"
    assert session["status"] == "open"
    assert session["payment_status"] == "unpaid"
    assert session["amount_total"] == 2 * 1299 + 500
    assert session["currency"] == "usd"
    assert session["client_reference_id"] == "order_1:share_a"
    assert session["metadata"] == {"order": "order_1"}
    assert session["url"] == f"http://sandbox.test/pay/{session['id']}"
    assert session["livemode"] is False
    fetched = await sandbox.client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH)
    assert fetched.json() == session


async def test_line_items_list(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    response = await sandbox.client.get(
        f"/v1/checkout/sessions/{session['id']}/line_items", headers=AUTH
    )
    body = response.json()
    assert body["object"] == "list"
    assert [(i["description"], i["quantity"], i["amount_total"]) for i in body["data"]] == [
        ("Tent", 2, 2598),
        ("Mug <b>", 1, 500),
    ]


async def test_basic_auth_works_and_a_wrong_key_is_refused(sandbox: Sandbox) -> None:
    ok = await sandbox.client.post(
        "/v1/checkout/sessions", data=session_form(), auth=("sk_test_sandbox", "")
    )
    assert ok.status_code == 200
    missing = await sandbox.client.post("/v1/checkout/sessions", data=session_form())
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    wrong = await sandbox.client.post(
        "/v1/checkout/sessions",
        data=session_form(),
        headers={"Authorization": "Bearer sk_test_wrong"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "api_key_invalid"


async def test_validation_errors_name_the_parameter(sandbox: Sandbox) -> None:
    form = session_form()
    del form["success_url"]
    response = await sandbox.client.post("/v1/checkout/sessions", data=form, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "parameter_missing",
        "message": "Missing required param: success_url.",
        "param": "success_url",
    }
    bad = session_form(**{"line_items[1][price_data][currency]": "eur"})
    response = await sandbox.client.post("/v1/checkout/sessions", data=bad, headers=AUTH)
    assert response.json()["error"]["param"] == "line_items"
    bad = session_form(**{"line_items[0][quantity]": "0"})
    response = await sandbox.client.post("/v1/checkout/sessions", data=bad, headers=AUTH)
    assert response.json()["error"]["param"] == "line_items[0][quantity]"
    bad = session_form(expires_at=str(int(time.time()) - 5))
    response = await sandbox.client.post("/v1/checkout/sessions", data=bad, headers=AUTH)
    assert response.json()["error"]["param"] == "expires_at"


async def test_unknown_objects_and_urls_are_404_errors(sandbox: Sandbox) -> None:
    response = await sandbox.client.get("/v1/checkout/sessions/cs_test_nope", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    response = await sandbox.client.get("/v1/customers", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unrecognized_request_url"


async def test_idempotency_key_replays_and_refuses_other_params(sandbox: Sandbox) -> None:
    headers = {**AUTH, "Idempotency-Key": "share-1"}
    first = await sandbox.client.post("/v1/checkout/sessions", data=session_form(), headers=headers)
    again = await sandbox.client.post("/v1/checkout/sessions", data=session_form(), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await sandbox.client.post(
        "/v1/checkout/sessions", data=session_form(client_reference_id="x"), headers=headers
    )
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    events = (await sandbox.client.get("/_sandbox/events", headers=AUTH)).json()
    assert events["events"] == []  # creating sessions emits nothing, replays create nothing


async def test_expire_an_open_session_and_refuse_a_completed_one(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    expired = await sandbox.client.post(
        f"/v1/checkout/sessions/{session['id']}/expire", headers=AUTH
    )
    assert expired.json()["status"] == "expired"
    await sandbox.receiver.wait_for(1)
    assert b'"checkout.session.expired"' in sandbox.receiver.received[0][0]

    paid = await create_session(sandbox.client)
    await sandbox.client.post(f"/pay/{paid['id']}", data=card_form())
    refused = await sandbox.client.post(f"/v1/checkout/sessions/{paid['id']}/expire", headers=AUTH)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "checkout_session_not_open"


async def test_refunds_partial_then_rest_then_refused(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    await sandbox.client.post(f"/pay/{session['id']}", data=card_form())
    intent = (
        await sandbox.client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH)
    ).json()["payment_intent"]
    partial = await sandbox.client.post(
        "/v1/refunds", data={"payment_intent": intent, "amount": "1000"}, headers=AUTH
    )
    assert partial.json()["amount"] == 1000
    assert partial.json()["object"] == "refund"
    too_much = await sandbox.client.post(
        "/v1/refunds", data={"payment_intent": intent, "amount": "5000"}, headers=AUTH
    )
    assert too_much.json()["error"]["code"] == "amount_too_large"
    rest = await sandbox.client.post("/v1/refunds", data={"payment_intent": intent}, headers=AUTH)
    assert rest.json()["amount"] == 3098 - 1000
    again = await sandbox.client.post("/v1/refunds", data={"payment_intent": intent}, headers=AUTH)
    assert again.json()["error"]["code"] == "charge_already_refunded"
    await sandbox.receiver.wait_for(3)
    refund_events = [body for body, _ in sandbox.receiver.received if b"charge.refunded" in body]
    assert len(refund_events) == 2
    assert b'"refunded": true' in refund_events[-1]


async def test_manual_capture_authorises_then_captures_or_cancels(sandbox: Sandbox) -> None:
    manual = {"payment_intent_data[capture_method]": "manual"}
    session = await create_session(sandbox.client, **manual)
    await sandbox.client.post(f"/pay/{session['id']}", data=card_form())
    after = (
        await sandbox.client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH)
    ).json()
    assert (after["status"], after["payment_status"]) == ("complete", "unpaid")
    intent_url = f"/v1/payment_intents/{after['payment_intent']}"
    assert (await sandbox.client.get(intent_url, headers=AUTH)).json()["status"] == (
        "requires_capture"
    )
    captured = await sandbox.client.post(f"{intent_url}/capture", headers=AUTH)
    assert captured.json()["status"] == "succeeded"
    again = await sandbox.client.post(f"{intent_url}/capture", headers=AUTH)
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"
    final = await sandbox.client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH)
    assert final.json()["payment_status"] == "paid"

    other = await create_session(sandbox.client, **manual)
    await sandbox.client.post(f"/pay/{other['id']}", data=card_form())
    intent = (
        await sandbox.client.get(f"/v1/checkout/sessions/{other['id']}", headers=AUTH)
    ).json()["payment_intent"]
    canceled = await sandbox.client.post(f"/v1/payment_intents/{intent}/cancel", headers=AUTH)
    assert canceled.json()["status"] == "canceled"


async def test_expires_at_is_swept_and_announced(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client, expires_at=str(int(time.time()) + 1))
    await sandbox.receiver.wait_for(1)
    body, _ = sandbox.receiver.received[0]
    assert b'"checkout.session.expired"' in body
    assert session["id"].encode() in body
    fetched = await sandbox.client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH)
    assert fetched.json()["status"] == "expired"


async def test_the_sandbox_answers_for_one_api_version(sandbox: Sandbox) -> None:
    # No header: the sandbox's version, as for an account pinned to it; named on the answer.
    unpinned = await sandbox.client.post("/v1/checkout/sessions", data=session_form(), headers=AUTH)
    assert unpinned.status_code == 200
    assert unpinned.headers["stripe-version"] == API_VERSION
    assert unpinned.json()["ui_mode"] == "hosted"

    pinned = await sandbox.client.post(
        "/v1/checkout/sessions",
        data=session_form(),
        headers={**AUTH, "Stripe-Version": API_VERSION},
    )
    assert pinned.status_code == 200
    assert pinned.headers["stripe-version"] == API_VERSION

    # Another version (the stripe package's unpinned default, say) is refused, not misanswered.
    for other in ("2026-10-28.endive", "2025-03-31.basil", "nonsense"):
        refused = await sandbox.client.get(
            f"/v1/checkout/sessions/{pinned.json()['id']}",
            headers={**AUTH, "Stripe-Version": other},
        )
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "api_version_unsupported"
        assert API_VERSION in error["message"]
        assert refused.headers["stripe-version"] == API_VERSION
