"""The webhook endpoints' REST surface: validation with problem codes, update, delete, rotate
(both secrets sign during the grace period), and the URL rules of production mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.webhooks.urls import UrlRefused, check_url, resolve_public
from tests.server.checkout.support import checkout_env
from tests.server.webhook_receiver import add_endpoint, demo_key, receiver, verify_all


async def test_endpoints_are_validated_listed_updated_rotated_and_deleted(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env, receiver() as rx:
        env.app.state.webhooks.worker.schedule = (0.05,)
        key = await demo_key(env)
        auth = {"Authorization": f"Bearer {key}"}
        base = "/api/v1/merchant/webhooks"

        r = await env.http.post(base, json={"url": rx.url, "events": ["*"]})
        assert r.status_code == 401 and r.json()["code"] == "invalid_api_key"
        bad = [
            ({"events": ["*"]}, "invalid_field", "url"),
            ({"url": rx.url}, "invalid_field", "events"),
            ({"url": "ftp://shop.example/x", "events": ["*"]}, "invalid_webhook_url", "url"),
            ({"url": "https://u:p@shop.example/", "events": ["*"]}, "invalid_webhook_url", "url"),
            ({"url": rx.url, "events": []}, "invalid_field", "events"),
            ({"url": rx.url, "events": ["order.shipped"]}, "unknown_webhook_event", "events"),
            ({"url": rx.url, "events": ["*"], "description": 5}, "invalid_field", "description"),
        ]
        for body, code, field in bad:
            r = await env.http.post(base, json=body, headers=auth)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["code"] == code and r.json()["field"] == field, body

        # Reserved event types may be subscribed to already.
        endpoint = await add_endpoint(env.http, key, rx.url, ["member.joined", "show.starting"])
        one = f"{base}/{endpoint['id']}"
        listed = (await env.http.get(base, headers=auth)).json()["webhooks"]
        assert [e["id"] for e in listed] == [endpoint["id"]]
        assert "secret" not in listed[0]  # only the endpoint itself shows it
        assert (await env.http.get(one, headers=auth)).json()["secret"] == endpoint["secret"]

        r = await env.http.patch(one, json={"events": ["room.created"]}, headers=auth)
        assert r.status_code == 200 and r.json()["events"] == ["room.created"]
        r = await env.http.patch(one, json={"enabled": "yes"}, headers=auth)
        assert r.status_code == 422 and r.json()["field"] == "enabled"

        # Rotation: the new secret is shown; deliveries carry a signature for each secret.
        r = await env.http.post(f"{one}/secret", headers=auth)
        assert r.status_code == 200, r.text
        rotated = r.json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
        assert rotated["previous_secret_valid_until"] is not None
        await env.room()
        await rx.until_types("room.created")
        assert len(rx.received[0].headers["webhook-signature"].split(" ")) == 2
        verify_all(rx.received, rotated["secret"])
        verify_all(rx.received, endpoint["secret"])  # a receiver not yet rolled over

        missing = f"{base}/we_nope"
        for method in ("GET", "PATCH", "DELETE"):
            body = {} if method == "PATCH" else None
            r = await env.http.request(method, missing, headers=auth, json=body)
            assert r.status_code == 404 and r.json()["code"] == "webhook_not_found"
        r = await env.http.get(f"{one}/deliveries/dlv_nope", headers=auth)
        assert r.status_code == 404 and r.json()["code"] == "delivery_not_found"
        r = await env.http.get(f"{one}/deliveries?limit=0", headers=auth)
        assert r.status_code == 400 and r.json()["code"] == "invalid_parameter"

        page = (await env.http.get(f"{one}/deliveries?limit=1", headers=auth)).json()
        assert len(page["deliveries"]) == 1

        assert (await env.http.delete(one, headers=auth)).status_code == 204
        assert (await env.http.get(base, headers=auth)).json()["webhooks"] == []
        assert (await env.http.get(one, headers=auth)).status_code == 404


async def test_a_merchant_has_at_most_twenty_endpoints(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        key = await demo_key(env)
        for n in range(20):
            await add_endpoint(env.http, key, f"http://127.0.0.1:9/{n}", ["*"])
        r = await env.http.post(
            "/api/v1/merchant/webhooks",
            json={"url": "http://127.0.0.1:9/x", "events": ["*"]},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 409 and r.json()["code"] == "too_many_webhooks"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://shop.example/hook", "webhook_url_not_https"),
        ("https://127.0.0.1/hook", "webhook_url_private"),
        ("https://[::1]/hook", "webhook_url_private"),
        ("https://10.1.2.3/hook", "webhook_url_private"),
        ("https://192.168.0.10/hook", "webhook_url_private"),
        ("https://169.254.169.254/latest", "webhook_url_private"),
        ("https://[::ffff:127.0.0.1]/hook", "webhook_url_private"),
        ("https://localhost/hook", "webhook_url_private"),
        ("https://printer.local/hook", "webhook_url_private"),
        ("https://intranet/hook", "webhook_url_private"),
        ("https://shop.example:0/hook", "invalid_webhook_url"),
        ("https://shop.example/hook#x", "invalid_webhook_url"),
        ("not a url", "invalid_webhook_url"),
    ],
)
def test_production_refuses_plain_http_and_private_addresses(url: str, code: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url, production=True)
    assert refused.value.code == code


def test_development_allows_a_receiver_on_this_machine() -> None:
    assert check_url("http://127.0.0.1:8000/hook", production=False)
    assert check_url("https://shop.example/hooks/coshop", production=True)
    assert check_url("https://8.8.8.8/hook", production=True)


async def test_before_each_send_the_address_is_checked_again() -> None:
    await resolve_public("https://8.8.8.8/hook")
    with pytest.raises(UrlRefused) as refused:
        await resolve_public("https://127.0.0.1/hook")
    assert refused.value.code == "webhook_url_private"
    with pytest.raises(UrlRefused) as refused:
        await resolve_public("https://no-such-host.invalid/hook")
    assert refused.value.code == "webhook_url_unresolvable"
