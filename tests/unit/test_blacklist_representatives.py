"""The persons a listed organisation's consumption restriction binds (限制消费令): their rules,
their wire form, the fold's index of them, and the shared check that finds them."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from ccnode.v1 import log_pb2, payloads_pb2
from node.businesses.blacklist.check import check_subject, name_key
from node.store import Store
from node.store.base import OriginState, RowChange
from sync.domain.blacklist import (
    Representative,
    RepresentativeRole,
    parse_listing_json,
    validate_listing,
)
from sync.domain.blacklist_codec import listing_from_pb, listing_json_from_pb, listing_to_pb
from sync.domain.errors import ValidationError
from sync.entry import decode_header
from sync.folds import blacklist as bl_fold
from sync.folds import fold_batch
from sync.folds.types import Row
from tests.unit.corefixtures import (
    blacklist_entry,
    corrected_payload,
    delisted_payload,
    listed_payload,
)
from tests.unit.test_domain_blacklist import ADULT_ID, CHENGDU, LISTED_ON, make_id, org, person

OTHER_ID = make_id(date(1975, 1, 2), 45)
LEGAL = Representative(
    role=RepresentativeRole.LEGAL_REPRESENTATIVE, name="李四", id_number=ADULT_ID
)
MANAGER = Representative(
    role=RepresentativeRole.PRINCIPAL_MANAGER, name="王五", id_number=OTHER_ID.lower()
)


def _refused(**changes: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_listing(org(**changes), court_prefixes=CHENGDU, listed_on=LISTED_ON)
    return info.value


# ---------------------------------------------------------------- rules


def test_representatives_are_normalised_and_name_the_legal_representative() -> None:
    v = validate_listing(
        org(legal_representative=None, representatives=(LEGAL, MANAGER)),
        court_prefixes=CHENGDU,
        listed_on=LISTED_ON,
    )
    assert v.record.legal_representative == "李四"
    assert [r.id_number for r in v.record.representatives] == [ADULT_ID, OTHER_ID.upper()]
    assert "李四" not in repr(v.record) and ADULT_ID not in repr(v.record)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"representatives": (dataclasses.replace(LEGAL, id_number="123"),)},
         "representatives[0].id_number", "length"),
        ({"representatives": (MANAGER, dataclasses.replace(LEGAL, id_number=ADULT_ID[:-1] + "0"))},
         "representatives[1].id_number", "checksum"),
        ({"representatives": (dataclasses.replace(LEGAL, name=" "),)},
         "representatives[0].name", "required"),
        ({"representatives": (dataclasses.replace(LEGAL, role="boss"),)},
         "representatives[0].role", "enum"),
        ({"representatives": (LEGAL, dataclasses.replace(MANAGER, role=LEGAL.role))},
         "representatives[1].role", "duplicate"),
        ({"representatives": (MANAGER, MANAGER)}, "representatives[1].id_number", "duplicate"),
        ({"representatives": (LEGAL,), "legal_representative": "张三"},
         "legal_representative", "mismatch"),
        ({"representatives": (MANAGER,) * 21}, "representatives", "too_many"),
    ],
)  # fmt: skip
def test_representative_rules(changes: dict[str, object], field: str, rule: str) -> None:
    err = _refused(**changes)
    assert (err.field, err.rule) == (field, rule)
    assert ADULT_ID not in str(err) and OTHER_ID not in str(err)


def test_a_person_has_no_representatives() -> None:
    with pytest.raises(ValidationError) as info:
        validate_listing(
            person(representatives=(LEGAL,)), court_prefixes=CHENGDU, listed_on=LISTED_ON
        )
    assert (info.value.field, info.value.rule) == ("representatives", "not_allowed")


def test_one_person_may_hold_two_roles() -> None:
    controller = dataclasses.replace(LEGAL, role=RepresentativeRole.ACTUAL_CONTROLLER)
    v = validate_listing(
        org(representatives=(LEGAL, controller)), court_prefixes=CHENGDU, listed_on=LISTED_ON
    )
    assert len(v.record.representatives) == 2


# ---------------------------------------------------------------- import format and wire


def _json(**changes: object) -> dict[str, object]:
    obj = listing_json_from_pb(listing_to_pb(org()))
    obj.update(changes)
    return obj


def test_import_format_and_wire_round_trip() -> None:
    rec = parse_listing_json(
        _json(
            representatives=[
                {"role": "LEGAL_REPRESENTATIVE", "name": "李四", "id_number": ADULT_ID},
                {"role": "principal_manager", "name": "王五", "id_number": OTHER_ID},
            ]
        )
    )
    assert [r.role for r in rec.representatives] == [
        RepresentativeRole.LEGAL_REPRESENTATIVE,
        RepresentativeRole.PRINCIPAL_MANAGER,
    ]
    pb = listing_to_pb(rec)
    assert [r.role for r in pb.representatives] == [
        payloads_pb2.LEGAL_REPRESENTATIVE,
        payloads_pb2.PRINCIPAL_MANAGER,
    ]
    assert listing_from_pb(pb, listed_on=None).representatives == rec.representatives
    assert parse_listing_json(listing_json_from_pb(pb)).representatives == rec.representatives


@pytest.mark.parametrize(
    ("value", "field", "rule"),
    [
        ("李四", "representatives", "type"),
        (["李四"], "representatives[0]", "type"),
        ([{"role": "legal_representative", "name": "李四"}],
         "representatives[0].id_number", "required"),
        ([{"role": "legal_representative", "name": "李四", "id_number": 5}],
         "representatives[0].id_number", "type"),
        ([{"role": "legal_representative", "name": "李四", "id_number": ADULT_ID, "sex": "M"}],
         "representatives[0].sex", "unknown_field"),
        ([{"role": "chairman", "name": "李四", "id_number": ADULT_ID}],
         "representatives[0].role", "enum"),
    ],
)  # fmt: skip
def test_import_format_errors_name_the_field(value: object, field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_listing_json(_json(representatives=value), line_no=7)
    assert (info.value.field, info.value.rule, info.value.line_no) == (field, rule, 7)
    assert ADULT_ID not in str(info.value)


def test_an_unknown_wire_role_is_refused() -> None:
    pb = listing_to_pb(org(representatives=(LEGAL,)))
    pb.representatives[0].role = 0  # type: ignore[assignment]
    with pytest.raises(ValidationError) as info:
        listing_from_pb(pb, listed_on=None)
    assert info.value.field == "representatives[0].role"


# ---------------------------------------------------------------- the fold's index


def _org_record(*reps: Representative) -> payloads_pb2.BlacklistRecord:
    v = validate_listing(
        org(representatives=reps, legal_representative=None if reps else "李四"),
        court_prefixes=CHENGDU,
        listed_on=LISTED_ON,
    )
    return listing_to_pb(v.record, term_end=v.term_end)


SUBJECT = "chengdu/bl/1"


def _fold(*steps: tuple[int, bytes], current: dict[tuple[str, str], Row] | None = None):  # type: ignore[no-untyped-def]
    items = []
    for index, (kind, payload) in enumerate(steps, start=1):
        entry = blacklist_entry("chengdu", index, kind=kind, subject=SUBJECT, payload=payload)
        items.append((decode_header(entry.header), payload))
    return fold_batch(items, current or {})


def _index(changes: dict[tuple[str, str], Row]) -> list[tuple[str, str, str]]:
    return sorted(
        (row["id_key"], row["role"], row["status"])
        for (table, _), row in changes.items()
        if table == bl_fold.REP_TABLE
    )


def test_the_fold_indexes_representatives_with_the_listing_status() -> None:
    listed = (log_pb2.BLACKLIST_LISTED, listed_payload(_org_record(LEGAL, MANAGER)))
    result = _fold(listed)
    assert _index(result.changes) == sorted(
        [
            (ADULT_ID, "LEGAL_REPRESENTATIVE", "listed"),
            (OTHER_ID.upper(), "PRINCIPAL_MANAGER", "listed"),
        ]
    )
    assert {row["listing"] for (t, _), row in result.changes.items() if t == bl_fold.REP_TABLE} == {
        SUBJECT
    }
    delisted = _fold(listed, (log_pb2.BLACKLIST_DELISTED, delisted_payload()))
    assert [s for _, _, s in _index(delisted.changes)] == ["delisted", "delisted"]


def test_a_correction_marks_a_dropped_representative_removed() -> None:
    listed = (log_pb2.BLACKLIST_LISTED, listed_payload(_org_record(LEGAL, MANAGER)))
    corrected = (log_pb2.BLACKLIST_CORRECTED, corrected_payload(_org_record(LEGAL)))
    result = _fold(listed, corrected)
    assert _index(result.changes) == sorted(
        [
            (ADULT_ID, "LEGAL_REPRESENTATIVE", "listed"),
            (OTHER_ID.upper(), "PRINCIPAL_MANAGER", "removed"),
        ]
    )
    # Named again by a later correction: current again, and no longer remembered as removed.
    again = (log_pb2.BLACKLIST_CORRECTED, corrected_payload(_org_record(LEGAL, MANAGER)))
    result = _fold(listed, corrected, again)
    assert [s for _, _, s in _index(result.changes)] == ["listed", "listed"]
    state = bl_fold.state_of(result.changes[(bl_fold.TABLE, SUBJECT)])
    assert list(state.former_representatives) == []


def test_a_person_listing_has_no_index_rows() -> None:
    result = _fold((log_pb2.BLACKLIST_LISTED, listed_payload()))
    assert _index(result.changes) == []


# ---------------------------------------------------------------- check_subject


def _put(store: Store, *steps: tuple[int, bytes]) -> Store:
    """``store`` holding the rows the fold makes of ``steps`` (memory, SQLite, PostgreSQL)."""
    changes = [RowChange(t, k, row) for (t, k), row in sorted(_fold(*steps).changes.items())]
    state = OriginState("chengdu", 0, b"\0" * 32, b"", "chengdu\n0\nroot\n")
    store.append(origin="chengdu", expected_size=0, entries=[], state=state, changes=changes)
    return store


def test_check_finds_a_representative_through_the_organisation(store: Store) -> None:
    _put(store, (log_pb2.BLACKLIST_LISTED, listed_payload(_org_record(LEGAL, MANAGER))))
    check = check_subject(store, ADULT_ID.lower() + " ")
    (hit,) = check.hits
    assert check.listed and hit.listed
    assert hit.role is RepresentativeRole.LEGAL_REPRESENTATIVE
    assert hit.listing.subject == SUBJECT
    assert hit.reason_en == f"legal representative of 成都某某建筑有限公司 (listing {SUBJECT})"
    assert hit.reason_zh == f"成都某某建筑有限公司的法定代表人（{SUBJECT}）"
    assert check.as_debtor == ()
    # The organisation itself, by its credit code: a debtor hit.
    (own,) = check_subject(store, "91350100m000100y43").hits
    assert own.role is None and own.reason_en == f"listed debtor (listing {SUBJECT})"
    assert check_subject(store, "91350100M000100Y43", representatives=False).hits == (own,)
    assert check_subject(store, ADULT_ID, representatives=False).hits == ()


def test_check_with_a_name_needs_the_exact_name(store: Store) -> None:
    _put(store, (log_pb2.BLACKLIST_LISTED, listed_payload(_org_record(LEGAL, MANAGER))))
    assert len(check_subject(store, ADULT_ID, name=" 李四 ").hits) == 1
    assert check_subject(store, ADULT_ID, name="李").hits == ()  # no partial match
    assert check_subject(store, ADULT_ID, name="王五").hits == ()  # another person's name
    assert len(check_subject(store, OTHER_ID, name="王五").hits) == 1
    code = "91350100M000100Y43"
    assert len(check_subject(store, code, name="成都某某建筑有限公司").hits) == 1
    assert check_subject(store, code, name="成都某某建筑").hits == ()
    assert name_key("ＡＢＣ公司 ") == "ABC公司"


def test_check_after_a_correction_dropped_a_representative(store: Store) -> None:
    listed = (log_pb2.BLACKLIST_LISTED, listed_payload(_org_record(LEGAL, MANAGER)))
    corrected = (log_pb2.BLACKLIST_CORRECTED, corrected_payload(_org_record(LEGAL)))
    _put(store, listed, corrected)
    assert check_subject(store, OTHER_ID).hits == ()  # removed by the correction
    assert len(check_subject(store, ADULT_ID).hits) == 1


def test_check_after_delisting(store: Store) -> None:
    listed = (log_pb2.BLACKLIST_LISTED, listed_payload(_org_record(LEGAL, MANAGER)))
    _put(store, listed, (log_pb2.BLACKLIST_DELISTED, delisted_payload()))
    check = check_subject(store, ADULT_ID)
    assert [h.listing.status for h in check.hits] == ["delisted"]
    assert not check.listed
    assert check_subject(store, ADULT_ID, statuses={"listed"}).hits == ()
    assert check_subject(store, "", statuses={"listed"}).hits == ()
