"""The dependency rule of DESIGN.md §1 and §4, checked on the source tree.

Arrows point one way: ``server → checkout_bridge → rooms``. msgpack is imported by exactly one
module (``server/transport/wire.py``), and inside ``server/`` the layers below hold and no
modules import each other in a cycle.
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


# ---- inside server/ --------------------------------------------------------------------------
#
# The socket side (server/transport/) and the rooms' shell (server/hub/) meet in one place:
# transport/ws.py hands frames to the hub, and the hub's actors hold transport Sessions. Below
# that, sessions, direct writes and codecs know nothing of rooms; the room actor's modules get
# their services from the hub (server/hub/services.py) and never import the hub itself.


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SERVER = {_module_name(path): path for path in _modules("server")}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _runtime_imports(path: Path) -> set[str]:
    """Modules of server/ that importing ``path`` imports: its module-level imports, not those
    under ``if TYPE_CHECKING`` or deferred into a function body.

    ``from package import module`` counts as importing that module.
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node) or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return {name for name in found if name in SERVER}


def _graph() -> dict[str, set[str]]:
    return {name: _runtime_imports(path) - {name} for name, path in SERVER.items()}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# (importer prefix, imported prefixes it may not use, why)
_LAYERS = [
    ("server.transport", ("server.checkout",), "sockets never reach the checkout service"),
    ("server.transport.session", ("server.hub", "server.api", "server.storage"), "a bare socket"),
    ("server.transport.direct", ("server.hub", "server.api", "server.storage"), "a bare socket"),
    ("server.transport.wire", ("server",), "codecs only (the standard library and msgpack)"),
    (
        "server.hub",
        ("server.transport.ws", "server.api", "server.checkout"),
        "no REST, no endpoint",
    ),
    ("server.protocol", ("server.hub", "server.transport"), "the protocol is data"),
]

# No exceptions: (importer, imported) pairs allowed despite a layer rule would go here.
_ALLOWED: set[tuple[str, str]] = set()


@pytest.mark.parametrize(("importer", "forbidden", "why"), _LAYERS)
def test_layers_inside_server(importer: str, forbidden: tuple[str, ...], why: str) -> None:
    offenders = sorted(
        f"{name} imports {target} ({why})"
        for name, targets in _graph().items()
        if _under(name, importer)
        for target in targets
        if any(_under(target, f) for f in forbidden) and (name, target) not in _ALLOWED
    )
    assert offenders == []


def test_transport_reaches_rest_only_through_the_one_known_exception() -> None:
    uses = sorted(
        (name, target)
        for name, targets in _graph().items()
        if _under(name, "server.transport")
        for target in targets
        if _under(target, "server.api")
    )
    assert set(uses) <= _ALLOWED


_ACTOR_MODULES = [
    f"server.hub.{m}"
    for m in ("actor", "mailbox", "pipeline", "pacing", "roster", "peers", "services", "work")
]


@pytest.mark.parametrize("module", _ACTOR_MODULES)
def test_the_room_actor_does_not_import_the_hub(module: str) -> None:
    assert module in SERVER
    assert "server.hub.hub" not in set(_imports(SERVER[module]))  # not even for types


def test_the_hub_imports_no_private_helpers_of_the_actor() -> None:
    tree = ast.parse(SERVER["server.hub.hub"].read_text(encoding="utf-8"))
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("server.")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycles_among_server_modules() -> None:
    # A package's __init__ may re-export its modules, so they import siblings by their full
    # name (``from server.catalog.fields import ...``), never from the package itself.
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_server_imports() -> None:
    graph = _graph()
    assert "server.transport.wire" in graph["server.transport.session"]
    assert "server.hub.peers" in graph["server.hub.hub"]  # ``from server.hub import peers``
    assert "server.hub.actor" in graph["server.transport.ws"]
