"""The digest of an op's name and arguments, stored with the op id (idempotency like Stripe's).

This module is for: one stable fingerprint of what a client asked for, so that a retry of an op
id can be told apart from the same op id reused with other arguments (refused with
``op_conflict``). It is recorded in ``room_ops.args_digest`` through
:attr:`server.storage.Append.op_digest` and read back as
:attr:`server.storage.OpOutcome.args_digest` / :attr:`server.storage.DuplicateOp.existing_digest`.

It must not change: a digest is compared with ones recorded by earlier releases, so the
canonical form below (JSON of ``[name, args]``, keys sorted, no spaces, ASCII escapes) is
frozen. Two argument maps that decode to equal JSON values give the same digest whatever their
key order; ``1`` and ``1.0`` are different arguments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["op_digest"]


def op_digest(name: str, args: Mapping[str, Any]) -> str:
    """sha256 (64 lowercase hex digits) of the canonical JSON of ``[name, args]``.

    ``args`` must hold finite JSON values only (what :mod:`server.transport.wire` decodes);
    anything else raises :class:`TypeError` or :class:`ValueError`.
    """
    canonical = json.dumps(
        [name, dict(args)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,  # escapes every non-ASCII character (and lone surrogates) the same way
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
