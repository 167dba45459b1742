"""Where coshop's templates and static files are: the checkout's, or the installed copy.

In a checkout (and an editable install) they are the repository's top-level ``templates/`` and
``static/`` folders, so an edit shows on the next request. A wheel installs them as data files
under ``<prefix>/share/coshop/`` (``[tool.setuptools.data-files]`` in pyproject.toml), where
``<prefix>`` is the environment's data path (``sys.prefix`` in a virtualenv, the user base for
``pip install --user``). ``tests/test_wheel.py`` serves pages from an installed wheel.

It lives in ``checkout_bridge`` because the sandbox payment provider (its own app) renders its
hosted pages from ``templates/sandbox`` too, and ``checkout_bridge`` may not import ``server``;
:mod:`server.assets` re-exports it.
"""

from __future__ import annotations

import sys
import sysconfig
from functools import cache
from pathlib import Path

__all__ = ["AssetsNotFound", "static_dir", "templates_dir"]

_CHECKOUT = Path(__file__).resolve().parent.parent


class AssetsNotFound(RuntimeError):
    """Neither a checkout nor an installed copy holds the folder."""


def _candidates(name: str) -> list[Path]:
    found = []
    # A checkout: pyproject.toml next to checkout_bridge/ says this is coshop's own source tree.
    if (_CHECKOUT / "pyproject.toml").is_file():
        found.append(_CHECKOUT / name)
    prefixes = [
        sysconfig.get_path("data"),
        sys.prefix,
        sysconfig.get_path("data", sysconfig.get_preferred_scheme("user")),
    ]
    found.extend(Path(prefix) / "share" / "coshop" / name for prefix in prefixes)
    return found


@cache
def _find(name: str) -> Path:
    candidates = _candidates(name)
    for path in candidates:
        if path.is_dir():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise AssetsNotFound(f"coshop's {name}/ folder is missing (looked in {tried})")


def static_dir() -> Path:
    """The folder served at ``/static``."""
    return _find("static")


def templates_dir() -> Path:
    """The folder of the pages' Jinja templates."""
    return _find("templates")
