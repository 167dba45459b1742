"""Freeze a group cart into a server-priced, versioned, digest-stamped snapshot.

The room's cart says *what* the group wants (sku, variant, quantity, who added it, who pays);
this module says *what it costs*, from the catalogue alone. A price a client saw or sent is used
only to tell the room that the price changed, never to charge. A line is priced at its variant's
price (``ProductFacts.unit_price``: the product's when the variant has none). Stock is checked
across all lines: lines of one variant with a stock of its own share it; the other lines of a sku
share the product's stock; ``None`` is untracked.

Issues found while freezing are data, not errors, so the room can show them:

- ``price_changed`` (not blocking): the price shown to the room differs from the catalogue's.
- ``unknown_product``, ``unknown_variant``, ``out_of_stock``, ``insufficient_stock`` (blocking).

A snapshot is ``ready`` when it has lines and no blocking issue. Only programming-level problems
raise :class:`PricingError`: an empty cart, a non-positive quantity, a repeated line id, or
products in more than one currency (``mixed_currency``).

Pure: no I/O, no clock, no randomness. The catalogue is a synchronous lookup the caller loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

from checkout_bridge.errors import CheckoutError, PricingError
from checkout_bridge.money import normalize_currency, require_amount
from rooms.catalog import Catalog, ProductFacts
from rooms.jsoncodec import DecodeError, from_json, to_json

__all__ = [
    "BLOCKING_KINDS",
    "CartLineInput",
    "CartSnapshot",
    "IssueKind",
    "LineIssue",
    "PricedLine",
    "freeze_cart",
]

IssueKind = Literal[
    "price_changed", "unknown_product", "unknown_variant", "out_of_stock", "insufficient_stock"
]
BLOCKING_KINDS: frozenset[str] = frozenset(get_args(IssueKind)) - {"price_changed"}


@dataclass(frozen=True, slots=True)
class CartLineInput:
    """One cart line as the room holds it. ``shown_price_minor`` is display-only, never charged."""

    line_id: str
    sku: str
    variant: str | None
    quantity: int
    added_by: str
    payer: str | None = None  # None: unclaimed; "own_lines" then bills whoever added it
    shown_price_minor: int | None = None


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line priced from the catalogue at freeze time."""

    line_id: str
    sku: str
    variant: str | None
    title: str
    quantity: int
    unit_price_minor: int
    total_minor: int
    added_by: str
    payer: str  # the claimed payer, or whoever added the line when unclaimed


@dataclass(frozen=True, slots=True)
class LineIssue:
    """Something the room must see about a line. Prices are set for ``price_changed`` only,
    ``available`` for the two stock kinds."""

    line_id: str
    sku: str
    kind: IssueKind
    old_price_minor: int | None = None
    new_price_minor: int | None = None
    requested: int | None = None
    available: int | None = None

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING_KINDS


