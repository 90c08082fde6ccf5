"""The preparers of lookup entries (node/businesses/lookups/prepare.py) through
node.ownlog.preparers.prepare: what a requester may ask, and what a target may reply — only to a
pending lookup addressed to it, only with the categories asked for."""

from __future__ import annotations

import datetime as dt

import pytest

from ccnode.v1 import log_pb2, payloads_pb2
from node.ownlog.preparers import prepare
from node.ownlog.writer import Draft, DraftRejected, PrepareContext, RowReader
from node.store import MemoryStore
from sync.entry import decode_header, make_entry
from sync.folds import lookups as lookups_fold
from sync.folds.types import Ignored
from sync.payload import encode_payload
from tests.unit.corefixtures import SAMPLE_ID_NUMBER

A, B = "chengdu", "chongqing"
TODAY = dt.date(2025, 3, 4)
SUBJECT = f"{A}/lookup/3"


def _ctx(node_id: str, index: int = 9) -> PrepareContext:
    return PrepareContext(node_id, ("川01",), TODAY, index)


def _request_draft(**fields: object) -> Draft:
    values: dict[str, object] = {
        "target_node": B,
        "case_number": "(2025)川0104执1234号",
        "debtor": payloads_pb2.Debtor(
            type=payloads_pb2.PERSON,
            id_number=" 11010519491231002x ",
            name=" 张三 ",
            sex="M",
            legal_representative="should not travel",
        ),
        "categories": [payloads_pb2.DEPOSIT, payloads_pb2.VEHICLE, payloads_pb2.DEPOSIT],
        "purpose": " 查询被执行人财产 ",
    }
    body = payloads_pb2.LookupRequested(**{**values, **fields})  # type: ignore[arg-type]
    return Draft(log_pb2.LOOKUP_REQUESTED, payloads_pb2.Payload(lookup_requested=body))


def _reader(row: dict[str, object] | None = None) -> RowReader:
    pending = {(lookups_fold.TABLE, SUBJECT): row} if row is not None else {}
    return RowReader(MemoryStore(), pending)  # type: ignore[arg-type]


def _pending_row() -> dict[str, object]:
    """B's row of A's request 3 (what B's fold made of it)."""
    ready, _ = prepare(_request_draft(), _reader(), _ctx(A, index=3))
    payload = encode_payload(ready.kind, ready.payload)
    entry = make_entry(
        origin=A,
        index=3,
        kind=ready.kind,
        subject=ready.subject,
        actor="王五",
        hlc=1 << 16,
        payload=payload,
        salt=b"s" * 16,
        audience=ready.audience,
    )
    row = lookups_fold.fold(None, decode_header(entry.header), payload)
    assert not isinstance(row, Ignored)
    return row


def test_a_request_is_normalised_addressed_and_given_its_subject() -> None:
    ready, warnings = prepare(_request_draft(), _reader(), _ctx(A, index=3))
    body = ready.payload.lookup_requested
    assert (ready.subject, ready.audience) == (SUBJECT, (A, B))
    assert body.case_number == "（2025）川0104执1234号" and body.court == "川0104"
    assert body.debtor == payloads_pb2.Debtor(
        type=payloads_pb2.PERSON, id_number=SAMPLE_ID_NUMBER, name="张三"
    )  # minimum necessary: no sex, no legal representative
    assert list(body.categories) == [payloads_pb2.DEPOSIT, payloads_pb2.VEHICLE]
    assert body.purpose == "查询被执行人财产" and warnings == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target_node": A}, "target_node"),
        ({"target_node": "Chong Qing"}, "target_node"),
        ({"case_number": "not a case"}, "case_number"),
        ({"categories": []}, "categories"),
        ({"categories": [99]}, "categories"),
        ({"purpose": " "}, "purpose"),
    ],
)
def test_a_request_that_cannot_be_understood_is_refused(
    fields: dict[str, object], field: str
) -> None:
    with pytest.raises(DraftRejected) as err:
        prepare(_request_draft(**fields), _reader(), _ctx(A))
    assert err.value.field == field


def test_the_rights_are_left_to_the_target() -> None:
    """A civil case, a court outside this node's prefixes, a bad check character: appended
    (the target denies it, on record), not refused here."""
    draft = _request_draft(case_number="（2025）渝0103民初1号")
    draft.payload.lookup_requested.debtor.id_number = SAMPLE_ID_NUMBER[:17] + "1"
    ready, _ = prepare(draft, _reader(), _ctx(A))
    assert ready.payload.lookup_requested.case_number == "（2025）渝0103民初1号"


