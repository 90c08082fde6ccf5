"""The state messages (proto/ccnode/v1/state.proto) read and write the bytes stores hold.

Before state.proto the folds stored the service response messages (admin.BlacklistItem,
tasks.TaskItem / TaskEvent / SeizureItem / SeizureRenewal, lookups.LookupItem / LookupReply /
AccessItem). Those messages still exist, so the old format is checked against the new here:

* the schema: each state message has its response message's fields (number, name, type,
  label), the response's read-time fields aside, whose numbers the state message reserves;
* the bytes: every field set, old bytes parse as the state message with every field equal and
  serialise back to the same bytes, and the other way round;
* the projections (node/services/projections.py) carry every field of the state;
* a store: the rows ccnode wrote at commit 229aca5 (tests/unit/statefixtures.py) are exactly
  what the folds write now, and read back from SQLite / PostgreSQL after a reopen they parse
  as the state messages and project to what the services answered before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from ccnode.v1 import admin_pb2, lookups_pb2, state_pb2, tasks_pb2
from node.services import projections
from node.store import Store
from node.store.base import STATE_TABLES, OriginState, RowChange
from sync.folds import access, blacklist, lookups, tasks
from sync.folds.types import (
    ACCESS_TABLE,
    BLACKLIST_TABLE,
    LOOKUPS_TABLE,
    SEIZURES_TABLE,
    TASKS_TABLE,
    Row,
)
from tests.unit.statefixtures import fold_rows, stored_rows

# (message the state was stored as, state message)
PAIRS: list[tuple[type[Message], type[Message]]] = [
    (admin_pb2.BlacklistItem, state_pb2.ListingState),
    (tasks_pb2.TaskEvent, state_pb2.TaskEventState),
    (tasks_pb2.SeizureRenewal, state_pb2.SeizureRenewalState),
    (tasks_pb2.SeizureItem, state_pb2.SeizureState),
    (tasks_pb2.TaskItem, state_pb2.TaskState),
    (lookups_pb2.LookupReply, state_pb2.LookupReplyState),
    (lookups_pb2.LookupItem, state_pb2.LookupState),
    (lookups_pb2.AccessItem, state_pb2.AccessState),
]
_NEW_OF = {old.DESCRIPTOR.full_name: new.DESCRIPTOR.full_name for old, new in PAIRS}
_OLD_OF = {new: old for old, new in _NEW_OF.items()}
# Filled by the services at read time, never stored: not in the state messages.
READ_TIME: dict[str, frozenset[str]] = {
    "ccnode.v1.BlacklistItem": frozenset({"term_state", "term_days_left"}),
    "ccnode.v1.SeizureItem": frozenset(
        {
            "state",
            "effective_on",
            "effective_end_on",
            "queue_ahead",
            "days_left",
            "flags",
            "release_order",
        }
    ),
    "ccnode.v1.TaskItem": frozenset({"flags"}),
}
# The projection of each state message, and how each table's rows are read.
PROJECTIONS: dict[type[Message], Callable[[Any], Message]] = {
    state_pb2.ListingState: projections.listing_item,
    state_pb2.TaskEventState: projections.task_event,
    state_pb2.SeizureRenewalState: projections.seizure_renewal,
    state_pb2.SeizureState: projections.seizure_item,
    state_pb2.TaskState: projections.task_item,
    state_pb2.LookupReplyState: projections.lookup_reply,
    state_pb2.LookupState: projections.lookup_item,
    state_pb2.AccessState: projections.access_item,
}
TABLES: dict[str, tuple[Callable[[Row], Message], type[Message]]] = {
    BLACKLIST_TABLE: (blacklist.state_of, admin_pb2.BlacklistItem),
    TASKS_TABLE: (tasks.state_of, tasks_pb2.TaskItem),
    SEIZURES_TABLE: (tasks.seizure_of, tasks_pb2.SeizureItem),
    LOOKUPS_TABLE: (lookups.state_of, lookups_pb2.LookupItem),
    ACCESS_TABLE: (access.state_of, lookups_pb2.AccessItem),
}


# ---------------------------------------------------------------- the schema


def _proto(descriptor: Descriptor) -> descriptor_pb2.DescriptorProto:
    out = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(out)
    return out


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=lambda c: c.DESCRIPTOR.name)
def test_a_state_message_has_the_stored_fields_of_its_response_message(
    old: type[Message], new: type[Message]
) -> None:
    old_fields = {f.number: f for f in _proto(old.DESCRIPTOR).field}
    new_proto = _proto(new.DESCRIPTOR)
    for f in new_proto.field:
        was = old_fields.pop(f.number)
        assert (f.name, f.type, f.label) == (was.name, was.type, was.label), f.name
        # A message or enum field: the same type, or the state counterpart of the old one.
        assert f.type_name in (was.type_name, "." + _NEW_OF.get(was.type_name[1:], "")), f.name
    read_time = {f.name: f.number for f in old_fields.values()}
    assert set(read_time) == READ_TIME.get(old.DESCRIPTOR.full_name, frozenset())
    reserved = {n for r in new_proto.reserved_range for n in range(r.start, r.end)}
    assert set(read_time.values()) <= reserved
    assert set(read_time) <= set(new_proto.reserved_name)


def test_every_message_that_a_state_message_holds_is_a_state_or_a_payload_message() -> None:
    # A state message may hold log payload messages (the log's contract, as stable as the
    # stored bytes), never a service message: that would tie stored bytes to a response.
    for _, new in PAIRS:
        for f in new.DESCRIPTOR.fields:
            if f.message_type is not None:
                assert f.message_type.file.name in (
                    "ccnode/v1/state.proto",
                    "ccnode/v1/payloads.proto",
                ), f.full_name


# ---------------------------------------------------------------- the bytes


def _value(f: FieldDescriptor, seed: int, depth: int, skip: bool) -> Any:
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        return _filled(GetMessageClass(f.message_type), seed, depth + 1, skip_read_time=skip)
    if f.type == FieldDescriptor.TYPE_ENUM:
        # A known value or, open enums keeping them, an unknown one.
        return f.enum_type.values[-1].number if seed % 2 else 1000 + seed
    if f.type == FieldDescriptor.TYPE_STRING:
        return f"{f.name}-{seed}-é"
    if f.type == FieldDescriptor.TYPE_BYTES:
        return bytes([seed % 256, 0, 255]) * 3
    if f.type == FieldDescriptor.TYPE_BOOL:
        return True
    wide = f.cpp_type in (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64)
    number = (seed * (10**12 if wide else 1009) + 1) % 2 ** (63 if wide else 31)
    signed = f.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64)
    return -number if signed else number


def _filled(cls: type[Message], seed: int = 1, depth: int = 0, *, skip_read_time: bool) -> Any:
    """A ``cls`` with every field set (two elements per repeated field) to values distinct
    from the defaults and from each other's, read-time fields left out when asked."""
    assert depth < 6, "unexpectedly deep messages"
    descriptor = cls.DESCRIPTOR
    assert not descriptor.oneofs, "every field could not be set"
    skipped = READ_TIME.get(descriptor.full_name, frozenset()) if skip_read_time else frozenset()
    msg = cls()
    for n, f in enumerate(descriptor.fields):
        if f.name in skipped:
            continue
        assert not (f.message_type and f.message_type.GetOptions().map_entry), f.full_name
        if f.is_repeated:
            for k in range(2):
                value = _value(f, seed * 7 + n + k, depth, skip_read_time)
                target = getattr(msg, f.name)
                if f.type == FieldDescriptor.TYPE_MESSAGE:
                    target.add().CopyFrom(value)
                else:
                    target.append(value)
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(msg, f.name).CopyFrom(_value(f, seed * 7 + n, depth, skip_read_time))
        else:
            setattr(msg, f.name, _value(f, seed * 7 + n, depth, skip_read_time))
    return msg


