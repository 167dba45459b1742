"""docs/errors.md lists every problem code the OpenAPI document says a REST route answers."""

from __future__ import annotations

import re
from pathlib import Path

from server.api.openapi import openapi_document

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _documented() -> set[str]:
    """Codes in the first column of any table, including ``a`` / ``b`` groups."""
    text = DOCS.read_text(encoding="utf-8")
    codes: set[str] = set()
    for cell in re.findall(r"^\| ((?:`[a-z_]+`(?: / )?)+) \|", text, re.M):
        codes.update(re.findall(r"`([a-z_]+)`", cell))
    return codes


def _openapi_codes() -> set[str]:
    codes: set[str] = set()
    for operations in openapi_document("http://127.0.0.1").get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                codes.update(response.get("x-problem-codes", []) or [])
    return codes


def test_every_rest_problem_code_is_documented() -> None:
    codes = _openapi_codes()
    assert len(codes) > 30
    assert codes <= _documented(), sorted(codes - _documented())


def test_the_transport_and_storage_codes_are_documented() -> None:
    wanted = {"write_refused", "storage_unavailable", "op_conflict", "op_looks_like_card"}
    assert wanted <= _documented()
