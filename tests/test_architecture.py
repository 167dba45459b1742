"""The dependency rule of DESIGN.md §1 and §4, checked on the source tree.

Arrows point one way: ``server → checkout_bridge → rooms``. msgpack is imported by exactly one
module (``server/transport/wire.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("rooms", ("server", "checkout_bridge")),
        ("checkout_bridge", ("server",)),
    ],
)
def test_arrows_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in _imports(path)
        if name.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_msgpack_is_imported_by_one_module_only() -> None:
    users = {
        str(path.relative_to(ROOT))
        for package in ("server", "rooms", "checkout_bridge")
        for path in _modules(package)
        if any(name.split(".")[0] == "msgpack" for name in _imports(path))
    }
    assert users == {"server/transport/wire.py"}


def test_the_checker_sees_imports() -> None:
    assert "msgpack" in set(_imports(ROOT / "server" / "transport" / "wire.py"))
