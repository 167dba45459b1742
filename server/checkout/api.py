"""Checkout over HTTP: freeze, pay, cancel, hand off, status, provider webhooks, return page.

- ``POST /api/v1/rooms/{room_id}/checkout`` (host token): ``{mode, all_or_nothing,
  participants}`` (``participants``: who an equal split bills, as the host picked them; null or
  absent: the room's default); anything price-like in the body is ignored — the server prices
  from the catalogue.
- ``GET  /api/v1/rooms/{room_id}/checkout`` (member token): latest snapshot and order.
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/pay`` (payer token): the hosted page URL
  for the caller's share; the client navigates there top-level, never in an iframe.
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/cancel`` (host token).
- ``POST /api/v1/rooms/{room_id}/checkout/handoff`` (host token): the merchant cart permalink.
- ``POST /webhooks/{provider}``: verified over the raw body; 503 without a secret.
- ``GET  /checkout/return``: only displays; fulfilment happens through webhooks.

No route accepts card fields. Handlers translate errors into problem+json and hold no rules.
Every member route asks the room for the caller's standing first (``server.api.members``): a
kicked or banned member's token is ``403 kicked`` / ``403 banned``, and the role the service
checks is the member's role now, not the one the token was minted with.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from checkout_bridge.errors import SplitError, WebhookError
from checkout_bridge.splits import parse_mode
from rooms import RoomError
from server.api.common import check_text, path_param, query_param, read_json
from server.api.members import require_member
from server.auth import MemberClaims
from server.checkout.errors import CheckoutFlowError
from server.checkout.service import CheckoutService
from server.http.problem import ProblemError
from server.hub.hub import HubFull, RoomNotFound
from server.pages import render_message

__all__ = ["checkout_routes"]

_MAX_WEBHOOK_BYTES = 256 * 1024


def _service(request: Request) -> CheckoutService:
    service: CheckoutService | None = getattr(request.app.state, "checkout", None)
    if service is None:
        raise ProblemError(503, "payments_unconfigured", "checkout is not enabled on this server")
    return service


async def _claims(request: Request) -> MemberClaims:
    """The caller as the room sees them now (401 without a member token, 403 if removed)."""
    return await require_member(request, path_param(request, "room_id"))


def _problem(exc: Exception) -> ProblemError:
    if isinstance(exc, CheckoutFlowError):
        return ProblemError(exc.status, exc.code, exc.message, extra=exc.extra)
    if isinstance(exc, RoomNotFound):
        return ProblemError(404, "room_not_found", str(exc))
    if isinstance(exc, HubFull):
        return ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"})
    if isinstance(exc, RoomError):
        return ProblemError(409, exc.code, str(exc))
    raise exc


async def _run(coro: Any) -> JSONResponse:
    try:
        result = await coro
    except (CheckoutFlowError, RoomNotFound, HubFull, RoomError) as exc:
        raise _problem(exc) from exc
    return JSONResponse(result)


async def freeze(request: Request) -> JSONResponse:
    service = _service(request)
    claims = await _claims(request)
    data = await read_json(request)
    try:
        mode = parse_mode(data.get("mode", "host_pays"))
    except SplitError as exc:
        raise ProblemError(422, exc.code, exc.message, extra={"field": "mode"}) from exc
    all_or_nothing = data.get("all_or_nothing", False)
    if not isinstance(all_or_nothing, bool):
        raise ProblemError(422, "invalid_field", "all_or_nothing must be true or false")
    participants = _participants(data.get("participants"))
    # Every other field (prices, totals, lines) is ignored on purpose.
    return await _run(service.freeze(claims.room_id, claims, mode, all_or_nothing, participants))


_MAX_PARTICIPANTS = 100


def _participants(value: Any) -> list[str] | None:
    """``participants``: the member ids the host picked for an equal split (null: the room's
    default). The room checks that each is in it; here only the shape is checked."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > _MAX_PARTICIPANTS
        or not all(isinstance(item, str) and 1 <= len(item) <= 64 for item in value)
    ):
        raise ProblemError(
            422,
            "invalid_field",
            "participants must be a list of member ids",
            extra={"field": "participants"},
        )
    return [check_text(item, "participants") for item in value]


