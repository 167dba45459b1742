"""schema.org ``Product`` feeds in JSON or JSON-LD.

Pure: parses a string already in memory. Accepts one ``Product``, a list of them, an ``ItemList``
(of products or of ``ListItem``\\ s wrapping them) or a JSON-LD document with ``@graph`` (where
non-product nodes such as ``Organization`` are skipped). A ``ProductGroup`` (or a ``Product``
with ``hasVariant``) becomes one product with variants. Numbers are read as
:class:`decimal.Decimal`, never ``float``. Must not touch the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import server.catalog.fields as fields
from server.catalog.assemble import Candidate, GroupInfo
from server.catalog.fields import LIMITS, FieldProblem
from server.catalog.records import RowError

__all__ = ["parse_jsonld"]

T = TypeVar("T")
_PRODUCT_TYPES = frozenset({"Product", "IndividualProduct", "ProductModel", "ProductGroup"})


def parse_jsonld(text: str) -> tuple[list[Candidate], list[RowError]]:
    """Parse products; ``row`` in errors is the product's 1-based position in the feed."""
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        return [], [RowError(0, None, "bad_json", f"not valid JSON: {exc}")]
    errors: list[RowError] = []
    candidates: list[Candidate] = []
    for row, (node, error) in enumerate(_nodes(doc), start=1):
        if row > LIMITS.max_rows:
            errors.append(RowError(row, None, "too_many_rows", f"only {LIMITS.max_rows} load"))
            break
        if error is not None:
            errors.append(RowError(row, None, "not_a_product", error))
            continue
        candidates.extend(_product(row, node, errors))
    if not candidates and not errors:
        errors.append(RowError(0, None, "empty_feed", "the feed contains no Product"))
    return candidates, errors


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type", ())
    names = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return {str(n).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] for n in names}


def _nodes(doc: Any) -> list[tuple[dict[str, Any], str | None]]:
    """Every product node in feed order, each with an error when it is not a product."""
    if isinstance(doc, dict) and "@graph" in doc:
        graph = doc["@graph"] if isinstance(doc["@graph"], list) else [doc["@graph"]]
        found: list[tuple[dict[str, Any], str | None]] = []
        for node in graph:
            if isinstance(node, dict) and "ItemList" in _types(node):
                found.extend(_nodes(node))
            elif isinstance(node, dict) and _types(node) & _PRODUCT_TYPES:
                found.append((node, None))
        return found
    if isinstance(doc, dict) and "ItemList" in _types(doc):
        elements = doc.get("itemListElement", [])
        items = elements if isinstance(elements, list) else [elements]
        return [_checked(_unwrap(item)) for item in items]
    items = doc if isinstance(doc, list) else [doc]
    return [_checked(item) for item in items]


def _unwrap(item: Any) -> Any:
    if isinstance(item, dict) and "ListItem" in _types(item) and "item" in item:
        return item["item"]
    return item


def _checked(item: Any) -> tuple[dict[str, Any], str | None]:
    if not isinstance(item, dict):
        return {}, f"expected a Product object, got {type(item).__name__}"
    if not _types(item) & _PRODUCT_TYPES:
        return item, f"@type is {item.get('@type')!r}, not Product"
    return item, None


def _product(row: int, node: dict[str, Any], errors: list[RowError]) -> list[Candidate]:
    variants = node.get("hasVariant")
    if "ProductGroup" not in _types(node) and not variants:
        single = _candidate(row, node, "", None, errors)
        return [single] if single is not None else []
    notices: list[FieldProblem] = []
    try:
        group_id = fields.identifier(
            node.get("productGroupID") or node.get("sku"), "productGroupID"
        )
        info = GroupInfo(
            title=fields.prose(node.get("name"), "name", max_len=LIMITS.title_len, notices=notices),
            description=fields.prose(
                node.get("description"),
                "description",
                max_len=LIMITS.description_len,
                notices=notices,
                multiline=True,
            ),
            brand=_brand(node.get("brand"), "brand", notices),
            image=_image(node.get("image"), "image"),
            url=fields.url(node.get("url"), "url"),
        )
    except FieldProblem as problem:
        errors.append(RowError(row, problem.field, problem.code, problem.message))
        return []
    errors.extend(RowError(row, n.field, n.code, n.message) for n in notices)  # NOTICE_CODES
    items = variants if isinstance(variants, list) else [variants] if variants else []
    if not items:
        errors.append(RowError(row, "hasVariant", "missing_field", "a ProductGroup needs variants"))
        return []
    found = []
    for index, item in enumerate(items):
        prefix = f"hasVariant[{index}]."
        if not isinstance(item, dict):
            errors.append(RowError(row, prefix[:-1], "not_a_product", "variant is not an object"))
            continue
        merged = {"offers": node.get("offers"), **item}
        cand = _candidate(row, merged, prefix, (group_id, info), errors)
        if cand is not None:
            found.append(cand)
    return found


