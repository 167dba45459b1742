"""The socket side of the server: everything between a WebSocket and a room's actor.

- ``ws.py`` — the ``/ws/rooms/{room_id}`` endpoint: handshake, hello, reading frames, rate
  limits, handing commands and signals to the hub;
- ``session.py`` — one connected socket as a room sees it: codec, bounded outbox, writer task,
  close codes; never awaited by a room;
- ``direct.py`` — fan-out writes straight to uvicorn's transport, one serialised frame for all;
- ``wire.py`` — the two subprotocols' codecs (JSON and MessagePack), the only msgpack user.

``session``, ``direct`` and ``wire`` know nothing of rooms, the hub, storage or REST
(``tests/test_architecture.py``); ``ws`` is the one module that binds sockets to the hub. No
module here imports ``server.checkout``.
"""
