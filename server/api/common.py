"""Request helpers for the REST API: JSON bodies with limits, bearer credentials, ids, time.

Every piece of client text is checked here before a route stores, counts or forwards it: a
JSON body may hold no lone surrogate anywhere (``json.loads`` makes one of ``"\\ud800"``, and
no UTF-8 encoder, database or token signer accepts it), and a text field, query parameter or
path parameter may hold no control character. Either is refused as ``422 invalid_text``
naming the field.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from server.http.problem import ProblemError
from server.ids import new_id, now_ms
from server.storage import Merchant, Registry

__all__ = [
    "bearer",
    "check_text",
    "merchant_caller",
    "new_id",
    "normalize_origin",
    "now_ms",
    "only_params",
    "path_param",
    "query_param",
    "read_json",
    "require_int",
    "require_str",
]

# Lone surrogates; and every control character (category Cc), which single-line fields refuse.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(text: str) -> str:
    """``text`` safe to echo in a problem (lone surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_text(value: str, field: str, *, multiline: bool = False) -> str:
    """``value`` if it is well-formed Unicode without control characters (newline and tab are
    allowed when ``multiline``); raises ``422 invalid_text`` naming ``field``."""
    if _SURROGATE.search(value) is not None:
        problem = "is not well-formed Unicode (lone surrogate)"
    elif (_CONTROL_MULTILINE if multiline else _CONTROL).search(value) is not None:
        problem = "contains a control character"
    else:
        return value
    field = _shown(field)
    raise ProblemError(422, "invalid_text", f"{field} {problem}", extra={"field": field})


def _check_body(data: Any) -> None:
    """Refuse a lone surrogate in any string or key of a parsed body (iteratively: a body may
    nest as deep as the JSON parser allows)."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value) is not None:
                check_text(value, path or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if _SURROGATE.search(key) is not None:
                    check_text(key, child)
                stack.append((item, child))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))


def path_param(request: Request, name: str) -> str:
    """A path parameter, checked like any other client text."""
    return check_text(str(request.path_params[name]), name)


def only_params(request: Request, *names: str) -> None:
    """Refuse a query parameter the route does not take (400 ``invalid_parameter``): a typo'd
    filter must not silently answer everything."""
    for name in request.query_params:
        if name not in names:
            takes = ", ".join(names) if names else "none"
            raise ProblemError(
                400, "invalid_parameter",
                f"unknown query parameter {name[:40]!r}; this route takes: {takes}",
                extra={"parameter": name[:40]},
            )  # fmt: skip


def query_param(request: Request, name: str, *, max_len: int = 200) -> str | None:
    """A query parameter (None if absent), checked like any other client text."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if len(value) > max_len:
        raise ProblemError(
            422, "invalid_field", f"{name} may be at most {max_len} characters",
            extra={"field": name},
        )  # fmt: skip
    return check_text(value, name)


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")


def normalize_origin(value: object) -> str | None:
    """``https://Shop.Example/`` → ``https://shop.example``; None if it is not a plain origin.

    Origins end up in CSP ``frame-ancestors`` headers and exact-match allow-lists, so only
    scheme://host[:port] is accepted: no userinfo, path, query, spaces or punctuation.
    """
    if not isinstance(value, str) or len(value) > 255 or not value.isascii():
        return None
    if _CONTROL.search(value) is not None:
        return None
    try:
        parts = urlsplit(value.strip().lower())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("https", "http") or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or not _HOST.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


_MAX_BODY = 16_384


async def merchant_caller(request: Request) -> Merchant:
    """The merchant whose API key the request carries as a bearer token, or 401."""
    key = bearer(request)
    registry: Registry = request.app.state.registry
    merchant = None if key is None else await registry.merchant_by_api_key(key)
    if merchant is None:
        raise ProblemError(401, "invalid_api_key", "send your merchant API key as a bearer token")
    return merchant


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
    _check_body(data)
    return data


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_str(
    data: dict[str, Any],
    key: str,
    *,
    default: str | None = None,
    max_len: int = 200,
    multiline: bool = False,
) -> str:
    """A string field of at most ``max_len`` characters of well-formed text (``invalid_text``
    for a lone surrogate or a control character; newline and tab pass when ``multiline``)."""
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ProblemError(422, "invalid_field", f"{key} must be a string", extra={"field": key})
    if len(value) > max_len:
        raise ProblemError(
            422, "invalid_field", f"{key} may be at most {max_len} characters", extra={"field": key}
        )
    return check_text(value, key, multiline=multiline)


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
