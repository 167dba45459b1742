"""The protocol's schemas and its AsyncAPI 3 document (``GET /asyncapi.json``), from the code.

This module joins the room core's registries (client commands, signals, events and the state
records they carry, the room's refusal codes) to :mod:`server.protocol` (frames, transport error
codes, close codes) and derives, with :class:`server.protocol.schema.SchemaSet`:

- :func:`asyncapi_document`: one channel ``/ws/rooms/{room_id}``, a message per frame type, the
  server's ``send`` and ``receive`` operations; ``tests/server/test_asyncapi.py`` validates it with
  the AsyncAPI project's own parser (``tools/asyncapi``);
- :func:`frame_schema`: a standalone JSON Schema (draft 2020-12) per frame type, which the test
  peer (``tests/server/peers.py``) checks every frame it receives against;
- :func:`reference_markdown`: ``docs/protocol-reference.md`` (``python -m server.api.asyncapi``
  writes it, ``--check`` fails when the committed file differs, as a test does).

Field descriptions come from the dataclasses themselves: units by name (``at``, ``*_at``,
``until``: ms since the epoch; ``*_minor``: minor currency units), the comment after a field,
and the bounds the rules enforce, read from the rules' own constants.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import pkgutil
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

import rooms
from rooms import CLIENT_COMMANDS
from rooms.commands import BaseCommand
from rooms.events import BaseEvent
from rooms.rules.cart import MAX_NOTE, MAX_QUANTITY
from rooms.rules.chat import MAX_MESSAGE, MAX_SLOW_MODE
from rooms.rules.membership import MAX_NAME
from rooms.rules.polls import MAX_OPTIONS, MAX_QUESTION, MIN_OPTIONS
from rooms.rules.stage import MAX_ANNOUNCEMENT, MAX_URL
from rooms.signals import REACTIONS, BaseSignal
from rooms.state import Announcement, Line, Message, Stream
from server.protocol import frames
from server.protocol.close import CloseCode
from server.protocol.docs import Reference, render_reference, transport_errors_markdown
from server.protocol.schema import SchemaSet
from server.transport.wire import SUBPROTOCOLS

__all__ = [
    "PROTOCOL_PATH",
    "REFERENCE_PATH",
    "TEXT",
    "asyncapi_document",
    "asyncapi_route",
    "frame_schema",
    "main",
    "protocol_doc",
    "reference_markdown",
    "room_error_codes",
]

_DOCS = Path(__file__).resolve().parents[2] / "docs"
REFERENCE_PATH = _DOCS / "protocol-reference.md"
PROTOCOL_PATH = _DOCS / "protocol.md"
TEXT = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
"""What a client's strings may hold: no control character but tab and newline (``invalid_text``;
a lone surrogate is refused too, which a pattern cannot say)."""
_COMPONENTS = "#/components/schemas/"
_DEFS = "#/$defs/"

# Bounds the rules enforce beyond the codec's types and lengths (the codec answers bad_command,
# the rules the code named here).
_RULES: dict[tuple[str, str], str] = {
    ("AddLine", "quantity"): f"1-{MAX_QUANTITY}, else `invalid_quantity`",
    ("SetQuantity", "quantity"): f"1-{MAX_QUANTITY}, else `invalid_quantity`",
    ("AddLine", "note"): f"at most {MAX_NOTE} characters after trimming, else `invalid_text`",
    ("AddLine", "variant"): "one of the product's variants; null for a product without any",
    ("PostMessage", "text"): f"1-{MAX_MESSAGE} characters after trimming (may be empty when a "
    "product is shared), else `invalid_text`",
    ("PostMessage", "product"): "a product to share as a card: `{sku, variant?}` from the "
    "room's catalogue, else `unknown_product` / `invalid_variant`",
    ("Announce", "text"): f"1-{MAX_ANNOUNCEMENT} characters after trimming, else `invalid_text`",
    ("OpenPoll", "question"): f"1-{MAX_QUESTION} characters after trimming, else `invalid_text`",
    ("OpenPoll", "skus"): f"{MIN_OPTIONS}-{MAX_OPTIONS} distinct products, else `invalid_option`",
    ("SetSlowMode", "seconds"): f"seconds between messages, 0-{MAX_SLOW_MODE}; 0 turns it off",
    ("Vote", "value"): "-1, 0 (withdraw) or 1, else `bad_command`",
    ("SetStream", "url"): f"https:// (http:// only on localhost), at most {MAX_URL} characters, "
    "else `invalid_url`; null ends the stream",
    ("MemberJoined", "display_name"): f"the cleaned display name, at most {MAX_NAME} characters",
    ("React", "emoji"): "one of " + " ".join(sorted(REACTIONS)) + ", else `bad_signal`",
}
_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+?)\s*$", re.M)


@functools.cache
def _comments(cls: type) -> dict[str, str]:
    """The comment after each field of ``cls`` in its source (none when there is no source)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):  # pragma: no cover - installed without sources
        return {}
    return dict(_COMMENT.findall(source))


