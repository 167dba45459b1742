"""Stripe's bracket form encoding, decoded into nested dicts and lists.

``line_items[0][price_data][currency]=usd`` becomes
``{"line_items": [{"price_data": {"currency": "usd"}}]}``. A level whose keys are all decimal
integers (``0``, ``1``, ...) becomes a list in index order. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["FormValue", "decode_form", "fingerprint_source"]

FormValue = Any  # str | list[FormValue] | dict[str, FormValue]; recursive, kept loose on purpose


def _split_key(key: str) -> list[str]:
    head, sep, rest = key.partition("[")
    parts = [head]
    if not sep:
        return parts
    rest = "[" + rest
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError(f"unbalanced brackets in {key!r}")
        parts.append(rest[1:end])
        rest = rest[end + 1 :]
    if rest:
        raise ValueError(f"unexpected text after brackets in {key!r}")
    return parts


def _listify(node: FormValue) -> FormValue:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, FormValue]:
    """Decode ``(key, value)`` pairs; raise ``ValueError`` on a malformed or conflicting key."""
    root: dict[str, FormValue] = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{key!r} conflicts with a plain value")
            node = child
        last = parts[-1]
        if last == "":  # "expand[]=a": append-style list
            last = str(len(node))
        if isinstance(node.get(last), dict):
            raise ValueError(f"{key!r} conflicts with a nested value")
        node[last] = value
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def fingerprint_source(method: str, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    """A canonical text of a request, to tell a true retry from a reused idempotency key."""
    body = "&".join(f"{key}={value}" for key, value in sorted(pairs))
    return f"{method} {path}\n{body}"
