"""A product shared in chat over the wire: PostMessage.product in, a card in MessagePosted out.

Every frame is checked against the published schema (tests/server/peers.py), so the optional
``product`` of the command and the event is part of the documented contract.
"""

from __future__ import annotations

import httpx

from tests.server.conftest import LiveServer
from tests.server.peers import JSON, MSGPACK, Peer, create_room, join


async def _command(peer: Peer, op: str, args: dict[str, object]) -> None:
    await peer.send({"t": "cmd", "op": op, "name": "PostMessage", "args": args})


async def test_a_shared_product_reaches_everyone_as_a_card(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url, codec=JSON)
    await host.hello(room["host"]["token"])
    bea = await join(http, room, "Bea")
    guest = await Peer.open(url, codec=MSGPACK)
    await guest.hello(bea["token"])
    await host.events(1)  # Bea joined

    product = {"sku": "bag-20f", "variant": "bag-20f-long"}
    await _command(guest, "share-1", {"text": "", "product": product})
    (seen,) = await host.events(1)
    assert seen["ev"]["type"] == "MessagePosted"
    assert (seen["ev"]["text"], seen["ev"]["author_name"]) == ("", "Bea")
    assert seen["ev"]["product"] == {
        "sku": "bag-20f",
        "variant": "bag-20f-long",
        "title": "Alpenglow 20°F Sleeping Bag",
        "price_minor": seen["ev"]["product"]["price_minor"],
        "currency": "USD",
        "image": "/static/demo/img/bag-20f.svg",
    }
    assert (await guest.recv_until("ack"))["op"] == "share-1"
    # the card's price is the one the cart takes for that variant
    await guest.send(
        {
            "t": "cmd",
            "op": "add-1",
            "name": "AddLine",
            "args": {"sku": "bag-20f", "variant": "bag-20f-long", "quantity": 1},
        }
    )
    (added,) = await host.events(1)
    assert added["ev"]["type"] == "LineAdded"
    assert seen["ev"]["product"]["price_minor"] == added["ev"]["price_minor"]

    # an old client's frame (text only) is unchanged: no product on the event
    await _command(host, "plain", {"text": "nice"})
    _own_line, plain = await guest.events(2)
    assert plain["ev"]["text"] == "nice" and plain["ev"].get("product") is None
    await host.close()
    await guest.close()


async def test_a_share_the_catalogue_does_not_know_is_refused(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    host = await Peer.open(live_server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    cases: list[tuple[dict[str, object], str]] = [
        ({"text": "look", "product": {"sku": "no-such-sku"}}, "unknown_product"),
        ({"product": {"sku": "bag-20f", "variant": "xxl"}}, "invalid_variant"),
        ({"product": {"sku": "tent-2p", "variant": "bag-20f-long"}}, "invalid_variant"),
        ({"text": "  "}, "invalid_text"),
        ({"product": {"variant": None}}, "bad_command"),
        ({"product": {"sku": "tent-2p", "price_minor": 1}}, "bad_command"),  # no prices in
    ]
    for i, (args, code) in enumerate(cases):
        await _command(host, f"o{i}", args)
        msg = await host.recv_until("err")
        assert (msg["code"], msg["op"]) == (code, f"o{i}"), msg
    # nothing reached the room; the next share is accepted
    await _command(host, "ok", {"product": {"sku": "tent-2p"}})
    (ev,) = await host.events(1)
    assert ev["ev"]["product"]["sku"] == "tent-2p" and ev["ev"]["product"]["variant"] is None
    await host.close()
