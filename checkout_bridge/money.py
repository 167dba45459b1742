"""Money as integers in a currency's minor unit, ISO 4217 exponents, and display formatting.

Every amount in coshop is an ``int`` of minor units: cents for EUR, yen for JPY (exponent 0),
fils for KWD (exponent 3). Floats never carry money. This module only knows currencies' exponents
(ISO 4217); it does not convert between currencies, round prices, or know about tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from checkout_bridge.errors import MoneyError

__all__ = [
    "Money",
    "format_minor",
    "major_to_minor",
    "minor_to_major_string",
    "minor_unit_exponent",
    "normalize_currency",
    "require_amount",
]

# ISO 4217 currencies whose minor unit is not 1/100 of the major unit. Everything else is 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip


def normalize_currency(code: str) -> str:
    """Upper-case a three-letter ISO 4217 code (providers send ``"eur"``); refuse anything else."""
    if not isinstance(code, str) or len(code) != 3 or not code.isascii() or not code.isalpha():
        raise MoneyError("invalid_currency", f"not an ISO 4217 code: {code!r}")
    return code.upper()


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has: JPY 0, EUR 2, KWD 3."""
    return _EXPONENTS.get(normalize_currency(currency), 2)


def require_amount(amount_minor: object, *, allow_negative: bool = False) -> int:
    """Return ``amount_minor`` if it is an ``int`` (not ``bool``) and, by default, not negative."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise MoneyError("invalid_amount", "amounts are integers in minor units")
    if amount_minor < 0 and not allow_negative:
        raise MoneyError("invalid_amount", "amount must not be negative")
    return amount_minor


def minor_to_major_string(amount_minor: int, currency: str) -> str:
    """Plain decimal text for forms and APIs: ``1234, "EUR"`` → ``"12.34"``; JPY → ``"1234"``."""
    exponent = minor_unit_exponent(currency)
    require_amount(amount_minor, allow_negative=True)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{major}"
    return f"{sign}{major}.{minor:0{exponent}d}"


def format_minor(amount_minor: int, currency: str) -> str:
    """Locale-neutral display text: ``123450, "EUR"`` → ``"1,234.50 EUR"``; ``"JPY"`` → no dot."""
    plain = minor_to_major_string(amount_minor, currency)
    sign, digits = ("-", plain[1:]) if plain.startswith("-") else ("", plain)
    major, dot, minor = digits.partition(".")
    return f"{sign}{int(major):,}{dot}{minor} {normalize_currency(currency)}"


def major_to_minor(text: str, currency: str) -> int:
    """Parse decimal text (``"12.34"``) into minor units, refusing more places than allowed."""
    exponent = minor_unit_exponent(currency)
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise MoneyError("invalid_amount", f"not a decimal amount: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError("invalid_amount", f"not a finite amount: {text!r}")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError("invalid_amount", f"{currency} has {exponent} decimal places")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount with its currency; arithmetic refuses to mix currencies."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        require_amount(self.amount_minor, allow_negative=True)
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError("currency_mismatch", f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount_minor * require_amount(quantity), self.currency)

    @property
    def exponent(self) -> int:
        return minor_unit_exponent(self.currency)

    def format(self) -> str:
        return format_minor(self.amount_minor, self.currency)

    def __str__(self) -> str:
        return self.format()
