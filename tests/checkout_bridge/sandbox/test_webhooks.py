"""Webhook delivery: signatures, retries with backoff, persistence, and the fault switches."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from checkout_bridge.errors import WebhookError
from checkout_bridge.webhooks import verify_signature

from .support import (
    AUTH,
    SECRET,
    Receiver,
    Sandbox,
    SandboxFactory,
    card_form,
    create_session,
)


def _types(receiver: Receiver) -> list[str]:
    return [json.loads(body)["type"] for body, _ in receiver.received]


def _ids(receiver: Receiver) -> list[str]:
    return [json.loads(body)["id"] for body, _ in receiver.received]


def _timestamp(header: str | None) -> int:
    assert header is not None
    return int(header.split(",")[0].removeprefix("t="))


async def _deliveries(sandbox: Sandbox) -> list[dict[str, Any]]:
    response = await sandbox.client.get("/_sandbox/events", headers=AUTH)
    deliveries: list[dict[str, Any]] = response.json()["deliveries"]
    return deliveries


async def _pay_new_session(sandbox: Sandbox, **extra: str) -> str:
    session = await create_session(sandbox.client, **extra)
    await sandbox.client.post(f"/pay/{session['id']}", data=card_form())
    return str(session["id"])


async def _set_faults(sandbox: Sandbox, **faults: object) -> None:
    response = await sandbox.client.post("/_sandbox/faults", json=faults, headers=AUTH)
    assert response.status_code == 200, response.text


async def test_event_shape_and_valid_signature(sandbox: Sandbox) -> None:
    session_id = await _pay_new_session(sandbox)
    await sandbox.receiver.wait_for(1)
    body, header = sandbox.receiver.received[0]
    assert header is not None
    timestamp = _timestamp(header)
    verify_signature(body, header, SECRET, now=timestamp)  # raises when it does not match
    event = json.loads(body)
    assert event["id"].startswith("evt_")
    assert event["object"] == "event"
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["id"] == session_id
    assert event["data"]["object"]["payment_status"] == "paid"


async def test_retries_with_backoff_until_the_receiver_accepts(
    sandbox_factory: SandboxFactory,
) -> None:
    receiver = Receiver(fail_first=2)
    async with sandbox_factory(receiver) as sandbox:
        await _pay_new_session(sandbox)
        await receiver.wait_for(1)
        assert receiver.attempts == 3
        [delivery] = await _deliveries(sandbox)
        assert delivery["state"] == "delivered"
        assert delivery["attempts"] == 3


async def test_gives_up_after_the_schedule(sandbox_factory: SandboxFactory) -> None:
    receiver = Receiver(fail_first=100)
    async with sandbox_factory(receiver, webhook_retry_schedule=(0.01, 0.01)) as sandbox:
        await _pay_new_session(sandbox)
        for _ in range(200):
            [delivery] = await _deliveries(sandbox)
            if delivery["state"] == "failed":
                break
            await asyncio.sleep(0.01)
        assert delivery["state"] == "failed"
        assert delivery["attempts"] == 3
        assert delivery["last_status"] == 500


async def test_pending_deliveries_survive_a_restart(sandbox_factory: SandboxFactory) -> None:
    down = Receiver(fail_first=100)
    async with sandbox_factory(down, webhook_retry_schedule=(0.3,)) as sandbox:
        await _pay_new_session(sandbox)
        async with asyncio.timeout(5):
            await down.attempted.wait()
    up = Receiver()
    async with sandbox_factory(up, webhook_retry_schedule=(0.3,)) as sandbox:
        # the new process finds the stored delivery and finishes it
        await up.wait_for(1)
        assert _types(up) == ["checkout.session.completed"]
        [delivery] = await _deliveries(sandbox)
        assert delivery["state"] == "delivered"


async def test_duplicate_fault_sends_the_same_event_twice(sandbox: Sandbox) -> None:
    await _set_faults(sandbox, duplicate=True)
    await _pay_new_session(sandbox)
    await sandbox.receiver.wait_for(2)
    first, second = _ids(sandbox.receiver)
    assert first == second


async def test_reorder_fault_sends_the_next_event_first(sandbox: Sandbox) -> None:
    await _set_faults(sandbox, reorder=True)
    first = await _pay_new_session(sandbox)
    second = await _pay_new_session(sandbox)
    await sandbox.receiver.wait_for(2)
    sessions = [json.loads(body)["data"]["object"]["id"] for body, _ in sandbox.receiver.received]
    assert sessions == [second, first]


async def test_wrong_secret_fault_signs_with_another_secret(sandbox: Sandbox) -> None:
    await _set_faults(sandbox, wrong_secret=True)
    await _pay_new_session(sandbox)
    await sandbox.receiver.wait_for(1)
    body, header = sandbox.receiver.received[0]
    assert header is not None
    with pytest.raises(WebhookError) as refused:
        verify_signature(body, header, SECRET, now=_timestamp(header))
    assert refused.value.code == "signature_mismatch"


async def test_replay_fault_resends_an_old_delivery_verbatim(sandbox: Sandbox) -> None:
    await _pay_new_session(sandbox)
    await sandbox.receiver.wait_for(1)
    await _set_faults(sandbox, replay=True)
    await _pay_new_session(sandbox)
    await sandbox.receiver.wait_for(3)
    (body1, header1), (_, _), (body3, header3) = sandbox.receiver.received
    assert (body3, header3) == (body1, header1)


async def test_delay_and_per_session_faults_from_metadata(sandbox: Sandbox) -> None:
    await _pay_new_session(sandbox, **{"metadata[sandbox_fault_duplicate]": "true"})
    await sandbox.receiver.wait_for(2)
    assert len(set(_ids(sandbox.receiver))) == 1
    await _pay_new_session(sandbox, **{"metadata[sandbox_fault_delay]": "0.2"})
    await sandbox.receiver.wait_for(3)
    deliveries = await _deliveries(sandbox)
    assert deliveries[-1]["due_at"] <= deliveries[-1]["last_attempt_at"]
    assert deliveries[-1]["last_attempt_at"] - deliveries[0]["last_attempt_at"] >= 0.2


async def test_faults_are_listed_validated_and_reset(sandbox: Sandbox) -> None:
    await _set_faults(sandbox, duplicate=True, delay=1.5)
    listed = (await sandbox.client.get("/_sandbox/faults", headers=AUTH)).json()
    assert listed == {
        "duplicate": True,
        "reorder": False,
        "delay": 1.5,
        "wrong_secret": False,
        "replay": False,
    }
    bad = await sandbox.client.post("/_sandbox/faults", json={"explode": True}, headers=AUTH)
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "explode"
    reset = await sandbox.client.delete("/_sandbox/faults", headers=AUTH)
    assert reset.json()["duplicate"] is False
    bad_meta = await sandbox.client.post(
        "/v1/checkout/sessions",
        data={
            "mode": "payment",
            "success_url": "https://shop.test/ok",
            "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "100",
            "line_items[0][price_data][product_data][name]": "A",
            "line_items[0][quantity]": "1",
            "metadata[sandbox_fault_delay]": "soon",
        },
        headers=AUTH,
    )
    assert bad_meta.json()["error"]["param"] == "metadata[sandbox_fault_delay]"
