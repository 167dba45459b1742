"""The one dataclass <-> JSON codec (rooms/jsoncodec.py), on its own dataclasses.

What the room core, the checkout bridge and the stores rely on: the encoded shape (field order,
tagging, enums, containers), the exact inverse, strict decoding with a path in every error,
defaults for fields an old row lacks, and the text check that can be switched off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal

import pytest

from rooms._fields import MaxLen
from rooms.jsoncodec import (
    DecodeError,
    check_text,
    decode,
    decode_fields,
    from_json,
    from_tagged,
    to_json,
    to_tagged,
)


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Shape:
    name: Annotated[str, MaxLen(5)]
    colour: Colour
    kind: Literal["round", "square"]
    points: tuple[Point, ...]
    tags: list[str]
    scores: dict[str, float]
    note: str | None = None
    flags: tuple[bool, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Moved:
    to: Point


SHAPE = Shape(
    name="sq",
    colour=Colour.BLUE,
    kind="square",
    points=(Point(0, 0), Point(1, 2)),
    tags=["a"],
    scores={"k": 0.5},
    note=None,
    flags=(True,),
)
ENCODED = {
    "name": "sq",
    "colour": "blue",
    "kind": "square",
    "points": [{"x": 0, "y": 0}, {"x": 1, "y": 2}],
    "tags": ["a"],
    "scores": {"k": 0.5},
    "note": None,
    "flags": [True],
}
TYPES: dict[str, type[Any]] = {"Shape": Shape, "Moved": Moved}


def test_a_dataclass_is_an_object_of_its_fields_in_order() -> None:
    encoded = to_json(SHAPE)
    assert encoded == ENCODED
    assert list(encoded) == [
        "name", "colour", "kind", "points", "tags", "scores", "note", "flags",
    ]  # fmt: skip
    assert json.loads(json.dumps(encoded)) == encoded  # JSON-safe


def test_from_json_is_the_exact_inverse() -> None:
    assert from_json(Shape, json.loads(json.dumps(to_json(SHAPE)))) == SHAPE
    assert decode(Shape, ENCODED, "shape") == SHAPE


def test_plain_values_pass_as_they_are() -> None:
    class Other:
        pass

    other = Other()
    assert to_json(other) is other  # not JSON's business: json.dumps refuses it later
    assert to_json({"a": (1, Colour.RED)}) == {"a": [1, "red"]}


def test_a_tagged_value_names_its_class_first() -> None:
    moved = Moved(Point(3, 4))
    tagged = to_tagged(moved)
    assert tagged == {"type": "Moved", "to": {"x": 3, "y": 4}}
    assert next(iter(tagged)) == "type"
    assert from_tagged(TYPES, tagged) == moved
    assert from_tagged(TYPES, to_tagged(SHAPE)) == SHAPE


@pytest.mark.parametrize(
    ("data", "shown"),
    [({}, "None"), ({"type": 3}, "3"), ({"type": "Gone"}, "'Gone'"), ({"type": "x\ud800"}, "")],
)
def test_an_unknown_tag_is_refused(data: dict[str, object], shown: str) -> None:
    with pytest.raises(DecodeError) as exc:
        from_tagged(TYPES, data)
    assert exc.value.path == "type"
    assert shown in exc.value.problem
    str(exc.value).encode("utf-8")  # never echoes ill-formed text


def test_a_missing_field_with_a_default_takes_it() -> None:
    data = {k: v for k, v in ENCODED.items() if k not in ("note", "flags")}
    assert from_json(Shape, data) == Shape(
        "sq", Colour.BLUE, "square", SHAPE.points, ["a"], {"k": 0.5}
    )


def _with(**changes: object) -> dict[str, object]:
    return {**ENCODED, **changes}


@pytest.mark.parametrize(
    ("data", "path", "problem"),
    [
        ({k: v for k, v in ENCODED.items() if k != "name"}, "name", "missing field"),
        (_with(extra=1), "extra", "unexpected field"),
        (_with(name="toolong"), "name", "longer than 5 characters"),
        (_with(name=5), "name", "must be a string"),
        (_with(colour="green"), "colour", "must be one of ['red', 'blue']"),
        (_with(colour=1), "colour", "must be one of"),
        (_with(kind="oval"), "kind", "must be one of ['round', 'square']"),
        (_with(points={}), "points", "must be an array"),
        (_with(points=[{"x": 0}]), "points[0].y", "missing field"),
        (_with(points=[{"x": True, "y": 0}]), "points[0].x", "must be an integer"),
        (_with(points=[[0, 0]]), "points[0]", "must be an object"),
        (_with(scores=[]), "scores", "must be an object"),
        (_with(scores={"k": 1}), "scores.k", "must be float"),
        (_with(note=3), "note", "must be a string"),
        (_with(flags=[1]), "flags[0]", "must be a boolean"),
    ],
)
def test_decoding_is_strict_and_names_the_path(
    data: dict[str, object], path: str, problem: str
) -> None:
    with pytest.raises(DecodeError) as exc:
        from_json(Shape, data)
    assert exc.value.path == path
    assert problem in exc.value.problem
    assert exc.value.code == "bad_value"
    assert isinstance(exc.value, ValueError)


def test_object_keys_must_be_strings() -> None:
    with pytest.raises(DecodeError) as exc:
        decode(dict[str, int], {1: 1}, "counts")
    assert exc.value.problem == "object keys must be strings"


@pytest.mark.parametrize(
    "data",
    [
        _with(name="a\x00"),
        _with(tags=["\ud800"]),
        _with(kind="\ud800"),
        _with(colour="\udfff"),
        _with(scores={"\ud800": 1.0}),
        {**ENCODED, "\ud800": 1},
    ],
)
def test_ill_formed_text_is_invalid_text_unless_the_check_is_off(data: dict[str, object]) -> None:
    with pytest.raises(DecodeError) as exc:
        from_json(Shape, data)
    assert exc.value.code == "invalid_text"
    str(exc.value).encode("utf-8")
    if data.get("name") == "a\x00" or data.get("tags") == ["\ud800"]:
        assert from_json(Shape, data, text=False) is not None  # the server's own rows


def test_an_unknown_field_with_unchecked_text_is_still_refused() -> None:
    with pytest.raises(DecodeError) as exc:
        decode_fields(Point, {"x": 1, "y": 2, "z\ud800": 3}, "p.", text=False)
    assert exc.value.path == "p.z\\ud800"
    assert exc.value.code == "bad_value"


def test_check_text_names_what_is_wrong() -> None:
    assert check_text("tab\tand\nnewline", "f") == "tab\tand\nnewline"
    with pytest.raises(DecodeError, match="lone surrogate"):
        check_text("\ud800", "f")
    with pytest.raises(DecodeError, match=r"U\+0007"):
        check_text("\x07", "f")
