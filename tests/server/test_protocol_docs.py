"""The protocol's documents are generated from the code and fail when they drift.

``docs/protocol-reference.md`` is written by ``python -m server.api.asyncapi`` from the same
schemas as ``/asyncapi.json``; ``docs/protocol.md`` §7 carries the transport's error table from
:data:`server.protocol.frames.TRANSPORT_ERRORS` and points to the reference for field names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms import CLIENT_COMMANDS
from rooms.events import BaseEvent
from server.api import asyncapi
from server.api.asyncapi import REFERENCE_PATH, reference_markdown
from server.protocol.docs import transport_errors_markdown
from server.protocol.frames import TRANSPORT_ERRORS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_committed_reference_is_what_the_code_generates() -> None:
    assert REFERENCE_PATH.read_text("utf-8") == reference_markdown(), (
        "docs/protocol-reference.md is stale: run `python -m server.api.asyncapi`"
    )
    assert asyncapi.main(["--check"]) == 0


def test_check_fails_on_a_stale_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "protocol-reference.md"
    stale.write_text(reference_markdown().replace("| `quantity` |", "| `qty` |"), "utf-8")
    monkeypatch.setattr(asyncapi, "REFERENCE_PATH", stale)
    doc = tmp_path / "protocol.md"
    doc.write_text(asyncapi.PROTOCOL_PATH.read_text("utf-8"), "utf-8")
    monkeypatch.setattr(asyncapi, "PROTOCOL_PATH", doc)
    assert asyncapi.main(["--check"]) == 1
    assert asyncapi.main([]) == 0
    assert stale.read_text("utf-8") == reference_markdown()


def test_the_reference_lists_every_command_event_and_field() -> None:
    text = reference_markdown()
    for name in CLIENT_COMMANDS | set(BaseEvent.registry):
        assert f"\n### {name}\n" in text, name
    assert "| `quantity` | integer | yes | 1-99, else `invalid_quantity` |" in text
    assert "| `until` | integer or null | yes | ms since the epoch" in text
    assert "| `deadline` |" not in text  # an order's deadline is REST, not wire
    # a viewer order's payment deadline is on the wire, in ms like every time there
    assert "| `deadline_at` | integer or null | yes | ms since the epoch" in text


def test_protocol_md_carries_the_transport_error_table_and_calls_itself_the_contract() -> None:
    text = (DOCS / "protocol.md").read_text("utf-8")
    assert "the code is right" not in text
    assert "contract" in text
    assert "protocol-reference.md" in text
    section = text.split("\n## 7.")[1].split("\n## 8.")[0]
    assert transport_errors_markdown(TRANSPORT_ERRORS) in section, (
        "docs/protocol.md §7 is stale: run `python -m server.api.asyncapi`"
    )
