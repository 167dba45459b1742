"""Divide a frozen cart's total into payers' shares under a payment mode.

Modes:

- ``host_pays``: one share, the host pays the whole snapshot.
- ``own_lines``: each payer pays the lines they claimed (``PricedLine.payer``; an unclaimed line
  was billed to whoever added it when the cart was frozen).
- ``equal_split``: the total divided equally among the participants given; the remainder
  (``total % n`` minor units) goes one unit each to the first participants in the given order,
  so the split is deterministic and exact.

Invariant: the shares' amounts always sum to the snapshot's total. Shares of zero are omitted.
Whether the group pays all-or-nothing is an order option, not a split (see ``orders``).
Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from checkout_bridge.errors import SplitError
from checkout_bridge.pricing import CartSnapshot

__all__ = [
    "PAYMENT_MODES",
    "PaymentMode",
    "Share",
    "compute_shares",
    "parse_mode",
    "split_amount",
]

PaymentMode = Literal["host_pays", "own_lines", "equal_split"]
PAYMENT_MODES: tuple[PaymentMode, ...] = get_args(PaymentMode)


@dataclass(frozen=True, slots=True)
class Share:
    """What one payer owes: an amount and the lines it pays for (all lines in an equal split)."""

    payer: str
    amount_minor: int
    line_ids: tuple[str, ...]


def parse_mode(value: object) -> PaymentMode:
    """Check a mode a client sent; raise ``unknown_mode`` for anything else."""
    for mode in PAYMENT_MODES:
        if value == mode:
            return mode
    raise SplitError("unknown_mode", f"payment mode must be one of {', '.join(PAYMENT_MODES)}")


def compute_shares(
    snapshot: CartSnapshot,
    mode: PaymentMode,
    *,
    host: str,
    participants: Sequence[str],
) -> tuple[Share, ...]:
    """The shares ``snapshot`` is paid in under ``mode``; their sum equals the total."""
    if not snapshot.ready:
        raise SplitError("snapshot_not_ready", "the snapshot has blocking issues")
    all_ids = tuple(line.line_id for line in snapshot.lines)
    mode = parse_mode(mode)
    if mode == "host_pays":
        if not host:
            raise SplitError("no_payers", "the host pays, but no host was given")
        shares = [Share(host, snapshot.total_minor, all_ids)]
    elif mode == "own_lines":
        amounts: dict[str, int] = {}
        ids: dict[str, list[str]] = {}
        for line in snapshot.lines:
            amounts[line.payer] = amounts.get(line.payer, 0) + line.total_minor
            ids.setdefault(line.payer, []).append(line.line_id)
        shares = [Share(payer, amounts[payer], tuple(ids[payer])) for payer in amounts]
    else:
        payers = list(dict.fromkeys(p for p in participants if p))
        if not payers:
            raise SplitError("no_payers", "an equal split needs at least one participant")
        base, remainder = divmod(snapshot.total_minor, len(payers))
        shares = [
            Share(payer, base + (1 if i < remainder else 0), all_ids)
            for i, payer in enumerate(payers)
        ]
    result = tuple(share for share in shares if share.amount_minor > 0)
    assert sum(s.amount_minor for s in result) == snapshot.total_minor
    return result


def split_amount(amount_minor: int, parts: int) -> tuple[int, ...]:
    """``amount_minor`` in ``parts`` nearly equal parts that sum to it exactly: the remainder
    goes one minor unit each to the first parts (1000 in 3: 334, 333, 333)."""
    if parts < 1:
        raise SplitError("no_payers", "split among at least one payer")
    base, extra = divmod(amount_minor, parts)
    return tuple(base + (1 if n < extra else 0) for n in range(parts))
