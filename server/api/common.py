"""Request helpers for the REST API: JSON bodies with limits, bearer credentials, ids, time."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from server.http.problem import ProblemError

__all__ = [
    "bearer",
    "new_id",
    "normalize_origin",
    "now_ms",
    "read_json",
    "require_int",
    "require_str",
]

_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")


def normalize_origin(value: object) -> str | None:
    """``https://Shop.Example/`` → ``https://shop.example``; None if it is not a plain origin.

    Origins end up in CSP ``frame-ancestors`` headers and exact-match allow-lists, so only
    scheme://host[:port] is accepted: no userinfo, path, query, spaces or punctuation.
    """
    if not isinstance(value, str) or len(value) > 255:
        return None
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("https", "http") or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or not _HOST.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


_MAX_BODY = 16_384


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(9)}"


async def read_json(request: Request, *, max_bytes: int = _MAX_BODY) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ProblemError(415, "unsupported_media_type", "send the body as application/json")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ProblemError(413, "body_too_large", f"the body may be at most {max_bytes} bytes")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError) as exc:
        raise ProblemError(400, "invalid_json", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProblemError(400, "invalid_json", "the body must be a JSON object")
    return data


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_str(
    data: dict[str, Any], key: str, *, default: str | None = None, max_len: int = 200
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ProblemError(422, "invalid_field", f"{key} must be a string", extra={"field": key})
    if len(value) > max_len:
        raise ProblemError(
            422, "invalid_field", f"{key} may be at most {max_len} characters", extra={"field": key}
        )
    return value


def require_int(
    data: dict[str, Any], key: str, *, low: int, high: int, default: int | None = None
) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise ProblemError(
            422, "invalid_field", f"{key} must be an integer in {low}..{high}", extra={"field": key}
        )
    return value
