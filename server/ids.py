"""The one place coshop's server reads the wall clock for timestamps and draws ids and secrets.

Times on the wire and in storage are integer milliseconds since the epoch (``now_ms``). Ids are
URL-safe random strings with an optional kind prefix (``new_id("i")`` → ``"i3xK…"``); secrets are
longer (``new_secret("ck_")``). The pure cores (``rooms/``, ``checkout_bridge``'s core) never call
these: the server passes times and ids in.
"""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id", "new_secret", "now_ms"]


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def new_id(prefix: str = "") -> str:
    """A short random id (72 bits), URL-safe, after ``prefix``."""
    return f"{prefix}{secrets.token_urlsafe(9)}"


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    """A secret (``nbytes`` of randomness, URL-safe) after ``prefix``, e.g. an API key."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"
