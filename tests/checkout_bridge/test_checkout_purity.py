"""The pure checkout modules import no I/O library and never read the clock or draw randoms."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = ["__init__", "errors", "money", "pricing", "splits", "orders", "webhooks"]
PACKAGE = Path(__file__).resolve().parents[2] / "checkout_bridge"
FORBIDDEN_MODULES = {
    "asyncio", "starlette", "sqlalchemy", "redis", "msgpack", "httpx", "uvicorn", "websockets",
    "stripe", "time", "datetime", "random", "secrets", "uuid", "os", "socket", "server",
    "checkout_bridge.providers", "checkout_bridge.sandbox",
}  # fmt: skip
ALLOWED_ROOTS = {
    "__future__", "collections", "dataclasses", "decimal", "hashlib", "hmac", "json", "typing",
    "checkout_bridge", "rooms",
}  # fmt: skip


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "use absolute imports"
            found.add(node.module or "")
    return found


@pytest.mark.parametrize("name", PURE)
def test_module_is_pure(name: str) -> None:
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    for module in _imports(tree):
        parts = module.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        assert not prefixes & FORBIDDEN_MODULES, f"{name}.py imports {module}"
        assert parts[0] in ALLOWED_ROOTS, f"{name}.py imports {module}, not on the allow-list"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "print", "input", "eval", "exec"}, name
