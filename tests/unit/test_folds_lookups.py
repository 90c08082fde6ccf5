"""Tests for sync.folds.lookups (one row per lookup, two writers) and sync.folds.access."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccnode.v1 import log_pb2, payloads_pb2
from sync.domain.lookups import subject_key
from sync.entry import Header, decode_header, make_entry
from sync.folds import access as access_fold
from sync.folds import fold_batch, table_for
from sync.folds.lookups import TABLE, fold, hlc_day, state_of
from sync.folds.types import Ignored, Row
from sync.hlc import pack
from sync.payload import encode_payload
from tests.unit.corefixtures import BASE_MS, SAMPLE_ID_NUMBER, salt_for

A, B, C = "chengdu", "chongqing", "mianyang"
SUBJECT = f"{A}/lookup/3"
REQUEST_ID = f"{A}/3"
Item = tuple[Header, bytes | None]


def _entry(
    origin: str,
    index: int,
    kind: int,
    body: payloads_pb2.Payload,
    *,
    subject: str = SUBJECT,
    audience: tuple[str, ...] = (A, B),
    parents: tuple[str, ...] = (),
    actor: str = "法官王五",
) -> tuple[Header, bytes]:
    payload = encode_payload(kind, body)
    entry = make_entry(
        origin=origin,
        index=index,
        kind=kind,
        subject=subject,
        actor=actor,
        hlc=pack(BASE_MS + index, 0),
        payload=payload,
        salt=salt_for(origin, index),
        audience=audience,
        parents=parents,
    )
    return decode_header(entry.header), payload


def request(
    index: int = 3,
    *,
    target: str = B,
    audience: tuple[str, ...] = (A, B),
    subject: str | None = None,
    **fields: object,
) -> tuple[Header, bytes]:
    body = payloads_pb2.LookupRequested(
        target_node=target,
        case_number="（2025）川0104执1234号",
        court="川0104",
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=SAMPLE_ID_NUMBER),
        categories=[payloads_pb2.DEPOSIT, payloads_pb2.VEHICLE],
        purpose="查询被执行人财产",
        **fields,  # type: ignore[arg-type]
    )
    return _entry(
        A,
        index,
        log_pb2.LOOKUP_REQUESTED,
        payloads_pb2.Payload(lookup_requested=body),
        subject=subject or f"{A}/lookup/{index}",
        audience=audience,
    )


def answer(
    origin: str = B,
    index: int = 7,
    *,
    assets: int = 2,
    request_id: str = REQUEST_ID,
    parents: tuple[str, ...] = (REQUEST_ID,),
) -> tuple[Header, bytes]:
    body = payloads_pb2.LookupAnswered(
        request=request_id,
        categories=[payloads_pb2.DEPOSIT],
        assets=[
            payloads_pb2.AssetRecord(asset_id=f"x{i}", category=payloads_pb2.DEPOSIT)
            for i in range(assets)
        ],
        assets_found=assets,
    )
    return _entry(
        origin,
        index,
        log_pb2.LOOKUP_ANSWERED,
        payloads_pb2.Payload(lookup_answered=body),
        audience=(A, origin),
        parents=parents,
        actor="ccnode-lookup-responder",
    )


def denial(origin: str = B, index: int = 7) -> tuple[Header, bytes]:
    body = payloads_pb2.LookupDenied(
        request=REQUEST_ID, reason=payloads_pb2.QUOTA_EXCEEDED, detail="requester: quota"
    )
    return _entry(
        origin,
        index,
        log_pb2.LOOKUP_DENIED,
        payloads_pb2.Payload(lookup_denied=body),
        audience=(A, origin),
        parents=(REQUEST_ID,),
    )


def headers_only(items: Sequence[Item]) -> list[Item]:
    return [(h, None) for h, _ in items]


def fold_all(items: Sequence[Item]) -> Row | None:
    """Fold entries in the given delivery order, each origin's in its index order."""
    result = fold_batch(list(items), {})
    return result.changes.get((TABLE, SUBJECT))


def _row(outcome: Row | Ignored) -> Row:
    assert not isinstance(outcome, Ignored), outcome
    return outcome


# ---------------------------------------------------------------- request and reply


def test_a_request_makes_a_pending_row_with_its_details() -> None:
    row = _row(fold(None, *request()))
    item = state_of(row)
    assert (row["key"], row["origin"], row["target"], row["status"]) == (SUBJECT, A, B, "pending")
    assert item.request_entry == REQUEST_ID and item.requested_by == "法官王五"
    assert item.case_number == "（2025）川0104执1234号"
    assert list(item.categories) == [payloads_pb2.DEPOSIT, payloads_pb2.VEHICLE]
    assert row["subject_key"] == item.subject_key == subject_key(SAMPLE_ID_NUMBER)
    assert row["answered_on"] is None
    assert table_for(log_pb2.LOOKUP_ANSWERED) == TABLE


def test_the_answer_settles_the_row() -> None:
    row = fold_all([request(), answer()])
    assert row is not None and row["status"] == "answered"
    item = state_of(row)
    assert item.reply.entry_id == f"{B}/7" and item.reply.asset_count == 2
    assert row["answered_on"] == hlc_day(item.reply.hlc) == "2024-03-04"
    denied = fold_all([request(), denial()])
    assert denied is not None and denied["status"] == "denied"
    assert state_of(denied).reply.denial_reason == payloads_pb2.QUOTA_EXCEEDED


