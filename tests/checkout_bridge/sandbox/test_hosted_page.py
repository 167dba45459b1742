"""The hosted page: scenarios by posting its form, test cards only, no card number kept."""

from __future__ import annotations

import json

from checkout_bridge.sandbox.cards import TEST_CARDS

from .support import AUTH, Sandbox, card_form, create_session


async def _session(sandbox: Sandbox, session_id: str) -> dict[str, object]:
    response = await sandbox.client.get(f"/v1/checkout/sessions/{session_id}", headers=AUTH)
    body: dict[str, object] = response.json()
    return body


async def test_page_shows_amount_and_escaped_lines(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    page = await sandbox.client.get(f"/pay/{session['id']}")
    assert page.status_code == 200
    assert "$30.98" in page.text  # formatted as Intl.NumberFormat("en-US") would
    assert "Mug &lt;b&gt;" in page.text
    assert "Mug <b>" not in page.text
    for scenario in ("pay", "decline", "3ds", "delayed_success", "delayed_failure", "abandon"):
        assert f'value="{scenario}"' in page.text


async def test_pay_redirects_to_success_url_with_the_session_id(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    response = await sandbox.client.post(f"/pay/{session['id']}", data=card_form())
    assert response.status_code == 303
    assert response.headers["location"] == f"https://shop.test/done?session={session['id']}"
    after = await _session(sandbox, session["id"])
    assert (after["status"], after["payment_status"]) == ("complete", "paid")
    closed = await sandbox.client.get(f"/pay/{session['id']}")
    assert "complete" in closed.text


async def test_unknown_card_numbers_are_refused(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    # Luhn-valid, but not a documented test card.
    response = await sandbox.client.post(
        f"/pay/{session['id']}", data=card_form("4111 1111 1111 1111")
    )
    assert response.status_code == 400
    assert "only the documented test card numbers" in response.text
    assert "4111" not in response.text
    assert (await _session(sandbox, session["id"]))["status"] == "open"


async def test_expiry_and_cvc_are_checked(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    form = {**card_form(), "expiry": "01/20"}
    assert (await sandbox.client.post(f"/pay/{session['id']}", data=form)).status_code == 400
    form = {**card_form(), "cvc": "12"}
    assert (await sandbox.client.post(f"/pay/{session['id']}", data=form)).status_code == 400


async def test_declines_keep_the_session_open(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    declined_card = await sandbox.client.post(
        f"/pay/{session['id']}", data=card_form("4000000000000002")
    )
    assert declined_card.status_code == 402
    assert "declined" in declined_card.text
    declined_button = await sandbox.client.post(
        f"/pay/{session['id']}", data=card_form(scenario="decline")
    )
    assert declined_button.status_code == 402
    funds = await sandbox.client.post(f"/pay/{session['id']}", data=card_form("4000000000009995"))
    assert "insufficient funds" in funds.text
    assert (await _session(sandbox, session["id"]))["status"] == "open"


async def test_three_d_secure_approve_and_deny(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    step = await sandbox.client.post(f"/pay/{session['id']}", data=card_form("4000002760003184"))
    assert step.status_code == 303
    assert step.headers["location"] == f"/pay/{session['id']}/authenticate"
    page = await sandbox.client.get(step.headers["location"])
    assert "ending in 3184" in page.text
    denied = await sandbox.client.post(step.headers["location"], data={"decision": "deny"})
    assert denied.status_code == 402
    assert (await _session(sandbox, session["id"]))["status"] == "open"

    await sandbox.client.post(f"/pay/{session['id']}", data=card_form(scenario="3ds"))
    approved = await sandbox.client.post(step.headers["location"], data={"decision": "approve"})
    assert approved.status_code == 303
    assert approved.headers["location"].startswith("https://shop.test/done")
    assert (await _session(sandbox, session["id"]))["payment_status"] == "paid"


async def test_delayed_success_and_failure_send_async_events(sandbox: Sandbox) -> None:
    ok = await create_session(sandbox.client)
    bad = await create_session(sandbox.client)
    await sandbox.client.post(f"/pay/{ok['id']}", data=card_form(scenario="delayed_success"))
    await sandbox.client.post(f"/pay/{bad['id']}", data=card_form(scenario="delayed_failure"))
    await sandbox.receiver.wait_for(4)
    types = [json.loads(body)["type"] for body, _ in sandbox.receiver.received]
    assert types.count("checkout.session.completed") == 2
    assert "checkout.session.async_payment_succeeded" in types
    assert "checkout.session.async_payment_failed" in types
    assert (await _session(sandbox, ok["id"]))["payment_status"] == "paid"
    assert (await _session(sandbox, bad["id"]))["payment_status"] == "unpaid"


async def test_abandon_goes_back_to_cancel_url(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    response = await sandbox.client.post(f"/pay/{session['id']}", data={"scenario": "abandon"})
    assert response.status_code == 303
    assert response.headers["location"] == "https://shop.test/cancelled"


async def test_card_numbers_are_never_stored(sandbox: Sandbox) -> None:
    session = await create_session(sandbox.client)
    await sandbox.client.post(f"/pay/{session['id']}", data=card_form("4000002760003184"))
    await sandbox.client.post(f"/pay/{session['id']}/authenticate", data={"decision": "approve"})
    other = await create_session(sandbox.client)
    await sandbox.client.post(f"/pay/{other['id']}", data=card_form("4242424242424242"))
    await sandbox.receiver.wait_for(2)
    files = list(sandbox.config.data_dir.iterdir())
    assert files
    for path in files:
        raw = path.read_bytes()
        for number in TEST_CARDS:
            assert number.encode() not in raw, path