def assert_same_fields(old: Message, new: Message) -> None:
    """Every field of the state message ``new`` equals the same field of ``old``, nested
    state messages field by field; and ``old`` sets no other field."""
    set_old = [f.name for f, _ in old.ListFields()]
    set_new = [f.name for f, _ in new.ListFields()]
    assert set_old == set_new
    for f in new.DESCRIPTOR.fields:
        if f.message_type is not None and not f.is_repeated:
            assert old.HasField(f.name) == new.HasField(f.name), f.full_name
        mine, theirs = getattr(new, f.name), getattr(old, f.name)
        if f.message_type is None or f.message_type.full_name not in _OLD_OF:
            assert mine == theirs, f.full_name
        elif f.is_repeated:
            assert len(mine) == len(theirs), f.full_name
            for a, b in zip(theirs, mine, strict=True):
                assert_same_fields(a, b)
        else:
            assert_same_fields(theirs, mine)


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=lambda c: c.DESCRIPTOR.name)
def test_old_bytes_parse_as_the_state_message_with_every_field_equal(
    old: type[Message], new: type[Message]
) -> None:
    for seed in (1, 2):
        before = _filled(old, seed, skip_read_time=True)
        stored = before.SerializeToString(deterministic=True)
        after = new.FromString(stored)
        assert len(after.ListFields()) == len(new.DESCRIPTOR.fields)  # the test sets them all
        assert_same_fields(before, after)
        assert after.SerializeToString(deterministic=True) == stored


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=lambda c: c.DESCRIPTOR.name)
def test_state_bytes_parse_as_the_old_message_with_every_field_equal(
    old: type[Message], new: type[Message]
) -> None:
    for seed in (1, 2):
        state = _filled(new, seed, skip_read_time=True)
        stored = state.SerializeToString(deterministic=True)
        before = old.FromString(stored)
        assert_same_fields(before, state)
        assert before.SerializeToString(deterministic=True) == stored


