"""The AsyncAPI document (``GET /asyncapi.json``) is valid AsyncAPI 3 and says what the code does.

Validity is checked by the AsyncAPI project's own parser (``@asyncapi/parser``, pinned in
``tools/asyncapi/package-lock.json``; installed with ``npm ci`` when missing). That the schemas
match the code is checked against the codec itself: for every client command and signal, a
sample the schema accepts decodes, and every way the schema refuses a change (a missing or extra
field, a string one character too long, a value of the wrong JSON type) the codec refuses too;
every event's sample round-trips through the event codec. Every frame a test peer receives is
validated against its schema by ``tests/server/peers.py``.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import CLIENT_COMMANDS, RoomError, command_from_wire, signal_from_wire
from rooms.codec import event_from_wire, event_to_wire
from rooms.events import BaseEvent
from rooms.signals import REACTIONS, BaseSignal
from server.api.asyncapi import asyncapi_document, frame_schema, room_error_codes
from server.protocol import frames
from server.protocol.close import CloseCode
from server.protocol.frames import SERVER_FRAMES
from tests.server.peers import FrameContractError, check_frame
from tests.services import exclusive

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "asyncapi"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def parser() -> Path:
    """``tools/asyncapi`` with its pinned node modules (``npm ci`` when they are missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed to validate the AsyncAPI document")
    # `npm ci` first deletes node_modules: parallel workers (and other test runs) take turns
    with exclusive(TOOLS):
        if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(TOOLS)],
                check=True,
                capture_output=True,
                timeout=280,
            )
    return TOOLS / "validate.mjs"


def _parse(
    parser: Path, document: dict[str, Any], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document), "utf-8")
    return subprocess.run(
        ["node", str(parser), str(path)], capture_output=True, text=True, timeout=120
    )


