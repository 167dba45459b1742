"""Query strings and paths of the REST API are well-formed text, checked before any route runs.

A percent-encoded query or path may decode to anything: invalid UTF-8 (which Starlette would
quietly turn into U+FFFD) or control characters (which PostgreSQL refuses in text, and which no
id, search or name of coshop contains). :class:`CleanText` refuses both with ``422 invalid_text``
naming the parameter, for every route under ``/api/``, ``/webhooks/`` and ``/checkout/``, so
no handler (the catalogue's included) stores, counts or searches such a value. Bodies are
checked by ``server.api.common.read_json`` and the routes' field helpers.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from server.http.problem import ProblemError, problem_response

__all__ = ["CleanText"]

_PREFIXES = ("/api/", "/webhooks/", "/checkout/")
# Control characters (category Cc) and lone surrogates.
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _shown(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:40]


def _problem(where: str) -> ProblemError:
    return ProblemError(
        422,
        "invalid_text",
        f"{where} is not well-formed text (invalid UTF-8 or a control character)",
        extra={"field": where},
    )


def refusal(path: str, raw_path: bytes | None, query: bytes) -> ProblemError | None:
    """The problem with this request's path or query, or None if both are clean text."""
    if _BAD.search(path) is not None:
        return _problem("path")
    if raw_path is not None:
        try:
            unquote(raw_path.decode("ascii"), errors="strict")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return _problem("path")
    if not query:
        return None
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return _problem("query")
    for key, value in pairs:
        if _BAD.search(key) is not None:
            return _problem("query")
        if _BAD.search(value) is not None:
            return _problem(_shown(key))
    return None


class CleanText:
    """ASGI middleware: refuse a REST request whose path or query is not clean text."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_PREFIXES):
            problem = refusal(scope["path"], scope.get("raw_path"), scope.get("query_string", b""))
            if problem is not None:
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