def _describe(cls: type, name: str) -> str | None:
    comment = (_comments(cls).get(name) or "").replace("None", "null")
    words: list[str] = []
    if (name == "at" or name.endswith("_at") or name == "until") and "epoch" not in comment:
        words.append("ms since the Unix epoch (UTC)")
    elif name.endswith("_minor"):
        words.append("an amount in the currency's minor unit (e.g. cents)")
    elif name == "by":
        words.append("the member id of who did it, or `system`")
    rule = _RULES.get((cls.__name__, name))
    words.append(rule or comment)  # a rule's words say more than the field's comment
    return "; ".join(w for w in words if w) or None


def _doc(cls: type) -> str | None:
    """A class's own docstring (not the signature dataclasses make up without one)."""
    doc = cls.__doc__ or ""
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    return inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ")


@functools.cache
def room_error_codes() -> dict[str, str]:
    """Every code the room core raises, with its family (``InvalidCommand``, …), from the source.

    The rules raise ``<Family>("code", …)``; this reads those calls in every module of ``rooms``.
    """
    found = re.compile(
        r'\b(InvalidCommand|NotAllowed|NotFound|LimitExceeded|PhaseError)\(\s*"([a-z_]+)"'
    )
    codes: dict[str, str] = {}
    for info in pkgutil.walk_packages(rooms.__path__, "rooms."):
        module = sys.modules.get(info.name) or __import__(info.name, fromlist=["_"])
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):  # pragma: no cover - installed without sources
            continue
        for family, code in found.findall(source):
            codes.setdefault(code, family)
    return dict(sorted(codes.items()))


class _Protocol:
    """Every schema of the protocol in one :class:`SchemaSet` (refs with ``prefix``)."""

    def __init__(self, prefix: str) -> None:
        s = self.set = SchemaSet(prefix, _describe)
        self.commands = sorted(CLIENT_COMMANDS)
        self.signals = sorted(BaseSignal.registry)
        self.events = list(BaseEvent.registry)
        for name in self.commands:
            command = BaseCommand.registry[name]
            s.add(name, s.object_of(command, title=name, description=_doc(command), text=TEXT))
        for name in self.signals:
            signal = BaseSignal.registry[name]
            s.add(name, s.object_of(signal, title=name, description=_doc(signal), text=TEXT))
        for name in self.events:
            event = BaseEvent.registry[name]
            schema = s.object_of(
                event, all_required=True, tag=("type", name), title=name, description=_doc(event)
            )
            s.add(name, schema)
        s.add("Event", s.union(self.events, "A room event: `type` is its name."))
        s.add(
            "Signal",
            s.union(
                [f"{name}Relayed" for name in self._relayed_signals()],
                "A relayed signal: `type` is its name.",
            ),
        )
        s.add("View", _view_schema(s))
        self.transport_codes = [e.code for e in frames.TRANSPORT_ERRORS]
        self.room_codes = room_error_codes()
        s.add(
            "ErrorCode",
            {
                "type": "string",
                "description": "An `err` frame's code: the transport's (docs/protocol.md §7) or "
                "the room's (docs/errors.md).",
                "enum": sorted({*self.transport_codes, *self.room_codes}),
                "x-transport-codes": [
                    {"code": e.code, "op": e.op, "when": e.when, "advice": e.advice}
                    for e in frames.TRANSPORT_ERRORS
                ],
                "x-room-codes": [
                    {"code": code, "family": family} for code, family in self.room_codes.items()
                ],
            },
        )
        s.add(
            "CloseCode",
            {
                "type": "integer",
                "description": "WebSocket close codes; each one's action (resume, back_off, "
                "stop) is in x-close-codes. A code not listed means stop.",
                "enum": [int(c) for c in CloseCode],
                "x-close-codes": [
                    {
                        "code": int(c),
                        "name": c.wire_name,
                        "action": c.action.value,
                        "sentWhen": c.sent_when,
                        "advice": c.advice,
                    }
                    for c in CloseCode
                ],
            },
        )
        self.server = frames.server_frame_schemas(s)
        self.client = frames.client_frame_schemas(s, self.commands, self.signals)

    def _relayed_signals(self) -> list[str]:
        s = self.set
        for name in self.signals:
            cls = BaseSignal.registry[name]
            s.add(
                f"{name}Relayed",
                s.object_of(cls, all_required=True, tag=("type", name), title=name),
            )
        return self.signals


