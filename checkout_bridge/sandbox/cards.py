"""The documented test cards the hosted page accepts, and what each one does.

The sandbox never keeps a card number: :func:`lookup` returns the card's behaviour, brand and
last four digits, and callers store only those. Any number not in :data:`TEST_CARDS` is refused.
Pure: no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["TEST_CARDS", "CardBehaviour", "TestCard", "lookup", "normalise_number"]


class CardBehaviour(enum.Enum):
    SUCCEEDS = "succeeds"
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    REQUIRES_AUTHENTICATION = "requires_authentication"


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    behaviour: CardBehaviour
    description: str


def _card(number: str, brand: str, behaviour: CardBehaviour, description: str) -> TestCard:
    return TestCard(brand=brand, last4=number[-4:], behaviour=behaviour, description=description)


# Numbers are Stripe's published test numbers, so the same card works against Stripe test mode.
TEST_CARDS: dict[str, TestCard] = {
    "4242424242424242": _card(
        "4242424242424242", "visa", CardBehaviour.SUCCEEDS, "Visa: payment succeeds"
    ),
    "5555555555554444": _card(
        "5555555555554444", "mastercard", CardBehaviour.SUCCEEDS, "Mastercard: payment succeeds"
    ),
    "4000000000000002": _card(
        "4000000000000002", "visa", CardBehaviour.DECLINED, "Visa: generic decline"
    ),
    "4000000000009995": _card(
        "4000000000009995", "visa", CardBehaviour.INSUFFICIENT_FUNDS, "Visa: insufficient funds"
    ),
    "4000002760003184": _card(
        "4000002760003184",
        "visa",
        CardBehaviour.REQUIRES_AUTHENTICATION,
        "Visa: 3-D Secure authentication required",
    ),
}


def normalise_number(raw: str) -> str:
    """Drop the spaces and dashes people type between digit groups."""
    return "".join(ch for ch in raw if ch not in " -")


def lookup(raw_number: str) -> TestCard | None:
    """The test card for ``raw_number``, or ``None`` when it is not a documented test card."""
    return TEST_CARDS.get(normalise_number(raw_number))
