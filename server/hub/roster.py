"""A room's roster: the sessions connected to it in this process, and what they are told.

The roster keeps the sessions by id and by member (oldest first; a member has at most
``SESSIONS_PER_MEMBER``, more replace the oldest with close 4409), welcomes a session with a
snapshot view or resumes it with the events it missed (only those its view shows), says who is
here (presence) and how many, re-welcomes members whose role changed and closes those who are no
longer members. :meth:`Roster.broadcast` sends one message to everyone, encoded once per
subprotocol.

It must not: decide anything about the room (it reads the room it is given), await a client
(sessions have outboxes), or read the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rooms import Audience, Room
from server.hub.fanout import STAFF_ROLES, visible
from server.hub.peers import PresenceChanged
from server.metrics import Metrics
from server.protocol import frames
from server.storage import StoredEvent
from server.transport.session import CLOSE_CODES, Session
from server.transport.wire import JSON, MSGPACK, Codec

__all__ = ["SESSIONS_PER_MEMBER", "Roster", "event_message"]

log = logging.getLogger("coshop.room")

SESSIONS_PER_MEMBER = 5  # tabs and devices of one member; more replace the oldest


def event_message(stored: StoredEvent) -> dict[str, Any]:
    return frames.ev(stored.seq, stored.at, stored.actor, stored.data)


class Roster:
    def __init__(self, room_id: str, merchant_id: str, metrics: Metrics) -> None:
        self.room_id = room_id
        self.merchant_id = merchant_id
        self.metrics = metrics
        self.sessions: dict[str, Session] = {}  # session id -> session
        # member id -> that member's sessions by session id, oldest first
        self.by_member: dict[str, dict[str, Session]] = {}
        # session id -> session, of the staff's sessions (a live room's frames that hold no
        # event for its audience go to these and to the events' owners only)
        self.staff: dict[str, Session] = {}
        self.idle_since: float | None = time.monotonic()

    # ---- who is here ------------------------------------------------------------------------

    def add(self, session: Session) -> None:
        self.sessions[session.session_id] = session
        self.by_member.setdefault(session.member_id, {})[session.session_id] = session
        if session.role in STAFF_ROLES:
            self.staff[session.session_id] = session
        self.idle_since = None
        self.metrics.connections.inc()

    def remove(self, session: Session) -> None:
        if self.sessions.pop(session.session_id, None) is not None:
            self.staff.pop(session.session_id, None)
            self.metrics.connections.dec()
            mine = self.by_member.get(session.member_id)
            if mine is not None:
                mine.pop(session.session_id, None)
                if not mine:
                    del self.by_member[session.member_id]
        if not self.sessions:
            self.idle_since = time.monotonic()

    def sessions_of(self, member_id: str) -> list[Session]:
        return list(self.by_member.get(member_id, {}).values())

    def staff_and(self, member_ids: Iterable[str]) -> list[Session]:
        """The staff's sessions and those of ``member_ids`` (each once), without a pass over
        everyone."""
        out = list(self.staff.values())
        staff = self.staff
        for member_id in member_ids:
            out.extend(
                s for s in self.by_member.get(member_id, {}).values() if s.session_id not in staff
            )
        return out

    def set_role(self, session: Session, role: str) -> None:
        """Change a session's role, keeping the staff's sessions known."""
        session.role = role
        if session.session_id in self.sessions:
            if role in STAFF_ROLES:
                self.staff[session.session_id] = session
            else:
                self.staff.pop(session.session_id, None)

    @property
    def member_count(self) -> int:
        """Members with at least one session here."""
        return len(self.by_member)

    def limit_sessions_of(self, session: Session) -> None:
        """At most a few sockets per member: the oldest is replaced (close 4409)."""
        mine = self.sessions_of(session.member_id)
        for old in mine[: max(0, len(mine) - SESSIONS_PER_MEMBER)]:
            old.close(CLOSE_CODES["replaced"], "replaced by a newer connection")

    def presence(self) -> dict[str, dict[str, Any]]:
        """Who is connected here, by member id: the member shape of every frame, plus what
        they are viewing (their newest socket's)."""
        out: dict[str, dict[str, Any]] = {}
        for s in self.sessions.values():
            out[s.member_id] = frames.present_member(s.member_id, s.name, s.role, s.viewing)
        return out

    def announcement(self, *, roster: bool) -> PresenceChanged:
        """This process's presence in the room for the other processes: the roster, or only
        the count (``roster=False``: a big room, where names on every join would be
        quadratic)."""
        return PresenceChanged(self.member_count, self.presence() if roster else None)

    def names(self) -> dict[str, str]:
        """Member id -> display name of everyone connected here (the broker's presence key)."""
        return {s.member_id: s.name for s in self.sessions.values()}

    def adopt_identity(self, room: Room, session: Session) -> None:
        """The room's record of a member wins over the token's (promotions, cleaned names)."""
        member = room.members.get(session.member_id)
        if member is not None:
            self.set_role(session, member.role.value)
            session.name = member.display_name

    # ---- what they are told -----------------------------------------------------------------

    def welcome(
        self,
        session: Session,
        room: Room,
        seq: int,
        missed: Sequence[StoredEvent] | None,
        audience_of: Callable[[int], Audience],
    ) -> None:
        """A snapshot view (``missed`` is None) or a resume with the events missed."""
        session.send_message(
            frames.welcome(
                room_id=self.room_id,
                kind=room.kind.value,
                merchant=self.merchant_id,
                member_id=session.member_id,
                name=session.name,
                role=session.role,
                seq=seq,
                view=room.view(session.member_id) if missed is None else None,
            )
        )
        if missed:
            # only what this member's view shows; the range moves their cursor over the rest
            items = [(event_message(e), audience_of(e.seq)) for e in missed]
            evs = visible(items, session.member_id, session.role)
            session.send_message(frames.batch(missed[0].seq, missed[-1].seq, evs))

    def broadcast(
        self,
        msg: dict[str, Any],
        *,
        skip: Session | None = None,
        to: Iterable[Session] | None = None,
    ) -> None:
        """Encode once per subprotocol, queue to every session (or those ``to``); never awaits."""
        encoded: dict[bool, str | bytes] = {}
        sent = 0
        # one pass per recipient, kept short (docs/performance.md): the frame is looked up
        # again only when a recipient's codec differs from the previous one's
        codec: Codec | None = None
        frame: str | bytes = b""
        for s in list(self.sessions.values()) if to is None else to:
            if s is skip:
                continue
            if s.codec is not codec:
                codec = s.codec
                found = encoded.get(codec.binary)
                if found is None:
                    try:
                        found = encoded[codec.binary] = (MSGPACK if codec.binary else JSON).encode(
                            msg
                        )
                    except (TypeError, ValueError, OverflowError):
                        codec = None  # try again for the next one (and fail it the same way)
                        self.encoding_failed(s)
                        continue
                frame = found
            if s.send(frame):
                sent += 1
        self.metrics.frames_out.inc(sent)

    def encoding_failed(self, session: Session) -> None:
        # cannot happen for validated input (wire.py bounds integers); if it does, close the
        # sessions that cannot be served rather than stall the room
        log.error("frame could not be encoded", extra={"room_id": self.room_id})
        session.close(CLOSE_CODES["server_error"], "encoding_failed")

    def notify_redactions(self, events: Sequence[StoredEvent]) -> None:
        for e in events:
            if e.data.get("redacted") is True:
                for s in self.sessions_of(e.actor):
                    s.send_message(
                        frames.notice(
                            "card_number_redacted",
                            "A card number was removed from your text. Never share card "
                            "details here: pay through the checkout.",
                        )
                    )

    def enforce_membership(
        self,
        room: Room,
        seq: int,
        events: Sequence[StoredEvent],
        audience_of: Callable[[int], Audience],
    ) -> bool:
        """Re-welcome members whose role changed, close those who are no longer members.

        True when someone joined or left the staff (in a live room the audience was shown
        that, and its clients count it: the next tick must send the true count).
        """
        staff_changed = False
        touched = {str(e.data["member_id"]) for e in events if "member_id" in e.data}
        for member_id in touched:
            if room.is_member(member_id):
                role = room.role_of(member_id)
                for s in self.sessions_of(member_id):
                    if role is None or s.role == role.value:
                        continue
                    was_staff = s.role in STAFF_ROLES
                    self.set_role(s, role.value)
                    # a new role changes what this member may do (the view's you.may) and, in a
                    # live room, joining or leaving staff what they may see: a fresh view
                    # replaces what the events they received so far built
                    self.welcome(s, room, seq, None, audience_of)
                    if was_staff != (role.value in STAFF_ROLES):
                        staff_changed = True
                continue
            for s in self.sessions_of(member_id):
                s.close(CLOSE_CODES["forbidden"], "you are no longer a member of this room")
        return staff_changed