def _answer(*assets: payloads_pb2.AssetRecord, categories: tuple[int, ...] = ()) -> Draft:
    body = payloads_pb2.LookupAnswered(assets=assets, categories=categories)  # type: ignore[arg-type]
    return Draft(
        log_pb2.LOOKUP_ANSWERED, payloads_pb2.Payload(lookup_answered=body), subject=SUBJECT
    )


def _asset(category: int) -> payloads_pb2.AssetRecord:
    return payloads_pb2.AssetRecord(asset_id="x", category=category)  # type: ignore[arg-type]


def test_a_reply_names_the_request_and_goes_back_to_the_requester_only() -> None:
    ready, _ = prepare(_answer(_asset(payloads_pb2.DEPOSIT)), _reader(_pending_row()), _ctx(B))
    body = ready.payload.lookup_answered
    assert ready.audience == (A, B) and ready.parents == (f"{A}/3",)
    assert body.request == f"{A}/3" and body.answered_on == "2025-03-04"
    assert list(body.categories) == [payloads_pb2.DEPOSIT, payloads_pb2.VEHICLE]
    assert body.assets_found == 1


@pytest.mark.parametrize(
    "draft",
    [_answer(_asset(payloads_pb2.REAL_ESTATE)), _answer(categories=(payloads_pb2.EQUITY,))],
)
def test_a_reply_beyond_what_was_asked_is_refused(draft: Draft) -> None:
    with pytest.raises(DraftRejected) as err:
        prepare(draft, _reader(_pending_row()), _ctx(B))
    assert err.value.rule == "not_asked"


def test_a_reply_beyond_what_was_asked_names_the_categories_as_the_officer_types_them() -> None:
    with pytest.raises(DraftRejected) as err:
        prepare(_answer(categories=(payloads_pb2.EQUITY,)), _reader(_pending_row()), _ctx(B))
    assert err.value.zh == (
        "只能答复所查询的财产类别（存款（deposit）、车辆（vehicle）），"
        "未查询股权（equity）（《个人信息保护法》第六条）"
    )
    assert "EQUITY" not in str(err.value) and "DEPOSIT" not in str(err.value)
    with pytest.raises(DraftRejected) as err:
        prepare(_answer(_asset(payloads_pb2.REAL_ESTATE)), _reader(_pending_row()), _ctx(B))
    assert err.value.zh == "所附财产含答复未涵盖的类别（不动产（real_estate））"


def test_only_the_target_replies() -> None:
    with pytest.raises(DraftRejected) as err:
        prepare(_answer(), _reader(_pending_row()), _ctx("mianyang"))
    assert err.value.rule == "unknown"


def test_no_second_reply_and_no_reply_to_an_unknown_lookup() -> None:
    row = _pending_row()
    row["status"] = "answered"
    with pytest.raises(DraftRejected) as err:
        prepare(_answer(), _reader(row), _ctx(B))
    assert err.value.rule == "replied"
    with pytest.raises(DraftRejected) as err:
        prepare(_answer(), _reader(), _ctx(B))
    assert err.value.rule == "unknown"


def test_an_answer_too_large_for_one_entry_is_refused_not_failed() -> None:
    big = payloads_pb2.AssetRecord(
        asset_id="x", category=payloads_pb2.DEPOSIT, description="很长" * 40_000
    )
    with pytest.raises(DraftRejected) as err:
        prepare(_answer(big), _reader(_pending_row()), _ctx(B))
    assert err.value.rule == "too_large"


def test_a_denial_needs_a_reason_and_an_explanation() -> None:
    def denial(reason: int, detail: str) -> Draft:
        body = payloads_pb2.LookupDenied(reason=reason, detail=detail)  # type: ignore[arg-type]
        return Draft(log_pb2.LOOKUP_DENIED, payloads_pb2.Payload(lookup_denied=body), SUBJECT)

    slow = denial(payloads_pb2.RATE_LIMITED, " slow down ")
    ready, _ = prepare(slow, _reader(_pending_row()), _ctx(B))
    assert ready.payload.lookup_denied.detail == "slow down"
    for bad in (denial(0, "x"), denial(payloads_pb2.RATE_LIMITED, " ")):
        with pytest.raises(DraftRejected):
            prepare(bad, _reader(_pending_row()), _ctx(B))


def test_a_request_citing_a_case_of_a_later_year_is_refused() -> None:
    later = f"（{TODAY.year + 1}）川0104执1号"
    with pytest.raises(DraftRejected) as info:
        prepare(_request_draft(case_number=later), _reader(), _ctx(A))
    assert (info.value.field, info.value.rule) == ("case_number", "year")
    with pytest.raises(DraftRejected) as info:
        prepare(_request_draft(case_number="（2025）渝06执1号"), _reader(), _ctx(A))
    assert info.value.rule == "unknown_court"
