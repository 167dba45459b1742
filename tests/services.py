"""Access to the real services tests need: PostgreSQL and Redis on loopback.

A test that needs a service the machine lacks is skipped with a reason on a developer's machine
and fails when ``CI=true`` (CI must never silently skip them). Each test isolates itself: its own
PostgreSQL schema, its own Redis key prefix.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_HOST = os.environ.get("COSHOP_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("COSHOP_TEST_PG_PORT", "5432"))
POSTGRES_DB = os.environ.get("COSHOP_TEST_PG_DB", "test")
POSTGRES_USER = os.environ.get("COSHOP_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("COSHOP_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("COSHOP_TEST_REDIS_PORT", "6379"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (laptop) or fail (CI) the calling test when ``host:port`` does not answer."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if in_ci():
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def postgres_url(driver: str = "asyncpg") -> str:
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    return f"postgresql+{driver}://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{POSTGRES_DB}"


def redis_url() -> str:
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def unique_name(prefix: str) -> str:
    """A name no other test (or concurrent CI run) uses: for schemas and key prefixes."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a file or directory that exists) across processes.

    For set-up that writes to a shared place under the repository (``npm ci`` into
    ``tools/asyncapi``, for instance): pytest-xdist workers and other test runs on the machine
    wait for each other here instead of writing the same files at once. The lock goes with the
    process, so a crashed holder never leaves it taken.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
