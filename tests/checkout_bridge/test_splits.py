"""Payment modes: host pays, own lines, equal split; shares always sum to the total."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkout_bridge.errors import SplitError
from checkout_bridge.pricing import CartLineInput, CartSnapshot, freeze_cart
from checkout_bridge.splits import PAYMENT_MODES, PaymentMode, Share, compute_shares, parse_mode
from rooms.catalog import ProductFacts, StaticCatalog

CATALOG = StaticCatalog(
    [
        ProductFacts("mug", "Mug", 1000, "EUR"),
        ProductFacts("tee", "Tee", 2001, "EUR"),
        ProductFacts("pin", "Pin", 0, "EUR"),
        ProductFacts("cap", "Cap", 500, "EUR", stock=0),
    ]
)


def snapshot() -> CartSnapshot:
    return freeze_cart(
        [
            CartLineInput("l1", "mug", None, 2, "ann", None),
            CartLineInput("l2", "tee", None, 1, "ann", "bob"),
            CartLineInput("l3", "pin", None, 1, "cat", "cat"),
            CartLineInput("l4", "mug", None, 1, "bob", None),
        ],
        CATALOG,
        version=1,
    )


def test_host_pays() -> None:
    assert compute_shares(snapshot(), "host_pays", host="ann", participants=[]) == (
        Share("ann", 5001, ("l1", "l2", "l3", "l4")),
    )


def test_own_lines_groups_by_payer_and_drops_zero_shares() -> None:
    shares = compute_shares(snapshot(), "own_lines", host="ann", participants=["ann"])
    assert shares == (Share("ann", 2000, ("l1",)), Share("bob", 3001, ("l2", "l4")))


def test_equal_split_distributes_the_remainder_in_order() -> None:
    shares = compute_shares(
        snapshot(), "equal_split", host="ann", participants=["cat", "ann", "bob", "ann", ""]
    )
    assert [(s.payer, s.amount_minor) for s in shares] == [
        ("cat", 1667),
        ("ann", 1667),
        ("bob", 1667),
    ]
    assert all(s.line_ids == ("l1", "l2", "l3", "l4") for s in shares)


def test_equal_split_omits_zero_shares() -> None:
    snap = freeze_cart([CartLineInput("a", "tee", None, 1, "ann")], CATALOG, version=1)
    tiny = CartSnapshot(1, "EUR", snap.lines, (), 2)
    shares = compute_shares(tiny, "equal_split", host="a", participants=["a", "b", "c"])
    assert [(s.payer, s.amount_minor) for s in shares] == [("a", 1), ("b", 1)]


@pytest.mark.parametrize(
    ("mode", "host", "participants", "code"),
    [
        ("equal_split", "ann", [], "no_payers"),
        ("equal_split", "ann", [""], "no_payers"),
        ("host_pays", "", ["ann"], "no_payers"),
        ("everyone_else", "ann", ["ann"], "unknown_mode"),
    ],
)
def test_refused(mode: str, host: str, participants: list[str], code: str) -> None:
    with pytest.raises(SplitError) as exc:
        compute_shares(snapshot(), mode, host=host, participants=participants)  # type: ignore[arg-type]  # modes arrive as client strings
    assert exc.value.code == code


def test_a_snapshot_with_blocking_issues_is_not_split() -> None:
    snap = freeze_cart([CartLineInput("a", "cap", None, 1, "ann")], CATALOG, version=1)
    with pytest.raises(SplitError) as exc:
        compute_shares(snap, "host_pays", host="ann", participants=[])
    assert exc.value.code == "snapshot_not_ready"


def test_parse_mode() -> None:
    assert PAYMENT_MODES == ("host_pays", "own_lines", "equal_split")
    for mode in PAYMENT_MODES:
        assert parse_mode(mode) == mode
    with pytest.raises(SplitError):
        parse_mode(None)


_payers = st.sampled_from(["ann", "bob", "cat", "dan"])


@settings(max_examples=80)
@given(
    lines=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(1, 9), _payers), min_size=1, max_size=8
    ),
    mode=st.sampled_from(PAYMENT_MODES),
    participants=st.lists(_payers, min_size=1, max_size=5),
)
def test_shares_always_sum_to_the_total(
    lines: list[tuple[int, int, str]], mode: PaymentMode, participants: list[str]
) -> None:
    catalog = StaticCatalog(
        [ProductFacts(f"p{i}", "P", p, "JPY") for i, (p, _, _) in enumerate(lines)]
    )
    snap = freeze_cart(
        [
            CartLineInput(f"l{i}", f"p{i}", None, q, "ann", payer)
            for i, (_, q, payer) in enumerate(lines)
        ],
        catalog,
        version=1,
    )
    shares = compute_shares(snap, mode, host="ann", participants=participants)
    assert sum(s.amount_minor for s in shares) == snap.total_minor
    assert all(s.amount_minor > 0 for s in shares)
    assert len({s.payer for s in shares}) == len(shares)
    if mode == "equal_split" and shares:
        amounts = [s.amount_minor for s in shares]
        assert max(amounts) - min(amounts) <= 1
