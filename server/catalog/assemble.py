"""Turn validated feed rows into products, grouping variants that share a group id.

Pure. Both feed formats produce :class:`Candidate` rows; this module checks what only makes sense
across rows (duplicate ids, one currency per product, the variant cap) and builds
:class:`~server.catalog.records.ProductRecord` values. Must not parse text or do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.catalog.fields import LIMITS
from server.catalog.records import ProductRecord, RowError, VariantRecord

__all__ = ["Candidate", "GroupInfo", "assemble"]


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """Fields a schema.org ``ProductGroup`` gives all its variants."""

    title: str | None = None
    description: str | None = None
    brand: str | None = None
    image: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One feed row that passed field validation."""

    row: int
    sku: str
    title: str
    price_minor: int
    currency: str
    description: str = ""
    url: str | None = None
    image: str | None = None
    brand: str | None = None
    stock: int | None = None
    availability: str = "in_stock"
    compare_at_minor: int | None = None
    external_id: str | None = None
    group_id: str | None = None
    variant_title: str | None = None
    group: GroupInfo | None = None
    sku_field: str = "id"
    group_field: str = "item_group_id"


_AVAILABILITY_RANK = {"in_stock": 0, "backorder": 1, "preorder": 2, "out_of_stock": 3}


def assemble(candidates: list[Candidate], errors: list[RowError]) -> list[ProductRecord]:
    """Build products in first-seen order; rows that clash are appended to ``errors``."""
    order: list[str] = []
    singles: dict[str, Candidate] = {}
    groups: dict[str, list[Candidate]] = {}
    for cand in candidates:
        if cand.group_id is None:
            if cand.sku in singles or cand.sku in groups:
                errors.append(_duplicate(cand, cand.sku_field, cand.sku))
                continue
            singles[cand.sku] = cand
            order.append(cand.sku)
            continue
        members = groups.get(cand.group_id)
        if members is None:
            if cand.group_id in singles:
                errors.append(_duplicate(cand, cand.group_field, cand.group_id))
                continue
            groups[cand.group_id] = [cand]
            order.append(cand.group_id)
            continue
        problem = _clash(members, cand)
        if problem is not None:
            errors.append(problem)
            continue
        members.append(cand)
    return [
        _single(singles[key]) if key in singles else _grouped(key, groups[key]) for key in order
    ]


def _duplicate(cand: Candidate, field: str, value: str) -> RowError:
    return RowError(cand.row, field, "duplicate_sku", f"{value!r} appears more than once")


def _clash(members: list[Candidate], cand: Candidate) -> RowError | None:
    if any(m.sku == cand.sku for m in members):
        return _duplicate(cand, cand.sku_field, cand.sku)
    if cand.currency != members[0].currency:
        return RowError(
            cand.row,
            "price",
            "currency_mismatch",
            f"variant priced in {cand.currency}; group {cand.group_id!r} uses "
            f"{members[0].currency}",
        )
    if len(members) >= LIMITS.max_variants:
        return RowError(
            cand.row,
            cand.group_field,
            "too_many_variants",
            f"group {cand.group_id!r} already has {LIMITS.max_variants} variants",
        )
    return None


def _single(cand: Candidate) -> ProductRecord:
    return ProductRecord(
        sku=cand.sku,
        title=cand.title,
        price_minor=cand.price_minor,
        currency=cand.currency,
        description=cand.description,
        url=cand.url,
        image=cand.image,
        stock=cand.stock,
        availability=cand.availability,
        brand=cand.brand,
        compare_at_minor=cand.compare_at_minor,
        external_id=cand.external_id,
    )


def _grouped(group_id: str, members: list[Candidate]) -> ProductRecord:
    first = members[0]
    info = first.group or GroupInfo()
    cheapest = min(members, key=lambda m: m.price_minor)
    stocks = [m.stock for m in members]
    return ProductRecord(
        sku=group_id,
        title=info.title or first.title,
        price_minor=cheapest.price_minor,
        currency=first.currency,
        description=info.description or first.description,
        url=info.url or first.url,
        image=info.image or next((m.image for m in members if m.image), None),
        stock=None if any(s is None for s in stocks) else sum(s for s in stocks if s is not None),
        availability=min((m.availability for m in members), key=_AVAILABILITY_RANK.__getitem__),
        brand=info.brand or first.brand,
        compare_at_minor=cheapest.compare_at_minor,
        variants=tuple(
            VariantRecord(
                variant_id=m.sku,
                title=m.variant_title or m.title,
                price_minor=m.price_minor,
                stock=m.stock,
                external_id=m.external_id,
            )
            for m in members
        ),
    )
