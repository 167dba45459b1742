"""The frames of the wire protocol: built here (server → client), read here (client → server).

Every server frame has one builder (``welcome``, ``ev``, ``batch``, ``ack``, ``err``, ``notice``,
``presence``, ``count``, ``sig``, ``reactions``, ``pong``) that returns the message map the codec
encodes; the fan-out still encodes each one once for all its recipients. Client frames are read
into typed values (:class:`Hello`, :class:`Cmd`, :class:`Sig`, :class:`Ping`); a frame that does
not have the shape of one is a :class:`FrameError` carrying the ``err`` code to send. What a
command's or signal's ``args`` mean is the room core's business (``rooms.codec``), not this
module's.

:func:`server_frame_schemas` and :func:`client_frame_schemas` give the JSON Schema of every
frame; :data:`TRANSPORT_ERRORS` lists every ``err`` code the transport itself sends. The
AsyncAPI document, ``docs/protocol-reference.md`` and the tests' frame validation all read them.
A pure module: no I/O, no import from the rest of ``server``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from server.protocol.schema import SchemaSet

__all__ = [
    "CLIENT_FRAMES",
    "NOTICES",
    "OP_PATTERN",
    "SERVER_FRAMES",
    "TRANSPORT_ERRORS",
    "Cmd",
    "FrameError",
    "Hello",
    "Ping",
    "Sig",
    "TransportError",
    "ack",
    "batch",
    "batch_head",
    "client_frame_schemas",
    "count",
    "err",
    "ev",
    "member",
    "notice",
    "pong",
    "presence",
    "present_member",
    "reactions",
    "read_frame",
    "read_hello",
    "server_frame_schemas",
    "sig",
    "welcome",
]

OP_PATTERN = "^[A-Za-z0-9._:-]{1,64}$"
_OP_ID = re.compile(OP_PATTERN[1:-1])

SERVER_FRAMES = (
    "welcome",
    "ev",
    "batch",
    "ack",
    "err",
    "notice",
    "presence",
    "count",
    "sig",
    "reactions",
    "pong",
)
CLIENT_FRAMES = ("hello", "cmd", "sig", "ping")


# ---- server → client ---------------------------------------------------------------------------


def welcome(
    *,
    room_id: str,
    kind: str,
    merchant: str,
    member_id: str,
    name: str,
    role: str,
    seq: int,
    view: dict[str, Any] | None,
) -> dict[str, Any]:
    """The answer to ``hello``: a snapshot ``view``, or None for a resume (a batch follows)."""
    return {
        "t": "welcome",
        "room": {"id": room_id, "kind": kind, "merchant": merchant},
        "member": member(member_id, name, role),
        "seq": seq,
        "resumed": view is None,
        "view": view,
    }


def ev(seq: int, at: int, actor: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """One durable event (``event`` is its wire form: ``{"type": <class name>, **fields}``)."""
    return {"t": "ev", "seq": seq, "at": at, "actor": actor, "ev": event}


def batch_head(first: int, last: int) -> dict[str, Any]:
    """A batch frame without its ``evs`` (the fan-out composes encoded events after it)."""
    return {"t": "batch", "from": first, "to": last}


def batch(first: int, last: int, evs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``ev`` messages of one member's audience for seqs ``first``..``last``."""
    return {**batch_head(first, last), "evs": list(evs)}


def ack(op: str, first: int, last: int, *, dup: bool = False) -> dict[str, Any]:
    """A command was committed; ``[0, 0]`` when it changed nothing. ``dup``: a known resend."""
    out: dict[str, Any] = {"t": "ack", "op": op, "seq": [first, last]}
    if dup:
        out["dup"] = True
    return out


def err(code: str, message: str, op: object = None) -> dict[str, Any]:
    """A refusal; ``op`` only when it is the (string) op id of the refused command."""
    return {"t": "err", "op": op if isinstance(op, str) else None, "code": code, "message": message}


def notice(code: str, message: str) -> dict[str, Any]:
    return {"t": "notice", "code": code, "message": message}


def member(member_id: str, display_name: str, role: str) -> dict[str, Any]:
    """A member on the wire, everywhere (``welcome.member``, ``presence``, ``view.members``)."""
    return {"member_id": member_id, "display_name": display_name, "role": role}


def present_member(
    member_id: str, display_name: str, role: str, viewing: str | None
) -> dict[str, Any]:
    """A connected member in ``presence``: the member shape plus the sku they are viewing."""
    return {**member(member_id, display_name, role), "viewing": viewing}


