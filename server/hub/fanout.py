"""Fan-out by audience (DESIGN.md §11): each recipient gets only the events its view may show.

:func:`rooms.audience.audience` says who receives an event; this module turns a run of
committed events into frames, encoded **once per audience class**, never once per recipient:

- *public*: members who own none of these events — the events for everyone;
- *staff*: every event as it is;
- *one owner*: the events for everyone plus that member's own (some shown as another event,
  :attr:`rooms.audience.Audience.shown_as`). Only members who own something in the run get a
  class of their own, so a tick with one viewer's cart line costs one extra encoding.

Each event's message is encoded once per subprotocol and the class frames are composed from
those pieces (:func:`compose_batch`), so an owner's frame costs a join, not an encoding.

Frames that leave events out are ``batch`` frames that carry the seq range they cover
(``from``..``to``): a client applies the events it gets and moves its cursor to ``to``, so
hidden events are gaps it expects, not reasons to resync (docs/protocol.md). This module
knows nothing of sockets beyond ``Session.send``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rooms import event_to_wire
from rooms.audience import EVERYONE, Audience
from rooms.model import STAFF
from server.protocol.frames import batch_head
from server.transport.session import Session
from server.transport.wire import JSON, MSGPACK, Codec

__all__ = [
    "STAFF_ROLES",
    "AudienceBatch",
    "Item",
    "batch_head",
    "compose_batch",
    "visible",
]

STAFF_ROLES = frozenset(role.value for role in STAFF)
"""Session roles (strings) that receive every event."""

Item = tuple[dict[str, Any], Audience]
"""An ``ev`` message and who may receive it."""

_STAFF_KEY = "\x00staff"  # never a member id: member ids are short printable tokens
_PUBLIC_KEY = "\x00public"


def _shown(message: dict[str, Any], audience: Audience, member_id: str) -> dict[str, Any] | None:
    """The message a member who is not staff receives for ``message`` (None: none)."""
    if audience.everyone:
        return message
    if member_id in audience.owners:
        for owner, event in audience.shown_as:
            if owner == member_id:
                return {**message, "ev": event_to_wire(event)}
        return message
    others = audience.others_as
    return None if others is None else {**message, "ev": event_to_wire(others)}


def visible(items: Iterable[Item], member_id: str, role: str) -> list[dict[str, Any]]:
    """The messages of ``items`` that one member receives (for a resume: one recipient)."""
    if role in STAFF_ROLES:
        return [message for message, _ in items]
    out: list[dict[str, Any]] = []
    for message, audience in items:
        shown = _shown(message, audience, member_id)
        if shown is not None:
            out.append(shown)
    return out


def _array_header(n: int) -> bytes:
    """The msgpack header of an array of ``n`` items (fixarray, array 16, array 32)."""
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def compose_batch(codec: Codec, head: dict[str, Any], parts: Sequence[str | bytes]) -> str | bytes:
    """``codec.encode({**head, "evs": [...]})`` from the already encoded messages ``parts``.

    The head is encoded with an empty ``evs`` as its last key; the pieces go where that empty
    list was (JSON: ``[]``; msgpack: the empty fixarray byte 0x90). A test compares the result
    with encoding the whole batch at once.
    """
    encoded = codec.encode({**head, "evs": []})
    if isinstance(encoded, str):
        assert encoded.endswith("[]}"), "the JSON codec writes an empty list as []"
        return encoded[:-3] + "[" + ",".join(str(p) for p in parts) + "]}"
    assert encoded.endswith(b"\x90"), "msgpack writes an empty array as 0x90"
    pieces = [p if isinstance(p, bytes) else p.encode() for p in parts]
    return encoded[:-1] + _array_header(len(pieces)) + b"".join(pieces)


class AudienceBatch:
    """One run of consecutive events split by audience class; frames are built on demand."""

    __slots__ = ("_classes", "_frames", "_head", "_items", "_owners", "_parts")

    def __init__(self, items: Sequence[Item], *, first: int | None = None) -> None:
        """``first``: where the frames' range starts, if before the first item (a live
        audience's cursor that lags, server/hub/pacing.py)."""
        self._items = items
        start = items[0][0]["seq"] if first is None else first
        self._head = batch_head(start, items[-1][0]["seq"])
        owners: set[str] = set()
        for _, audience in items:
            if audience is not EVERYONE:
                owners.update(audience.owners)
        self._owners = owners
        self._parts: dict[bool, list[str | bytes | None]] = {}
        self._frames: dict[tuple[str, bool], str | bytes] = {}

    def key(self, member_id: str, role: str) -> str:
        """The audience class of a recipient."""
        if role in STAFF_ROLES:
            return _STAFF_KEY
        return member_id if member_id in self._owners else _PUBLIC_KEY

    def frame(self, key: str, binary: bool) -> str | bytes:
        """The frame of one class in one subprotocol, composed once."""
        frame = self._frames.get((key, binary))
        if frame is None:
            frame = self._frames[(key, binary)] = self._compose(key, binary)
        return frame

    def _compose(self, key: str, binary: bool) -> str | bytes:
        codec = MSGPACK if binary else JSON
        parts = self._parts.get(binary)
        if parts is None:
            parts = self._parts[binary] = [None] * len(self._items)
        out: list[str | bytes] = []
        for i, (message, audience) in enumerate(self._items):
            shown = message if key == _STAFF_KEY else _shown(message, audience, key)
            if shown is None:
                continue
            if shown is not message:  # rare: a line entering or leaving this owner's view
                out.append(codec.encode(shown))
                continue
            part = parts[i]
            if part is None:
                part = parts[i] = codec.encode(message)
            out.append(part)
        return compose_batch(codec, self._head, out)

    @property
    def owners(self) -> set[str]:
        """Members who own an event of the run (each gets a class of their own)."""
        return self._owners

    @property
    def public_has_events(self) -> bool:
        """Whether the public class's frame holds any event (else it only moves cursors)."""
        return any(who.everyone or who.others_as is not None for _, who in self._items)

    def send(
        self,
        sessions: Iterable[Session],
        on_error: Callable[[Session], None] | None = None,
        *,
        public: bool = True,
    ) -> int:
        """Send each session its class's frame, class by class; the number of frames sent.

        ``public=False``: the public class gets nothing (its frame would hold no event).
        The public class (nearly everyone) goes first, in one pass as a plain broadcast does;
        the few staff and owners are grouped by class and served after it, so the direct
        writer's frame cache (``server/transport/direct.py``) frames each class's payload once.
        """
        owners = self._owners
        groups: dict[tuple[str, bool], list[Session]] = {}
        public_frames: dict[bool, str | bytes] = {}
        sent = 0
        # the frame is looked up again only when a recipient's codec differs from the last one's
        codec: Codec | None = None
        frame: str | bytes = b""
        for s in sessions:
            if s.role in STAFF_ROLES or s.member_id in owners:
                groups.setdefault((self.key(s.member_id, s.role), s.codec.binary), []).append(s)
                continue
            if not public:
                continue
            if s.codec is not codec:
                codec = s.codec
                found = public_frames.get(codec.binary)
                if found is None:
                    try:
                        found = public_frames[codec.binary] = self.frame(_PUBLIC_KEY, codec.binary)
                    except (TypeError, ValueError, OverflowError):
                        codec = None
                        if on_error is not None:
                            on_error(s)
                        continue
                frame = found
            if s.send(frame):
                sent += 1
        for (key, binary), members in groups.items():
            try:
                frame = self.frame(key, binary)
            except (TypeError, ValueError, OverflowError):
                for s in members:
                    if on_error is not None:
                        on_error(s)
                continue
            for s in members:
                if s.send(frame):
                    sent += 1
        return sent