def _closed(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _view_schema(s: SchemaSet) -> dict[str, Any]:
    """A snapshot (``rooms/view.py``): its records are the room's own (``rooms/state.py``)."""
    member = {
        "type": "object",
        "properties": {
            "member_id": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"type": "string"},
        },
        "required": ["member_id", "display_name", "role"],
    }
    obj, text = {"type": "object"}, {"type": "string"}
    properties: dict[str, Any] = {
        "room_id": text,
        "kind": {"enum": ["group", "live"]},
        "title": text,
        "host_id": text,
        "phase": {"enum": ["open", "locked", "settling"]},
        "you": {
            "anyOf": [
                {**member, "required": [*member["required"], "may", "may_if"]},
                {"type": "null"},
            ],
            "description": "this member's roster entry with `may` and `may_if`",
        },
        "muted": {"type": ["object", "null"], "description": "`{until}` while muted"},
        "member_count": {"type": "integer", "minimum": 0},
        "members": {"type": "array", "items": member, "description": "the roster shown"},
        "lines": {"type": "array", "items": s.of(Line), "description": "cart lines shown"},
        "votes": {**obj, "description": "`{tallies, mine}`"},
        "polls": {"type": "array", "items": obj},
        "chat": _closed(
            messages={"type": "array", "items": s.of(Message)},
            slow_mode={"type": "integer", "minimum": 0, "description": "seconds; 0: off"},
        ),
        "stage": _closed(
            pins={"type": "array", "items": text},
            announcements={"type": "array", "items": s.of(Announcement)},
            stream={"anyOf": [s.of(Stream), {"type": "null"}]},
        ),
        "moderation": {
            "type": ["object", "null"],
            "description": "staff only (else null): `{word_list, merchant_word_list, muted, "
            "strikes, auto_mute}` (rooms/view.py)",
        },
        "follow": {**obj, "description": "`{mode, focus_sku}`"},
        "checkout": {**obj, "description": "phase, order, shares, pricing, hand-off"},
    }
    return {
        "type": "object",
        "title": "View",
        "description": "The room as one member sees it (rooms/view.py); see docs/protocol.md §5.",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


@functools.cache
def _components() -> _Protocol:
    return _Protocol(_COMPONENTS)


@functools.cache
def _standalone() -> _Protocol:
    return _Protocol(_DEFS)


def frame_schema(t: str, *, client: bool = False) -> dict[str, Any]:
    """A standalone JSON Schema (draft 2020-12) of the frames of type ``t``."""
    p = _standalone()
    return p.set.bundle((p.client if client else p.server)[t])


# ---- AsyncAPI ----------------------------------------------------------------------------------

_CLIENT_MESSAGE = {"hello": "hello", "cmd": "cmd", "sig": "clientSig", "ping": "ping"}
_SERVER_MESSAGE = {t: ("serverSig" if t == "sig" else t) for t in frames.SERVER_FRAMES}


def asyncapi_document(public_url: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the room socket, as the server (the application) sees it:
    it ``receive``s client frames and ``send``s server frames."""
    p = _components()
    parts = urlsplit(public_url)
    messages: dict[str, Any] = {}
    for t, key in _CLIENT_MESSAGE.items():
        messages[key] = _message(key, t, p.client[t], "client → server")
    for t, key in _SERVER_MESSAGE.items():
        messages[key] = _message(key, t, p.server[t], "server → client")
    channel_messages = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}

    def operation(action: str, keys: Sequence[str], summary: str) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": "#/channels/room"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/room/messages/{key}"} for key in keys],
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "coshop room protocol",
            "version": "1",
            "description": "One WebSocket per member per room. Every message is a map whose `t` "
            f"names its type; subprotocols {', '.join(SUBPROTOCOLS)} carry the same messages "
            "as JSON text or msgpack binary frames. The first client frame is `hello`. "
            "docs/protocol.md explains ordering, resume and retries; close codes and what a "
            "client does after each are in components.schemas.CloseCode.",
        },
        "servers": {
            "coshop": {
                "host": parts.netloc or "127.0.0.1:8000",
                "protocol": "wss" if parts.scheme == "https" else "ws",
                "description": "This server.",
            }
        },
        "defaultContentType": "application/json",
        "channels": {
            "room": {
                "address": "/ws/rooms/{room_id}",
                "title": "A room",
                "description": "The socket of one room; `hello` with a member token of that room.",
                "parameters": {"room_id": {"description": "The room's id (from REST)."}},
                "messages": channel_messages,
            }
        },
        "operations": {
            "receiveClientFrames": operation(
                "receive", list(_CLIENT_MESSAGE.values()), "Frames a client sends."
            ),
            "sendServerFrames": operation(
                "send", list(_SERVER_MESSAGE.values()), "Frames the server sends."
            ),
        },
        "components": {"schemas": p.set.defs, "messages": messages},
    }


def _message(key: str, t: str, payload: dict[str, Any], direction: str) -> dict[str, Any]:
    summary = payload.get("description") or f"`{t}` frame"
    return {
        "name": key,
        "title": f"{t} ({direction})",
        "summary": summary,
        "payload": payload,
    }


async def asyncapi_route(request: Request) -> JSONResponse:
    return JSONResponse(asyncapi_document(request.app.state.settings.public_url))


# ---- the reference page ------------------------------------------------------------------------


def reference_markdown() -> str:
    """The text of ``docs/protocol-reference.md``."""
    p = _components()
    return render_reference(
        Reference(
            schemas=p.set.defs,
            commands=p.commands,
            signals=p.signals,
            events=p.events,
            client_frames=p.client,
            server_frames=p.server,
            transport_errors=frames.TRANSPORT_ERRORS,
            room_errors=p.room_codes,
            notices=frames.NOTICES,
            text_pattern=TEXT,
        )
    )


def protocol_doc(text: str) -> str:
    """``docs/protocol.md`` with §7's table of transport errors as the code has it."""
    head = "| code | op | when | what the client should do |"
    lines = text.split("\n")
    start = lines.index(head)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    table = transport_errors_markdown(frames.TRANSPORT_ERRORS).split("\n")
    return "\n".join([*lines[:start], *table, *lines[end:]])


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check``, compare) docs/protocol-reference.md and protocol.md §7."""
    parser = argparse.ArgumentParser(description="Write docs/protocol-reference.md.")
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, make in (
        (REFERENCE_PATH, lambda _old: reference_markdown()),
        (PROTOCOL_PATH, protocol_doc),
    ):
        current = path.read_text("utf-8") if path.exists() else ""
        text = make(current)
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, "utf-8")
    if args.check and stale:
        names = ", ".join(str(p) for p in stale)
        print(f"stale: {names}; run python -m server.api.asyncapi", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