def test_an_empty_state_is_empty_bytes_either_way() -> None:
    for old, new in PAIRS:
        assert old().SerializeToString() == new().SerializeToString() == b""


# ---------------------------------------------------------------- the projections


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=lambda c: c.DESCRIPTOR.name)
def test_a_projection_carries_every_field_of_its_state(
    old: type[Message], new: type[Message]
) -> None:
    for seed in (1, 2):
        state = _filled(new, seed, skip_read_time=True)
        projected = PROJECTIONS[new](state)
        assert type(projected) is old
        # What the service built from the stored bytes before: the same message.
        assert projected == old.FromString(state.SerializeToString())


def test_a_projection_leaves_absent_messages_absent() -> None:
    assert not projections.listing_item(state_pb2.ListingState()).HasField("record")
    assert not projections.task_item(state_pb2.TaskState()).HasField("delegation")
    assert not projections.seizure_item(state_pb2.SeizureState()).HasField("measure")
    assert not projections.lookup_item(state_pb2.LookupState()).HasField("reply")


# ---------------------------------------------------------------- a store written before


def test_the_rows_written_before_are_the_rows_the_folds_write_now() -> None:
    before, now = stored_rows(), fold_rows()
    assert {table for table, _ in before} == set(TABLES) <= set(STATE_TABLES)
    assert sorted(now) == sorted(before)
    for key, row in before.items():
        assert now[key] == row, key


def _write(store: Store, rows: dict[tuple[str, str], Row]) -> None:
    changes = [RowChange(table, key, row) for (table, key), row in sorted(rows.items())]
    state = OriginState("chengdu", 0, b"\0" * 32, b"", "chengdu\n0\nroot\n")
    store.append(origin="chengdu", expected_size=0, entries=[], state=state, changes=changes)


def test_a_store_written_before_reads_the_same_after(
    sql_store_location: str, open_test_store: Callable[[str], Store]
) -> None:
    before = stored_rows()
    _write(open_test_store(sql_store_location), before)
    store = open_test_store(sql_store_location)  # reopened: what a restarted node reads
    for (table, key), row in sorted(before.items()):
        held = store.get_rows(table, [key])[key]
        assert held == row
        state_of, response = TABLES[table]
        state = state_of(held)
        assert state.SerializeToString(deterministic=True) == row["record"]
        assert_same_fields(response.FromString(row["record"]), state)
        assert PROJECTIONS[type(state)](state) == response.FromString(row["record"])
