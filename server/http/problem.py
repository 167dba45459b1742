"""RFC 9457 problem responses: every HTTP error coshop returns is ``application/problem+json``.

Route handlers raise :class:`ProblemError`; the app's exception handler (``server.app``) turns it
into a response. ``code`` is the stable machine-readable identifier documented in
``docs/errors.md``; ``detail`` is for humans and never contains secrets or message bodies.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

__all__ = ["PROBLEM_CONTENT_TYPE", "ProblemError", "problem_response"]

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemError(Exception):
    """An HTTP error with a stable code. Raise it from any route."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.extra = extra or {}
        self.headers = headers or {}


def problem_response(error: ProblemError) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://coshop.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "code": error.code,
        "detail": error.detail,
        **error.extra,
    }
    return JSONResponse(
        body, status_code=error.status, media_type=PROBLEM_CONTENT_TYPE, headers=error.headers
    )