def _candidate(
    row: int,
    node: dict[str, Any],
    prefix: str,
    group: tuple[str, GroupInfo] | None,
    errors: list[RowError],
) -> Candidate | None:
    problems: list[FieldProblem] = []
    notices: list[FieldProblem] = []

    def take(check: Callable[[], T]) -> T | None:
        try:
            return check()
        except FieldProblem as problem:
            problems.append(problem)
            return None

    info = group[1] if group else None
    offer = _offer(node.get("offers"))
    sku = take(lambda: fields.identifier(node.get("sku") or node.get("productID"), prefix + "sku"))
    name = node.get("name") or (info.title if info else None)
    title = take(
        lambda: fields.prose(
            name, prefix + "name", max_len=LIMITS.title_len, notices=notices, required=True
        )
    )
    description = take(
        lambda: fields.prose(
            node.get("description"),
            prefix + "description",
            max_len=LIMITS.description_len,
            notices=notices,
            multiline=True,
        )
    )
    link = take(lambda: fields.url(node.get("url") or offer.get("url"), prefix + "url"))
    image = take(lambda: _image(node.get("image"), prefix + "image"))
    brand = take(lambda: _brand(node.get("brand"), prefix + "brand", notices))
    currency: str | None = None
    price_minor: int | None = None
    availability: str | None = None
    stock: int | None = None
    if not offer:
        # Nothing to sell it at: one clear problem, not the currency the offer would carry.
        problems.append(
            FieldProblem(
                prefix + "offers",
                "missing_offer",
                "a product needs an offer (schema.org Offer) with a price and a currency",
            )
        )
    else:
        currency = take(
            lambda: fields.currency(offer.get("priceCurrency"), prefix + "offers.priceCurrency")
        )
        amount = offer.get("price") if offer.get("price") is not None else offer.get("lowPrice")
        price_minor = (
            take(lambda: fields.price(amount, currency, prefix + "offers.price"))
            if currency is not None
            else None
        )
        availability = take(
            lambda: fields.availability(offer.get("availability"), prefix + "offers.availability")
        )
        stock = take(
            lambda: fields.quantity(offer.get("inventoryLevel"), prefix + "offers.inventoryLevel")
        )
    # ``identifier`` may also be a PropertyValue or a URL; only a plain id string is used.
    raw_identifier = node.get("identifier") if isinstance(node.get("identifier"), str) else None
    external = take(
        lambda: fields.text(raw_identifier, prefix + "identifier", max_len=LIMITS.id_len)
    )
    loose_group = take(lambda: _loose_group(node)) if group is None else None
    variant_title = take(lambda: _variant_title(node, prefix, notices))
    if problems:
        errors.extend(RowError(row, p.field, p.code, p.message) for p in problems)
        return None
    errors.extend(RowError(row, n.field, n.code, n.message) for n in notices)  # NOTICE_CODES
    assert sku is not None
    assert title is not None
    assert currency is not None
    assert price_minor is not None
    assert availability is not None
    if stock is None and availability == "out_of_stock":
        stock = 0
    return Candidate(
        row=row,
        sku=sku,
        title=title,
        price_minor=price_minor,
        currency=currency,
        description=description or "",
        url=link,
        image=image,
        brand=brand,
        stock=stock,
        availability=availability,
        external_id=fields.external_id_from(external, sku, offer.get("url") or link),
        group_id=group[0] if group else loose_group,
        variant_title=variant_title,
        group=info,
        sku_field=prefix + "sku",
        group_field="productGroupID",
    )


def _loose_group(node: dict[str, Any]) -> str | None:
    """The group of a variant listed on its own (``inProductGroupWithID`` or ``isVariantOf``)."""
    raw = node.get("inProductGroupWithID")
    parent = node.get("isVariantOf")
    if raw is None and isinstance(parent, dict):
        raw = parent.get("productGroupID") or parent.get("sku")
    if raw is None:
        return None
    return fields.identifier(raw, "inProductGroupWithID")


def _offer(raw: Any) -> dict[str, Any]:
    """The first offer (lists are common when a shop sells in several currencies)."""
    if isinstance(raw, list):
        raw = next((o for o in raw if isinstance(o, dict)), None)
    if not isinstance(raw, dict):
        return {}
    if raw.get("price") is None and raw.get("lowPrice") is None:
        spec = raw.get("priceSpecification")
        if isinstance(spec, list):
            spec = next((s for s in spec if isinstance(s, dict)), None)
        if isinstance(spec, dict):
            return {**raw, "price": spec.get("price"), "priceCurrency": spec.get("priceCurrency")}
    return raw


def _image(raw: Any, field: str) -> str | None:
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if isinstance(raw, dict):
        raw = raw.get("url") or raw.get("contentUrl")
    return fields.url(raw, field)


def _brand(raw: Any, field: str, notices: list[FieldProblem]) -> str | None:
    if isinstance(raw, dict):
        raw = raw.get("name")
    return fields.prose(raw, field, max_len=LIMITS.brand_len, notices=notices)


def _attribute(raw: Any) -> str:
    if isinstance(raw, dict):
        raw = raw.get("name") or raw.get("value")
    return raw.strip() if isinstance(raw, str) else ""


def _variant_title(node: dict[str, Any], prefix: str, notices: list[FieldProblem]) -> str | None:
    parts = [_attribute(node.get(key)) for key in ("size", "color", "material", "pattern")]
    joined = " / ".join(part for part in parts if part)
    return fields.prose(joined, prefix + "size", max_len=LIMITS.variant_title_len, notices=notices)
