"""Tests for sync.folds (fold_batch, registry) and sync.folds.blacklist (the 失信 list fold)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from sync.domain.calendar import MONDAY_TO_FRIDAY
from sync.domain.case_number import court_served, require_enforcement_case
from sync.domain.errors import ValidationError
from sync.entry import Entry, Header, decode_header
from sync.folds import FoldResult, fold_batch, state_keys, table_for
from sync.folds import blacklist as blacklist_fold
from sync.folds.blacklist import TABLE, delist_due_on, fold, refresh_due_on, state_of
from sync.folds.types import Ignored, Row
from tests.unit.corefixtures import (
    SAMPLE_CREDIT_CODE,
    SAMPLE_ID_NUMBER,
    blacklist_entry,
    blacklist_record,
    corrected_payload,
    delisted_payload,
    listed_payload,
)

ORIGIN = "chengdu"
SUBJECT = "chengdu/bl/1"
LISTED, CORRECTED, DELISTED = (
    log_pb2.BLACKLIST_LISTED,
    log_pb2.BLACKLIST_CORRECTED,
    log_pb2.BLACKLIST_DELISTED,
)


def _item(
    index: int,
    kind: int,
    payload: bytes | None,
    *,
    origin: str = ORIGIN,
    subject: str = SUBJECT,
) -> tuple[Header, bytes | None]:
    entry = blacklist_entry(origin, index, kind=kind, subject=subject, payload=payload or b"")
    return decode_header(entry.header), payload


def _fold_all(items: Sequence[tuple[Header, bytes | None]], row: Row | None = None) -> Row | None:
    for header, payload in items:
        outcome = fold(row, header, payload)
        if not isinstance(outcome, Ignored):
            row = outcome
    return row


def _listed_row(index: int = 1, **record: str) -> Row:
    """The row of SUBJECT, listed by entry 1 (a listing's subject names its own index)."""
    row = fold(None, *_item(index, LISTED, listed_payload(blacklist_record(**record))))
    assert not isinstance(row, Ignored)
    return row


# ---------------------------------------------------------------- single entries


def test_a_listing_becomes_a_row() -> None:
    record = blacklist_record(id_number=SAMPLE_ID_NUMBER.lower() + " ")
    row = fold(None, *_item(1, LISTED, listed_payload(record)))
    assert not isinstance(row, Ignored)
    assert row == {
        "key": SUBJECT,
        "origin": ORIGIN,
        "entry_id": "chengdu/1",
        "status": "listed",
        "debtor_type": "person",
        "id_key": SAMPLE_ID_NUMBER,  # stripped and upper-cased
        "name": "张三",
        "case_number": "(2024)川0104执100号",
        "court": "川0104",
        "ground": "G2",
        "listed_on": "2024-03-06",
        "term_end_on": "2026-03-06",
        "delist_due_on": "2026-03-11",  # Friday + 3 working days
        "delisted_on": "",
        "last_index": 1,
        "record": row["record"],
    }
    item = state_of(row)
    assert item.record == record
    assert (item.subject, item.origin, item.status, item.last_index) == (
        SUBJECT,
        ORIGIN,
        "listed",
        1,
    )


def test_an_organisation_is_keyed_by_its_credit_code() -> None:
    record = blacklist_record()
    record.debtor.CopyFrom(
        payloads_pb2.Debtor(type=payloads_pb2.ORG, name="某公司", credit_code=SAMPLE_CREDIT_CODE)
    )
    row = fold(None, *_item(1, LISTED, listed_payload(record)))
    assert not isinstance(row, Ignored)
    assert (row["debtor_type"], row["id_key"]) == ("org", SAMPLE_CREDIT_CODE)


def test_a_correction_replaces_the_record() -> None:
    listed = _listed_row()
    new = blacklist_record(name="张叁", term_end_on="2026-03-13")  # a Friday
    row = fold(listed, *_item(4, CORRECTED, corrected_payload(new)))
    assert not isinstance(row, Ignored)
    assert row["name"] == "张叁"
    assert row["entry_id"] == "chengdu/1"  # still the listing entry
    assert row["last_index"] == 4
    assert row["delist_due_on"] == "2026-03-18"
    assert state_of(row).record == new


@pytest.mark.parametrize("term_end_on", ["9999-12-29", "9999-12-30", "9999-12-31"])
def test_a_term_whose_delisting_date_is_past_year_9999_is_ignored_not_raised(
    term_end_on: str,
) -> None:
    # Term end + 3 working days overflows the date type: every node ignores the entry alike,
    # a listing as well as a correction, instead of failing (replication would stall on it).
    payload = listed_payload(blacklist_record(term_end_on=term_end_on))
    outcome = fold(None, *_item(1, LISTED, payload))
    assert outcome == Ignored("unusable content: OverflowError")
    correction = corrected_payload(blacklist_record(term_end_on=term_end_on))
    assert fold(_listed_row(), *_item(4, CORRECTED, correction)) == Ignored(
        "unusable content: OverflowError"
    )
    folded = fold_batch([_item(1, LISTED, payload)], {})
    assert folded.changes == {}
    assert folded.ignored == [("chengdu/1", "unusable content: OverflowError")]


def test_a_correction_changing_the_debtor_id_is_ignored() -> None:
    listed = _listed_row()
    new = blacklist_record(id_number="110105194912310021")
    outcome = fold(listed, *_item(1, CORRECTED, corrected_payload(new)))
    assert outcome == Ignored("a correction may not change the debtor's ID or the court")
    assert "110105194912310021" not in outcome.reason  # never the value, only the field


def test_a_correction_changing_the_court_is_ignored() -> None:
    outcome = fold(
        _listed_row(), *_item(1, CORRECTED, corrected_payload(blacklist_record(court="川0105")))
    )
    assert isinstance(outcome, Ignored)


def test_a_correction_may_change_the_case_of_the_id() -> None:
    listed = _listed_row()
    new = blacklist_record(id_number=SAMPLE_ID_NUMBER.lower())
    assert not isinstance(fold(listed, *_item(1, CORRECTED, corrected_payload(new))), Ignored)


def test_a_delisting_marks_the_row_delisted() -> None:
    row = fold(_listed_row(), *_item(2, DELISTED, delisted_payload("2024-05-06")))
    assert not isinstance(row, Ignored)
    assert row["status"] == "delisted"
    assert row["delisted_on"] == "2024-05-06"
    assert row["delist_due_on"] == ""
    assert row["last_index"] == 2
    item = state_of(row)
    assert item.delist_ground == payloads_pb2.D1
    assert item.delist_reason == "paid in full"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [(CORRECTED, corrected_payload(blacklist_record())), (DELISTED, delisted_payload())],
)
def test_changes_after_delisting_are_ignored(kind: int, payload: bytes) -> None:
    delisted = fold(_listed_row(), *_item(1, DELISTED, delisted_payload()))
    assert not isinstance(delisted, Ignored)
    assert fold(delisted, *_item(2, kind, payload)) == Ignored("listing already delisted")