@dataclass(frozen=True, slots=True)
class CartSnapshot:
    """The priced cart an order is built from. ``total_minor`` is the sum of the line totals."""

    version: int
    currency: str
    lines: tuple[PricedLine, ...]
    changes: tuple[LineIssue, ...]
    total_minor: int

    @property
    def ready(self) -> bool:
        return bool(self.lines) and not any(c.blocking for c in self.changes)

    @property
    def blocking_changes(self) -> tuple[LineIssue, ...]:
        return tuple(c for c in self.changes if c.blocking)

    @property
    def price_changes(self) -> tuple[LineIssue, ...]:
        return tuple(c for c in self.changes if c.kind == "price_changed")

    def line(self, line_id: str) -> PricedLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    def to_dict(self) -> dict[str, object]:
        """A JSON-safe dict (:mod:`rooms.jsoncodec`); :meth:`from_dict` reads it back exactly."""
        data = to_json(self)
        return {key: data[key] for key in _KEY_ORDER}

    def digest(self) -> str:
        """sha256 hex of the canonical JSON of :meth:`to_dict`: proves what an order priced."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CartSnapshot:
        """Rebuild a snapshot from :meth:`to_dict` output, refusing anything inconsistent."""
        try:
            # Rows this server stored: their text was checked when the catalogue was read.
            decoded = from_json(cls, data, text=False)
            snapshot = replace(decoded, currency=normalize_currency(decoded.currency))
        except (DecodeError, CheckoutError) as exc:
            raise PricingError("snapshot_invalid", f"not a cart snapshot: {exc}") from exc
        _check_consistent(snapshot)
        return snapshot


# The REST answer shows a snapshot's keys in this order (stored rows and the digest sort them).
_KEY_ORDER = ("version", "currency", "total_minor", "lines", "changes")
_STOCK_KINDS = frozenset({"out_of_stock", "insufficient_stock"})


def _check_consistent(snapshot: CartSnapshot) -> None:
    def bad(why: str) -> PricingError:
        return PricingError("snapshot_invalid", why)

    for line in snapshot.lines:
        if min(line.quantity, line.unit_price_minor) < 0:
            raise bad("line amounts must not be negative")
        if line.total_minor != line.unit_price_minor * line.quantity:
            raise bad(f"line {line.line_id} total is not unit price x quantity")
    if snapshot.total_minor != sum(line.total_minor for line in snapshot.lines):
        raise bad("total is not the sum of the lines")
    if len({line.line_id for line in snapshot.lines}) != len(snapshot.lines):
        raise bad("repeated line id")
    for change in snapshot.changes:
        prices = (change.old_price_minor, change.new_price_minor)
        stock = (change.requested, change.available)
        want_prices = change.kind == "price_changed"
        want_stock = change.kind in _STOCK_KINDS
        if any((v is None) == want_prices for v in prices) or any(
            (v is None) == want_stock for v in stock
        ):
            raise bad(f"line {change.line_id}: {change.kind} with the wrong figures")


def _stock_key(product: ProductFacts | None, line: CartLineInput) -> tuple[str, str | None]:
    """Which stock ``line`` draws on: its variant's own, else its product's."""
    own = product is not None and product.own_stock(line.variant)
    return (line.sku, line.variant if own else None)


def freeze_cart(
    lines: Sequence[CartLineInput],
    catalog: Catalog,
    *,
    version: int,
    shown: Mapping[str, int] | None = None,
    currency: str | None = None,
) -> CartSnapshot:
    """Price ``lines`` from ``catalog`` into snapshot ``version``.

    ``shown`` maps line ids to the unit price the room was last shown (for example the previous
    snapshot's); it takes precedence over each line's ``shown_price_minor``. ``currency`` is the
    merchant's currency when known: it names the snapshot's currency even when no product is
    known, and a product in another currency is then ``mixed_currency`` too.
    """
    if not lines:
        raise PricingError("empty_cart", "there is nothing in the cart to freeze")
    if len({line.line_id for line in lines}) != len(lines):
        raise PricingError("duplicate_line", "two cart lines share a line id")
    for line in lines:
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool):
            raise PricingError("invalid_quantity", f"line {line.line_id}: quantity not an int")
        if line.quantity <= 0:
            raise PricingError("invalid_quantity", f"line {line.line_id}: quantity must be > 0")
    shown = shown or {}
    found = {line.sku: catalog.product(line.sku) for line in lines}
    currencies = {normalize_currency(p.currency) for p in found.values() if p is not None}
    if currency is not None:
        currencies.add(normalize_currency(currency))
    if len(currencies) > 1:
        raise PricingError("mixed_currency", f"one currency per cart: {sorted(currencies)}")
    if not currencies:
        raise PricingError("unknown_currency", "no known product and no merchant currency")
    # Lines share a stock: a variant's own, or the product's (variants without their own).
    wanted: dict[tuple[str, str | None], int] = {}
    for line in lines:
        key = _stock_key(found[line.sku], line)
        wanted[key] = wanted.get(key, 0) + line.quantity

    priced: list[PricedLine] = []
    changes: list[LineIssue] = []
    for line in lines:
        product = found[line.sku]
        if product is None:
            changes.append(LineIssue(line.line_id, line.sku, "unknown_product"))
            continue
        unit = require_amount(product.unit_price(line.variant))
        priced.append(
            PricedLine(
                line_id=line.line_id,
                sku=line.sku,
                variant=line.variant,
                title=product.title,
                quantity=line.quantity,
                unit_price_minor=unit,
                total_minor=unit * line.quantity,
                added_by=line.added_by,
                payer=line.payer or line.added_by,
            )
        )
        before = shown.get(line.line_id, line.shown_price_minor)
        if before is not None and before != unit:
            changes.append(
                LineIssue(
                    line.line_id, line.sku, "price_changed",
                    old_price_minor=before, new_price_minor=unit,
                )
            )  # fmt: skip
        # A product with variants needs one of them chosen; one without takes none.
        variant_ok = line.variant in product.variants if product.variants else not line.variant
        if not variant_ok:
            changes.append(LineIssue(line.line_id, line.sku, "unknown_variant"))
        stock = product.stock_of(line.variant)
        requested = wanted[_stock_key(product, line)]
        if stock is not None and requested > stock:
            kind: IssueKind = "out_of_stock" if stock <= 0 else "insufficient_stock"
            changes.append(
                LineIssue(
                    line.line_id, line.sku, kind,
                    requested=requested, available=max(stock, 0),
                )
            )  # fmt: skip
    return CartSnapshot(
        version=version,
        currency=currencies.pop(),
        lines=tuple(priced),
        changes=tuple(changes),
        total_minor=sum(p.total_minor for p in priced),
    )
