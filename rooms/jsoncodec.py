"""The one conversion between frozen dataclasses and JSON-safe values.

Every dataclass that crosses a wire or reaches a database goes through here: the room core's
commands, events and signals (:mod:`rooms.codec`), room snapshots (:meth:`rooms.Room.to_snapshot`),
and the checkout bridge's cart snapshots and order events (stored by ``server/checkout/store``).
The format, which stored rows depend on:

- a dataclass is an object of its fields, in declaration order; a tuple or list is an array; an
  enum is its value; ``str``, ``int``, ``float``, ``bool`` and ``None`` are themselves;
- a value of a union of dataclasses is *tagged*: ``{"type": <class name>, **fields}``
  (:func:`to_tagged` / :func:`from_tagged`).

Decoding is strict: no unknown field, every field without a default present, exact JSON types
(``bool`` is not ``int``, ``float`` is not ``int``), enum and ``Literal`` values checked,
``MaxLen`` honoured. A field missing from the data takes its default, so a field added later
with a default still reads rows written before it. Failures raise :class:`DecodeError` naming
the offending path; callers translate it into their own error.

Text from a client is checked too (``check_text``, on by default): every decoded string and
object key must be well-formed Unicode (no lone surrogate, which ``json.loads`` makes of
``"\\ud800"`` and which no UTF-8 encoder accepts) with no control character but ``\\n`` and
``\\t``. Such a failure has ``code == "invalid_text"``; the rules' ``clean_text`` applies its
stricter per-field limits later. Paths in error messages never echo ill-formed text.
Reloading the server's own rows skips the text check (``text=False``).

Pure: no I/O. Turning these values into JSON text (key order, ASCII escapes) is the caller's
business, because stored rows and digests fixed theirs long ago.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from rooms._fields import MaxLen

__all__ = [
    "DecodeError",
    "check_text",
    "decode",
    "decode_fields",
    "from_json",
    "from_tagged",
    "to_json",
    "to_tagged",
]

_T = TypeVar("_T")


class DecodeError(ValueError):
    """A value does not match the declared type; ``path`` names the field.

    ``code`` is ``"invalid_text"`` for ill-formed text and ``"bad_value"`` for anything else.
    """

    def __init__(self, path: str, problem: str, code: str = "bad_value") -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
        self.code = code


# Lone surrogates and every control character (category Cc) except tab and newline.
_BAD_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _printable(text: str) -> str:
    """``text`` with lone surrogates escaped: safe to put into an error message."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_text(value: str, path: str) -> str:
    """``value`` if it is well-formed text; raises ``DecodeError(code="invalid_text")``."""
    found = _BAD_TEXT.search(value)
    if found is not None:
        char = found.group()
        problem = (
            "is not well-formed Unicode (lone surrogate)"
            if "\ud800" <= char <= "\udfff"
            else f"contains the control character U+{ord(char):04X}"
        )
        raise DecodeError(path, problem, "invalid_text")
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of dataclass ``cls`` in order; None for any other type."""
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


def to_json(value: Any) -> Any:
    """A JSON-safe copy of ``value`` (dataclasses -> dicts, enums -> values, tuples -> lists)."""
    kind: type = type(value)
    if kind in _PLAIN:  # most values: checked first, every event goes through here
        return value
    names = _field_names(kind)
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def to_tagged(value: Any) -> dict[str, Any]:
    """``{"type": <class name>, **fields}``: one value of a union of dataclasses, JSON-safe."""
    return {"type": type(value).__name__, **to_json(value)}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, include_extras=True)


def decode_fields(
    cls: type, data: Mapping[str, object], path: str = "", *, text: bool = True
) -> dict[str, Any]:
    """Decode ``data`` into the keyword arguments of dataclass ``cls`` (exact field set).

    ``text=False`` skips the well-formed text check (for the server's own stored events).
    """
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            shown = f"{path}{_printable(str(key))}"
            if text:
                check_text(str(key), shown)
            raise DecodeError(shown, "unexpected field")
    out: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            out[name] = decode(hints[name], data[name], f"{path}{name}", text=text)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise DecodeError(f"{path}{name}", "missing field")
    return out


def from_json(
    cls: type[_T], data: Mapping[str, object], path: str = "", *, text: bool = True
) -> _T:
    """The dataclass ``cls`` that :func:`to_json` turned into ``data``."""
    return cls(**decode_fields(cls, data, path, text=text))


def from_tagged(
    classes: Mapping[str, type[_T]], data: Mapping[str, object], *, text: bool = True
) -> _T:
    """Inverse of :func:`to_tagged`: ``data["type"]`` names one of ``classes``."""
    fields = dict(data)
    name = fields.pop("type", None)
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None:
        shown = _printable(name) if isinstance(name, str) else name
        raise DecodeError("type", f"unknown type {shown!r}")
    return from_json(cls, fields, text=text)


def decode(hint: Any, value: object, path: str, *, text: bool = True) -> Any:
    """Decode one JSON value against a type hint; raises :class:`DecodeError`."""
    origin = get_origin(hint)
    if origin is Annotated:
        inner, *extras = get_args(hint)
        result = decode(inner, value, path, text=text)
        for extra in extras:
            if isinstance(extra, MaxLen) and len(result) > extra.value:
                raise DecodeError(path, f"longer than {extra.value} characters")
        return result
    if origin is Union or origin is types.UnionType:
        arms = get_args(hint)
        if value is None and type(None) in arms:
            return None
        (arm,) = (a for a in arms if a is not type(None))
        return decode(arm, value, path, text=text)
    if origin is Literal:
        if text and isinstance(value, str):
            check_text(value, path)
        if any(type(value) is type(option) and value == option for option in get_args(hint)):
            return value
        raise DecodeError(path, f"must be one of {list(get_args(hint))}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise DecodeError(path, "must be an array")
        item = get_args(hint)[0]
        items = [decode(item, v, f"{path}[{i}]", text=text) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(path, "must be an object")
        item = get_args(hint)[1]
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = _key(k, path, text)
            out[key] = decode(item, v, f"{path}.{key}", text=text)
        return out
    return _decode_plain(hint, value, path, text)


def _key(key: object, path: str, text: bool) -> str:
    if not isinstance(key, str):
        raise DecodeError(path, "object keys must be strings")
    if text:
        check_text(key, f"{path}.{_printable(key)}")
    return key


def _decode_plain(hint: Any, value: object, path: str, text: bool) -> Any:
    if text and isinstance(value, str):
        check_text(value, path)  # also an enum's would-be value: ill-formed text is never a name
    if isinstance(hint, type) and issubclass(hint, Enum):
        members = {member.value: member for member in hint}
        if type(value) is str and value in members:
            return members[value]
        raise DecodeError(path, f"must be one of {list(members)}")
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise DecodeError(path, "must be an object")
        assert isinstance(hint, type)
        return hint(**decode_fields(hint, value, f"{path}.", text=text))
    if type(value) is not hint:
        raise DecodeError(path, f"must be {_NAMES.get(hint, getattr(hint, '__name__', hint))}")
    return value


_NAMES = {str: "a string", int: "an integer", bool: "a boolean"}
