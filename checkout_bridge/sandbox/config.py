"""Configuration of the sandbox payment provider: where it stores data, who it signs webhooks for.

This module only describes settings; it opens no file and starts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["DEFAULT_API_KEY", "DEFAULT_PUBLIC_URL", "SandboxConfig"]

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8790"
DEFAULT_API_KEY = "sk_test_sandbox"


@dataclass(frozen=True)
class SandboxConfig:
    """Settings of one sandbox process.

    ``webhook_retry_schedule`` gives the wait before each retry of a failed delivery; once it is
    used up the delivery is marked failed. ``webhook_transport`` lets a test deliver webhooks to
    an in-process ASGI receiver (``httpx.ASGITransport``); production leaves it ``None``.
    ``clock`` returns seconds since the epoch; tests may pass a controllable one.
    """

    data_dir: Path
    public_url: str = DEFAULT_PUBLIC_URL
    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_retry_schedule: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    webhook_timeout: float = 10.0
    sweep_interval: float = 1.0
    async_payment_delay: float = 5.0
    reorder_hold_limit: float = 10.0
    webhook_transport: httpx.AsyncBaseTransport | None = field(
        default=None, repr=False, compare=False
    )
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "sandbox.sqlite3"

    def page_url(self, session_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/pay/{session_id}"
