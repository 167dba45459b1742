"""The REST rows of the permission table and the view's ``you.may``.

``you.may`` must answer what the rules answer: an action it calls possible is not refused for
its role, phase or mute, and one it calls impossible is. ``PHASES``, ``REFUSED_WHILE_MUTED`` and
``OTHERS_MODERATORS`` are checked against the rules and ``RANK`` they summarise.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rooms import Phase, Role, RoomKind
from rooms import commands as c
from rooms import signals as s
from rooms.errors import RoomError
from rooms.model import RANK, SYSTEM_ACTOR
from rooms.permissions import (
    INVITE_ACTIONS,
    JOINABLE_ROLES,
    OTHERS_MODERATORS,
    PERMISSIONS,
    PHASES,
    REFUSED_WHILE_MUTED,
    REST_PERMISSIONS,
    RestAction,
    action_name,
    allowed,
)
from tests.rooms.support import Driver


def _may(d: Driver, who: str) -> dict[str, bool]:
    you = d.room.view(who)["you"]
    assert you is not None
    may: dict[str, bool] = you["may"]
    return may


def _may_if(d: Driver, who: str) -> dict[str, Any]:
    you = d.room.view(who)["you"]
    assert you is not None
    result: dict[str, Any] = you["may_if"]
    return result


def _live() -> Driver:
    d = Driver(RoomKind.LIVE)
    d.join("co", Role.COHOST)
    d.join("mod", Role.MODERATOR)
    d.join("ast", Role.ASSOCIATE)
    d.join("vic", Role.VIEWER)
    return d


def test_rest_rows_speak_for_the_checkout_and_invites() -> None:
    for kind in RoomKind:
        assert allowed(RestAction.CHECK_OUT, kind, Role.HOST)
        assert not allowed(RestAction.CHECK_OUT, kind, Role.COHOST)
        assert not allowed(RestAction.CANCEL_CHECKOUT, kind, Role.MEMBER)
        assert not allowed(RestAction.HAND_OFF, kind, SYSTEM_ACTOR)
        assert allowed(RestAction.PAY_SHARE, kind, Role.VIEWER)
        assert allowed(RestAction.INVITE_COHOST, kind, Role.HOST)
        assert not allowed(RestAction.INVITE_COHOST, kind, Role.COHOST)
        assert allowed(RestAction.INVITE_MODERATOR, kind, Role.COHOST)
        assert not allowed(RestAction.REVOKE_INVITE, kind, Role.MODERATOR)
    assert allowed(RestAction.INVITE_VIEWER, RoomKind.LIVE, Role.COHOST)
    assert not allowed(RestAction.INVITE_VIEWER, RoomKind.GROUP, Role.HOST)


def test_a_role_is_invited_only_where_it_may_join() -> None:
    assert Role.HOST not in INVITE_ACTIONS
    assert set(INVITE_ACTIONS) == set().union(*JOINABLE_ROLES.values())
    for role, action in INVITE_ACTIONS.items():
        for kind in RoomKind:
            anyone = bool(REST_PERMISSIONS[action][kind])
            assert anyone == (role in JOINABLE_ROLES[kind]), (role, kind)


def test_every_row_has_a_unique_snake_case_name() -> None:
    rows: list[type | RestAction] = [*PERMISSIONS, *REST_PERMISSIONS]
    names = [action_name(k) for k in rows]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", n) for n in names)
    assert action_name(c.BringEveryoneHere) == "bring_everyone_here"
    assert action_name(RestAction.CHECK_OUT) == "check_out"


def test_the_authorship_refinement_is_moderator_and_above() -> None:
    assert {r for r in Role if RANK[r] >= RANK[Role.MODERATOR]} == OTHERS_MODERATORS


def test_may_has_one_entry_per_member_row_and_no_bridge_row() -> None:
    d = Driver()
    may = _may(d, "host")
    assert "begin_settlement" not in may and "report_pricing" not in may
    assert "add_line" in may and "check_out" in may and "invite_viewer" in may
    assert set(may) == set(_may(_live(), "vic"))  # the same keys in every kind and role


def test_may_in_a_live_room_follows_the_role() -> None:
    d = _live()
    host, co, mod, ast, vic = (_may(d, m) for m in ("host", "co", "mod", "ast", "vic"))
    assert host["pin_product"] and host["check_out"] and host["lock_cart"]
    assert host["promote_member"] and host["invite_cohost"] and host["edit_any_line"]
    assert co["pin_product"] and co["invite_viewer"] and not co["check_out"]
    assert not co["invite_cohost"] and not co["promote_member"]
    assert mod["mute_member"] and mod["close_any_poll"] and not mod["pin_product"]
    assert not mod["edit_any_line"]
    assert ast["bring_everyone_here"] and ast["open_poll"] and ast["edit_any_line"]
    assert ast["close_poll"] and not ast["close_any_poll"] and not ast["delete_any_message"]
    assert vic["add_line"] and vic["post_message"] and vic["react"] and vic["delete_message"]
    assert not vic["open_poll"] and not vic["close_poll"] and not vic["pin_product"]
    assert not vic["edit_any_line"] and not vic["mute_member"] and not vic["invite_member"]
    assert ast["ignore_slow_mode"] and mod["ignore_slow_mode"] and not vic["ignore_slow_mode"]
    assert not any(vic[k] for k in ("check_out", "cancel_checkout", "hand_off", "pay_share"))


def test_may_in_a_group_room() -> None:
    d = Driver()
    d.join("bob")
    bob = _may(d, "bob")
    assert bob["open_poll"] and bob["close_poll"] and not bob["edit_any_line"]
    assert bob["claim_any_line"] and _may(d, "host")["edit_any_line"]
    assert not bob["close_any_poll"] and not bob["invite_member"] and not bob["lock_cart"]
    assert not _may(d, "host")["invite_viewer"]
    assert d.room.view("nobody")["you"] is None


def test_a_muted_member_may_not_post_or_react_until_unmuted() -> None:
    d = Driver()
    d.join("bob")
    assert _may_if(d, "bob")["post_message"] == {"unmuted": True}
    d.do("host", c.MuteMember("bob", d.now + 60_000))
    bob = _may(d, "bob")
    assert not bob["post_message"] and not bob["react"] and bob["add_line"]
    for kind in REFUSED_WHILE_MUTED:
        command = c.PostMessage("hi") if kind is c.PostMessage else s.React("🔥")
        with pytest.raises(RoomError) as refused:
            if isinstance(command, s.React):
                d.room.check_signal(command, d.ctx("bob"))
            else:
                d.room.decide(command, d.ctx("bob"))
        assert refused.value.code == "muted"
    d.do("host", c.UnmuteMember("bob"))
    assert _may(d, "bob")["post_message"] and _may(d, "bob")["react"]


def test_may_follows_the_phase() -> None:
    d = Driver()
    d.join("bob")
    d.add("bob")
    host = _may(d, "host")
    assert host["lock_cart"] and host["check_out"] and not host["unlock_cart"]
    assert not host["cancel_checkout"] and not host["pay_share"]
    assert _may_if(d, "host")["check_out"] == {"phases": ["locked", "open"]}
    d.do("host", c.LockCart())
    host, bob = _may(d, "host"), _may(d, "bob")
    assert host["unlock_cart"] and host["check_out"] and not host["lock_cart"]
    assert not bob["add_line"] and not bob["claim_line"] and bob["post_message"]
    assert _may_if(d, "bob")["add_line"] == {"phases": ["open"]}
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "pending", 900))
    host, bob = _may(d, "host"), _may(d, "bob")
    assert host["cancel_checkout"] and not host["check_out"] and not host["unlock_cart"]
    assert bob["pay_share"] and not host["pay_share"]  # the host has no share of its own


@pytest.mark.parametrize("phase", [Phase.LOCKED, Phase.SETTLING])
def test_the_rules_refuse_what_phases_holds_back(phase: Phase) -> None:
    d = Driver()
    d.join("bob")
    line = d.add("bob")
    d.do("host", c.LockCart())
    if phase is Phase.SETTLING:
        d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
        d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "pending", 900))
    commands: dict[type, c.Command] = {
        c.AddLine: c.AddLine("mug", None, 1),
        c.SetQuantity: c.SetQuantity(line, 2),
        c.RemoveLine: c.RemoveLine(line),
        c.ClaimLine: c.ClaimLine(line),
        c.AssignPayer: c.AssignPayer(line, "host"),
        c.DeclinePayment: c.DeclinePayment(line),
        c.LockCart: c.LockCart(),
        c.UnlockCart: c.UnlockCart(),
        c.SetDeadline: c.SetDeadline(d.now + 60_000),
        c.Nudge: c.Nudge("bob"),
    }
    assert set(commands) == {k for k in PHASES if isinstance(k, type)}
    may = _may(d, "host")
    for kind, command in commands.items():
        possible = phase in PHASES[kind]
        assert may[action_name(kind)] == possible
        if possible:
            assert d.room.decide(command, d.ctx("host"))
        else:
            with pytest.raises(RoomError) as refused:
                d.room.decide(command, d.ctx("host"))
            assert refused.value.code in ("cart_locked", "bad_phase")
