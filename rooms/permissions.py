"""The one permission table: which role may issue which command, signal or REST action, per kind.

Rules elsewhere ask :func:`allowed` and never test roles themselves, with three documented
refinements that need the room's state: the rank rule (nobody acts on someone of equal or higher
rank, see :data:`rooms.model.RANK`), line ownership (roles outside :data:`ANY_LINE_EDITORS` edit
only the lines they added), and authorship (a poll closes by its opener or one of
:data:`OTHERS_MODERATORS`, a message is deleted by its author or one of them). ``SYSTEM_ACTOR`` is
a principal of its own and holds only the checkout-bridge commands.

:data:`REST_PERMISSIONS` holds the same for what members do over REST, not as room commands
(check out, cancel, hand off, pay their share, invite by role); the server asks :func:`allowed`
with a :class:`RestAction` and never tests role names itself. :data:`PHASES` and
:data:`REFUSED_WHILE_MUTED` say when an allowed action is possible; :func:`action_name` names
every row for clients (the view's ``you.may``). This module must not look at a room's state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from rooms import commands as c
from rooms import signals as s
from rooms.model import SYSTEM_ACTOR, Phase, Role, RoomKind

__all__ = [
    "ANY_LINE_CLAIMERS",
    "ANY_LINE_EDITORS",
    "INVITE_ACTIONS",
    "JOINABLE_ROLES",
    "OTHERS_MODERATORS",
    "PERMISSIONS",
    "PHASES",
    "REFUSED_WHILE_MUTED",
    "REST_PERMISSIONS",
    "SPLIT_BY_DEFAULT",
    "SPLIT_PICKABLE",
    "Principal",
    "RestAction",
    "action_name",
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
    c.DeclinePayment: _both(_EVERYONE),  # refinement: only the line's payer, not its adder
    # chat and moderation
    c.PostMessage: _both(_EVERYONE),
    c.DeleteMessage: _both(_EVERYONE),
    c.MuteMember: _both(_MODS),
    c.UnmuteMember: _both(_MODS),
    c.SetSlowMode: _both(_MODS),
    c.SetRoomWordList: _both(_MODS),
    c.SetMerchantWordList: _both(_SYSTEM),
    # stage
    c.PinProduct: _both(_HOSTS),
    c.UnpinProduct: _both(_HOSTS),
    c.Announce: _both(_MODS),
    c.SetStream: _both(_HOSTS),
    c.SetShowEnded: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: _SYSTEM},
    # checkout
    c.LockCart: _both(_HOST),
    c.UnlockCart: _both(_HOST),
    # the cart deadline and reminders are a group's (rules/deadline.py); the system locks and
    # may remind too
    c.SetDeadline: {RoomKind.GROUP: _HOST, RoomKind.LIVE: frozenset()},
    c.LockAtDeadline: _both(_SYSTEM),
    c.Nudge: {RoomKind.GROUP: _HOSTS | _SYSTEM, RoomKind.LIVE: frozenset()},
    c.BeginSettlement: _both(_SYSTEM),
    c.SettleOrder: _both(_SYSTEM),
    c.UpdateShare: _both(_SYSTEM),
    c.RecordHandoff: _both(_SYSTEM),
    c.ReportPricing: _both(_SYSTEM),
    # a group's choice for a payer who did not pay (a live viewer pays alone: no group to ask)
    c.RecordHoldout: {RoomKind.GROUP: _SYSTEM, RoomKind.LIVE: frozenset()},
    # a live viewer's own order (rules/viewer_orders.py), opened by the bridge; the host's
    # "someone just bought …" ticker
    c.BeginViewerOrder: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: _SYSTEM},
    c.SetBuyTicker: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: _HOSTS},
    # a live show's drops (rules/drops.py): the host starts and ends them, the audience claims,
    # the bridge gives back a claim no order could be opened for
    c.StartDrop: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: _HOSTS},
    c.EndDrop: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: _HOSTS},
    c.ClaimDrop: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: frozenset({_MEM, _VIEW})},
    c.ReleaseDropClaim: {RoomKind.GROUP: frozenset(), RoomKind.LIVE: _SYSTEM},
}
"""Command or signal class -> room kind -> principals that may issue it."""


class RestAction(StrEnum):
    """What a member does over REST rather than with a room command (the value is its name)."""

    CHECK_OUT = "check_out"  # price, snapshot and open an order (locks an open cart first)
    CHECK_OUT_OWN = "check_out_own"  # a live viewer: an order of their own lines, room open
    CANCEL_CHECKOUT = "cancel_checkout"  # give up the order being paid
    HAND_OFF = "hand_off"  # send the whole cart to the merchant's own checkout
    PAY_SHARE = "pay_share"  # open the payment page for one's own share (refinement: a payer)
    RESOLVE_HOLDOUT = "resolve_holdout"  # cover, re-split or drop a share someone did not pay
    INVITE_MEMBER = "invite_member"
    INVITE_VIEWER = "invite_viewer"
    INVITE_ASSOCIATE = "invite_associate"
    INVITE_MODERATOR = "invite_moderator"
    INVITE_COHOST = "invite_cohost"
    REVOKE_INVITE = "revoke_invite"
    SET_JOIN_POLICY = "set_join_policy"  # anyone with a link, or the shop's customers only
    MANAGE_INVITES = "manage_invites"  # list the room's invites; rotate, switch off/on a link
    INVITE_PERSONAL = "invite_personal"  # a one-use invite with the invitee's name
    ROTATE_MANAGE_LINK = "rotate_manage_link"  # a new manage link (the old one stops working)


_NOBODY: frozenset[Principal] = frozenset()

REST_PERMISSIONS: Mapping[RestAction, Mapping[RoomKind, frozenset[Principal]]] = {
    RestAction.CHECK_OUT: _both(_HOST),
    RestAction.CHECK_OUT_OWN: {RoomKind.GROUP: _NOBODY, RoomKind.LIVE: frozenset({_MEM, _VIEW})},
    RestAction.CANCEL_CHECKOUT: _both(_HOST),
    RestAction.HAND_OFF: _both(_HOST),
    RestAction.PAY_SHARE: _both(_EVERYONE),
    RestAction.RESOLVE_HOLDOUT: {RoomKind.GROUP: _HOST, RoomKind.LIVE: _NOBODY},
    RestAction.INVITE_MEMBER: _both(_HOSTS),
    RestAction.INVITE_VIEWER: {RoomKind.GROUP: _NOBODY, RoomKind.LIVE: _HOSTS},
    RestAction.INVITE_ASSOCIATE: _both(_HOSTS),
    RestAction.INVITE_MODERATOR: _both(_HOSTS),
    RestAction.INVITE_COHOST: _both(_HOST),
    RestAction.REVOKE_INVITE: _both(_HOSTS),
    RestAction.SET_JOIN_POLICY: _both(_HOSTS),
    RestAction.MANAGE_INVITES: _both(_HOSTS),
    RestAction.INVITE_PERSONAL: _both(_HOSTS),
    RestAction.ROTATE_MANAGE_LINK: _both(_HOST),
}
"""REST action -> room kind -> roles that may do it (the room's merchant may always invite)."""

JOINABLE_ROLES: Mapping[RoomKind, frozenset[Role]] = {
    RoomKind.GROUP: frozenset({_CO, _MOD, _AS, _MEM}),
    RoomKind.LIVE: frozenset({_CO, _MOD, _AS, _MEM, _VIEW}),
}
"""Roles a token may grant on Join (or a promotion may give); the host is set by open_room."""

INVITE_ACTIONS: Mapping[Role, RestAction] = {
    _MEM: RestAction.INVITE_MEMBER,
    _VIEW: RestAction.INVITE_VIEWER,
    _AS: RestAction.INVITE_ASSOCIATE,
    _MOD: RestAction.INVITE_MODERATOR,
    _CO: RestAction.INVITE_COHOST,
}
"""The action of inviting someone with a role; nobody invites a host."""

ANY_LINE_EDITORS: Mapping[RoomKind, frozenset[Role]] = {
    RoomKind.GROUP: frozenset({_H, _CO, _MOD, _AS}),
    RoomKind.LIVE: frozenset({_H, _CO, _AS}),
}
"""Roles (staff) that may change or remove any cart line; everyone else changes only the lines
they added or pay for (cart etiquette: ``not_your_line``)."""

ANY_LINE_CLAIMERS: Mapping[RoomKind, frozenset[Role]] = {
    RoomKind.GROUP: frozenset(Role),
    RoomKind.LIVE: frozenset({_H, _CO, _AS}),
}
"""Roles that may offer to pay for ("claim") a line someone else added: in a group anyone treats
a friend; in a live room a viewer pays only for their own lines."""

SPLIT_BY_DEFAULT: frozenset[Role] = frozenset({_H, _CO, _MEM})
"""Roles in an equal split unless the host picks otherwise (the host always; others when they
added or pay for a line): the staff who help — associates, moderators — only when picked."""

SPLIT_PICKABLE: frozenset[Role] = frozenset({_H, _CO, _MOD, _AS, _MEM})
"""Roles the host may pick into an equal split (a live audience never shares one)."""

OTHERS_MODERATORS: frozenset[Role] = frozenset({_H, _CO, _MOD})
"""Roles that may close others' polls and delete others' messages (moderator and above)."""

_OPEN = frozenset({Phase.OPEN})

PHASES: Mapping[type | RestAction, frozenset[Phase]] = {
    c.AddLine: _OPEN,
    c.SetQuantity: _OPEN,
    c.RemoveLine: _OPEN,
    c.ClaimLine: _OPEN,
    c.AssignPayer: _OPEN,
    c.DeclinePayment: _OPEN,
    c.LockCart: _OPEN,
    c.UnlockCart: frozenset({Phase.LOCKED}),
    c.SetDeadline: _OPEN,
    c.Nudge: frozenset({Phase.OPEN, Phase.SETTLING}),
    RestAction.CHECK_OUT: frozenset({Phase.OPEN, Phase.LOCKED}),
    RestAction.CHECK_OUT_OWN: _OPEN,
    RestAction.CANCEL_CHECKOUT: frozenset({Phase.SETTLING}),
    RestAction.PAY_SHARE: frozenset({Phase.SETTLING}),
    RestAction.RESOLVE_HOLDOUT: frozenset({Phase.SETTLING}),
}
"""Member actions possible only in some checkout phases (the rules refuse them in the others)."""

REFUSED_WHILE_MUTED: frozenset[type] = frozenset({c.PostMessage, s.React})
"""What a muted member may not do until the mute lapses or is lifted (typing shows nothing)."""


def action_name(kind: type | RestAction) -> str:
    """The snake_case name clients use for a row: ``AddLine`` -> ``add_line``."""
    if isinstance(kind, RestAction):
        return kind.value
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


def allowed(kind: type | RestAction, room_kind: RoomKind, principal: Principal) -> bool:
    """True when ``principal`` may issue commands/signals of class ``kind`` (or do a REST
    action) in such a room."""
    if isinstance(kind, RestAction):
        return principal in REST_PERMISSIONS[kind][room_kind]
    return principal in PERMISSIONS.get(kind, {}).get(room_kind, frozenset())


def permission_table_markdown() -> str:
    """The permission table as a Markdown table (``docs/rooms.md`` embeds it; a test compares)."""
    columns: list[Principal] = [*Role, SYSTEM_ACTOR]
    rows = [
        "| command / signal / REST action | " + " | ".join(str(col) for col in columns) + " |",
        "|---|" + "|".join(":-:" for _ in columns) + "|",
    ]
    table: list[tuple[str, Mapping[RoomKind, frozenset[Principal]]]] = [
        (f"`{cls.__name__}`", grants) for cls, grants in PERMISSIONS.items()
    ]
    table += [(f"REST `{action.value}`", grants) for action, grants in REST_PERMISSIONS.items()]
    for label, grants in table:
        cells = []
        for col in columns:
            group, live = col in grants[RoomKind.GROUP], col in grants[RoomKind.LIVE]
            cells.append("✓" if group and live else "group" if group else "live" if live else "")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