def presence(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Who is connected: ``members`` are :func:`present_member` maps, sorted by member id."""
    return {"t": "presence", "members": list(members)}


def count(online: int, members: int) -> dict[str, Any]:
    return {"t": "count", "online": online, "members": members}


def sig(member_id: str, name: str, signal: Mapping[str, Any]) -> dict[str, Any]:
    """Someone's signal, relayed (``signal`` is its wire form ``{"type": <name>, **fields}``)."""
    return {"t": "sig", "from": member_id, "from_name": name, "sig": signal}


def reactions(counts: Mapping[str, int]) -> dict[str, Any]:
    return {"t": "reactions", "counts": dict(counts)}


def pong(seq: int) -> dict[str, Any]:
    return {"t": "pong", "seq": seq}


# ---- client → server ---------------------------------------------------------------------------


class FrameError(Exception):
    """A client frame without the shape of its type; ``code`` and ``op`` go into an ``err``."""

    def __init__(self, code: str, message: str, op: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.op = op

    def frame(self) -> dict[str, Any]:
        return err(self.code, self.message, self.op)


@dataclass(frozen=True, slots=True)
class Hello:
    token: object  # checked by the token signer, which names what is wrong with it
    last_seq: int | None


@dataclass(frozen=True, slots=True)
class Cmd:
    op: str
    name: str
    args: dict[str, Any]
    retry: bool


@dataclass(frozen=True, slots=True)
class Sig:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ping:
    pass


def read_hello(msg: Mapping[str, Any]) -> Hello:
    """The first frame; raises ``FrameError("bad_hello")``."""
    if msg.get("t") != "hello":
        raise FrameError("bad_hello", "the first frame must be a hello")
    last_seq = msg.get("last_seq")
    if last_seq is not None and (type(last_seq) is not int or last_seq < 0):
        raise FrameError("bad_hello", "last_seq must be a non-negative integer or null")
    return Hello(msg.get("token"), last_seq)


def read_frame(msg: Mapping[str, Any]) -> Cmd | Sig | Ping:
    """A frame after ``hello``; raises :class:`FrameError` (``bad_op``, ``bad_command``,
    ``bad_signal``, ``unknown_type``)."""
    kind = msg.get("t")
    if kind == "cmd":
        op = msg.get("op")
        if not isinstance(op, str) or not _OP_ID.fullmatch(op):
            raise FrameError("bad_op", "op must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        name, args = msg.get("name"), msg.get("args", {})
        if not isinstance(name, str) or not isinstance(args, dict):
            raise FrameError("bad_command", "cmd needs a string name and an args map", op)
        return Cmd(op, name, args, msg.get("retry") is True)
    if kind == "sig":
        name, args = msg.get("name"), msg.get("args", {})
        if not isinstance(name, str) or not isinstance(args, dict):
            raise FrameError("bad_signal", "sig needs a string name and an args map")
        return Sig(name, args)
    if kind == "ping":
        return Ping()
    raise FrameError("unknown_type", "frame type must be cmd, sig or ping")


# ---- codes -------------------------------------------------------------------------------------


class TransportError(NamedTuple):
    """One ``err`` code the transport (not the room) sends."""

    code: str
    op: str  # what the frame's ``op`` holds
    when: str
    advice: str


_NULL = "null"
TRANSPORT_ERRORS: tuple[TransportError, ...] = (
    TransportError(
        "bad_hello",
        _NULL,
        "first frame undecodable, not a `hello`, or `last_seq` not a non-negative int / null",
        "fix the client; the socket closes with 4400",
    ),
    TransportError(
        "hello_timeout",
        _NULL,
        "no `hello` within the hello timeout",
        "reconnect and send `hello` at once (closes 4408)",
    ),
    TransportError(
        "token_invalid",
        _NULL,
        "token missing, malformed, badly signed, incomplete, or for another room",
        "get a new token (REST); closes 4401",
    ),
    TransportError(
        "token_expired", _NULL, "token older than the token TTL", "get a new token; closes 4401"
    ),
    TransportError("room_not_found", _NULL, "no open room with this id", "stop; closes 4404"),
    TransportError(
        "invite_revoked",
        _NULL,
        "the token was minted from an invite the host revoked, and its member never joined",
        "stop; ask for a new invite; closes 4401",
    ),
    TransportError(
        "server_full",
        _NULL,
        "the process hosts `COSHOP_MAX_ROOMS` rooms (none of them empty) or "
        "`COSHOP_MAX_CONNECTIONS` sockets already",
        "retry later with back-off; closes 1013",
    ),
    TransportError(
        "rate_limited",
        "the dropped command's op (null for other frames and at `hello`)",
        "a frame over the rate limit was dropped, not applied; at `hello`: this client address "
        "already holds its share (`COSHOP_CLIENT_SHARE`) of the process's rooms or sockets, "
        "or the room's publishable key holds its share (`COSHOP_PUBLISHABLE_SHARE`)",
        "slow down; resend that op after a pause (op ids make resending safe); "
        "at `hello` back off (closes 4429)",
    ),
    TransportError(
        "storage_unavailable",
        "op (null at `hello`)",
        "the command's events, or the join, could not be stored",
        "resend the same op (`retry: true`) later; at `hello` reconnect with back-off "
        "(closes 1011)",
    ),
    TransportError(
        "write_refused",
        "op",
        "the database refused this command's rows (only this command failed; the others "
        "committed with it are unaffected)",
        "do not resend unchanged; tell the user it could not be saved",
    ),
    TransportError(
        "shutting_down",
        "op",
        "the server is stopping; nothing was saved",
        "reconnect (to another process) and resend with `retry: true`",
    ),
    TransportError(
        "bad_frame",
        _NULL,
        "a frame that is not valid JSON/msgpack, the wrong frame kind (text on msgpack or "
        "binary on JSON), not a map, too deep, with bin/ext values, an integer beyond "
        "±(2**53 - 1) or a non-finite number",
        "fix the client; the socket stays open",
    ),
    TransportError(
        "bad_op",
        _NULL,
        "`cmd` without an `op` of 1-64 characters from `A-Z a-z 0-9 . _ : -`",
        "fix the client",
    ),
    TransportError(
        "op_looks_like_card",
        "op",
        "the op id reads as a payment card number",
        "use a counter, UUID or timestamp",
    ),
    TransportError(
        "op_conflict",
        "op",
        "the op id was already used by this member for another command (other name or arguments)",
        "use a new op id; never retry unchanged",
    ),
    TransportError(
        "invalid_text",
        "op (null for signals)",
        "a string or key of the command or signal is not well-formed Unicode or holds a "
        "control character (the message names the field)",
        "fix the text",
    ),
    TransportError(
        "frame_too_big",
        _NULL,
        "a frame over `COSHOP_MAX_FRAME_BYTES` reached the app (uvicorn normally closes with "
        "1009 first)",
        "send smaller frames; the socket closes with 1009",
    ),
    TransportError(
        "bad_command",
        "op",
        "`cmd` whose `name` is not a string or `args` not a map, or args that do not match the "
        "command's fields",
        "fix the command",
    ),
    TransportError("unknown_command", "op", "no client command of that name", "fix the command"),
    TransportError(
        "bad_signal",
        _NULL,
        "`sig` with a non-string name, non-map args, or args that do not match",
        "fix the signal",
    ),
    TransportError("unknown_signal", _NULL, "no signal of that name", "fix the signal"),
    TransportError(
        "unknown_type",
        _NULL,
        "`t` is not `cmd`, `sig` or `ping` (including a second `hello`)",
        "fix the client",
    ),
)
"""Every ``err`` code the transport sends; the room's own codes come from the room core."""

NOTICES: dict[str, str] = {
    "card_number_redacted": "a card number was removed from text this member sent; the command "
    "was applied with the redacted text",
}
"""Every ``notice`` code."""


# ---- schemas -----------------------------------------------------------------------------------

_INT = {"type": "integer"}
_STR = {"type": "string"}
_SEQ = {"type": "integer", "minimum": 0}


def _object(description: str, **fields: tuple[dict[str, Any], bool]) -> dict[str, Any]:
    """A closed object: ``fields`` are ``name=(schema, required)``; ``from`` is ``from_``."""
    properties: dict[str, Any] = {}
    required = []
    for raw, (schema, needed) in fields.items():
        name = raw.rstrip("_")
        properties[name] = schema
        if needed:
            required.append(name)
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _frame(t: str, description: str, **fields: tuple[dict[str, Any], bool]) -> dict[str, Any]:
    """A frame: a closed object whose ``t`` is the constant ``t``."""
    return {"title": t, **_object(description, t=({"const": t}, True), **fields)}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def server_frame_schemas(s: SchemaSet) -> dict[str, dict[str, Any]]:
    """The schema of each server frame, by ``t``.

    Uses the definitions ``Event`` (one of the events), ``Signal`` (one of the signals),
    ``View`` (a snapshot) and ``ErrorCode``, which the caller adds to ``s``.
    """
    ev_frame = _frame(
        "ev",
        "One durable event. `seq` is per room, from 1, without gaps in the room's log.",
        seq=({"type": "integer", "minimum": 1}, True),
        at=({**_INT, "description": "commit time, ms since the Unix epoch"}, True),
        actor=({**_STR, "description": "member id, or `system` for the server's commands"}, True),
        ev=(s.ref("Event"), True),
    )
    s.add("EvFrame", ev_frame)
    # one shape for a member on the wire: {member_id, display_name, role} (as in view.members)
    member_fields: dict[str, tuple[dict[str, Any], bool]] = {
        "member_id": ({**_STR, "description": "member id"}, True),
        "display_name": ({**_STR, "description": "display name"}, True),
        "role": ({**_STR, "description": "role (a promotion since the token counts)"}, True),
    }
    welcome_member = s.add(
        "WelcomeMember",
        _object("The member this socket speaks for, as the room knows them now.", **member_fields),
    )
    present = s.add(
        "PresentMember",
        _object(
            "A connected member: the member shape, and what they are viewing.",
            **member_fields,
            viewing=({"type": ["string", "null"], "description": "sku, or null"}, True),
        ),
    )
    room = s.add(
        "WelcomeRoom",
        _object(
            "The room this socket is in.",
            id=(_STR, True),
            kind=({"type": "string", "enum": ["group", "live"]}, True),
            merchant=({**_STR, "description": "the merchant's id"}, True),
        ),
    )
    return {
        "welcome": _frame(
            "welcome",
            "The answer to `hello`, and a fresh snapshot when a live member's view changes. "
            "`resumed: false`: `view` is the room at `seq`; `resumed: true`: `view` is null and "
            "a `batch` of the missed events follows.",
            room=(room, True),
            member=(welcome_member, True),
            seq=(_SEQ, True),
            resumed=({"type": "boolean"}, True),
            view=(_nullable(s.ref("View")), True),
        ),
        "ev": s.ref("EvFrame"),
        "batch": _frame(
            "batch",
            "The events of this member's audience with seqs `from`..`to` (seqs in the range "
            "without an event were for others); the client's cursor moves to `to`.",
            from_=(_SEQ, True),
            to=(_SEQ, True),
            evs=({"type": "array", "items": s.ref("EvFrame")}, True),
        ),
        "ack": _frame(
            "ack",
            "A command was committed: `seq` is `[first, last]` of its events, `[0, 0]` when it "
            "changed nothing; `dup: true` for a resend that was already applied.",
            op=({**_STR, "pattern": OP_PATTERN}, True),
            seq=({"type": "array", "items": _SEQ, "minItems": 2, "maxItems": 2}, True),
            dup=({"const": True}, False),
        ),
        "err": _frame(
            "err",
            "A refusal: nothing was applied. Act on `code`; `message` is for people.",
            op=({"type": ["string", "null"]}, True),
            code=(s.ref("ErrorCode"), True),
            message=(_STR, True),
        ),
        "notice": _frame(
            "notice",
            "Something the member should know; not an error (the command was applied).",
            code=({"type": "string", "enum": list(NOTICES)}, True),
            message=(_STR, True),
        ),
        "presence": _frame(
            "presence",
            "Every connected member (all processes), sorted by `member_id`; group rooms up to 50 "
            "sockets.",
            members=({"type": "array", "items": present}, True),
        ),
        "count": _frame(
            "count",
            "How many are here (live and big rooms), at most once a second.",
            online=({**_SEQ, "description": "distinct connected members"}, True),
            members=({**_SEQ, "description": "the room's member count"}, True),
        ),
        "sig": _frame(
            "sig",
            "Someone else's signal (never echoed to its sender's socket).",
            from_=({**_STR, "description": "member id"}, True),
            from_name=({**_STR, "description": "display name"}, True),
            sig=(s.ref("Signal"), True),
        ),
        "reactions": _frame(
            "reactions",
            "Reactions received during one tick (live and big rooms), by emoji.",
            counts=({"type": "object", "additionalProperties": {**_INT, "minimum": 1}}, True),
        ),
        "pong": _frame("pong", "The answer to `ping`: the room's seq now.", seq=(_SEQ, True)),
    }


def client_frame_schemas(
    s: SchemaSet, commands: Sequence[str], signals: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The schema of each client frame, by ``t``; ``commands``/``signals`` name definitions of
    their arguments (added by the caller)."""
    op = {**_STR, "pattern": OP_PATTERN, "description": "client-chosen, unique per member"}

    def call(t: str, name: str, with_op: bool) -> dict[str, Any]:
        fields: dict[str, tuple[dict[str, Any], bool]] = {}
        if with_op:
            fields["op"] = (op, True)
        fields["name"] = ({"const": name}, True)
        fields["args"] = (s.ref(name), False)
        if with_op:
            fields["retry"] = ({"type": "boolean"}, False)
        return _frame(t, name, **fields)

    return {
        "hello": _frame(
            "hello",
            "The first frame: a member token and, to resume, the last seq the client has.",
            token=(_STR, True),
            last_seq=(_nullable(_SEQ), False),
        ),
        "cmd": {
            "description": "A durable command; answered by one `ack` or one `err` with its op.",
            "oneOf": [call("cmd", name, True) for name in commands],
        },
        "sig": {
            "description": "An ephemeral signal: never stored, no answer, may be dropped.",
            "oneOf": [call("sig", name, False) for name in signals],
        },
        "ping": _frame("ping", "Asks for a `pong` with the room's seq."),
    }