def test_a_second_listing_of_the_same_subject_is_ignored() -> None:
    outcome = fold(_listed_row(), *_item(1, LISTED, listed_payload()))
    assert outcome == Ignored("subject already listed")


@pytest.mark.parametrize(
    ("index", "subject"),
    [
        (2, SUBJECT),  # the subject of entry 1
        (1, "chengdu/bl/01"),
        (1, "chengdu/bl/1/2"),
        (1, "chengdu/bl/"),
        (10, "chengdu/bl/1"),
    ],
)
def test_a_listing_under_a_subject_other_than_its_own_index_is_ignored(
    index: int, subject: str
) -> None:
    outcome = fold(None, *_item(index, LISTED, listed_payload(), subject=subject))
    assert outcome == Ignored("a listing's subject must be <origin>/bl/<its index>")


def test_a_listing_never_needs_the_current_row() -> None:
    listed, _ = _item(1, LISTED, listed_payload())
    corrected, _ = _item(2, CORRECTED, corrected_payload(blacklist_record()))
    assert state_keys([listed]) == set()
    assert state_keys([listed, corrected]) == {(TABLE, SUBJECT)}


@pytest.mark.parametrize(
    ("kind", "payload"),
    [(CORRECTED, corrected_payload(blacklist_record())), (DELISTED, delisted_payload())],
)
def test_a_change_without_a_listing_is_ignored(kind: int, payload: bytes) -> None:
    assert fold(None, *_item(0, kind, payload)) == Ignored("no such listing")


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (LISTED, listed_payload()),
        (CORRECTED, corrected_payload(blacklist_record())),
        (DELISTED, delisted_payload()),
    ],
)
def test_another_origin_cannot_write_in_chengdus_namespace(kind: int, payload: bytes) -> None:
    listed = None if kind == LISTED else _listed_row()
    outcome = fold(listed, *_item(5, kind, payload, origin="chongqing"))
    assert outcome == Ignored("subject is not in the origin's namespace (single writer)")


