"""Checkout over HTTP: freeze, pay, cancel, hand off, status, provider webhooks, return page.

- ``POST /api/v1/rooms/{room_id}/checkout`` (host token): ``{mode, all_or_nothing}``; anything
  price-like in the body is ignored — the server prices from the catalogue.
- ``GET  /api/v1/rooms/{room_id}/checkout`` (member token): latest snapshot and order.
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/pay`` (payer token): the hosted page URL
  for the caller's share; the client navigates there top-level, never in an iframe.
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/cancel`` (host token).
- ``POST /api/v1/rooms/{room_id}/checkout/handoff`` (host token): the merchant cart permalink.
- ``POST /webhooks/{provider}``: verified over the raw body; 503 without a secret.
- ``GET  /checkout/return``: only displays; fulfilment happens through webhooks.

No route accepts card fields. Handlers translate errors into problem+json and hold no rules.
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
from server.api.common import bearer, read_json
from server.auth import AuthError, MemberClaims, TokenSigner
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


def _claims(request: Request) -> MemberClaims:
    room_id = str(request.path_params["room_id"])
    token = bearer(request)
    signer: TokenSigner = request.app.state.signer
    try:
        claims = signer.read_member_token(token)
    except AuthError as exc:
        raise ProblemError(401, exc.code, "send a member token of this room") from exc
    if claims.room_id != room_id:
        raise ProblemError(401, "token_invalid", "this token is for another room")
    return claims


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
    claims = _claims(request)
    data = await read_json(request)
    try:
        mode = parse_mode(data.get("mode", "host_pays"))
    except SplitError as exc:
        raise ProblemError(422, exc.code, exc.message, extra={"field": "mode"}) from exc
    all_or_nothing = data.get("all_or_nothing", False)
    if not isinstance(all_or_nothing, bool):
        raise ProblemError(422, "invalid_field", "all_or_nothing must be true or false")
    # Every other field (prices, totals, lines) is ignored on purpose.
    return await _run(service.freeze(claims.room_id, claims, mode, all_or_nothing))


async def status(request: Request) -> JSONResponse:
    service = _service(request)
    claims = _claims(request)
    return await _run(service.status(claims.room_id))


async def pay(request: Request) -> JSONResponse:
    service = _service(request)
    claims = _claims(request)
    order_id = str(request.path_params["order_id"])
    return await _run(service.pay(claims.room_id, order_id, claims))


async def cancel(request: Request) -> JSONResponse:
    service = _service(request)
    claims = _claims(request)
    order_id = str(request.path_params["order_id"])
    return await _run(service.cancel(claims.room_id, order_id, claims))


async def handoff(request: Request) -> JSONResponse:
    service = _service(request)
    claims = _claims(request)
    return await _run(service.handoff(claims.room_id, claims))


async def webhook(request: Request) -> JSONResponse:
    provider = str(request.path_params["provider"])
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
    order_id = request.query_params.get("order", "")[:64]
    room_id = request.query_params.get("room", "")[:64]
    canceled = request.query_params.get("canceled") == "1"
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


def checkout_routes() -> list[BaseRoute]:
    base = "/api/v1/rooms/{room_id}/checkout"
    return [
        Route(base, freeze, methods=["POST"]),
        Route(base, status, methods=["GET"]),
        Route(f"{base}/handoff", handoff, methods=["POST"]),
        Route(base + "/{order_id}/pay", pay, methods=["POST"]),
        Route(base + "/{order_id}/cancel", cancel, methods=["POST"]),
        Route("/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/checkout/return", return_page, methods=["GET"]),
    ]
