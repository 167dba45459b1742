"""One close-code table (server.protocol.close): every copy derives from it and cannot drift.

The browser's ``static/js/protocol.js`` is regenerated in memory and compared with the committed
file; docs/protocol.md §9 must contain the generated table exactly; the transport's
``CLOSE_CODES`` and the Python client's ``CLOSE_ACTIONS`` are the enum's. The actions themselves
are pinned: a replaced socket stops (4409 once made six tabs replace each other forever).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.client import CLOSE_ACTIONS
from server.protocol import gen
from server.protocol.close import (
    UNKNOWN_ACTION,
    CloseAction,
    CloseCode,
    action_for,
    close_table_markdown,
)
from server.transport.session import CLOSE_CODES

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_browser_module_is_the_generated_one() -> None:
    committed = (ROOT / "static" / "js" / "protocol.js").read_text(encoding="utf-8")
    assert committed == gen.render_js(), "run: python -m server.protocol.gen"
    assert gen.main(["--check"]) == 0


def test_protocol_md_shows_the_generated_table() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("## 9. Close codes") : doc.index("## 10.")]
    assert close_table_markdown() in section, "run: python -m server.protocol.gen"
    assert gen.render_doc(doc) == doc
    assert section.count("\n| 4") == sum(1 for c in CloseCode if c >= 4000)


def test_the_transport_and_the_client_use_the_enum() -> None:
    assert all(isinstance(code, CloseCode) for code in CLOSE_CODES.values())
    assert {c.wire_name for c in CloseCode} <= set(CLOSE_CODES)
    assert CLOSE_CODES["replaced"] is CloseCode.REPLACED
    assert CLOSE_CODES["too_slow"] is CloseCode.TRY_AGAIN_LATER  # the transport's older name
    assert dict(CLOSE_ACTIONS) == {int(c): (c.action, c.wire_name) for c in CloseCode}


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (None, CloseAction.RESUME),
        (1001, CloseAction.RESUME),
        (1006, CloseAction.RESUME),
        (1011, CloseAction.RESUME),
        (4408, CloseAction.RESUME),
        (1013, CloseAction.BACK_OFF),
        (4429, CloseAction.BACK_OFF),
        (1002, CloseAction.STOP),
        (4401, CloseAction.STOP),
        (4403, CloseAction.STOP),
        (4409, CloseAction.STOP),
        (4999, UNKNOWN_ACTION),
    ],
)
def test_what_a_client_does_after_each_close(code: int | None, action: CloseAction) -> None:
    assert action_for(code) is action
    assert UNKNOWN_ACTION is CloseAction.STOP


def test_every_code_says_when_it_is_sent_and_what_to_do() -> None:
    for code in CloseCode:
        assert code.sent_when and code.advice and "|" not in code.sent_when + code.advice
        assert code.wire_name == code.name.lower()
    assert sorted(CloseCode) == list(CloseCode)  # the table reads in numeric order


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the ES module")
def test_the_browser_module_answers_like_the_enum() -> None:
    script = (
        f"const m = await import({json.dumps((ROOT / 'static/js/protocol.js').as_uri())});"
        "const codes = [...Object.values(m.CloseCode), 4999, 1015];"
        "console.log(JSON.stringify(codes.map((c) => [c, m.closeAction(c)])));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    answers = dict(json.loads(out))
    assert answers == {int(c): str(c.action) for c in CloseCode} | {4999: "stop", 1015: "stop"}


def test_the_protocol_package_is_pure() -> None:
    """server/protocol imports only the standard library and itself: no I/O, no server layer,
    so the transport, the clients and the generators can all depend on it."""
    offenders = []
    for path in sorted((ROOT / "server" / "protocol").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if name.startswith("server.protocol") or top in sys.stdlib_module_names:
                    continue
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_the_generator_rewrites_a_stale_doc_table_and_nothing_else() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    stale = doc.replace("| 4409 | `replaced` |", "| 4409 | `replaced_old` |")
    assert stale != doc and gen.render_doc(stale) == doc