def test_a_subject_outside_every_namespace_is_ignored() -> None:
    outcome = fold(None, *_item(0, LISTED, listed_payload(), subject="chengdu/task/1"))
    assert isinstance(outcome, Ignored)


def test_a_missing_payload_is_ignored() -> None:
    assert fold(None, *_item(1, LISTED, None)) == Ignored("payload not held (redacted or purged)")


def test_a_payload_of_the_wrong_body_is_ignored() -> None:
    outcome = fold(_listed_row(), *_item(1, CORRECTED, listed_payload()))
    assert isinstance(outcome, Ignored)
    assert "does not match" in outcome.reason


def test_an_undecodable_payload_is_ignored() -> None:
    outcome = fold(None, *_item(1, LISTED, b"\xff\xff\xff"))
    assert outcome == Ignored("payload is not a valid Payload encoding")


def test_a_non_blacklist_entry_is_ignored() -> None:
    header, _ = _item(0, log_pb2.TASK_DELEGATED, b"x")
    assert fold(None, header, b"x") == Ignored("not a blacklist entry")


def test_an_unknown_listing_ground_does_not_raise() -> None:
    record = blacklist_record()
    record.ground = 99  # type: ignore[assignment]
    outcome = fold(None, *_item(1, LISTED, listed_payload(record)))
    assert isinstance(outcome, (Ignored, dict))


def test_a_malformed_term_end_date_does_not_raise() -> None:
    record = blacklist_record(term_end_on="not a date")
    outcome = fold(None, *_item(1, LISTED, listed_payload(record)))
    assert outcome == Ignored("unusable content: ValueError")


# ---------------------------------------------------------------- delisting due date


@pytest.mark.parametrize(
    ("term_end_on", "due_on"),
    [
        ("2024-03-08", "2024-03-13"),  # Friday -> Mon, Tue, Wed
        ("2024-03-09", "2024-03-13"),  # Saturday
        ("2024-03-10", "2024-03-13"),  # Sunday
        ("2024-03-07", "2024-03-12"),  # Thursday -> Fri, Mon, Tue
        ("2024-03-04", "2024-03-07"),  # Monday
        ("2024-12-31", "2025-01-06"),  # across a year: 1 January off -> Thu 2, Fri 3, Mon 6
        ("2025-01-24", "2025-02-05"),  # Spring Festival: Sun 26, Mon 27, 28 Jan–4 Feb off, Wed 5
        ("2026-12-31", "2027-01-05"),  # no 2027 notice yet: Monday–Friday, so 1 January counts
        ("", ""),  # no fixed term
    ],
)
def test_delist_due_on_is_three_working_days_after_the_term(term_end_on: str, due_on: str) -> None:
    assert delist_due_on(term_end_on) == due_on
    row = _listed_row(term_end_on=term_end_on)
    assert row["delist_due_on"] == due_on
    assert state_of(row).delist_due_on == due_on


def test_refresh_re_derives_a_deadline_folded_under_another_calendar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A row folded by a release without the 2025 notice: 1 January counted as a Wednesday.
    monkeypatch.setattr(blacklist_fold, "_FOLD_CALENDAR", MONDAY_TO_FRIDAY)
    stale = _listed_row(term_end_on="2024-12-31")
    assert stale["delist_due_on"] == "2025-01-03"
    monkeypatch.undo()
    fresh = _listed_row(term_end_on="2024-12-31")
    assert fresh["delist_due_on"] == "2025-01-06"
    assert refresh_due_on(stale) == fresh
    assert refresh_due_on(fresh) is None  # already this release's date
    assert refresh_due_on(_listed_row(term_end_on="")) is None  # no term, no deadline
    delisted = fold(stale, *_item(2, DELISTED, delisted_payload()))
    assert not isinstance(delisted, Ignored)
    assert refresh_due_on(delisted) is None


# ---------------------------------------------------------------- fold_batch


def _header(kind: int) -> Header:
    return Header(ORIGIN, 0, kind, SUBJECT, (), "clerk-7", 0, bytes(32), 0, ())


def test_the_blacklist_kinds_fold_into_the_blacklist_table() -> None:
    assert {table_for(k) for k in (LISTED, CORRECTED, DELISTED)} == {TABLE}
    assert table_for(log_pb2.ENTRY_KIND_UNSPECIFIED) is None
    assert table_for(99) is None


