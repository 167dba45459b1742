"""Votes on products (tallies) and product polls with vote-to-cart."""

from __future__ import annotations

from rooms import Role, RoomKind, RoomLimits
from rooms import commands as c
from rooms import events as e
from rooms.cardgate import PLACEHOLDER
from rooms.state import Tally
from tests.rooms.support import Driver


def test_vote_change_withdraw_and_tallies() -> None:
    d = Driver()
    d.join("bob")
    assert d.do("bob", c.Vote("tee", 1)) == [e.VoteCast("tee", "bob", 1)]
    d.do("host", c.Vote("tee", 1))
    assert d.room.tallies["tee"] == Tally(2, 0)
    assert d.do("bob", c.Vote("tee", 1)) == []
    d.do("bob", c.Vote("tee", -1))
    assert d.room.tallies["tee"] == Tally(1, 1)
    d.do("bob", c.Vote("tee", 0))
    d.do("host", c.Vote("tee", 0))
    assert "tee" not in d.room.tallies
    assert "tee" not in d.room.votes
    assert d.do("bob", c.Vote("tee", 0)) == []
    d.refuse("bob", c.Vote("tee", 2), "bad_command")
    d.refuse("bob", c.Vote("nope", 1), "unknown_product")
    view = d.room.view("bob")
    assert view["votes"] == {"tallies": {}, "mine": {}}


def test_votes_show_in_view() -> None:
    d = Driver()
    d.join("bob")
    d.do("bob", c.Vote("mug", -1))
    d.do("host", c.Vote("mug", -1))
    assert d.room.view("bob")["votes"] == {
        "tallies": {"mug": {"up": 0, "down": 2}},
        "mine": {"mug": -1},
    }


def test_poll_lifecycle_with_vote_to_cart() -> None:
    d = Driver()
    d.join("bob")
    d.join("amy")
    (opened,) = d.do("bob", c.OpenPoll("Which one?", ("tee", "mug", "bag")))
    assert isinstance(opened, e.PollOpened)
    poll = opened.poll_id
    d.do("bob", c.CastPollVote(poll, "mug"))
    d.do("amy", c.CastPollVote(poll, "tee"))
    assert d.do("amy", c.CastPollVote(poll, "tee")) == []
    d.do("amy", c.CastPollVote(poll, "mug"))
    d.refuse("amy", c.CastPollVote(poll, "pen"), "invalid_option")
    d.refuse("amy", c.ClosePoll(poll, True), "forbidden")  # not the opener, not a moderator
    view = d.room.view("amy")["polls"][0]
    assert (view["counts"], view["mine"], view["closed"]) == ([0, 2, 0], "mug", False)
    closed, added = d.do("bob", c.ClosePoll(poll, True))
    assert closed == e.PollClosed(poll, "mug", (0, 2, 0), "bob", d.now)
    assert isinstance(added, e.LineAdded)
    assert (added.sku, added.quantity, added.added_by) == ("mug", 1, "bob")
    d.refuse("bob", c.CastPollVote(poll, "mug"), "poll_closed")
    d.refuse("bob", c.ClosePoll(poll, False), "poll_closed")
    d.refuse("bob", c.ClosePoll("nope", False), "not_found")
    view = d.room.view("amy")["polls"][0]
    assert (view["counts"], view["winner"], view["closed"]) == ([0, 2, 0], "mug", True)


