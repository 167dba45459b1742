"""Merchants over REST.

- ``POST /api/v1/merchants`` — register a merchant; needs the operator's admin token
  (``COSHOP_ADMIN_TOKEN`` as bearer; without one configured the route answers 404, so an
  unconfigured server exposes no admin surface). Answers the API key once; only its hash is kept.
- ``GET /api/v1/merchant`` — the calling merchant (API key as bearer): id, name, embed origins.
- ``PUT /api/v1/merchant/origins`` — replace the origins allowed to embed rooms.
- ``POST /api/v1/merchant/api-key`` — rotate the API key; the old key stops working at once.
- ``POST /api/v1/merchant/signing-secret`` — draw a new HS256 secret for customer tokens, shown
  once; the previous one keeps verifying for an hour (``server.identity.ROTATION_GRACE_MS``) so
  the shop's backend can roll over. ``DELETE`` stops HS256 at once (a leaked secret).
- ``PUT /api/v1/merchant/public-key`` — register the ES256 public key (PEM or JWK) for customer
  tokens; ``DELETE`` removes it.
- ``PUT /api/v1/merchant/sign-in-url`` — where shoppers sign in to the shop (``null`` clears):
  a room for signed-in customers only sends anonymous visitors there.
- ``GET / POST / DELETE /api/v1/merchant/publishable-key`` — the publishable key (``pk_…``) that
  lets the widget and the store QR page start a new room per shopper
  (``server.api.shopper_rooms``): read it with the snippet and the store's short URL, draw a new
  one (the old one stops at once), or turn it off.

docs/merchant-identity.md shows a shop's backend minting customer tokens.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.api.common import (
    bearer,
    merchant_caller,
    normalize_origin,
    now_ms,
    read_json,
    require_str,
)
from server.http.problem import ProblemError
from server.identity import ROTATION_GRACE_MS, IdentityError, normalize_public_key
from server.settings import Settings
from server.storage import AlreadyExists, Merchant, Registry

__all__ = ["SIGN_IN_URL", "merchant_routes", "new_publishable_key", "store_url"]

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{1,62}")
SIGN_IN_URL = re.compile(
    r"(https://[A-Za-z0-9.-]+|http://(localhost|127\.0\.0\.1))(:[0-9]{1,5})?([/?#][!-~]*)?"
)
"""A shop's sign-in page: https (or http on this machine), printable ASCII (the OpenAPI pattern)."""
_MAX_ORIGINS = 20
# A 4096-character key (or a 2048-character URL) of escaped non-ASCII text is up to 12 bytes a
# character in JSON: such a body is refused for what it says (422), not for its size.
_MAX_KEY_BODY = 131_072


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _merchant_json(m: Merchant) -> dict[str, Any]:
    return {
        "merchant_id": m.merchant_id,
        "name": m.name,
        "origins": list(m.origins),
        "sign_in_url": m.sign_in_url,
        "customer_tokens": {"hs256": m.has_signing_secret, "es256": m.has_public_key},
    }


def _new_key() -> str:
    return "ck_" + secrets.token_urlsafe(32)


def new_publishable_key() -> str:
    """A new publishable key: ``pk_`` and 32 random URL-safe characters."""
    return "pk_" + secrets.token_urlsafe(24)


def _new_signing_secret() -> str:
    return "cs_" + secrets.token_urlsafe(32)


def _sign_in_url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2048 or not SIGN_IN_URL.fullmatch(value):
        raise ProblemError(
            422, "invalid_field",
            "sign_in_url must be an https:// URL (http:// only for localhost) or null",
            extra={"field": "sign_in_url"},
        )  # fmt: skip
    return value


