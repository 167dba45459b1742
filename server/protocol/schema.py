"""JSON Schema derived from the protocol's frozen dataclasses (commands, events, signals).

One :class:`SchemaSet` turns type hints into schemas exactly as ``rooms.jsoncodec.decode`` reads
them: ``str``/``int``/``bool``/``float``/``None``, ``X | None``, ``Literal[...]``, string
enums, ``tuple[X, ...]``/``list[X]``, ``dict[str, X]``, nested dataclasses (each becomes a
named definition) and ``Annotated`` extras that carry a ``json_schema()`` method (the codec's
``MaxLen`` gives ``maxLength``). Objects are closed (``additionalProperties: false``) because the
decoder refuses unknown fields; a field with a default is optional.

The keywords used are the ones JSON Schema draft-07 (AsyncAPI 3's schema object) and draft
2020-12 read alike: ``type``, ``properties``, ``required``, ``additionalProperties``, ``items``
(one schema), ``enum``, ``const``, ``anyOf``, ``oneOf``, ``$ref`` (never with siblings),
``maxLength``, ``pattern``, ``title`` and ``description``. References are ``<prefix><Name>``,
so one set of definitions serves an AsyncAPI document (``#/components/schemas/``) and a
standalone JSON Schema (``#/$defs/``).

A pure module: it knows no class of the room core (the caller passes the registries and a
``describe`` callback for field descriptions) and does no I/O.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["Describe", "SchemaSet"]

Describe = Callable[[type, str], str | None]
"""``describe(cls, field_name)``: the description of one field, or None."""

_PLAIN: dict[Any, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    float: "number",
    type(None): "null",
}


_SIMPLE = frozenset({"type", "maxLength", "pattern"})
"""Keywords that apply to one JSON type only: ``X | None`` adds ``null`` to their ``type``."""


def _no_description(_cls: type, _name: str) -> str | None:
    return None


class SchemaSet:
    """Named schema definitions, built from dataclasses and type hints on demand."""

    def __init__(self, ref_prefix: str, describe: Describe = _no_description) -> None:
        self.ref_prefix = ref_prefix
        self.describe = describe
        self.defs: dict[str, dict[str, Any]] = {}

    def ref(self, name: str) -> dict[str, Any]:
        """A reference to the definition ``name`` (which must be added before it is used)."""
        return {"$ref": f"{self.ref_prefix}{name}"}

    def add(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """Add a definition; two different definitions under one name is a bug."""
        known = self.defs.get(name)
        assert known is None or known == schema, f"two schemas named {name!r}"
        self.defs[name] = schema
        return self.ref(name)

    # ---- type hints ----------------------------------------------------------------------------

    def of(self, hint: Any, text: str | None = None) -> dict[str, Any]:
        """The schema of one type hint (nested dataclasses become definitions).

        ``text``: a ``pattern`` every plain string must match (what a client may send).
        """
        origin = get_origin(hint)
        if origin is Annotated:
            inner, *extras = get_args(hint)
            schema = dict(self.of(inner, text))
            for extra in extras:
                method = getattr(extra, "json_schema", None)
                if callable(method):
                    schema.update(method())
            return schema
        if origin is Union or origin is types.UnionType:
            arms = [a for a in get_args(hint) if a is not type(None)]
            (arm,) = arms  # the codec reads only ``X | None`` unions
            inner = self.of(arm, text)
            if isinstance(inner.get("type"), str) and set(inner) <= _SIMPLE:
                return {**inner, "type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        if origin is Literal:
            options = list(get_args(hint))
            kinds = {_PLAIN[type(o)] for o in options}
            return {"type": kinds.pop() if len(kinds) == 1 else sorted(kinds), "enum": options}
        if origin in (tuple, list):
            return {"type": "array", "items": self.of(get_args(hint)[0], text)}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.of(get_args(hint)[1], text)}
        if isinstance(hint, type) and issubclass(hint, Enum):
            return {"type": "string", "enum": [member.value for member in hint]}
        if dataclasses.is_dataclass(hint):
            assert isinstance(hint, type)
            if hint.__name__ not in self.defs:
                self.add(hint.__name__, self.object_of(hint, all_required=True))
            return self.ref(hint.__name__)
        if hint is str and text is not None:
            return {"type": "string", "pattern": text}
        return {"type": _PLAIN[hint]}

    def object_of(
        self,
        cls: type,
        *,
        all_required: bool = False,
        tag: tuple[str, str] | None = None,
        title: str | None = None,
        description: str | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """The closed object schema of dataclass ``cls``.

        ``all_required``: the server always writes every field (events, state records); a client
        may leave out a field with a default. ``tag``: a constant first property
        (``("type", "LineAdded")``), as the wire form of an event or signal carries. ``text``: a
        pattern for its strings (see :meth:`of`).
        """
        hints = get_type_hints(cls, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        if tag is not None:
            properties[tag[0]] = {"const": tag[1]}
            required.append(tag[0])
        for field in dataclasses.fields(cls):
            schema = self.of(hints[field.name], text)
            words = self.describe(cls, field.name)
            if words:
                schema = (
                    {"allOf": [schema], "description": words}
                    if "$ref" in schema
                    else {
                        **schema,
                        "description": words,
                    }
                )
            properties[field.name] = schema
            optional = not (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            )
            if all_required or not optional:
                required.append(field.name)
        out: dict[str, Any] = {"type": "object"}
        if title is not None:
            out["title"] = title
        if description:
            out["description"] = description
        out.update(properties=properties, required=required, additionalProperties=False)
        return out

    def union(self, names: Iterable[str], description: str | None = None) -> dict[str, Any]:
        """``oneOf`` the named definitions (their ``type`` tags tell them apart)."""
        out: dict[str, Any] = {"oneOf": [self.ref(name) for name in names]}
        if description:
            out["description"] = description
        return out

    def bundle(self, root: dict[str, Any]) -> dict[str, Any]:
        """A standalone draft 2020-12 schema: ``root`` with every definition under ``$defs``.

        Only for a set whose prefix is ``#/$defs/``.
        """
        assert self.ref_prefix == "#/$defs/"
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **root,
            "$defs": self.defs,
        }