def test_headers_alone_give_the_same_status_and_no_details() -> None:
    """A node outside the audience (payload None) knows who asked whom and the outcome."""
    row = fold_all(headers_only([request(), answer()]))
    assert row is not None
    item = state_of(row)
    assert (row["status"], row["origin"], row["target"]) == ("answered", A, B)
    assert item.reply.entry_id == f"{B}/7" and item.request_entry == REQUEST_ID
    assert not item.case_number and not item.categories and not item.reply.asset_count
    assert row["subject_key"] is None and row["case_number"] is None
    denied = fold_all(headers_only([request(), denial()]))
    assert denied is not None and denied["status"] == "denied"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (request(index=4, subject=SUBJECT), "subject must name the request"),
        (request(audience=(A,)), "audience is exactly"),
        (request(audience=(A, B, C)), "audience is exactly"),
        (answer(origin=A, index=8), "requester cannot reply"),
        (answer(parents=()), "parent"),
        (answer(parents=(f"{A}/2",)), "parent"),
    ],
)
def test_malformed_lookup_entries_are_ignored(item: tuple[Header, bytes], reason: str) -> None:
    outcome = fold(None, *item)
    assert isinstance(outcome, Ignored)
    assert reason in outcome.reason


def test_only_the_target_may_reply_and_only_once() -> None:
    pending = _row(fold(None, *request()))
    assert isinstance(fold(pending, *answer(origin=C)), Ignored)
    answered = _row(fold(pending, *answer()))
    second = fold(answered, *denial(index=8))
    assert isinstance(second, Ignored) and "already" in second.reason


def test_an_answer_naming_another_request_keeps_the_status_but_no_details() -> None:
    row = fold_all([request(), answer(request_id=f"{A}/2")])
    assert row is not None and row["status"] == "answered"
    assert state_of(row).reply.asset_count == 0


def test_a_reply_before_its_request_is_held_and_settled() -> None:
    early = _row(fold(None, *answer()))
    assert early["status"] == "answered" and early["target"] == B
    assert not state_of(early).request_entry
    settled = _row(fold(early, *request()))
    assert settled == fold_all([request(), answer()])


def test_a_wrong_node_replying_first_is_dropped_when_the_request_arrives() -> None:
    wrong_first = fold_all([answer(origin=C, index=1), answer(), request()])
    request_first = fold_all([request(), answer(origin=C, index=1), answer()])
    assert wrong_first == request_first
    assert wrong_first is not None and state_of(wrong_first).reply.origin == B
    only_wrong = fold_all([answer(origin=C, index=1), request()])
    assert only_wrong is not None and only_wrong["status"] == "pending"
    assert not state_of(only_wrong).HasField("reply")


ENTRIES = [request(), answer(origin=C, index=1), answer(), denial(origin=C, index=2)]


def _delivery_orders() -> list[tuple[int, ...]]:
    """Every interleaving of the origins that keeps each origin's entries in index order
    (replication delivers one origin's log in order; origins interleave arbitrarily)."""
    orders = []
    for order in itertools.permutations(range(len(ENTRIES))):
        seen: dict[str, int] = {}
        in_order = True
        for i in order:
            header = ENTRIES[i][0]
            in_order = in_order and seen.get(header.origin, -1) < header.index
            seen[header.origin] = header.index
        if in_order:
            orders.append(order)
    return orders


@pytest.mark.parametrize("order", _delivery_orders())
def test_any_delivery_order_gives_the_same_row(order: tuple[int, ...]) -> None:
    items = [ENTRIES[i] for i in order]
    assert fold_all(items) == fold_all(ENTRIES)
    assert fold_all(headers_only(items)) == fold_all(headers_only(ENTRIES))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_payload_visibility_never_changes_the_status(data: st.DataObject) -> None:
    hidden = data.draw(st.lists(st.booleans(), min_size=len(ENTRIES), max_size=len(ENTRIES)))
    items = [(h, None if hide else p) for (h, p), hide in zip(ENTRIES, hidden, strict=True)]
    row, full = fold_all(items), fold_all(ENTRIES)
    assert row is not None and full is not None
    for column in ("key", "origin", "target", "status", "answered_on"):
        assert row[column] == full[column]


def test_fold_never_raises_on_garbage_payloads() -> None:
    header, _ = request()
    assert not isinstance(fold(None, header, b"\xff\x00garbage"), Ignored)  # header facts
    assert state_of(_row(fold(None, header, b"\xff\x00garbage"))).case_number == ""
    ans_header, _ = answer()
    assert _row(fold(None, ans_header, b"\x08")).get("status") == "answered"
    assert isinstance(fold({"record": b"\xff"}, header, None), Ignored)


# ---------------------------------------------------------------- access records


def _access(index: int = 5, subject: str | None = None) -> tuple[Header, bytes]:
    body = payloads_pb2.AccessRecorded(
        entries=[REQUEST_ID, f"{B}/7"], purpose="复核", what="lookup result", subject_key="k"
    )
    return _entry(
        A,
        index,
        log_pb2.ACCESS_RECORDED,
        payloads_pb2.Payload(access_recorded=body),
        subject=subject or f"{A}/access/{index}",
        audience=(A,),
    )


def test_an_access_record_becomes_a_row_on_the_reading_node_only() -> None:
    header, payload = _access()
    row = access_fold.fold(None, header, payload)
    assert not isinstance(row, Ignored)
    assert (row["key"], row["actor"], row["subject_key"]) == (f"{A}/access/5", "法官王五", "k")
    item = access_fold.state_of(row)
    assert list(item.entries) == [REQUEST_ID, f"{B}/7"] and item.purpose == "复核"
    assert isinstance(access_fold.fold(None, header, None), Ignored)  # another node's read
    assert isinstance(access_fold.fold(row, header, payload), Ignored)
    assert isinstance(access_fold.fold(None, *_access(subject=f"{A}/access/9")), Ignored)