def _origins(data: dict[str, Any], *, required: bool = False) -> tuple[str, ...]:
    if required and "origins" not in data:
        raise ProblemError(
            422, "invalid_field", "origins is required", extra={"field": "origins"}
        )  # fmt: skip
    raw = data.get("origins", [])
    if not isinstance(raw, list) or len(raw) > _MAX_ORIGINS:
        raise ProblemError(
            422, "invalid_field", f"origins must be a list of at most {_MAX_ORIGINS}",
            extra={"field": "origins"},
        )  # fmt: skip
    out = []
    for value in raw:
        origin = normalize_origin(value)
        if origin is None:
            raise ProblemError(
                422, "invalid_origin", f"{str(value)[:80]!r} is not an origin like https://shop.example",
                extra={"field": "origins"},
            )  # fmt: skip
        out.append(origin)
    return tuple(dict.fromkeys(out))


async def create_merchant(request: Request) -> JSONResponse:
    """POST /api/v1/merchants"""
    settings: Settings = request.app.state.settings
    if not settings.admin_token:
        raise ProblemError(404, "not_found", "no such route")
    token = bearer(request) or ""
    if not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        raise ProblemError(401, "invalid_admin_token", "send the operator's admin token")
    data = await read_json(request)
    merchant_id = require_str(data, "merchant_id", max_len=63)
    if not _ID.fullmatch(merchant_id):
        raise ProblemError(
            422, "invalid_field", "merchant_id: 2-63 of a-z, 0-9, '-', '_'",
            extra={"field": "merchant_id"},
        )  # fmt: skip
    name = require_str(data, "name", max_len=120).strip() or merchant_id
    origins = _origins(data)
    key = _new_key()
    try:
        merchant = await _registry(request).create_merchant(
            merchant_id, name, origins, key, now_ms()
        )
    except AlreadyExists as exc:
        raise ProblemError(409, exc.code, f"merchant {merchant_id!r} already exists") from exc
    return JSONResponse({**_merchant_json(merchant), "api_key": key}, status_code=201)


async def me(request: Request) -> JSONResponse:
    """GET /api/v1/merchant"""
    return JSONResponse(_merchant_json(await merchant_caller(request)))


async def set_origins(request: Request) -> JSONResponse:
    """PUT /api/v1/merchant/origins"""
    merchant = await merchant_caller(request)
    origins = _origins(await read_json(request), required=True)
    await _registry(request).set_origins(merchant.merchant_id, origins)
    updated = await _registry(request).get_merchant(merchant.merchant_id)
    assert updated is not None
    return JSONResponse(_merchant_json(updated))


