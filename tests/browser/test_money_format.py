"""Money reads the same everywhere: the sandbox's hosted page (Python) formats like the room
page's ``Intl.NumberFormat("en-US", {style: "currency"})`` (static/js/util.js ``money``), run
under node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from checkout_bridge.sandbox.hosted import format_amount

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    (123450, "USD"), (5, "USD"), (0, "USD"), (-1299, "USD"), (123450, "EUR"), (123450, "JPY"),
    (-7, "JPY"), (123450, "GBP"), (123450, "CHF"), (-123450, "CHF"), (123450, "CAD"),
    (123450, "AUD"), (1234567, "KWD"), (123450, "SEK"), (123450, "INR"), (123450, "KRW"),
    (123450, "BRL"), (123450, "MXN"), (99999999, "USD"),
]  # fmt: skip


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_sandbox_formats_money_like_the_room_page() -> None:
    # the room page's own helper, imported as the ES module it is
    module = json.dumps((ROOT / "static/js/util.js").as_uri())
    cases = json.dumps(CASES)
    script = (
        f"import({module}).then((u) => "
        f"console.log(JSON.stringify({cases}.map(([m, c]) => u.money(m, c)))))"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    room = json.loads(out.stdout)
    sandbox = [format_amount(minor, currency.lower()) for minor, currency in CASES]
    assert sandbox == room
    assert room[:3] == ["$1,234.50", "$0.05", "$0.00"]
    assert room[5] == "¥123,450"
