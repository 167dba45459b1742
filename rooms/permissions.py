"""The one permission table: which role may issue which command or signal, per room kind.

Rules elsewhere ask :func:`allowed` and never test roles themselves, with three documented
refinements that need the room's state: the rank rule (nobody acts on someone of equal or higher
rank, see :data:`rooms.model.RANK`), line ownership (roles outside :data:`ANY_LINE_EDITORS` edit
only the lines they added), and authorship (a poll closes by its opener or a moderator+, a message
is deleted by its author or a moderator+). ``SYSTEM_ACTOR`` is a principal of its own and holds
only the checkout-bridge commands. This module must not look at a room's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from rooms import commands as c
from rooms import signals as s
from rooms.model import SYSTEM_ACTOR, Role, RoomKind

__all__ = [
    "ANY_LINE_EDITORS",
    "JOINABLE_ROLES",
    "PERMISSIONS",
    "Principal",
    "allowed",
    "permission_table_markdown",
]

Principal = Role | Literal["system"]

_H, _CO, _MOD, _AS, _MEM, _VIEW = (
    Role.HOST,
    Role.COHOST,
    Role.MODERATOR,
    Role.ASSOCIATE,
    Role.MEMBER,
    Role.VIEWER,
)
_SYSTEM: frozenset[Principal] = frozenset({SYSTEM_ACTOR})
_EVERYONE: frozenset[Principal] = frozenset(Role)
_STAFF: frozenset[Principal] = frozenset({_H, _CO, _MOD, _AS})
_MODS: frozenset[Principal] = frozenset({_H, _CO, _MOD})
_HOSTS: frozenset[Principal] = frozenset({_H, _CO})
_HOST: frozenset[Principal] = frozenset({_H})


def _both(roles: frozenset[Principal]) -> Mapping[RoomKind, frozenset[Principal]]:
    return {RoomKind.GROUP: roles, RoomKind.LIVE: roles}


PERMISSIONS: Mapping[type, Mapping[RoomKind, frozenset[Principal]]] = {
    # membership (Join is checked against JOINABLE_ROLES: the role comes from the token)
    c.Leave: _both(_EVERYONE),
    c.Kick: _both(_MODS),
    c.Ban: _both(_MODS),
    c.Unban: _both(_MODS),
    c.PromoteMember: _both(_HOST),
    # co-browse
    c.SetFollowMode: _both(_HOSTS),
    c.BringEveryoneHere: _both(frozenset({_H, _CO, _AS})),
    s.Viewing: _both(_EVERYONE),
    s.Typing: _both(_EVERYONE),
    s.React: _both(_EVERYONE),
    # votes and polls
    c.Vote: _both(_EVERYONE),
    c.OpenPoll: {RoomKind.GROUP: _EVERYONE, RoomKind.LIVE: _STAFF},
    c.CastPollVote: _both(_EVERYONE),
    c.ClosePoll: {RoomKind.GROUP: _EVERYONE, RoomKind.LIVE: _STAFF},
    # cart (ownership refinement: ANY_LINE_EDITORS)
    c.AddLine: _both(_EVERYONE),
    c.SetQuantity: _both(_EVERYONE),
    c.RemoveLine: _both(_EVERYONE),
    c.ClaimLine: _both(_EVERYONE),
    c.AssignPayer: _both(_HOSTS),
    # chat and moderation
    c.PostMessage: _both(_EVERYONE),
    c.DeleteMessage: _both(_EVERYONE),
    c.MuteMember: _both(_MODS),
    c.UnmuteMember: _both(_MODS),
    c.SetSlowMode: _both(_MODS),
    # stage
    c.PinProduct: _both(_HOSTS),
    c.UnpinProduct: _both(_HOSTS),
    c.Announce: _both(_MODS),
    c.SetStream: _both(_HOSTS),
    # checkout
    c.LockCart: _both(_HOST),
    c.UnlockCart: _both(_HOST),
    c.BeginSettlement: _both(_SYSTEM),
    c.SettleOrder: _both(_SYSTEM),
    c.UpdateShare: _both(_SYSTEM),
    c.RecordHandoff: _both(_SYSTEM),
    c.ReportPricing: _both(_SYSTEM),
}
"""Command or signal class -> room kind -> principals that may issue it."""

JOINABLE_ROLES: Mapping[RoomKind, frozenset[Role]] = {
    RoomKind.GROUP: frozenset({_CO, _MOD, _AS, _MEM}),
    RoomKind.LIVE: frozenset({_CO, _MOD, _AS, _MEM, _VIEW}),
}
"""Roles a token may grant on Join (or a promotion may give); the host is set by open_room."""

ANY_LINE_EDITORS: Mapping[RoomKind, frozenset[Role]] = {
    RoomKind.GROUP: frozenset(Role),
    RoomKind.LIVE: frozenset({_H, _CO, _AS}),
}
"""Roles that may edit or claim cart lines other members added; others edit only their own."""


def allowed(kind: type, room_kind: RoomKind, principal: Principal) -> bool:
    """True when ``principal`` may issue commands/signals of class ``kind`` in such a room."""
    return principal in PERMISSIONS.get(kind, {}).get(room_kind, frozenset())


def permission_table_markdown() -> str:
    """The permission table as a Markdown table (``docs/rooms.md`` embeds it; a test compares)."""
    columns: list[Principal] = [*Role, SYSTEM_ACTOR]
    rows = [
        "| command / signal | " + " | ".join(str(col) for col in columns) + " |",
        "|---|" + "|".join(":-:" for _ in columns) + "|",
    ]
    for cls, grants in PERMISSIONS.items():
        cells = []
        for col in columns:
            group, live = col in grants[RoomKind.GROUP], col in grants[RoomKind.LIVE]
            cells.append("✓" if group and live else "group" if group else "live" if live else "")
        rows.append(f"| `{cls.__name__}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)
