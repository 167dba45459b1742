"""One contract suite, run against both broker implementations (STYLE.md §4).

Two brokers on one medium are two processes. "Not delivered" is shown without waiting for a
timeout: per-channel (and per-connection) order is preserved, so when a later message arrives
first, the earlier one was not delivered.
"""

from __future__ import annotations

import asyncio

import pytest

from server.broker import (
    BrokerClosed,
    BrokerMessage,
    InMemoryBroker,
    InvalidName,
    UnknownKind,
)
from tests.server.broker.conftest import Inbox, MakeBroker


async def test_publish_reaches_other_process_but_not_its_own(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox_a, inbox_b = Inbox(), Inbox()
    await a.subscribe("room-1", inbox_a)
    await b.subscribe("room-1", inbox_b)

    await a.publish("room-1", "events", b"\x00batch-1\xff")
    assert await inbox_b.next() == BrokerMessage(
        room_id="room-1", kind="events", origin=a.process_id, payload=b"\x00batch-1\xff"
    )

    await b.publish("room-1", "signal", b"typing")
    got = await inbox_a.next()
    # a's own "batch-1" would have arrived first had it been delivered back.
    assert (got.kind, got.origin, got.payload) == ("signal", b.process_id, b"typing")

    await a.publish("room-1", "signal", b"")
    got = await inbox_b.next()
    assert (got.origin, got.payload) == (a.process_id, b"")
    assert inbox_a.empty()
    assert inbox_b.empty()


async def test_others_may_listen_is_never_false_while_another_process_is_subscribed(
    make_broker: MakeBroker,
) -> None:
    a, b = await make_broker(), await make_broker()
    await a.subscribe("room-1", Inbox())  # its own subscription does not count
    memory = isinstance(a, InMemoryBroker)
    if memory:  # the bus knows nobody else listens; Redis may always say yes
        assert not a.others_may_listen("room-1")
    await b.subscribe("room-1", Inbox())
    assert a.others_may_listen("room-1") and b.others_may_listen("room-1")
    await b.unsubscribe("room-1")
    if memory:
        assert not a.others_may_listen("room-1")
        assert b.others_may_listen("room-1")  # a still listens


async def test_only_subscribed_rooms_receive(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox = Inbox()
    await a.subscribe("room-sub", inbox)

    await b.publish("room-other", "events", b"not for a")
    await b.publish("room-sub", "events", b"for a")

    assert (await inbox.next()).payload == b"for a"
    assert inbox.empty()


async def test_each_room_goes_to_its_own_handler(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox_1, inbox_2 = Inbox(), Inbox()
    await a.subscribe("room-1", inbox_1)
    await a.subscribe("room-2", inbox_2)

    await b.publish("room-2", "events", b"two")
    await b.publish("room-1", "events", b"one")

    assert (await inbox_1.next()).room_id == "room-1"
    assert (await inbox_2.next()).room_id == "room-2"


async def test_unsubscribe_stops_delivery(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    left, kept = Inbox(), Inbox()
    await a.subscribe("room-left", left)
    await a.subscribe("room-kept", kept)

    await a.unsubscribe("room-left")
    await a.unsubscribe("room-never-subscribed")  # ignored
    await b.publish("room-left", "events", b"after unsubscribe")
    await b.publish("room-kept", "events", b"marker")

    assert (await kept.next()).payload == b"marker"
    assert left.empty()


async def test_subscribe_again_replaces_the_handler(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    old, new = Inbox(), Inbox()
    await a.subscribe("room-1", old)
    await a.subscribe("room-1", new)

    await b.publish("room-1", "events", b"x")

    assert (await new.next()).payload == b"x"
    assert old.empty()


async def test_resubscribe_after_unsubscribe_delivers_again(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox = Inbox()
    await a.subscribe("room-1", inbox)
    await a.unsubscribe("room-1")
    await a.subscribe("room-1", inbox)

    await b.publish("room-1", "events", b"back")

    assert (await inbox.next()).payload == b"back"


async def test_messages_arrive_in_publish_order(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox = Inbox()
    await b.subscribe("room-1", inbox)

    for i in range(50):
        await a.publish("room-1", "events", i.to_bytes(2, "big"))

    received = [int.from_bytes((await inbox.next()).payload, "big") for _ in range(50)]
    assert received == list(range(50))


async def test_a_failing_handler_does_not_stop_delivery(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox = Inbox()
    calls: list[bytes] = []

    def flaky(message: BrokerMessage) -> None:
        calls.append(message.payload)
        if message.payload == b"boom":
            raise RuntimeError("handler bug")
        inbox(message)

    await a.subscribe("room-1", flaky)
    await b.publish("room-1", "events", b"boom")
    await b.publish("room-1", "events", b"fine")

    assert (await inbox.next()).payload == b"fine"
    assert calls == [b"boom", b"fine"]


async def test_a_third_process_receives_from_both_others(make_broker: MakeBroker) -> None:
    a, b, c = await make_broker(), await make_broker(), await make_broker()
    inbox = Inbox()
    await c.subscribe("room-1", inbox)

    await a.publish("room-1", "events", b"from a")
    await b.publish("room-1", "events", b"from b")

    origins = {(await inbox.next()).origin, (await inbox.next()).origin}
    assert origins == {a.process_id, b.process_id}


async def test_presence_is_the_union_across_processes(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    await a.set_presence("room-1", {"m1": "Ann", "m2": "Bo"}, 30)
    await b.set_presence("room-1", {"m3": "Cy", "m1": "Ann"}, 30)
    await b.set_presence("room-2", {"m9": "Other room"}, 30)

    expected = {"m1": "Ann", "m2": "Bo", "m3": "Cy"}
    assert await a.presence("room-1") == expected
    assert await b.presence("room-1") == expected
    # A member present through two processes (two tabs) is one viewer.
    assert await a.viewer_count("room-1") == 3
    assert await a.presence("room-empty") == {}
    assert await a.viewer_count("room-empty") == 0


async def test_set_presence_replaces_and_empty_withdraws(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    await a.set_presence("room-1", {"m1": "Ann", "m2": "Bo"}, 30)
    await b.set_presence("room-1", {"m3": "Cy"}, 30)

    await a.set_presence("room-1", {"m2": "Bo (renamed)"}, 30)
    assert await b.presence("room-1") == {"m2": "Bo (renamed)", "m3": "Cy"}

    await a.set_presence("room-1", {}, 30)
    assert await b.presence("room-1") == {"m3": "Cy"}
    assert await b.viewer_count("room-1") == 1


async def test_presence_of_a_dead_process_expires(make_broker: MakeBroker) -> None:
    alive, dead = await make_broker(), await make_broker()
    await alive.set_presence("room-1", {"m1": "Ann"}, 30)
    await dead.set_presence("room-1", {"ghost": "Gus", "m1": "Ann"}, 1)
    assert await alive.viewer_count("room-1") == 2

    # The "dead" process never refreshes; its entry must vanish by itself. (A wait, not a
    # timing assertion: anything past the 1 s TTL must show no ghost.)
    await asyncio.sleep(1.5)

    assert await alive.presence("room-1") == {"m1": "Ann"}
    assert await alive.viewer_count("room-1") == 1
    # Still so on a second read (the expired process was forgotten, not resurrected).
    assert await alive.presence("room-1") == {"m1": "Ann"}


async def test_refreshed_presence_survives_its_first_ttl(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    await a.set_presence("room-1", {"m1": "Ann"}, 1)
    await asyncio.sleep(0.6)
    await a.set_presence("room-1", {"m1": "Ann"}, 30)
    await asyncio.sleep(0.6)

    assert await b.presence("room-1") == {"m1": "Ann"}


async def test_close_withdraws_presence_and_subscriptions(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    await a.set_presence("room-1", {"m1": "Ann"}, 30)
    await b.set_presence("room-1", {"m2": "Bo"}, 30)

    await a.close()

    assert await b.presence("room-1") == {"m2": "Bo"}
    assert not a.healthy
    with pytest.raises(BrokerClosed) as excinfo:
        await a.publish("room-1", "events", b"late")
    assert excinfo.value.code == "broker_closed"
    await a.close()  # idempotent


async def test_healthy_once_started(make_broker: MakeBroker) -> None:
    a = await make_broker()
    assert a.healthy
    assert a.process_id


async def test_explicit_process_id_is_the_origin(make_broker: MakeBroker) -> None:
    a, b = await make_broker(process_id="proc-a"), await make_broker(process_id="proc-b")
    inbox = Inbox()
    await b.subscribe("room-1", inbox)
    await a.publish("room-1", "events", b"x")

    assert (await inbox.next()).origin == "proc-a"
    assert a.process_id == "proc-a"


async def test_unknown_kind_and_bad_room_ids_are_refused(make_broker: MakeBroker) -> None:
    a = await make_broker()
    with pytest.raises(UnknownKind) as kind_error:
        await a.publish("room-1", "gossip", b"x")
    assert kind_error.value.code == "broker_kind_unknown"
    for bad in ("", "has space", "brace{tag}", "x" * 201):
        with pytest.raises(InvalidName):
            await a.publish(bad, "events", b"x")
        with pytest.raises(InvalidName):
            await a.subscribe(bad, Inbox())
        with pytest.raises(InvalidName):
            await a.set_presence(bad, {"m": "n"}, 5)


async def test_a_room_id_may_contain_colons_and_unicode(make_broker: MakeBroker) -> None:
    a, b = await make_broker(), await make_broker()
    inbox = Inbox()
    room = "shop:acme:Zürich-live"
    await b.subscribe(room, inbox)
    await a.publish(room, "events", b"x")
    await a.set_presence(room, {"m1": "Zoë"}, 30)

    assert (await inbox.next()).room_id == room
    assert await b.presence(room) == {"m1": "Zoë"}


async def test_use_before_start_is_refused() -> None:
    broker = InMemoryBroker()
    with pytest.raises(BrokerClosed):
        await broker.subscribe("room-1", Inbox())
    assert not broker.healthy