async def rotate_key(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/api-key"""
    merchant = await merchant_caller(request)
    key = _new_key()
    await _registry(request).rotate_api_key(merchant.merchant_id, key)
    return JSONResponse({"merchant_id": merchant.merchant_id, "api_key": key})


async def rotate_signing_secret(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/signing-secret"""
    merchant = await merchant_caller(request)
    secret, now = _new_signing_secret(), now_ms()
    grace_until = now + ROTATION_GRACE_MS if merchant.has_signing_secret else None
    await _registry(request).rotate_signing_secret(merchant.merchant_id, secret, now)
    return JSONResponse(
        {
            "merchant_id": merchant.merchant_id,
            "signing_secret": secret,
            "algorithm": "HS256",
            # the secret this one replaced (if any) verifies until then
            "previous_valid_until": grace_until,
        }
    )


async def delete_signing_secret(request: Request) -> JSONResponse:
    """DELETE /api/v1/merchant/signing-secret"""
    merchant = await merchant_caller(request)
    await _registry(request).clear_signing_secret(merchant.merchant_id)
    return await _current(request, merchant.merchant_id)


async def set_public_key(request: Request) -> JSONResponse:
    """PUT /api/v1/merchant/public-key"""
    merchant = await merchant_caller(request)
    data = await read_json(request, max_bytes=_MAX_KEY_BODY)
    try:
        pem = normalize_public_key(data.get("public_key"))
    except IdentityError as exc:
        raise ProblemError(exc.status, exc.code, str(exc), extra={"field": "public_key"}) from exc
    await _registry(request).set_public_key(merchant.merchant_id, pem)
    return await _current(request, merchant.merchant_id)


async def delete_public_key(request: Request) -> JSONResponse:
    """DELETE /api/v1/merchant/public-key"""
    merchant = await merchant_caller(request)
    await _registry(request).set_public_key(merchant.merchant_id, None)
    return await _current(request, merchant.merchant_id)


async def set_sign_in_url(request: Request) -> JSONResponse:
    """PUT /api/v1/merchant/sign-in-url"""
    merchant = await merchant_caller(request)
    data = await read_json(request, max_bytes=_MAX_KEY_BODY)
    if "sign_in_url" not in data:
        raise ProblemError(
            422, "invalid_field", "sign_in_url is required (null clears it)",
            extra={"field": "sign_in_url"},
        )  # fmt: skip
    url = _sign_in_url(data["sign_in_url"])
    await _registry(request).set_sign_in_url(merchant.merchant_id, url)
    return await _current(request, merchant.merchant_id)


async def _signing_secret(request: Request) -> JSONResponse:
    # one route per path, so a 405 names every method the path has (``Allow``)
    if request.method == "DELETE":
        return await delete_signing_secret(request)
    return await rotate_signing_secret(request)


async def _public_key(request: Request) -> JSONResponse:
    if request.method == "DELETE":
        return await delete_public_key(request)
    return await set_public_key(request)


def store_url(settings: Settings, merchant_id: str) -> str:
    """The short URL a store's QR sign points to: each shopper who opens it starts a room."""
    return f"{settings.public_url.rstrip('/')}/s/{merchant_id}"


async def _publishable_json(request: Request, merchant: Merchant) -> JSONResponse:
    settings: Settings = request.app.state.settings
    found = await _registry(request).publishable_key(merchant.merchant_id)
    base = settings.public_url.rstrip("/")
    key = None if found is None else found[0]
    snippet = (
        None
        if key is None
        else f'<script src="{base}/static/embed.js" data-key="{key}" async></script>'
    )
    return JSONResponse(
        {
            "merchant_id": merchant.merchant_id,
            "publishable_key": key,
            "created_at": None if found is None else found[1],
            # the key works only from these origins (and coshop's own pages)
            "origins": list(merchant.origins),
            "snippet": snippet,
            "store_url": None if key is None else store_url(settings, merchant.merchant_id),
            "sign_url": None if key is None else f"{base}/s/{merchant.merchant_id}/sign",
        }
    )


async def _publishable_key(request: Request) -> JSONResponse:
    """GET / POST / DELETE /api/v1/merchant/publishable-key"""
    merchant = await merchant_caller(request)
    if request.method == "POST":
        key = new_publishable_key()
        await _registry(request).set_publishable_key(merchant.merchant_id, key, now_ms())
    elif request.method == "DELETE":
        await _registry(request).clear_publishable_key(merchant.merchant_id)
    return await _publishable_json(request, merchant)


async def _current(request: Request, merchant_id: str) -> JSONResponse:
    updated = await _registry(request).get_merchant(merchant_id)
    assert updated is not None  # the caller's key was just found
    return JSONResponse(_merchant_json(updated))


def merchant_routes() -> list[Route]:
    return [
        Route("/api/v1/merchants", create_merchant, methods=["POST"]),
        Route("/api/v1/merchant", me, methods=["GET"]),
        Route("/api/v1/merchant/origins", set_origins, methods=["PUT"]),
        Route("/api/v1/merchant/api-key", rotate_key, methods=["POST"]),
        Route("/api/v1/merchant/signing-secret", _signing_secret, methods=["POST", "DELETE"]),
        Route("/api/v1/merchant/public-key", _public_key, methods=["PUT", "DELETE"]),
        Route("/api/v1/merchant/sign-in-url", set_sign_in_url, methods=["PUT"]),
        Route(
            "/api/v1/merchant/publishable-key",
            _publishable_key,
            methods=["GET", "POST", "DELETE"],
        ),
    ]