def test_poll_ties_go_to_first_option_and_the_host_picks_the_variant() -> None:
    d = Driver()
    d.join("bob")
    (opened,) = d.do("host", c.OpenPoll("?", ("bag", "tee")))
    assert isinstance(opened, e.PollOpened)
    d.do("bob", c.CastPollVote(opened.poll_id, "tee"))
    d.do("host", c.CastPollVote(opened.poll_id, "bag"))
    closed, added = d.do("host", c.ClosePoll(opened.poll_id, True))
    assert isinstance(closed, e.PollClosed)
    assert closed.winner == "bag"
    (opened,) = d.do("host", c.OpenPoll("?", ("bag", "tee")))
    assert isinstance(opened, e.PollOpened)
    d.do("bob", c.CastPollVote(opened.poll_id, "tee"))
    _, added = d.do("host", c.ClosePoll(opened.poll_id, True, "m"))
    assert isinstance(added, e.LineAdded)
    assert (added.sku, added.variant, added.added_by) == ("tee", "m", "host")
    # a winner with variants and no (or a wrong) variant picked: the poll closes, nothing is
    # added — never a guessed size
    for picked in (None, "xl"):
        (opened,) = d.do("host", c.OpenPoll("?", ("bag", "tee")))
        assert isinstance(opened, e.PollOpened)
        d.do("bob", c.CastPollVote(opened.poll_id, "tee"))
        (closed,) = d.do("host", c.ClosePoll(opened.poll_id, True, picked))
        assert isinstance(closed, e.PollClosed) and closed.winner == "tee"


def test_poll_without_votes_or_open_cart_adds_nothing() -> None:
    d = Driver()
    d.add("host", "mug")
    (opened,) = d.do("host", c.OpenPoll("?", ("bag", "tee")))
    assert isinstance(opened, e.PollOpened)
    assert d.do("host", c.ClosePoll(opened.poll_id, True)) == [
        e.PollClosed(opened.poll_id, None, (0, 0), "host", d.now)
    ]
    (opened,) = d.do("host", c.OpenPoll("?", ("bag", "tee")))
    assert isinstance(opened, e.PollOpened)
    d.do("host", c.CastPollVote(opened.poll_id, "bag"))
    d.do("host", c.LockCart())
    (closed,) = d.do("host", c.ClosePoll(opened.poll_id, True))
    assert isinstance(closed, e.PollClosed)
    assert closed.winner == "bag"


def test_poll_validation_and_bounds() -> None:
    d = Driver(limits=RoomLimits(max_open_polls=2, max_closed_polls=1))
    d.refuse("host", c.OpenPoll("?", ("tee",)), "invalid_option")
    d.refuse("host", c.OpenPoll("?", ("tee", "tee")), "invalid_option")
    d.refuse(
        "host",
        c.OpenPoll("?", ("tee", "mug", "cap", "bag", "sold", "pen", "ink")),
        "invalid_option",
    )
    d.refuse("host", c.OpenPoll("?", ("tee", "nope")), "unknown_product")
    d.refuse("host", c.OpenPoll(" ", ("tee", "mug")), "invalid_text")
    (first,) = d.do("host", c.OpenPoll("card 6011111111111117?", ("tee", "mug")))
    assert isinstance(first, e.PollOpened)
    assert (first.question, first.redacted) == (f"card {PLACEHOLDER}?", True)
    (second,) = d.do("host", c.OpenPoll("b", ("tee", "mug")))
    assert isinstance(second, e.PollOpened)
    d.refuse("host", c.OpenPoll("c", ("tee", "mug")), "too_many_polls")
    d.do("host", c.ClosePoll(first.poll_id, False))
    d.do("host", c.ClosePoll(second.poll_id, False))
    assert list(d.room.polls) == [second.poll_id]  # only the newest closed poll is kept
    d.refuse("host", c.CastPollVote(first.poll_id, "tee"), "not_found")


def test_live_polls_are_staff_only_and_moderators_close_any() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.join("a", Role.ASSOCIATE)
    d.join("m", Role.MODERATOR)
    d.refuse("v", c.OpenPoll("?", ("tee", "mug")), "forbidden")
    (opened,) = d.do("a", c.OpenPoll("?", ("tee", "mug")))
    assert isinstance(opened, e.PollOpened)
    d.do("v", c.CastPollVote(opened.poll_id, "tee"))
    d.refuse("v", c.ClosePoll(opened.poll_id, False), "forbidden")
    d.do("m", c.ClosePoll(opened.poll_id, False))