async def status(request: Request) -> JSONResponse:
    service = _service(request)
    claims = await _claims(request)
    return await _run(service.status(claims.room_id, claims))


async def pay(request: Request) -> JSONResponse:
    service = _service(request)
    claims = await _claims(request)
    order_id = path_param(request, "order_id")
    return await _run(service.pay(claims.room_id, order_id, claims))


async def cancel(request: Request) -> JSONResponse:
    service = _service(request)
    claims = await _claims(request)
    order_id = path_param(request, "order_id")
    return await _run(service.cancel(claims.room_id, order_id, claims))


async def handoff(request: Request) -> JSONResponse:
    service = _service(request)
    claims = await _claims(request)
    return await _run(service.handoff(claims.room_id, claims))


async def webhook(request: Request) -> JSONResponse:
    provider = path_param(request, "provider")
    service: CheckoutService | None = getattr(request.app.state, "checkout", None)
    if service is None or not service.settings.webhook_secret:
        raise ProblemError(503, "webhook_secret_missing", "no webhook secret is configured")
    body = b""
    async for chunk in request.stream():  # the raw bytes, exactly as signed
        body += chunk
        if len(body) > _MAX_WEBHOOK_BYTES:
            raise ProblemError(413, "body_too_large", "webhook body too large")
    header = request.headers.get("stripe-signature")
    try:
        result = await service.handle_webhook(provider, body, header)
    except WebhookError as exc:
        status = 503 if exc.code == "webhook_secret_missing" else 400
        raise ProblemError(status, exc.code, exc.message) from exc
    except (CheckoutFlowError, RoomNotFound, HubFull, RoomError) as exc:
        raise _problem(exc) from exc
    return JSONResponse(result)


async def return_page(request: Request) -> Response:
    """Where the provider sends the payer back. It shows the state; it fulfils nothing."""
    service: CheckoutService | None = getattr(request.app.state, "checkout", None)
    order_id = check_text(request.query_params.get("order", "")[:64], "order")
    room_id = check_text(request.query_params.get("room", "")[:64], "room")
    canceled = query_param(request, "canceled", max_len=8) == "1"
    order = None if service is None or not order_id else await service.order_status(order_id)
    if canceled:
        title, message = "Payment not completed", "You left the payment page. Nothing was charged."
    elif order is None:
        title, message = "Thank you", "We are waiting for the payment provider's confirmation."
    elif order.status == "paid":
        title, message = "Order paid", "Every share is paid. The room has the details."
    elif order.status == "void":
        title, message = "Order cancelled", "This order was cancelled; any payment is refunded."
    else:
        title = "Thank you"
        message = (
            "Your payment is being confirmed by the provider. "
            f"{len(order.paid_payers)} of {len(order.shares)} shares are paid."
        )
    link = None
    if room_id and order is not None and order.room_id == room_id:
        outcome = "cancel" if canceled else "success"
        link = (f"/r/{quote(room_id)}?checkout={outcome}", "Back to the room")
    return render_message(request, title, message, link=link)


async def _checkout(request: Request) -> JSONResponse:
    # One route for both methods, so a 405 on this path names both in its Allow header.
    return await (freeze(request) if request.method == "POST" else status(request))


def checkout_routes() -> list[BaseRoute]:
    base = "/api/v1/rooms/{room_id}/checkout"
    return [
        Route(base, _checkout, methods=["GET", "POST"]),
        Route(f"{base}/handoff", handoff, methods=["POST"]),
        Route(base + "/{order_id}/pay", pay, methods=["POST"]),
        Route(base + "/{order_id}/cancel", cancel, methods=["POST"]),
        Route("/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/checkout/return", return_page, methods=["GET"]),
    ]
