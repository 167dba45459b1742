"""Checks shared by the rule modules: text, products, members, rank, cart phase."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from rooms.cardgate import redact_card_numbers
from rooms.catalog import ProductFacts
from rooms.errors import InvalidCommand, NotAllowed, NotFound, PhaseError
from rooms.model import RANK, Context, Phase
from rooms.state import Line, Member

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "MAX_ID",
    "clean_text",
    "find_line",
    "find_member",
    "outranks",
    "product",
    "require_open_cart",
]

MAX_ID = 64


def clean_text(raw: str, field: str, max_len: int, *, multiline: bool = False) -> tuple[str, bool]:
    """Trim, bound and card-gate free text; returns ``(text, redacted)``."""
    text = raw.strip()
    if not 1 <= len(text) <= max_len:
        raise InvalidCommand("invalid_text", f"{field} must be 1-{max_len} characters")
    for char in text:
        if unicodedata.category(char) == "Cc" and not (multiline and char == "\n"):
            raise InvalidCommand("invalid_text", f"{field} contains a control character")
    return redact_card_numbers(text)


def product(ctx: Context, sku: str) -> ProductFacts:
    """The catalogue facts of ``sku`` or ``unknown_product``."""
    facts = ctx.catalog.product(sku)
    if facts is None:
        raise NotFound("unknown_product", f"no product {sku!r} in the catalogue")
    return facts


def find_member(room: Room, member_id: str) -> Member:
    """The current member ``member_id`` or ``not_found``."""
    member = room.members.get(member_id)
    if member is None:
        raise NotFound("not_found", f"{member_id!r} is not a member of this room")
    return member


def find_line(room: Room, line_id: str) -> Line:
    """The cart line ``line_id`` or ``not_found``."""
    line = room.lines.get(line_id)
    if line is None:
        raise NotFound("not_found", f"no cart line {line_id!r}")
    return line


def outranks(room: Room, actor: str, target: Member) -> None:
    """Refuse with ``outranked`` unless ``actor`` ranks strictly above ``target``."""
    if RANK[room.members[actor].role] <= RANK[target.role]:
        raise NotAllowed("outranked", f"you cannot act on a {target.role.value}")


def require_open_cart(room: Room) -> None:
    """Refuse every cart edit with ``cart_locked`` unless the phase is open."""
    if room.phase is not Phase.OPEN:
        raise PhaseError("cart_locked", f"the cart is {room.phase.value}; edits are closed")
