"""The Stripe-shaped HTTP API of the sandbox (``/v1/...``) and its test knobs (``/_sandbox/...``).

Bodies are form-encoded with Stripe's bracket syntax; answers are JSON objects or Stripe-style
error objects with the matching HTTP status. Authentication: ``Authorization: Bearer <key>`` or
HTTP basic with the key as user name. ``Idempotency-Key`` on a POST replays the first answer for
the same parameters and refuses different ones. This module parses and renders; the rules live
in :mod:`~checkout_bridge.sandbox.service`.

API version: the sandbox implements one Stripe API version, :data:`~.service.API_VERSION`. A
request without ``Stripe-Version`` gets that version (as an account pinned to it would); a
request naming another version is refused with 400 ``api_version_unsupported`` rather than
answered in shapes it did not ask for. Every ``/v1`` answer carries ``Stripe-Version``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout_bridge.sandbox.errors import (
    AuthenticationFailed,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    SandboxError,
)
from checkout_bridge.sandbox.faults import FaultsError
from checkout_bridge.sandbox.forms import FormValue, decode_form, fingerprint_source
from checkout_bridge.sandbox.service import API_VERSION, SandboxService
from checkout_bridge.sandbox.store import SandboxStore

__all__ = ["api_routes"]

Handler = Callable[[Request, dict[str, FormValue]], Awaitable[dict[str, object]]]


def _service(request: Request) -> SandboxService:
    service: SandboxService = request.app.state.sandbox_service
    return service


def _authenticate(request: Request) -> None:
    expected: str = request.app.state.sandbox_config.api_key
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise AuthenticationFailed(
            "api_key_missing",
            "You did not provide an API key. Send it as a Bearer token in the Authorization "
            "header.",
        )
    if not hmac.compare_digest(key.encode(), expected.encode()):
        raise AuthenticationFailed("api_key_invalid", "Invalid API Key provided.")


def _check_version(request: Request) -> None:
    requested = request.headers.get("stripe-version")
    if requested is None or requested == API_VERSION:
        return
    raise InvalidRequest(
        "api_version_unsupported",
        f"The sandbox answers for Stripe API version {API_VERSION} only, not "
        f"{requested[:40]!r}. Pin the client to {API_VERSION} (see docs/sandbox.md).",
    )


def _error_response(error: SandboxError) -> JSONResponse:
    return JSONResponse(error.to_dict(), status_code=error.status)


async def _pairs(request: Request) -> list[tuple[str, str]]:
    if request.method == "GET":
        return list(request.query_params.multi_items())
    body = (await request.body()).decode("utf-8", errors="strict")
    return parse_qsl(body, keep_blank_values=True)


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with authentication, the version check, form decoding, idempotency and
    error rendering."""

    async def run(request: Request) -> Response:
        response = await _run(request)
        response.headers["Stripe-Version"] = API_VERSION
        return response

    async def _run(request: Request) -> Response:
        try:
            _authenticate(request)
            _check_version(request)
            try:
                pairs = await _pairs(request)
                form = decode_form(pairs)
            except (UnicodeDecodeError, ValueError) as exc:
                raise InvalidRequest("parameter_invalid", f"Malformed parameters: {exc}") from exc
            key = request.headers.get("idempotency-key")
            if request.method != "POST" or not key:
                return JSONResponse(await handler(request, form))
            return await _idempotent(request, key, pairs, form, handler)
        except SandboxError as error:
            return _error_response(error)

    return run


async def _idempotent(
    request: Request,
    key: str,
    pairs: list[tuple[str, str]],
    form: dict[str, FormValue],
    handler: Handler,
) -> Response:
    store: SandboxStore = request.app.state.sandbox_store
    lock: asyncio.Lock = request.app.state.sandbox_idempotency_lock
    fingerprint = fingerprint_source(request.method, request.url.path, pairs)
    async with lock:  # one idempotent request at a time: a concurrent retry waits, then replays
        async with store.transaction() as tx:
            remembered = await tx.idempotent_response(key)
        if remembered is not None:
            old_fingerprint, status, body = remembered
            if old_fingerprint != fingerprint:
                raise IdempotencyConflict(
                    "idempotency_key_in_use",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                )
            return Response(
                body,
                status_code=status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
            )
        try:
            status, payload = 200, await handler(request, form)
        except SandboxError as error:
            status, payload = error.status, error.to_dict()
        body = json.dumps(payload)
        async with store.transaction() as tx:
            await tx.remember_response(key, fingerprint, status, body)
    return Response(
        body, status_code=status, media_type="application/json", headers={"Idempotency-Key": key}
    )


async def _create_session(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).create_session(form)


async def _retrieve_session(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return (await _service(request).session(request.path_params["session_id"])).doc


async def _expire_session(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).expire_session(request.path_params["session_id"])


async def _line_items(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).line_items(request.path_params["session_id"])


async def _refund(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).refund(form)


async def _retrieve_intent(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).payment_intent(request.path_params["intent_id"])


async def _capture(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).capture(request.path_params["intent_id"], form)


async def _cancel(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    return await _service(request).cancel(request.path_params["intent_id"])


async def _unknown(request: Request, form: dict[str, FormValue]) -> dict[str, object]:
    raise NotFound(
        "unrecognized_request_url",
        f"Unrecognized request URL ({request.method}: {request.url.path}). The sandbox "
        "implements a subset of Stripe's API; see docs/sandbox.md.",
    )


async def _faults(request: Request) -> Response:
    try:
        _authenticate(request)
        service = _service(request)
        if request.method == "GET":
            return JSONResponse((await service.faults()).to_dict())
        if request.method == "DELETE":
            return JSONResponse((await service.update_faults(None)).to_dict())
        try:
            changes = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise InvalidRequest("parameter_invalid", "The body must be a JSON object.") from exc
        if not isinstance(changes, dict):
            raise InvalidRequest("parameter_invalid", "The body must be a JSON object.")
        try:
            return JSONResponse((await service.update_faults(changes)).to_dict())
        except FaultsError as exc:
            raise InvalidRequest("parameter_invalid", str(exc), exc.param) from exc
    except SandboxError as error:
        return _error_response(error)


async def _events(request: Request) -> Response:
    try:
        _authenticate(request)
    except SandboxError as error:
        return _error_response(error)
    return JSONResponse(await _service(request).events_and_deliveries())


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def api_routes() -> list[Route]:
    return [
        Route("/v1/checkout/sessions", endpoint(_create_session), methods=["POST"]),
        Route("/v1/checkout/sessions/{session_id}", endpoint(_retrieve_session), methods=["GET"]),
        Route(
            "/v1/checkout/sessions/{session_id}/expire",
            endpoint(_expire_session),
            methods=["POST"],
        ),
        Route(
            "/v1/checkout/sessions/{session_id}/line_items",
            endpoint(_line_items),
            methods=["GET"],
        ),
        Route("/v1/refunds", endpoint(_refund), methods=["POST"]),
        Route("/v1/payment_intents/{intent_id}", endpoint(_retrieve_intent), methods=["GET"]),
        Route("/v1/payment_intents/{intent_id}/capture", endpoint(_capture), methods=["POST"]),
        Route("/v1/payment_intents/{intent_id}/cancel", endpoint(_cancel), methods=["POST"]),
        Route("/v1/{rest:path}", endpoint(_unknown), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/faults", _faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/events", _events, methods=["GET"]),
        Route("/healthz", _health, methods=["GET"]),
    ]
