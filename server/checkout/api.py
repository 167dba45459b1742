"""Checkout over HTTP: freeze, pay, cancel, hand off, status, provider webhooks, return page.

- ``POST /api/v1/rooms/{room_id}/checkout`` (host token): ``{mode, all_or_nothing,
  participants}`` (``participants``: who an equal split bills, as the host picked them; null or
  absent: the room's default); anything price-like in the body is ignored — the server prices
  from the catalogue. By a live viewer (``check_out_own``): ``{line_ids?, buy?, drop?,
  accept_prices?}`` (``drop``: claim a running drop and pay for it, server/checkout/drops.py)
  — an order of the viewer's own lines while the show goes on (server/checkout/viewer.py); the
  answer carries the payment page (``pay``).
- ``GET  /api/v1/rooms/{room_id}/checkout`` (member token): latest snapshot and order.
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/pay`` (payer token): the hosted page URL
  for the caller's share; the client navigates there top-level, never in an iframe.
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/cancel`` (host token; a live viewer for
  their own order).
- ``POST /api/v1/rooms/{room_id}/checkout/{order_id}/holdout`` (host token): ``{payer, choice}``
  — a payer who did not pay: ``host_covers``, ``split_others`` or ``drop_lines``; the order is
  re-planned and the room shows everyone the choice.
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
from checkout_bridge.orders import HOLDOUT_CHOICES
from checkout_bridge.splits import parse_mode
from rooms import RoomError
from server.api.common import check_text, path_param, query_param, read_json
from server.api.members import require_member
from server.auth import MemberClaims
from server.checkout.drops import DropClaimRequest
from server.checkout.errors import CheckoutFlowError
from server.checkout.service import CheckoutService
from server.checkout.viewer import Buy
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
    accept_prices = data.get("accept_prices", False)
    if not isinstance(accept_prices, bool):
        raise ProblemError(
            422,
            "invalid_field",
            "accept_prices must be true or false",
            extra={"field": "accept_prices"},
        )
    # Every other field (prices, totals) is ignored on purpose.
    return await _run(
        service.check_out(
            claims.room_id,
            claims,
            mode=mode,
            all_or_nothing=all_or_nothing,
            participants=participants,
            line_ids=_line_ids(data.get("line_ids")),
            buy=_buy(data.get("buy")),
            accept_prices=accept_prices,
            drop=_drop(data.get("drop")),
        )
    )


_MAX_LINES = 50


def _line_ids(value: Any) -> list[str] | None:
    """``line_ids``: which of a live viewer's own lines to check out (null: all of them)."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= _MAX_LINES
        or not all(isinstance(item, str) and 1 <= len(item) <= 64 for item in value)
    ):
        raise ProblemError(
            422, "invalid_field", "line_ids must list 1-50 line ids", extra={"field": "line_ids"}
        )
    return [check_text(item, "line_ids") for item in value]


def _buy(value: Any) -> Buy | None:
    """``buy``: "Buy now" — ``{sku, variant, quantity}`` added for a live viewer and checked
    out alone, in one step."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProblemError(422, "invalid_field", "buy must be an object", extra={"field": "buy"})
    sku, variant, quantity = value.get("sku"), value.get("variant"), value.get("quantity", 1)
    if isinstance(quantity, float) and quantity.is_integer():
        quantity = int(quantity)  # JSON has one number type: 2.0 is the integer 2
    if (
        not isinstance(sku, str)
        or not 1 <= len(sku) <= 64
        or not (variant is None or (isinstance(variant, str) and 1 <= len(variant) <= 64))
        or not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= 99
    ):
        raise ProblemError(
            422,
            "invalid_field",
            "buy needs a sku, a variant (or null) and a quantity 1-99",
            extra={"field": "buy"},
        )
    return Buy(
        check_text(sku, "buy"), None if variant is None else check_text(variant, "buy"), quantity
    )


def _drop(value: Any) -> DropClaimRequest | None:
    """``drop``: claim a running drop — ``{drop_id, variant?, quantity?}`` — and, on a win, pay
    for it in the same step (server/checkout/drops.py)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProblemError(422, "invalid_field", "drop must be an object", extra={"field": "drop"})
    drop_id, variant, quantity = (
        value.get("drop_id"),
        value.get("variant"),
        value.get("quantity", 1),
    )
    if isinstance(quantity, float) and quantity.is_integer():
        quantity = int(quantity)
    if (
        not isinstance(drop_id, str)
        or not 1 <= len(drop_id) <= 64
        or not (variant is None or (isinstance(variant, str) and 1 <= len(variant) <= 64))
        or not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= 99
    ):
        raise ProblemError(
            422,
            "invalid_field",
            "drop needs a drop_id, a variant (or null) and a quantity 1-99",
            extra={"field": "drop"},
        )
    return DropClaimRequest(
        check_text(drop_id, "drop"),
        None if variant is None else check_text(variant, "drop"),
        quantity,
    )


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


async def holdout(request: Request) -> JSONResponse:
    service = _service(request)
    claims = await _claims(request)
    order_id = path_param(request, "order_id")
    data = await read_json(request)
    payer, choice = data.get("payer"), data.get("choice")
    if not isinstance(payer, str) or not 1 <= len(payer) <= 64:
        raise ProblemError(
            422, "invalid_field", "payer must be a member id", extra={"field": "payer"}
        )
    if not isinstance(choice, str) or choice not in HOLDOUT_CHOICES:
        raise ProblemError(
            422,
            "invalid_field",
            f"choice must be one of {', '.join(HOLDOUT_CHOICES)}",
            extra={"field": "choice"},
        )
    payer = check_text(payer, "payer")
    return await _run(service.resolve_holdout(claims.room_id, order_id, claims, payer, choice))


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
        title, message = (
            "Order paid",
            (
                "Every share is paid. The room has the details."
                if len(order.shares) > 1
                else "Your receipt is in the room. Paid in a new tab? Close it to get back."
            ),
        )
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
        Route(base + "/{order_id}/holdout", holdout, methods=["POST"]),
        Route("/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/checkout/return", return_page, methods=["GET"]),
    ]
