"""The room aggregate: state, ``decide`` (validate, no mutation) and ``apply`` (the only mutation).

``decide`` resolves the actor (member role or ``SYSTEM_ACTOR``), checks the permission table and
hands over to a rule module in :mod:`rooms.rules`; it never mutates. ``apply`` folds one event into
state and never raises, even for events that refer to things already gone, so ``replay`` rebuilds
any room from its log. This module must not read clocks, draw ids or do I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, assert_never

from rooms import commands as c
from rooms import events as e
from rooms import signals as s
from rooms.errors import InvalidCommand, NotAllowed
from rooms.jsoncodec import from_json, to_json
from rooms.model import (
    STAFF,
    SYSTEM_ACTOR,
    Context,
    FollowMode,
    Phase,
    Role,
    RoomKind,
    RoomLimits,
)
from rooms.permissions import Principal, allowed
from rooms.rules import (
    cart,
    chat,
    checkout,
    deadline,
    drops,
    membership,
    polls,
    stage,
    viewer_orders,
)
from rooms.rules.common import product
from rooms.state import (
    Announcement,
    Drop,
    DropClaim,
    Holdout,
    Line,
    Member,
    Message,
    Nudge,
    OrderLine,
    Poll,
    Pricing,
    Receipt,
    ReceiptLine,
    ReceiptStep,
    Share,
    Stream,
    Tally,
    ViewerOrder,
    WordLists,
)
from rooms.view import room_view

__all__ = ["MAX_RECEIPTS", "Room"]

MAX_RECEIPTS = 10
"""Paid orders a room keeps with their receipts (its order history); older ones keep only an id."""


@dataclass(slots=True)
class Room:
    """One room's full state; compare rooms with ``==``."""

    room_id: str
    kind: RoomKind
    title: str
    host_id: str
    limits: RoomLimits
    opened_at: int
    members: dict[str, Member] = field(default_factory=dict)
    banned: dict[str, int] = field(default_factory=dict)  # member id -> banned at
    kicked: dict[str, int] = field(
        default_factory=dict
    )  # member id -> kicked at (needs a new invite)
    former_roles: dict[str, Role] = field(default_factory=dict)  # last role of members who left
    # the members whose role is in STAFF, in ``members``' order: a live viewer's view lists
    # staff and themself, and with thousands of viewers it must not scan them all per join
    staff: dict[str, None] = field(default_factory=dict)
    muted: dict[str, int | None] = field(default_factory=dict)  # member id -> until
    last_post: dict[str, int] = field(default_factory=dict)  # for slow mode
    slow_mode: int = 0
    follow_mode: FollowMode = "free"
    focus_sku: str | None = None  # last "bring everyone here"
    votes: dict[str, dict[str, int]] = field(default_factory=dict)  # sku -> member -> +-1
    tallies: dict[str, Tally] = field(default_factory=dict)
    polls: dict[str, Poll] = field(default_factory=dict)
    ballots: dict[str, dict[str, str]] = field(default_factory=dict)  # open poll -> member -> sku
    lines: dict[str, Line] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    stream: Stream | None = None
    show_ended_at: int | None = None  # the show API said the show ended (rules/stage.py)
    replay_ready: bool = False  # … and its recording is set
    phase: Phase = Phase.OPEN
    order_id: str | None = None
    snapshot_version: int | None = None
    shares: dict[str, Share] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)
    handoff_url: str | None = None
    pricing: Pricing | None = None  # the bridge's last pricing of the locked cart
    last_settled: tuple[str, str] | None = None  # (order id, "paid" | "void") of the last order
    word_lists: WordLists = field(default_factory=WordLists)  # rooms/wordlist.py
    strikes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # member -> blocked at
    order_steps: list[ReceiptStep] = field(default_factory=list)  # the order being paid, so far
    receipts: list[Receipt] = field(default_factory=list)  # paid orders, oldest first (capped)
    deadline: int | None = None  # when the open cart closes by itself (rules/deadline.py)
    deadline_by: str = ""  # who set it
    nudges: dict[str, Nudge] = field(default_factory=dict)  # member -> their latest reminder
    holdouts: list[Holdout] = field(default_factory=list)  # the order being paid, resolved
    # live viewers' own orders (rules/viewer_orders.py): open ones, the lines they freeze
    # (line id -> order id), each payer's latest settled one, each payer's receipts
    viewer_orders: dict[str, ViewerOrder] = field(default_factory=dict)
    frozen: dict[str, str] = field(default_factory=dict)
    viewer_last: dict[str, ViewerOrder] = field(default_factory=dict)
    viewer_receipts: dict[str, list[Receipt]] = field(default_factory=dict)
    sales_count: int = 0  # paid viewer orders, and what they brought in (staff see it)
    sales_minor: int = 0
    sales_currency: str = ""
    recent_sales: list[Receipt] = field(default_factory=list)  # newest last, capped
    buy_ticker: bool = False  # "someone just bought …" for the audience
    # drops (rules/drops.py): the room's drops (newest last, capped), the won claims not yet
    # paid or given back (line id -> claim), and the units each member holds or bought of a
    # drop (drops.taken_key -> units)
    drops: dict[str, Drop] = field(default_factory=dict)
    drop_claims: dict[str, DropClaim] = field(default_factory=dict)
    drop_taken: dict[str, int] = field(default_factory=dict)

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def replay(cls, events: Iterable[e.Event]) -> Room:
        """Rebuild a room from its log; the first event must be ``RoomOpened``."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, e.RoomOpened):
            raise ValueError("a room's log must start with RoomOpened")
        room = cls(
            room_id=first.room_id,
            kind=first.kind,
            title=first.title,
            host_id=first.host_id,
            limits=first.limits,
            opened_at=first.at,
            follow_mode="follow_host" if first.kind is RoomKind.LIVE else "free",
        )
        for event in iterator:
            room.apply(event)
        return room

    def to_snapshot(self) -> dict[str, Any]:
        """JSON-safe full state; ``Room.from_snapshot(room.to_snapshot()) == room``."""
        data: dict[str, Any] = to_json(self)
        del data["staff"]  # derived from members: rebuilt on load
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Room:
        """Inverse of :meth:`to_snapshot`; raises ``ValueError`` on a malformed snapshot."""
        room = from_json(cls, data)
        room._index_staff()  # derived from members: snapshots written before it lack it
        return room

    def copy(self) -> Room:
        """A copy that later ``apply`` calls on this room cannot change.

        Every value inside a room is frozen, so copying the containers — two levels for the
        nested vote and ballot maps — is enough: far cheaper than a deep copy or a replay. The
        server takes one before every turn (its checkpoint). A new container field must be
        copied here; ``tests/rooms/test_copy.py`` fails for one that is shared.
        """
        return Room(
            room_id=self.room_id,
            kind=self.kind,
            title=self.title,
            host_id=self.host_id,
            limits=self.limits,
            opened_at=self.opened_at,
            members=dict(self.members),
            banned=dict(self.banned),
            kicked=dict(self.kicked),
            former_roles=dict(self.former_roles),
            staff=dict(self.staff),
            muted=dict(self.muted),
            last_post=dict(self.last_post),
            slow_mode=self.slow_mode,
            follow_mode=self.follow_mode,
            focus_sku=self.focus_sku,
            votes={k: dict(v) for k, v in self.votes.items()},
            tallies=dict(self.tallies),
            polls=dict(self.polls),
            ballots={k: dict(v) for k, v in self.ballots.items()},
            lines=dict(self.lines),
            messages=list(self.messages),
            pins=list(self.pins),
            announcements=list(self.announcements),
            stream=self.stream,
            show_ended_at=self.show_ended_at,
            replay_ready=self.replay_ready,
            phase=self.phase,
            order_id=self.order_id,
            snapshot_version=self.snapshot_version,
            shares=dict(self.shares),
            orders=list(self.orders),
            handoff_url=self.handoff_url,
            pricing=self.pricing,
            last_settled=self.last_settled,
            word_lists=self.word_lists,
            strikes=dict(self.strikes),
            order_steps=list(self.order_steps),
            receipts=list(self.receipts),
            deadline=self.deadline,
            deadline_by=self.deadline_by,
            nudges=dict(self.nudges),
            holdouts=list(self.holdouts),
            viewer_orders=dict(self.viewer_orders),
            frozen=dict(self.frozen),
            viewer_last=dict(self.viewer_last),
            viewer_receipts={k: list(v) for k, v in self.viewer_receipts.items()},
            sales_count=self.sales_count,
            sales_minor=self.sales_minor,
            sales_currency=self.sales_currency,
            recent_sales=list(self.recent_sales),
            buy_ticker=self.buy_ticker,
            drops=dict(self.drops),
            drop_claims=dict(self.drop_claims),
            drop_taken=dict(self.drop_taken),
        )

    # --- queries ------------------------------------------------------------------------------
    @property
    def member_count(self) -> int:
        return len(self.members)

    def role_of(self, member_id: str) -> Role | None:
        member = self.members.get(member_id)
        return member.role if member else None

    def is_member(self, member_id: str) -> bool:
        return member_id in self.members

    def view(self, viewer: str, *, as_staff: bool = False) -> dict[str, Any]:
        """JSON-safe state a client sees on (re)join; live rooms show no full roster."""
        return room_view(self, viewer, as_staff=as_staff)

    # --- decide -------------------------------------------------------------------------------
    def _authorise(self, kind: type, actor: str) -> None:
        principal: Principal
        if actor == SYSTEM_ACTOR:
            principal = SYSTEM_ACTOR
        elif actor in self.members:
            principal = self.members[actor].role
        elif actor in self.banned:
            raise NotAllowed("banned", "you are banned from this room")
        else:
            raise NotAllowed("not_member", "join the room first")
        if not allowed(kind, self.kind, principal):
            raise NotAllowed("forbidden", f"a {principal} may not {kind.__name__} in this room")

    def decide(self, command: c.Command, ctx: Context) -> list[e.Event]:
        """Validate ``command`` and return its events; raises ``RoomError``; never mutates."""
        if not isinstance(command, c.Join):
            self._authorise(type(command), ctx.actor)
        match command:
            case c.Join():
                return membership.join(self, command, ctx)
            case c.Leave():
                return membership.leave(self, command, ctx)
            case c.Kick():
                return membership.kick(self, command, ctx)
            case c.Ban():
                return membership.ban(self, command, ctx)
            case c.Unban():
                return membership.unban(self, command, ctx)
            case c.PromoteMember():
                return membership.promote(self, command, ctx)
            case c.SetFollowMode():
                return stage.set_follow_mode(self, command, ctx)
            case c.BringEveryoneHere():
                return stage.bring_everyone_here(self, command, ctx)
            case c.Vote():
                return polls.vote(self, command, ctx)
            case c.OpenPoll():
                return polls.open_poll(self, command, ctx)
            case c.CastPollVote():
                return polls.cast_poll_vote(self, command, ctx)
            case c.ClosePoll():
                return polls.close_poll(self, command, ctx)
            case c.AddLine():
                return cart.add_line(self, command, ctx)
            case c.SetQuantity():
                return cart.set_quantity(self, command, ctx)
            case c.RemoveLine():
                return cart.remove_line(self, command, ctx)
            case c.ClaimLine():
                return cart.claim_line(self, command, ctx)
            case c.AssignPayer():
                return cart.assign_payer(self, command, ctx)
            case c.DeclinePayment():
                return cart.decline_payment(self, command, ctx)
            case c.PostMessage():
                return chat.post_message(self, command, ctx)
            case c.DeleteMessage():
                return chat.delete_message(self, command, ctx)
            case c.MuteMember():
                return chat.mute(self, command, ctx)
            case c.UnmuteMember():
                return chat.unmute(self, command, ctx)
            case c.SetSlowMode():
                return chat.set_slow_mode(self, command, ctx)
            case c.SetRoomWordList():
                return chat.set_room_word_list(self, command, ctx)
            case c.SetMerchantWordList():
                return chat.set_merchant_word_list(self, command, ctx)
            case c.PinProduct():
                return stage.pin(self, command, ctx)
            case c.UnpinProduct():
                return stage.unpin(self, command, ctx)
            case c.Announce():
                return stage.announce(self, command, ctx)
            case c.SetStream():
                return stage.set_stream(self, command, ctx)
            case c.SetShowEnded():
                return stage.set_show_ended(self, command, ctx)
            case c.LockCart():
                return checkout.lock_cart(self, command, ctx)
            case c.UnlockCart():
                return checkout.unlock_cart(self, command, ctx)
            case c.SetDeadline():
                return deadline.set_deadline(self, command, ctx)
            case c.LockAtDeadline():
                return deadline.lock_at_deadline(self, command, ctx)
            case c.Nudge():
                return deadline.nudge(self, command, ctx)
            case c.BeginSettlement():
                return checkout.begin_settlement(self, command, ctx)
            case c.SettleOrder():
                if command.order_id in self.viewer_orders:
                    return viewer_orders.settle_viewer_order(self, command, ctx)
                return checkout.settle_order(self, command, ctx)
            case c.UpdateShare():
                if command.order_id in self.viewer_orders:
                    return viewer_orders.update_viewer_share(self, command, ctx)
                return checkout.update_share(self, command, ctx)
            case c.RecordHandoff():
                return checkout.record_handoff(self, command, ctx)
            case c.ReportPricing():
                return checkout.report_pricing(self, command, ctx)
            case c.RecordHoldout():
                return checkout.record_holdout(self, command, ctx)
            case c.BeginViewerOrder():
                return viewer_orders.begin_viewer_order(self, command, ctx)
            case c.SetBuyTicker():
                return viewer_orders.set_buy_ticker(self, command, ctx)
            case c.StartDrop():
                return drops.start_drop(self, command, ctx)
            case c.EndDrop():
                return drops.end_drop(self, command, ctx)
            case c.ClaimDrop():
                return drops.claim_drop(self, command, ctx)
            case c.ReleaseDropClaim():
                return drops.release_claim(self, command, ctx)
            case _:
                assert_never(command)

    def check_signal(self, signal: s.Signal, ctx: Context) -> s.Signal:
        """Validate an ephemeral signal and return it normalised; raises ``RoomError``."""
        self._authorise(type(signal), ctx.actor)
        match signal:
            case s.Viewing():
                if signal.sku is not None:
                    product(ctx, signal.sku)
                return signal
            case s.Typing():
                if signal.active:
                    chat.check_not_muted(self, ctx)
                return signal
            case s.React():
                chat.check_not_muted(self, ctx)
                emoji = signal.emoji.removesuffix("\ufe0f")
                for candidate in (emoji, emoji + "\ufe0f"):
                    if candidate in s.REACTIONS:
                        return s.React(emoji=candidate)
                raise InvalidCommand("bad_signal", f"reactions are {sorted(s.REACTIONS)}")
            case _:
                assert_never(signal)

    # --- apply --------------------------------------------------------------------------------
    def apply(self, event: e.Event) -> None:
        """Fold one event into state: the only mutation; never raises."""
        match event:
            case e.RoomOpened():
                return  # replay builds the room from it; a repeated one changes nothing
            case e.MemberJoined():
                self.members[event.member_id] = Member(
                    event.member_id, event.display_name, event.role, event.at
                )
                self.staff.pop(event.member_id, None)  # a repeated join moves nothing
                if event.role in STAFF:
                    self._index_staff()
            case e.MemberLeft():
                self._forget(event.member_id)
            case e.MemberKicked():
                self._forget(event.member_id)
                self.kicked[event.member_id] = event.at
            case e.MemberBanned():
                self._forget(event.member_id)
                self.banned[event.member_id] = event.at
            case e.MemberUnbanned():
                self.banned.pop(event.member_id, None)
            case e.MemberPromoted():
                if event.member_id in self.members:
                    member = self.members[event.member_id]
                    self.members[event.member_id] = dataclasses.replace(member, role=event.role)
                    self._index_staff()
            case e.FollowModeSet():
                self.follow_mode = event.mode
            case e.EveryoneBrought():
                self.focus_sku = event.sku
            case e.VoteCast():
                self._apply_vote(event)
            case e.PollOpened():
                self.polls[event.poll_id] = Poll(
                    event.poll_id, event.question, event.options, event.opened_by, event.at
                )
                self.ballots[event.poll_id] = {}
            case e.PollVoteCast():
                if event.poll_id in self.ballots:
                    self.ballots[event.poll_id][event.member_id] = event.sku
            case e.PollClosed():
                self._apply_poll_closed(event)
            case e.LineAdded():
                self._drop_nudge(event.added_by, "add")
                self.lines[event.line_id] = Line(
                    line_id=event.line_id,
                    sku=event.sku,
                    variant=event.variant,
                    quantity=event.quantity,
                    note=event.note,
                    added_by=event.added_by,
                    payer=event.payer,
                    title=event.title,
                    price_minor=event.price_minor,
                    currency=event.currency,
                    added_at=event.at,
                )
            case e.QuantityChanged():
                if event.line_id in self.lines:
                    line = self.lines[event.line_id]
                    self.lines[event.line_id] = dataclasses.replace(line, quantity=event.quantity)
            case e.LineRemoved():
                self.lines.pop(event.line_id, None)
            case e.PayerAssigned():
                self._drop_nudge(event.payer, "add")
                if event.line_id in self.lines:
                    line = self.lines[event.line_id]
                    # who made them payer, to tell them (a group's etiquette; "" for a claim)
                    told = self.kind is RoomKind.GROUP and event.by != event.payer
                    by = event.by if told else ""
                    self.lines[event.line_id] = dataclasses.replace(
                        line, payer=event.payer, assigned_by=by
                    )
            case e.MessagePosted():
                self.messages.append(
                    Message(
                        event.message_id,
                        event.author,
                        event.text,
                        event.at,
                        event.author_name,
                        event.author_role,
                        event.product,
                    )
                )
                del self.messages[: max(0, len(self.messages) - self.limits.chat_history)]
                self.last_post[event.author] = event.at
            case e.MessageDeleted():
                self.messages = [m for m in self.messages if m.message_id != event.message_id]
            case e.MemberMuted():
                self.muted[event.member_id] = event.until
                self.strikes.pop(event.member_id, None)  # a mute starts their count afresh
            case e.MemberUnmuted():
                self.muted.pop(event.member_id, None)
            case e.SlowModeSet():
                self.slow_mode = event.seconds
            case e.MessageBlocked():
                recent = chat.recent_strikes(self.strikes.get(event.author, ()), event.at)
                self.strikes[event.author] = (*recent, event.at)
            case e.WordListSet():
                lists = self.word_lists
                self.word_lists = (
                    dataclasses.replace(lists, room=event.entries)
                    if event.scope == "room"
                    else dataclasses.replace(lists, merchant=event.entries)
                )
            case e.ProductPinned():
                if event.sku not in self.pins:
                    self.pins.append(event.sku)
            case e.ProductUnpinned():
                if event.sku in self.pins:
                    self.pins.remove(event.sku)
            case e.Announced():
                self.announcements.append(
                    Announcement(event.announcement_id, event.text, event.by, event.at)
                )
                excess = len(self.announcements) - self.limits.announcement_history
                del self.announcements[: max(0, excess)]
            case e.StreamSet():
                url, kind = event.url, event.stream_kind
                self.stream = Stream(url, kind) if url is not None and kind is not None else None
            case e.ShowEnded():
                self.show_ended_at, self.replay_ready = event.ended_at, event.replay
            case e.CartLocked():
                self.phase = Phase.LOCKED
                self.deadline, self.deadline_by = None, ""  # closed: the deadline is done
                self.nudges.clear()
            case e.DeadlineSet():
                self.deadline = event.closes_at
                self.deadline_by = event.by if event.closes_at is not None else ""
            case e.MemberNudged():
                self.nudges[event.member_id] = Nudge(
                    event.member_id, event.reason, event.by, event.at
                )
            case e.CartUnlocked():
                self.phase = Phase.OPEN
                self.pricing = None  # stale once the cart can change again
            case e.SettlementBegan():
                self.phase = Phase.SETTLING
                self.order_id = event.order_id
                self.snapshot_version = event.snapshot_version
                self.shares = {}
                self.holdouts = []
                self.order_steps = [ReceiptStep("checkout_started", "", event.at)]
            case e.ShareUpdated():
                if event.order_id in self.viewer_orders:
                    order = self.viewer_orders[event.order_id]
                    self.viewer_orders[event.order_id] = dataclasses.replace(
                        order, status=event.status, total_minor=event.amount_minor
                    )
                elif event.order_id == self.order_id:
                    self.shares[event.payer] = Share(event.payer, event.status, event.amount_minor)
                    if event.status in deadline.PAID_SHARES:
                        self._drop_nudge(event.payer, "pay")
                    if event.status != "pending":
                        self.order_steps.append(ReceiptStep(event.status, event.payer))
            case e.OrderSettled():
                if event.order_id in self.viewer_orders:
                    self._apply_viewer_settled(event)
                else:
                    self._apply_settled(event)
            case e.HandoffRecorded():
                self.handoff_url = event.url
            case e.HoldoutResolved():
                if event.order_id == self.order_id:
                    self.holdouts.append(
                        Holdout(
                            event.payer,
                            event.choice,
                            event.covered_by,
                            event.dropped_line_ids,
                            event.at,
                        )
                    )
                    for line_id in event.dropped_line_ids:
                        self.lines.pop(line_id, None)  # not bought: out of the cart
                    self.order_steps.append(ReceiptStep(event.choice, event.payer, event.at))
            case e.ViewerOrderBegan():
                if event.order_id not in self.viewer_orders:
                    self.viewer_orders[event.order_id] = ViewerOrder(
                        event.order_id,
                        event.payer,
                        event.lines,
                        event.total_minor,
                        event.currency,
                        "pending",
                        event.at,
                        event.deadline_at,
                    )
                    for ordered in event.lines:
                        self.frozen[ordered.line_id] = event.order_id
            case e.BuyTickerSet():
                self.buy_ticker = event.on
            case e.PurchaseShown():
                return  # shown to the audience as it happens; the room keeps nothing
            case e.DropStarted():
                self._apply_drop_started(event)
            case e.DropEnded():
                if event.drop_id in self.drops:
                    drop = self.drops[event.drop_id]
                    self.drops[event.drop_id] = dataclasses.replace(drop, ended_at=event.at)
            case e.DropClaimed():
                self._apply_drop_claimed(event)
            case e.DropClaimReleased():
                self._give_back(event.line_id, sold=False)
            case e.DropRemaining():
                return  # the public count: the room's own counts already moved
            case e.PricingReported():
                self.pricing = Pricing(
                    event.snapshot_version,
                    event.currency,
                    event.total_minor,
                    event.ready,
                    event.issues,
                    event.at,
                )
            case _:
                assert_never(event)

    def _apply_drop_started(self, event: e.DropStarted) -> None:
        self.drops[event.drop_id] = Drop(
            drop_id=event.drop_id,
            sku=event.sku,
            variant=event.variant,
            title=event.title,
            price_minor=event.price_minor,
            regular_minor=event.regular_minor,
            currency=event.currency,
            quantity=event.quantity,
            per_buyer_limit=event.per_buyer_limit,
            started_at=event.at,
            ends_at=event.ends_at,
            by=event.by,
            image=event.image,
        )
        ended = [d for d, drop in self.drops.items() if drop.ended_at is not None]
        for drop_id in ended[: max(0, len(self.drops) - drops.MAX_DROPS)]:
            del self.drops[drop_id]
            prefix = drops.taken_key(drop_id, "")
            for key in [k for k in self.drop_taken if k.startswith(prefix)]:
                del self.drop_taken[key]

    def _apply_drop_claimed(self, event: e.DropClaimed) -> None:
        drop = self.drops.get(event.drop_id)
        if drop is None or event.line_id in self.drop_claims:
            return
        self.drops[event.drop_id] = dataclasses.replace(drop, held=drop.held + event.quantity)
        self.drop_claims[event.line_id] = DropClaim(
            event.line_id,
            event.drop_id,
            event.member_id,
            event.variant,
            event.quantity,
            event.at,
            event.hold_until,
        )
        key = drops.taken_key(event.drop_id, event.member_id)
        self.drop_taken[key] = self.drop_taken.get(key, 0) + event.quantity

    def _give_back(self, line_id: str, *, sold: bool) -> None:
        """A claim ends: sold (its order was paid) or given back (its units return)."""
        claim = self.drop_claims.pop(line_id, None)
        if claim is None:
            return
        drop = self.drops.get(claim.drop_id)
        if sold:
            if drop is not None:
                self.drops[claim.drop_id] = dataclasses.replace(
                    drop, sold=drop.sold + claim.quantity
                )
            return
        if drop is not None:
            self.drops[claim.drop_id] = dataclasses.replace(drop, held=drop.held - claim.quantity)
        key = drops.taken_key(claim.drop_id, claim.member_id)
        left = self.drop_taken.get(key, 0) - claim.quantity
        if left > 0:
            self.drop_taken[key] = left
        else:
            self.drop_taken.pop(key, None)

    def _drop_nudge(self, member_id: str, reason: str) -> None:
        """The member did what they were reminded of: the reminder is done."""
        nudge = self.nudges.get(member_id)
        if nudge is not None and nudge.reason == reason:
            del self.nudges[member_id]

    def _forget(self, member_id: str) -> None:
        """A member leaves: the room remembers their last role, which a rejoin cannot exceed."""
        self.nudges.pop(member_id, None)
        member = self.members.pop(member_id, None)
        self.staff.pop(member_id, None)
        if member is not None:
            self.former_roles[member_id] = member.role

    def _index_staff(self) -> None:
        """Rebuild ``staff`` from ``members`` (on a staff join or a role change: rare)."""
        self.staff = {m: None for m, member in self.members.items() if member.role in STAFF}

    def _apply_vote(self, event: e.VoteCast) -> None:
        votes = self.votes.setdefault(event.sku, {})
        previous = votes.pop(event.member_id, 0)
        if event.value:
            votes[event.member_id] = event.value
        if not votes:
            del self.votes[event.sku]
        tally = self.tallies.get(event.sku, Tally())
        up = tally.up + (event.value == 1) - (previous == 1)
        down = tally.down + (event.value == -1) - (previous == -1)
        if up or down:
            self.tallies[event.sku] = Tally(up, down)
        else:
            self.tallies.pop(event.sku, None)

    def _apply_poll_closed(self, event: e.PollClosed) -> None:
        poll = self.polls.get(event.poll_id)
        if poll is None:
            return
        self.polls[event.poll_id] = dataclasses.replace(
            poll, closed=True, winner=event.winner, counts=event.counts
        )
        self.ballots.pop(event.poll_id, None)
        closed = [p.poll_id for p in self.polls.values() if p.closed]
        for poll_id in closed[: max(0, len(closed) - self.limits.max_closed_polls)]:
            del self.polls[poll_id]

    def _keep_receipt(self, event: e.OrderSettled) -> None:
        """Keep the paid order: its lines at the shop's checkout prices, shares and history."""
        pricing = self.pricing
        shop_price = {
            issue.line_id: issue.price_minor
            for issue in (pricing.issues if pricing is not None else ())
            if issue.kind == "price_changed" and issue.price_minor is not None
        }
        lines = tuple(
            ReceiptLine(
                line.sku,
                line.variant,
                line.title,
                line.quantity,
                shop_price.get(line.line_id, line.price_minor),
                line.added_by,
                line.payer,
            )
            for line in self.lines.values()
        )
        shares = tuple(self.shares.values())
        shown = next((line.currency for line in self.lines.values()), "")
        currency = pricing.currency if pricing is not None else shown
        self.receipts.append(
            Receipt(
                order_id=event.order_id,
                number=len(self.orders),
                currency=currency,
                total_minor=sum(share.amount_minor for share in shares),
                lines=lines,
                shares=shares,
                history=(*self.order_steps, ReceiptStep("paid", "", event.at)),
                paid_at=event.at,
            )
        )
        del self.receipts[: max(0, len(self.receipts) - MAX_RECEIPTS)]

    def _apply_viewer_settled(self, event: e.OrderSettled) -> None:
        """A viewer's own order ended: paid, its lines leave the cart as their receipt; void,
        they thaw. Either way the order is the payer's latest (``viewer_last``)."""
        order = self.viewer_orders.pop(event.order_id)
        for ordered in order.lines:
            self.frozen.pop(ordered.line_id, None)
        self.viewer_last[order.payer] = dataclasses.replace(order, status=event.outcome)
        if event.outcome != "paid":
            return
        for ordered in order.lines:
            self._give_back(ordered.line_id, sold=True)
        self.sales_count += 1
        if self.sales_currency in ("", order.currency):
            self.sales_currency = order.currency
            self.sales_minor += order.total_minor
        receipt = Receipt(
            order_id=order.order_id,
            number=self.sales_count,
            currency=order.currency,
            total_minor=order.total_minor,
            lines=tuple(self._receipt_line(ordered) for ordered in order.lines),
            shares=(Share(order.payer, "paid", order.total_minor),),
            history=(
                ReceiptStep("checkout_started", "", order.at),
                ReceiptStep("paid", "", event.at),
            ),
            paid_at=event.at,
        )
        for ordered in order.lines:
            self.lines.pop(ordered.line_id, None)
        mine = self.viewer_receipts.setdefault(order.payer, [])
        mine.append(receipt)
        del mine[: max(0, len(mine) - MAX_RECEIPTS)]
        self.recent_sales.append(receipt)
        del self.recent_sales[: max(0, len(self.recent_sales) - MAX_RECEIPTS)]

    def _receipt_line(self, ordered: OrderLine) -> ReceiptLine:
        line = self.lines.get(ordered.line_id)
        if line is None:  # cannot happen while frozen; a receipt still names the line
            return ReceiptLine("", None, "", ordered.quantity, ordered.unit_minor, "", "")
        return ReceiptLine(
            line.sku,
            line.variant,
            line.title,
            ordered.quantity,
            ordered.unit_minor,
            line.added_by,
            line.payer,
        )

    def _apply_settled(self, event: e.OrderSettled) -> None:
        if event.order_id != self.order_id:
            return
        self.last_settled = (event.order_id, event.outcome)
        if event.outcome == "paid":
            self.orders.append(event.order_id)
            self._keep_receipt(event)
            self.lines.clear()
        self.order_steps = []
        self.nudges.clear()
        self.holdouts = []
        self.phase = Phase.OPEN
        self.order_id = None
        self.snapshot_version = None
        self.shares = {}
        self.handoff_url = None
        self.pricing = None
