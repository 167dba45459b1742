"""Where the pages' templates and static files are (:mod:`checkout_bridge.assets`, one finder for
the hub's pages and the sandbox provider's hosted pages)."""

from __future__ import annotations

from checkout_bridge.assets import AssetsNotFound, static_dir, templates_dir

__all__ = ["AssetsNotFound", "static_dir", "templates_dir"]
