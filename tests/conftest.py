"""Suite-wide hooks: long-running modules are collected first; ``xdist_group`` really groups.

``make test`` spreads the suite over pytest-xdist workers (``-n 3 --dist loadgroup``, see
docs/testing.md), which hand out tests in collection order. A two-minute fuzz test collected
last would start when the other workers are nearly done and keep one worker busy alone, so
modules that hold a long test go to the front. Tests inside a module keep their order, and the
set of tests is the same: only when they start changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.nodeid import coerce_node_id

# Property and fuzz tests with this many examples (or any stateful machine) count as long.
MANY_EXAMPLES = 200
_BROWSER = Path(__file__).resolve().parent / "browser"


def _is_long(item: pytest.Item) -> bool:
    if item.get_closest_marker("slow") or item.get_closest_marker("e2e"):
        return True
    if _BROWSER in Path(item.path).parents:
        return True  # every browser test drives Chromium and a server
    cls = getattr(item, "cls", None)
    if cls is not None and hasattr(cls, "settings") and item.name == "runTest":
        return True  # a hypothesis RuleBasedStateMachine
    settings = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
    return settings is not None and settings.max_examples >= MANY_EXAMPLES


def _group_names(item: pytest.Item) -> list[str]:
    marks = item.iter_markers("xdist_group")
    return sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    long_modules = {item.path for item in items if _is_long(item)}
    items.sort(key=lambda item: item.path not in long_modules)  # stable: order kept within
    # `--dist loadgroup` sends tests whose node id ends in "@<group>" to one worker. xdist 3.8
    # adds that suffix by setting `item._nodeid`, which pytest 9 no longer reads (the id lives in
    # `item._id`), so without this every grouped test would be scheduled alone.
    if not getattr(config.option, "loadgroup", False):  # set in xdist workers under loadgroup
        return
    for item in items:
        names = _group_names(item)
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)
