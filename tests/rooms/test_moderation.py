"""Moderation in the room core: word lists in chat and announcements, strikes, the auto-mute."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import SYSTEM_ACTOR, Role, Room, RoomKind, audience, command_from_wire
from rooms import commands as c
from rooms import events as e
from rooms.audience import STAFF_ONLY
from rooms.errors import RoomError
from rooms.rules.chat import AUTO_MUTE_MS, STRIKE_WINDOW_MS, STRIKES_TO_MUTE
from rooms.state import WordEntry, WordLists
from rooms.wordlist import MASK
from tests.rooms.support import Driver

ROOM_WORDS = (WordEntry("darn", "mask"), WordEntry("scam", "block"))


def _room(kind: RoomKind = RoomKind.LIVE) -> Driver:
    d = Driver(kind)
    d.join("mod", Role.MODERATOR)
    d.join("ann", Role.VIEWER if kind is RoomKind.LIVE else Role.MEMBER)
    d.join("bob", Role.VIEWER if kind is RoomKind.LIVE else Role.MEMBER)
    d.do("mod", c.SetRoomWordList(ROOM_WORDS))
    return d


def test_a_masked_word_goes_out_as_dots() -> None:
    d = _room()
    (posted,) = d.do("ann", c.PostMessage("that is DARN cheap"))
    assert isinstance(posted, e.MessagePosted)
    assert posted.text == f"that is {MASK} cheap"
    assert d.room.messages[-1].text == f"that is {MASK} cheap"


def test_a_blocked_message_is_not_posted_and_tells_its_author_which_word() -> None:
    d = _room()
    (blocked,) = d.do("ann", c.PostMessage("total \uff33\uff23\uff21\uff2d here"))
    assert blocked == e.MessageBlocked("ann", "Ann", ("scam",), 1, d.now)
    assert d.room.messages == []
    assert d.room.strikes == {"ann": (d.now,)}
    # for the author and staff only, in both kinds of room
    for kind in RoomKind:
        room = _room(kind)
        (ev,) = room.room.decide(c.PostMessage("scam"), room.ctx("ann"))
        who = audience(room.room, ev)
        assert not who.everyone and who.owners == {"ann"}
        assert not who.sees("bob")


def test_repeated_blocked_messages_mute_the_author_for_a_while() -> None:
    d = _room()
    for strike in range(1, STRIKES_TO_MUTE):
        (ev,) = d.do("ann", c.PostMessage("scam"))
        assert isinstance(ev, e.MessageBlocked) and ev.strikes == strike
    blocked, muted = d.do("ann", c.PostMessage("scam!"))
    assert isinstance(blocked, e.MessageBlocked) and blocked.strikes == STRIKES_TO_MUTE
    assert muted == e.MemberMuted("ann", d.now + AUTO_MUTE_MS, SYSTEM_ACTOR, "blocked_words")
    assert d.room.muted == {"ann": d.now + AUTO_MUTE_MS}
    assert "ann" not in d.room.strikes  # the mute starts the count afresh
    # staff see it in their view; the muted member sees their own mute
    staff = d.room.view("mod")["moderation"]
    assert staff["muted"] == [{"member_id": "ann", "until": d.now + AUTO_MUTE_MS}]
    assert d.room.view("ann")["muted"] == {"until": d.now + AUTO_MUTE_MS}
    # muted: even a clean message is refused, and no strike is added
    d.refuse("ann", c.PostMessage("sorry"), "muted")
    d.refuse("ann", c.PostMessage("scam"), "muted")
    # the mute lapses on its own
    d.now += AUTO_MUTE_MS
    (posted,) = d.do("ann", c.PostMessage("sorry"))
    assert isinstance(posted, e.MessagePosted)


def test_strikes_older_than_the_window_do_not_count() -> None:
    d = _room()
    d.do("ann", c.PostMessage("scam"))
    d.now += STRIKE_WINDOW_MS // 2
    (second,) = d.do("ann", c.PostMessage("scam"))
    d.now += STRIKE_WINDOW_MS // 2
    (third,) = d.do("ann", c.PostMessage("scam"))  # the first is out of the window now
    assert isinstance(third, e.MessageBlocked) and third.strikes == 2
    assert isinstance(second, e.MessageBlocked)
    assert "ann" not in d.room.muted
    assert d.room.strikes["ann"] == (second.at, third.at)


def test_one_members_strikes_do_not_count_against_another() -> None:
    d = _room()
    for _ in range(STRIKES_TO_MUTE - 1):
        d.do("ann", c.PostMessage("scam"))
        d.do("bob", c.PostMessage("scam"))
    assert d.room.muted == {}
    assert d.room.view("mod")["moderation"]["strikes"] == {
        "ann": list(d.room.strikes["ann"]),
        "bob": list(d.room.strikes["bob"]),
    }


def test_staff_are_refused_not_struck() -> None:
    d = _room()
    err = d.refuse("mod", c.PostMessage("not a scam"), "blocked_word")
    assert "'scam'" in err.message
    d.refuse("host", c.Announce("Scam alert"), "blocked_word")
    (posted,) = d.do("mod", c.PostMessage("darn"))
    assert isinstance(posted, e.MessagePosted) and posted.text == MASK


def test_announcements_are_masked_too() -> None:
    d = _room()
    (ann,) = d.do("host", c.Announce("Darn good deal"))
    assert isinstance(ann, e.Announced) and ann.text == f"{MASK} good deal"


def test_the_merchants_list_and_the_rooms_list_both_hold_and_block_wins() -> None:
    d = _room()
    merchant = (WordEntry("Darn", "block"), WordEntry("Heck", "mask"))
    (ev,) = d.do(SYSTEM_ACTOR, c.SetMerchantWordList(merchant))
    assert ev == e.WordListSet(
        "merchant", (WordEntry("darn", "block"), WordEntry("heck", "mask")), SYSTEM_ACTOR
    )
    assert audience(d.room, ev) is STAFF_ONLY
    assert d.do(SYSTEM_ACTOR, c.SetMerchantWordList(merchant)) == []  # unchanged: no event
    (posted,) = d.do("ann", c.PostMessage("heck yes"))
    assert isinstance(posted, e.MessagePosted) and posted.text == f"{MASK} yes"
    (blocked,) = d.do("ann", c.PostMessage("darn"))
    assert isinstance(blocked, e.MessageBlocked) and blocked.words == ("darn",)
    # the room's list stays its own
    assert d.room.word_lists == WordLists(
        room=ROOM_WORDS, merchant=(WordEntry("darn", "block"), WordEntry("heck", "mask"))
    )


def test_only_moderators_set_the_rooms_list_and_only_the_server_the_merchants() -> None:
    d = _room()
    d.refuse("ann", c.SetRoomWordList(()), "forbidden")
    d.refuse("mod", c.SetMerchantWordList(()), "forbidden")
    d.refuse("mod", c.SetRoomWordList((WordEntry("?!"),)), "invalid_word_list")
    d.refuse(SYSTEM_ACTOR, c.SetMerchantWordList((WordEntry(""),)), "invalid_word_list")
    assert d.do("mod", c.SetRoomWordList(ROOM_WORDS)) == []
    (cleared,) = d.do("mod", c.SetRoomWordList(()))
    assert cleared == e.WordListSet("room", (), "mod")
    (posted,) = d.do("ann", c.PostMessage("scam"))
    assert isinstance(posted, e.MessagePosted)
    with pytest.raises(RoomError) as info:
        command_from_wire("SetMerchantWordList", {"entries": []})
    assert info.value.code == "unknown_command"


def test_the_list_decodes_from_a_client_frame() -> None:
    cmd = command_from_wire(
        "SetRoomWordList", {"entries": [{"word": "darn", "action": "mask"}, {"word": "scam"}]}
    )
    assert cmd == c.SetRoomWordList((WordEntry("darn", "mask"), WordEntry("scam", "block")))
    for bad in ({"entries": [{"word": "x", "action": "hide"}]}, {"entries": "darn"}):
        with pytest.raises(RoomError) as info:
            command_from_wire("SetRoomWordList", bad)
        assert info.value.code == "bad_command"


def test_staff_see_the_lists_and_the_audience_does_not() -> None:
    d = _room()
    d.do(SYSTEM_ACTOR, c.SetMerchantWordList((WordEntry("heck", "mask"),)))
    mod = d.room.view("mod")["moderation"]
    assert mod["word_list"] == [
        {"word": "darn", "action": "mask"},
        {"word": "scam", "action": "block"},
    ]
    assert mod["merchant_word_list"] == [{"word": "heck", "action": "mask"}]
    assert mod["auto_mute"] == {
        "strikes": STRIKES_TO_MUTE,
        "window_ms": STRIKE_WINDOW_MS,
        "mute_ms": AUTO_MUTE_MS,
    }
    assert d.room.view("ann")["moderation"] is None
    assert d.room.view("", as_staff=True)["moderation"] == mod
    assert d.room.view("mod")["you"]["may"]["set_room_word_list"] is True
    assert d.room.view("ann")["you"]["may"]["set_room_word_list"] is False
    assert "set_merchant_word_list" not in d.room.view("mod")["you"]["may"]


def test_replay_snapshot_and_copy_keep_lists_and_strikes() -> None:
    d = _room()
    d.do(SYSTEM_ACTOR, c.SetMerchantWordList((WordEntry("heck", "mask"),)))
    d.do("ann", c.PostMessage("scam"))
    copy = d.room.copy()
    assert d.replayed() == d.room
    assert Room.from_snapshot(d.room.to_snapshot()) == d.room
    d.do("ann", c.PostMessage("scam"))
    assert copy.strikes["ann"] != d.room.strikes["ann"]


_TEXTS = st.sampled_from(["scam", "hi", "darn it", "\uff33\uff23\uff21\uff2d", "fine"])


@settings(max_examples=200, deadline=None)
@given(script=st.lists(st.tuples(st.sampled_from(["ann", "bob"]), _TEXTS, st.integers(0, 400_000))))
def test_the_auto_mute_follows_the_rule_and_replays_the_same(
    script: list[tuple[str, str, int]],
) -> None:
    """Whatever the timing, a member is muted exactly when their STRIKES_TO_MUTE-th blocked
    message falls within the window, and replaying the log gives the same room."""
    d = _room()
    times: dict[str, list[int]] = {"ann": [], "bob": []}
    for who, text, gap in script:
        d.now += gap
        muted_until = d.room.muted.get(who)
        if muted_until is not None and muted_until > d.now + 1:  # the next command's time
            d.refuse(who, c.PostMessage(text), "muted")
            continue
        events = d.do(who, c.PostMessage(text))
        if "scam" not in text.lower() and "\uff53\uff43\uff41\uff4d" not in text.lower():
            assert [type(ev) for ev in events] == [e.MessagePosted]
            continue
        times[who] = [t for t in times[who] if t > d.now - STRIKE_WINDOW_MS] + [d.now]
        if len(times[who]) >= STRIKES_TO_MUTE:
            assert [type(ev) for ev in events] == [e.MessageBlocked, e.MemberMuted]
            times[who] = []
        else:
            assert [type(ev) for ev in events] == [e.MessageBlocked]
    assert d.replayed() == d.room


def test_a_ban_takes_the_banned_members_messages_out_of_the_chat_for_everyone() -> None:
    d = _room()
    d.do("ann", c.PostMessage("hello all"))
    d.do("bob", c.PostMessage("FREE FOLLOWERS click my profile"))
    d.do("bob", c.PostMessage("FREE FOLLOWERS again"))
    spam = [m.message_id for m in d.room.messages if m.author == "bob"]
    events = d.do("mod", c.Ban("bob"))
    assert events == [
        e.MemberBanned("bob", "mod", d.now),
        *(e.MessageDeleted(message_id, "mod") for message_id in spam),
    ]
    assert [m.author for m in d.room.messages] == ["ann"]
    # every viewer is told (they never see a viewer's ban itself), and a replay agrees
    for deleted in events[1:]:
        assert audience(d.room, deleted).everyone
    assert [m.message_id for m in Room.replay(d.log).messages] == [
        m.message_id for m in d.room.messages
    ]
