"""Wire codec for commands, events and signals: names are class names, fields are JSON values.

Decoding a client's command or signal is strict (unknown name, missing/extra field, wrong JSON
type, oversized string are refused with a message naming the field); text that is not
well-formed Unicode or holds a control character other than newline and tab is refused as
``invalid_text``. Only commands in ``CLIENT_COMMANDS`` decode from a client; the hub builds
``Join`` and the bridge's commands itself. ``event_from_wire`` is the exact inverse of
``event_to_wire`` and reloads the stored log. This module knows no rules and does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from rooms.commands import CLIENT_COMMANDS, BaseCommand, Command
from rooms.errors import InvalidCommand
from rooms.events import BaseEvent, Event
from rooms.jsoncodec import DecodeError, from_json, from_tagged, to_tagged
from rooms.signals import BaseSignal, Signal

__all__ = ["command_from_wire", "event_from_wire", "event_to_wire", "signal_from_wire"]


def _args(name: str, args: object, code: str) -> Mapping[str, object]:
    if not isinstance(args, Mapping):
        raise InvalidCommand(code, f"{name}: arguments must be an object")
    return cast(Mapping[str, object], args)


def _refusal(name: str, exc: DecodeError, code: str) -> InvalidCommand:
    if exc.code == "invalid_text":
        code = "invalid_text"
    return InvalidCommand(code, f"{name}.{exc.path}: {exc.problem}")


def command_from_wire(name: str, args: Mapping[str, object]) -> Command:
    """Decode a client command; raises ``unknown_command``, ``bad_command`` or ``invalid_text``."""
    if name not in CLIENT_COMMANDS:
        raise InvalidCommand("unknown_command", f"no client command {name!r}")
    cls = BaseCommand.registry[name]
    try:
        return cast(Command, from_json(cls, _args(name, args, "bad_command")))
    except DecodeError as exc:
        raise _refusal(name, exc, "bad_command") from exc


def signal_from_wire(name: str, args: Mapping[str, object]) -> Signal:
    """Decode a client signal; raises ``unknown_signal``, ``bad_signal`` or ``invalid_text``."""
    cls = BaseSignal.registry.get(name)
    if cls is None:
        raise InvalidCommand("unknown_signal", f"no signal {name!r}")
    try:
        return cast(Signal, from_json(cls, _args(name, args, "bad_signal")))
    except DecodeError as exc:
        raise _refusal(name, exc, "bad_signal") from exc


def event_to_wire(event: Event) -> dict[str, Any]:
    """``{"type": <class name>, **fields}``, JSON-safe."""
    return to_tagged(event)


def event_from_wire(data: Mapping[str, Any]) -> Event:
    """Inverse of :func:`event_to_wire`; raises ``ValueError`` on a malformed event."""
    # The log holds only what this server accepted: its text was checked on the way in.
    return cast(Event, from_tagged(BaseEvent.registry, data, text=False))
