"""Channel and key names, and the ids they are built of."""

from __future__ import annotations

import pytest

from server.broker.errors import InvalidName
from server.broker.names import (
    check_prefix,
    check_process_id,
    check_room_id,
    check_ttl,
    presence_index_key,
    presence_key,
    room_channel,
    room_shard_channel,
)


def test_names_follow_the_documented_layout() -> None:
    assert room_channel("coshop", "r1") == "coshop:room:r1"
    assert room_shard_channel("coshop", "r1") == "coshop:room:{r1}"  # the presence keys' slot
    assert presence_key("coshop", "r1", "p1") == "coshop:presence:{r1}:p1"
    assert presence_index_key("coshop", "r1") == "coshop:presence:{r1}"


def test_presence_keys_of_different_rooms_and_processes_never_collide() -> None:
    # The room id sits inside the braces (no braces allowed in it), the process id after them.
    assert presence_index_key("c", "a:b") != presence_key("c", "a", "b")
    assert presence_key("c", "a:b", "p") != presence_key("c", "a", "b_p")


@pytest.mark.parametrize("room_id", ["r1", "shop:acme:live-7", "Zürich", "x" * 200])
def test_usable_room_ids(room_id: str) -> None:
    assert check_room_id(room_id) == room_id


@pytest.mark.parametrize("room_id", ["", "a b", "a\nb", "a{b", "a}b", "x" * 201, "a\x00"])
def test_unusable_room_ids(room_id: str) -> None:
    with pytest.raises(InvalidName) as excinfo:
        check_room_id(room_id)
    assert excinfo.value.code == "broker_name_invalid"


@pytest.mark.parametrize("process_id", ["", "a:b", "a b", "x" * 65, "é"])
def test_unusable_process_ids(process_id: str) -> None:
    with pytest.raises(InvalidName):
        check_process_id(process_id)


@pytest.mark.parametrize("prefix", ["", "a b", "a{b}"])
def test_unusable_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidName):
        check_prefix(prefix)


def test_ttl_must_be_at_least_one_second() -> None:
    assert check_ttl(1) == 1
    with pytest.raises(ValueError, match="at least 1 second"):
        check_ttl(0)