def test_fold_batch_touching_one_subject_twice() -> None:
    other = "chengdu/bl/2"
    items = [
        _item(1, LISTED, listed_payload()),
        _item(2, LISTED, listed_payload(), subject=other),
        _item(3, CORRECTED, corrected_payload(blacklist_record(name="张叁"))),
        _item(4, DELISTED, delisted_payload()),
        _item(5, LISTED, listed_payload()),  # not its own subject: ignored
    ]
    headers = [h for h, _ in items]
    assert state_keys(headers) == {(TABLE, SUBJECT)}  # listings create their rows
    result = fold_batch(items, {})
    assert set(result.changes) == {(TABLE, SUBJECT), (TABLE, other)}
    row = result.changes[(TABLE, SUBJECT)]
    assert (row["status"], row["name"], row["last_index"]) == ("delisted", "张叁", 4)
    assert result.changes[(TABLE, other)]["status"] == "listed"
    assert result.ignored == [("chengdu/5", "a listing's subject must be <origin>/bl/<its index>")]


def test_fold_batch_starts_from_the_current_rows() -> None:
    current = {(TABLE, SUBJECT): _listed_row()}
    result = fold_batch([_item(7, DELISTED, delisted_payload())], current)
    assert result.changes[(TABLE, SUBJECT)]["status"] == "delisted"
    assert current[(TABLE, SUBJECT)]["status"] == "listed"  # the input is not mutated


def test_fold_batch_skips_entries_without_a_fold() -> None:
    header = _header(99)  # a kind no fold module registers
    assert state_keys([header]) == set()
    assert fold_batch([(header, b"x")], {}) == FoldResult()


def test_fold_batch_records_ignored_entries_with_their_ids() -> None:
    result = fold_batch([_item(1, LISTED, None)], {})
    assert result.changes == {}
    assert result.ignored == [("chengdu/1", "payload not held (redacted or purged)")]


# ---------------------------------------------------------------- determinism


def _sequence() -> list[tuple[Header, bytes | None]]:
    return [
        _item(1, LISTED, listed_payload(blacklist_record(term_end_on="2024-03-08"))),
        _item(2, LISTED, listed_payload(), subject="chengdu/bl/2"),
        _item(3, CORRECTED, corrected_payload(blacklist_record(name="张叁"))),
        _item(4, DELISTED, delisted_payload()),
    ]


def test_folding_the_same_sequence_twice_gives_identical_rows() -> None:
    one, two = fold_batch(_sequence(), {}), fold_batch(_sequence(), {})
    assert one == two
    for key, row in one.changes.items():
        assert row["record"] == two.changes[key]["record"]
        assert (
            state_pb2.ListingState.FromString(row["record"]).SerializeToString(deterministic=True)
            == row["record"]
        )


def test_one_batch_or_one_entry_at_a_time_gives_the_same_rows() -> None:
    whole = fold_batch(_sequence(), {})
    rows: dict[tuple[str, str], Row] = {}
    for item in _sequence():
        rows.update(fold_batch([item], rows).changes)
    assert rows == whole.changes


_ops = st.lists(
    st.tuples(
        st.sampled_from([LISTED, CORRECTED, DELISTED, None]),  # None: a redacted listing
        st.integers(min_value=0, max_value=4),  # subject number
        st.booleans(),  # listing: under its own subject? correction: change the debtor's ID?
    ),
    max_size=25,
)


def _entries_of(ops: list[tuple[int | None, int, bool]]) -> list[tuple[Header, bytes | None]]:
    items: list[tuple[Header, bytes | None]] = []
    for index, (kind, n, flag) in enumerate(ops):
        subject = f"chengdu/bl/{index if kind in (LISTED, None) and flag else n}"
        if kind is None:
            items.append(_item(index, LISTED, None, subject=subject))
        elif kind == LISTED:
            items.append(_item(index, LISTED, listed_payload(), subject=subject))
        elif kind == CORRECTED:
            record = blacklist_record(
                id_number="110105194912310021" if flag else SAMPLE_ID_NUMBER,
                name=f"name-{index}",
            )
            items.append(_item(index, CORRECTED, corrected_payload(record), subject=subject))
        else:
            items.append(_item(index, DELISTED, delisted_payload(), subject=subject))
    return items


