"""The sandbox's exception tree: each error becomes a Stripe-style error object.

::

    SandboxError                 -> {"error": {"type", "code", "message", "param"}} + HTTP status
    ├── InvalidRequest           400 invalid_request_error (parameter_missing, parameter_invalid,
    │                            amount_too_large, charge_already_refunded, ...)
    ├── NotFound                 404 invalid_request_error / resource_missing
    ├── AuthenticationFailed     401 invalid_request_error / api_key_invalid
    └── IdempotencyConflict      400 idempotency_error / idempotency_key_in_use

This module holds no logic and does no I/O.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "IdempotencyConflict",
    "InvalidRequest",
    "NotFound",
    "SandboxError",
]


class SandboxError(Exception):
    """Base of the sandbox's API errors; carries what the Stripe-style error object needs."""

    status = 400
    type = "invalid_request_error"

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def to_dict(self) -> dict[str, object]:
        error: dict[str, object] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(SandboxError):
    """A request with missing or invalid parameters, or one the object's state does not allow."""


class NotFound(SandboxError):
    """The object named in the path or in a parameter does not exist."""

    status = 404


class AuthenticationFailed(SandboxError):
    """No API key, or the wrong one."""

    status = 401


class IdempotencyConflict(SandboxError):
    """An ``Idempotency-Key`` was reused with different parameters."""

    type = "idempotency_error"
