"""Baseline servers, each a module run as its own process (``python -m bench.servers.X --port N``).

They all do the same small job as fairly as their library allows: a publisher connection sends
``{"text": …}``; the server wraps it in an event envelope like coshop's (``t``, ``seq``, ``at``,
``actor``, ``ev``), encodes it once, and delivers it to every subscriber. They store nothing and
check nothing: they are the floor coshop is compared with, not products.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

__all__ = ["envelope", "port_arg"]


def port_arg() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    return int(parser.parse_args().port)


def envelope(seq: int, raw: str | bytes) -> dict[str, Any]:
    """Decode a publisher frame and build the event every subscriber receives."""
    data = json.loads(raw)
    return {
        "t": "ev",
        "seq": seq,
        "at": int(time.time() * 1000),
        "actor": "publisher",
        "ev": {"type": "MessagePosted", "text": data["text"]},
    }
