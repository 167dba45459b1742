"""The op digest: one stable fingerprint of an op's name and arguments (server/hub/opdigest.py)."""

from __future__ import annotations

import hashlib

import pytest

from server.hub.opdigest import op_digest


def test_the_digest_is_sha256_of_the_canonical_json_of_name_and_args() -> None:
    canonical = '["PostMessage",{"reply_to":null,"text":"h\\u00e9 \\ud83d\\udc4b"}]'
    expected = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    assert op_digest("PostMessage", {"text": "hé 👋", "reply_to": None}) == expected
    assert len(expected) == 64  # fits room_ops.args_digest


def test_key_order_does_not_matter_but_every_value_does() -> None:
    base = op_digest("SetQuantity", {"sku": "A", "qty": 2, "opts": {"x": 1, "y": [1, 2]}})
    assert op_digest("SetQuantity", {"opts": {"y": [1, 2], "x": 1}, "qty": 2, "sku": "A"}) == base
    others = [
        op_digest("SetQuantity", {"sku": "A", "qty": 3, "opts": {"x": 1, "y": [1, 2]}}),
        op_digest("SetQuantity", {"sku": "A", "qty": 2.0, "opts": {"x": 1, "y": [1, 2]}}),
        op_digest("SetQuantity", {"sku": "A", "qty": 2, "opts": {"x": 1, "y": [2, 1]}}),
        op_digest("SetQuantity", {"sku": "A", "qty": 2, "opts": {"x": 1, "y": [1, 2]}, "z": None}),
        op_digest("AddItem", {"sku": "A", "qty": 2, "opts": {"x": 1, "y": [1, 2]}}),
    ]
    assert base not in others
    assert len(set(others)) == len(others)


def test_the_name_cannot_be_confused_with_the_arguments() -> None:
    assert op_digest("a", {"b": 1}) != op_digest("a,b", {})
    assert op_digest("", {}) == hashlib.sha256(b'["",{}]').hexdigest()


def test_values_outside_json_are_refused() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        op_digest("X", {"n": float("nan")})
    with pytest.raises(TypeError):
        op_digest("X", {"b": b"bytes"})
