"""The room core's one exception tree.

Every refusal of a command or signal is a :class:`RoomError` carrying a stable, machine-readable
``code`` that the transport sends to the client (all codes are listed in ``docs/errors.md``). A
refused command changes nothing. This module must not grow behaviour: it only names failures::

    RoomError                 (code: str, message: str)
    ├── InvalidCommand        bad_command, unknown_command, bad_signal, unknown_signal,
    │                         invalid_text, invalid_quantity, invalid_variant, invalid_url,
    │                         invalid_option, bad_role, close_time_past, close_time_too_far,
    │                         nothing_to_nudge, invalid_price, invalid_limit,
    │                         invalid_duration
    ├── NotAllowed            forbidden, not_member, banned, muted, slow_mode, outranked,
    │                         host_cannot_leave, nudged_recently
    ├── NotFound              not_found, unknown_product
    ├── LimitExceeded         room_full, too_many_lines, too_many_polls, too_many_pins,
    │                         out_of_stock, drop_sold_out, drop_limit_reached
    └── PhaseError            cart_locked, bad_phase, cart_empty, poll_closed, no_close_time,
                              close_time_not_reached, drop_ended, no_active_drop,
                              drop_running, not_pinned, drop_line
"""

from __future__ import annotations

__all__ = [
    "InvalidCommand",
    "LimitExceeded",
    "NotAllowed",
    "NotFound",
    "PhaseError",
    "RoomError",
]


class RoomError(Exception):
    """A command or signal the room refuses; ``code`` is stable, ``message`` is for humans."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InvalidCommand(RoomError):
    """The command is malformed or its values are out of range."""


class NotAllowed(RoomError):
    """The actor may not do this (role, rank, ban, mute, slow mode)."""


class NotFound(RoomError):
    """The command names a line, message, poll, member or product that does not exist."""


class LimitExceeded(RoomError):
    """A cap of the room would be exceeded (members, lines, polls, pins, stock)."""


class PhaseError(RoomError):
    """The command does not fit the room's current phase (e.g. editing a locked cart)."""