async def test_the_served_document_is_valid_asyncapi_3(
    http: httpx.AsyncClient, parser: Path, tmp_path: Path
) -> None:
    r = await http.get("/asyncapi.json")
    assert r.status_code == 200
    document = r.json()
    assert document["asyncapi"].startswith("3.")
    assert document["channels"]["room"]["address"] == "/ws/rooms/{room_id}"
    done = _parse(parser, document, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid AsyncAPI 3.0.0: 15 messages" in done.stdout


def test_the_parser_refuses_a_broken_document(parser: Path, tmp_path: Path) -> None:
    """The validator is real: a schema with a type JSON Schema does not know fails it."""
    document = asyncapi_document()
    document["components"]["schemas"]["AddLine"]["type"] = "whole_number"
    done = _parse(parser, document, tmp_path)
    assert done.returncode == 1
    assert "AddLine" in done.stdout


def test_every_frame_command_signal_event_and_code_is_in_the_document() -> None:
    document = asyncapi_document()
    schemas = document["components"]["schemas"]
    messages = document["components"]["messages"]
    server = {
        m["payload"].get("title") or "ev" for m in messages.values() if "→ client" in m["title"]
    }
    assert server == set(SERVER_FRAMES)
    cmd = messages["cmd"]["payload"]["oneOf"]
    assert {v["properties"]["name"]["const"] for v in cmd} == set(CLIENT_COMMANDS)
    sig = messages["clientSig"]["payload"]["oneOf"]
    assert {v["properties"]["name"]["const"] for v in sig} == set(BaseSignal.registry)
    events = {ref["$ref"].rsplit("/", 1)[1] for ref in schemas["Event"]["oneOf"]}
    assert events == set(BaseEvent.registry)
    codes = set(schemas["ErrorCode"]["enum"])
    assert {e.code for e in frames.TRANSPORT_ERRORS} <= codes
    assert {"cart_locked", "forbidden", "invalid_quantity", "room_full"} <= codes
    assert set(room_error_codes()) <= codes
    assert schemas["CloseCode"]["enum"] == [int(c) for c in CloseCode]
    actions = {c["code"]: c["action"] for c in schemas["CloseCode"]["x-close-codes"]}
    assert actions[4409] == "stop" and actions[1013] == "back_off" and actions[1001] == "resume"


# ---- the schemas say what the codec does ----------------------------------------------------


@functools.cache
def _all_defs() -> dict[str, Any]:
    return dict(frame_schema("ev")["$defs"])


def _defs() -> dict[str, Any]:
    return _all_defs()


def _sample(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A small value the schema accepts."""
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "allOf" in schema:
        return _sample(schema["allOf"][0], defs)
    if "anyOf" in schema:
        return _sample(schema["anyOf"][0], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema["type"]
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _sample(props[name], defs) for name in schema.get("required", [])}
    return {
        "string": "x",
        "integer": 1,
        "boolean": True,
        "null": None,
        "number": 1.5,
        "array": [],
    }[kind]


def _validator(name: str, defs: dict[str, Any]) -> jsonschema_rs.Validator:
    return _compiled(name) if defs is _all_defs() else _compile(name, defs)


@functools.cache
def _compiled(name: str) -> jsonschema_rs.Validator:
    return _compile(name, _all_defs())


def _compile(name: str, defs: dict[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for({"$ref": f"#/$defs/{name}", "$defs": defs})


def _wrong(schema: dict[str, Any]) -> object:
    """A value of another JSON type than the schema's (bool is not int, int is not str)."""
    kinds = schema.get("type")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds or [])
    for candidate, kind in ((True, "boolean"), (7, "integer"), ("seven", "string")):
        if kind not in kinds:
            return candidate
    return [1]  # pragma: no cover - no schema allows all three


@pytest.mark.parametrize(
    ("kind", "names"),
    [("command", sorted(CLIENT_COMMANDS)), ("signal", sorted(BaseSignal.registry))],
)
def test_the_schemas_accept_and_refuse_what_the_codec_does(kind: str, names: list[str]) -> None:
    defs = _defs()

    def decodes(name: str, args: dict[str, Any]) -> bool:
        try:
            (command_from_wire if kind == "command" else signal_from_wire)(name, args)
        except RoomError:
            return False
        return True

    checked = 0
    for name in names:
        schema = defs[name]
        valid = _validator(name, defs)
        sample = _sample(schema, defs)
        if name == "React":
            sample = {"emoji": sorted(REACTIONS)[0]}
        assert valid.is_valid(sample) and decodes(name, sample), (name, sample)
        variants: list[dict[str, Any]] = [{**sample, "unexpected": 1}]
        for field in schema["required"]:
            variants.append({k: v for k, v in sample.items() if k != field})
        for field, prop in schema["properties"].items():
            inner = prop["allOf"][0] if "allOf" in prop else prop
            variants.append({**sample, field: _wrong(inner)})
            if "maxLength" in inner:
                variants.append({**sample, field: "x" * (inner["maxLength"] + 1)})
        for changed in variants:
            assert not valid.is_valid(changed), (name, changed)
            assert not decodes(name, changed), (name, changed)
            checked += 1
    assert checked > len(names)


def _value(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values for one property: mostly near what it accepts, some of any JSON type."""
    inner = prop["allOf"][0] if "allOf" in prop else prop
    limit = inner.get("maxLength", 8)
    near: list[st.SearchStrategy[Any]] = [
        st.text(max_size=3),
        st.text(alphabet=st.characters(max_codepoint=0xA0), max_size=4),  # control characters
        st.integers(min_value=limit - 1, max_value=limit + 1).map(lambda n: "é" * max(n, 0)),
    ]
    if "enum" in inner:
        near.append(st.sampled_from(inner["enum"]))
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 300),
        st.lists(st.text(max_size=3), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    return st.one_of(*near, junk)


@st.composite
def _calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    kind, name = draw(
        st.sampled_from(
            [("command", n) for n in sorted(CLIENT_COMMANDS)]
            + [("signal", n) for n in sorted(BaseSignal.registry)]
        )
    )
    schema = _defs()[name]
    args: dict[str, Any] = {}
    for field, prop in schema["properties"].items():
        if draw(st.integers(0, 9)) > 0:  # now and then a field is left out
            args[field] = draw(_value(prop))
    if draw(st.integers(0, 19)) == 0:
        args[draw(st.sampled_from(["extra", "type", "\x01"]))] = 1
    return kind, name, args


@settings(max_examples=3_000, deadline=None, derandomize=True)
@given(call=_calls())
def test_a_schema_accepts_exactly_what_the_codec_decodes(
    call: tuple[str, str, dict[str, Any]],
) -> None:
    """Thousands of argument maps, near the bounds and of every JSON type: the published schema
    and the codec agree on each (the rules' own bounds, e.g. quantity 1-99, come after both)."""
    kind, name, args = call
    try:
        (command_from_wire if kind == "command" else signal_from_wire)(name, args)
        decoded = True
    except RoomError:
        decoded = False
    assert _validator(name, _defs()).is_valid(args) == decoded, (name, args)


def test_every_event_schema_round_trips_through_the_event_codec() -> None:
    defs = _defs()
    for name in BaseEvent.registry:
        sample = _sample(defs[name], defs)
        assert sample["type"] == name
        assert event_to_wire(event_from_wire(sample)) == sample, name
        assert _validator(name, defs).is_valid(sample)
        assert _validator("Event", defs).is_valid(sample)


def test_every_frame_builder_makes_a_frame_its_schema_accepts() -> None:
    event = {"type": "CartLocked", "by": "m1", "at": 1_767_225_600_000}
    one = frames.ev(3, 1_767_225_600_000, "m1", event)
    built = [
        frames.welcome(
            room_id="r1",
            kind="group",
            merchant="demo",
            member_id="m1",
            name="Ana",
            role="host",
            seq=3,
            view=None,
        ),
        one,
        frames.batch(3, 5, [one]),
        frames.ack("op-1", 3, 3),
        frames.ack("op-1", 3, 3, dup=True),
        frames.err("cart_locked", "the cart is locked", "op-1"),
        frames.err("bad_frame", "frame is not valid JSON"),
        frames.notice("card_number_redacted", "removed"),
        frames.presence([frames.present_member("m1", "Ana", "member", None)]),
        frames.count(3, 10),
        frames.sig("m1", "Ana", {"type": "Typing", "active": True}),
        frames.reactions({"🔥": 2}),
        frames.pong(5),
    ]
    assert {m["t"] for m in built} == set(SERVER_FRAMES)
    for message in built:
        check_frame(message)


@pytest.mark.parametrize(
    "message",
    [
        {"t": "ack", "op": "o", "seq": [1]},
        {"t": "err", "op": None, "code": "no_such_code", "message": "?"},
        {"t": "ev", "seq": 1, "at": 1, "actor": "m", "ev": {"type": "CartLocked", "by": "m"}},
        {"t": "presence", "members": [{"id": "m1", "name": "Ana", "viewing": None}]},  # old shape
        {"t": "pong", "seq": 1, "extra": True},
        {"t": "hello", "token": "x"},
    ],
)
def test_a_frame_that_breaks_its_schema_is_caught(message: dict[str, Any]) -> None:
    with pytest.raises(FrameContractError):
        check_frame(message)
