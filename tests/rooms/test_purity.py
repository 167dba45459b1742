"""rooms/ stays pure: no I/O, clock or randomness imports, no clock or random calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOMS = Path(__file__).resolve().parents[2] / "rooms"
FORBIDDEN_MODULES = {
    "asyncio",
    "starlette",
    "sqlalchemy",
    "redis",
    "msgpack",
    "httpx",
    "time",
    "random",
    "uuid",
    "secrets",
    "os",
    "socket",
    "datetime",
    "threading",
    "subprocess",
    "urllib.request",
}
FORBIDDEN_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "monotonic",
    "perf_counter",
    "random",
    "urandom",
}


def _modules() -> list[Path]:
    return sorted(ROOMS.rglob("*.py"))


def _violations(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if any(".".join(parts[: i + 1]) in FORBIDDEN_MODULES for i in range(len(parts))):
                found.append(f"import {name}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in FORBIDDEN_CALLS:
                found.append(f"call {called}()")
        if isinstance(node, ast.Name) and node.id in ("__import__", "importlib"):
            found.append(f"dynamic import via {node.id}")
    return found


def test_there_are_modules_to_check() -> None:
    assert len(_modules()) > 10


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOMS)))
def test_module_is_pure(path: Path) -> None:
    assert _violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import os.path",
        "from datetime import datetime",
        "from sqlalchemy.ext import asyncio",
        "import redis.asyncio as r",
        "x = datetime.now()",
        "x = clock.time()",
        "x = random()",
        "m = __import__('socket')",
        "from urllib.request import urlopen",
    ],
)
def test_checker_catches_violations(source: str) -> None:
    assert _violations(source)


def test_checker_allows_pure_code() -> None:
    assert _violations("from urllib.parse import urlsplit\nimport re\nx = f(1)") == []