@settings(derandomize=True, database=None, max_examples=60, deadline=None)
@given(ops=_ops)
def test_fold_matches_a_plain_replay(ops: list[tuple[int | None, int, bool]]) -> None:
    """Check the fold against a dumb per-subject model (STYLE.md item 7)."""
    items = _entries_of(ops)
    result = fold_batch(items, {})
    assert fold_batch(items, {}) == result  # deterministic
    model: dict[str, tuple[str, int, str]] = {}  # subject -> (status, last index, name)
    applied = 0
    for index, (kind, n, flag) in enumerate(ops):
        subject = f"chengdu/bl/{index if kind in (LISTED, None) and flag else n}"
        held = model.get(subject)
        if kind == LISTED and held is None and subject == f"chengdu/bl/{index}":
            model[subject] = ("listed", index, "张三")
        elif kind == CORRECTED and held and held[0] == "listed" and not flag:
            model[subject] = ("listed", index, f"name-{index}")
        elif kind == DELISTED and held and held[0] == "listed":
            model[subject] = ("delisted", index, held[2])
        else:
            continue
        applied += 1
    folded = {
        key[1]: (row["status"], row["last_index"], row["name"])
        for key, row in result.changes.items()
    }
    assert folded == model
    assert len(items) - len(result.ignored) == applied  # every other entry is ignored


def test_redacted_entries_in_a_batch() -> None:
    entry = blacklist_entry(ORIGIN, 1, subject=SUBJECT)
    redacted: Entry = entry.redacted()
    result = fold_batch([(decode_header(redacted.header), redacted.payload)], {})
    assert result.changes == {}
    assert len(result.ignored) == 1


def test_fold_batch_ignores_an_entry_whose_fold_raises_on_its_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Defence in depth for every fold module: date arithmetic past year 9999 (or a value that
    # does not parse) ignores the entry on every node rather than stalling replication.
    import sync.folds as folds

    def overflowing(row: Row | None, header: Header, payload: bytes | None) -> Row:
        raise OverflowError("date value out of range")

    monkeypatch.setitem(folds._BY_KIND, LISTED, (TABLE, overflowing))
    folded = fold_batch([_item(1, LISTED, listed_payload(blacklist_record()))], {})
    assert folded.changes == {}
    assert folded.ignored == [("chengdu/1", "unusable content: OverflowError")]


# ---------------------------------------------------------------- court authority


def test_a_listing_for_a_court_the_origin_serves_folds() -> None:
    header, payload = _item(1, LISTED, listed_payload(blacklist_record()))  # 川0104
    for courts in (["川01"], ["川"], ["渝", "川0104"]):
        assert not isinstance(fold(None, header, payload, courts=courts), Ignored)


@pytest.mark.parametrize("courts", [[], [""], ["渝"], ["川07"], ["川01041"]])
def test_a_listing_for_a_court_the_origin_does_not_serve_is_ignored(courts: list[str]) -> None:
    header, payload = _item(1, LISTED, listed_payload(blacklist_record()))
    assert fold(None, header, payload, courts=courts) == Ignored("court_not_served")


def test_a_listing_whose_case_belongs_to_another_court_is_ignored() -> None:
    # The record names a served court, but its case is of a court the origin does not serve.
    record = blacklist_record(case_number="（2024）渝0103执1号")
    header, payload = _item(1, LISTED, listed_payload(record))
    assert fold(None, header, payload, courts=["川01"]) == Ignored("court_not_served")
    assert not isinstance(fold(None, header, payload, courts=["川01", "渝"]), Ignored)


def test_a_correction_or_delisting_for_a_court_not_served_is_ignored() -> None:
    row = _listed_row()  # listed while the origin served 川01
    corrected = _item(2, CORRECTED, corrected_payload(blacklist_record(name="张三丰")))
    delisted = _item(3, DELISTED, delisted_payload())
    for header, payload in (corrected, delisted):
        assert fold(row, header, payload, courts=["渝"]) == Ignored("court_not_served")
        assert not isinstance(fold(row, header, payload, courts=["川01"]), Ignored)


def test_fold_batch_checks_the_courts_it_is_given_and_only_then() -> None:
    items = [_item(1, LISTED, listed_payload(blacklist_record()))]
    unchecked = fold_batch(items, {})
    served = fold_batch(items, {}, courts=("川01",))
    refused = fold_batch(items, {}, courts=("渝",))
    assert unchecked.changes == served.changes != {}
    assert (refused.changes, refused.ignored) == ({}, [("chengdu/1", "court_not_served")])


def test_the_court_rule_is_the_preparers_rule() -> None:
    # One rule in sync/domain: the preparers refuse what the folds would ignore.
    for courts in (["川01"], ["渝"], [""], []):
        served = court_served("川0104", courts)
        try:
            require_enforcement_case("（2024）川0104执1号", courts)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == served
