"""Validation of API parameters (already decoded from the bracket form) into typed values.

Each check raises :class:`~checkout_bridge.sandbox.errors.InvalidRequest` naming the parameter,
the way Stripe does. Pure: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checkout_bridge.sandbox.errors import InvalidRequest

__all__ = [
    "LineItemParams",
    "SessionParams",
    "optional_amount",
    "parse_session_params",
    "required_string",
]

MAX_EXPIRY = 24 * 3600
_CURRENCY = re.compile(r"^[a-z]{3}$")


@dataclass(frozen=True)
class LineItemParams:
    name: str
    unit_amount: int
    quantity: int
    currency: str

    @property
    def amount_total(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class SessionParams:
    line_items: tuple[LineItemParams, ...]
    currency: str
    success_url: str
    cancel_url: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    expires_at: int
    customer_email: str | None
    capture_method: str

    @property
    def amount_total(self) -> int:
        return sum(item.amount_total for item in self.line_items)


def _missing(param: str) -> InvalidRequest:
    return InvalidRequest("parameter_missing", f"Missing required param: {param}.", param)


def _invalid(param: str, message: str) -> InvalidRequest:
    return InvalidRequest("parameter_invalid", message, param)


def required_string(form: Mapping[str, Any], key: str, param: str | None = None) -> str:
    value = form.get(key)
    name = param or key
    if value is None or value == "":
        raise _missing(name)
    if not isinstance(value, str):
        raise _invalid(name, f"Invalid string: {name}.")
    return value


def _optional_string(form: Mapping[str, Any], key: str, max_length: int = 5000) -> str | None:
    value = form.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise _invalid(key, f"Invalid string: {key}.")
    return value


def _integer(value: Any, param: str, minimum: int) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d{1,15}", value):
        raise _invalid(param, f"Invalid integer: {param}.")
    number = int(value)
    if number < minimum:
        raise _invalid(param, f"{param} must be at least {minimum}.")
    return number


def optional_amount(form: Mapping[str, Any], key: str) -> int | None:
    value = form.get(key)
    if value is None or value == "":
        return None
    return _integer(value, key, 1)


def _url(form: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = required_string(form, key) if required else _optional_string(form, key, 2048)
    if value is not None and not value.startswith(("http://", "https://")):
        raise _invalid(key, f"{key} must be an http or https URL.")
    return value


def _line_item(raw: Any, index: int) -> LineItemParams:
    prefix = f"line_items[{index}]"
    if not isinstance(raw, dict):
        raise _invalid(prefix, f"Invalid object: {prefix}.")
    if "price" in raw:
        raise _invalid(f"{prefix}[price]", "The sandbox only supports inline price_data.")
    price = raw.get("price_data")
    if not isinstance(price, dict):
        raise _missing(f"{prefix}[price_data]")
    currency = required_string(price, "currency", f"{prefix}[price_data][currency]").lower()
    if not _CURRENCY.match(currency):
        raise _invalid(f"{prefix}[price_data][currency]", f"Invalid currency: {currency}.")
    if price.get("unit_amount") in (None, ""):
        raise _missing(f"{prefix}[price_data][unit_amount]")
    unit_amount = _integer(price["unit_amount"], f"{prefix}[price_data][unit_amount]", 0)
    product = price.get("product_data")
    if not isinstance(product, dict):
        raise _missing(f"{prefix}[price_data][product_data]")
    name = required_string(product, "name", f"{prefix}[price_data][product_data][name]")
    if raw.get("quantity") in (None, ""):
        raise _missing(f"{prefix}[quantity]")
    quantity = _integer(raw["quantity"], f"{prefix}[quantity]", 1)
    return LineItemParams(name=name, unit_amount=unit_amount, quantity=quantity, currency=currency)


def _metadata(form: Mapping[str, Any]) -> dict[str, str]:
    raw = form.get("metadata", {})
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise _invalid("metadata", "Invalid object: metadata.")
    if len(raw) > 50:
        raise _invalid("metadata", "metadata may have at most 50 keys.")
    result: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or len(key) > 40 or len(value) > 500:
            raise _invalid(f"metadata[{key}]", f"Invalid metadata value: metadata[{key}].")
        result[key] = value
    return result


def parse_session_params(form: Mapping[str, Any], now: int) -> SessionParams:
    """Validate ``POST /v1/checkout/sessions`` parameters."""
    mode = required_string(form, "mode")
    if mode != "payment":
        raise _invalid("mode", "The sandbox supports mode=payment only.")
    success_url = _url(form, "success_url", required=True)
    assert success_url is not None
    cancel_url = _url(form, "cancel_url", required=False)
    raw_items = form.get("line_items")
    if not raw_items:
        raise _missing("line_items")
    if not isinstance(raw_items, list):
        raise _invalid("line_items", "Invalid array: line_items.")
    items = tuple(_line_item(raw, index) for index, raw in enumerate(raw_items))
    currencies = {item.currency for item in items}
    if len(currencies) != 1:
        raise _invalid("line_items", "All line items must use the same currency.")
    expires_at = now + MAX_EXPIRY
    if form.get("expires_at") not in (None, ""):
        expires_at = _integer(form["expires_at"], "expires_at", 0)
        if not now < expires_at <= now + MAX_EXPIRY:
            raise _invalid("expires_at", "expires_at must be in the next 24 hours.")
    capture_method = "automatic"
    intent_data = form.get("payment_intent_data")
    if isinstance(intent_data, dict) and intent_data.get("capture_method") not in (None, ""):
        capture_method = intent_data["capture_method"]
        if capture_method not in ("automatic", "manual"):
            raise _invalid(
                "payment_intent_data[capture_method]",
                "capture_method must be automatic or manual.",
            )
    return SessionParams(
        line_items=items,
        currency=currencies.pop(),
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=_optional_string(form, "client_reference_id", 200),
        metadata=_metadata(form),
        expires_at=expires_at,
        customer_email=_optional_string(form, "customer_email", 512),
        capture_method=capture_method,
    )
