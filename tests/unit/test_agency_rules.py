"""What agencies are told (sync/domain/agency.py), who may ask and how much
(node/businesses/agency.py), and how a many-subject read is found by each subject."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccnode.v1 import agency_pb2, log_pb2, payloads_pb2, state_pb2
from node.businesses.agency import AgencyGate, AgencyLimits
from node.clock import FakeClock
from node.config import Agencies, ConfigError, NodeConfig
from node.identity.spiffe import Identity
from node.store.base import AgencyRecord
from node.store.memory import MemoryStore
from node.store.runner import Db
from sync.domain import agency as rules
from sync.domain.errors import ValidationError
from sync.domain.identifiers import IdMasks, MaskPolicy
from sync.entry import decode_header, make_entry
from sync.folds import access as access_fold
from sync.folds import fold_batch
from sync.payload import encode_payload
from tests.unit.corefixtures import SAMPLE_ID_NUMBER, blacklist_record

CREDIT_CODE = "91350100M000100Y43"


def _state(**fields: object) -> state_pb2.ListingState:
    record = blacklist_record()
    record.conduct = "有履行能力而拒不履行"
    record.term_end_on = ""
    state = state_pb2.ListingState(
        subject="chengdu/bl/4", origin="chengdu", entry_id="chengdu/4", status="listed",
        record=record, last_index=4,
    )  # fmt: skip
    for name, value in fields.items():
        setattr(state, name, value)
    return state


# ---------------------------------------------------------------- subjects and purposes


def test_a_subject_is_a_resident_id_or_a_credit_code_with_an_optional_name() -> None:
    assert rules.check_subject(SAMPLE_ID_NUMBER.lower(), "") == rules.Subject(
        SAMPLE_ID_NUMBER.upper(), ""
    )
    assert rules.check_subject(CREDIT_CODE, " 某某公司 ") == rules.Subject(CREDIT_CODE, "某某公司")
    # An early credit code failing its check character is still looked up.
    assert rules.check_subject("91350100M000100Y44", "").id_key == "91350100M000100Y44"


@pytest.mark.parametrize(
    ("id_number", "name", "rule", "field"),
    [
        ("", "", "required", "subjects[3].id_number"),
        ("5101041990030712", "", "length", "subjects[3].id_number"),
        ("51010419900307123I", "", "format", "subjects[3].id_number"),
        (SAMPLE_ID_NUMBER, "名" * 201, "length", "subjects[3].name"),
    ],
)
def test_a_bad_subject_names_its_field_and_rule_never_its_value(
    id_number: str, name: str, rule: str, field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        rules.check_subject(id_number, name, "subjects[3]")
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert not id_number or id_number not in str(exc.value)


def test_every_read_states_its_purpose() -> None:
    assert rules.check_purpose("  审批 1  ") == "审批 1"
    for bad, rule in (("  ", "required"), ("x" * 501, "length")):
        with pytest.raises(ValidationError) as exc:
            rules.check_purpose(bad)
        assert (exc.value.field, exc.value.rule) == ("purpose", rule)


# ---------------------------------------------------------------- published fields


def test_only_the_article_6_fields_are_published_with_the_id_masked() -> None:
    state = _state()
    shown = rules.published(state, in_full=True)
    assert shown.id_number_masked == SAMPLE_ID_NUMBER[:10] + "****" + SAMPLE_ID_NUMBER[14:]
    assert SAMPLE_ID_NUMBER not in str(shown)
    record = state.record
    assert (shown.name, shown.sex, shown.case_number, shown.court) == (
        record.debtor.name, record.debtor.sex, record.case_number, record.court,
    )  # fmt: skip
    assert (shown.obligation, shown.performance, shown.conduct) == (
        record.obligation, record.performance, record.conduct,
    )  # fmt: skip
    assert (shown.basis_issuer, shown.basis_number, shown.filed_on) == (
        record.basis_issuer, record.basis_number, record.filed_on,
    )  # fmt: skip
    # Nothing else of the stored state has a place in the published message.
    assert "delist_reason" not in agency_pb2.PublishedListing.DESCRIPTOR.fields_by_name
    assert "entry_id" not in agency_pb2.PublishedListing.DESCRIPTOR.fields_by_name


def test_an_organisation_shows_its_credit_code_and_representative() -> None:
    state = _state()
    state.record.debtor.CopyFrom(
        payloads_pb2.Debtor(
            type=payloads_pb2.ORG, name="某某公司", credit_code=CREDIT_CODE,
            legal_representative="张某",
        )
    )  # fmt: skip
    shown = rules.published(state, in_full=True)
    assert (shown.debtor_type, shown.credit_code, shown.legal_representative) == (
        "org", CREDIT_CODE, "张某",
    )  # fmt: skip
    assert shown.id_number_masked == ""


def test_age_court_name_and_organisation_code_are_published_too() -> None:
    """Art. 6 in full: a person's age on the listing date and the enforcing court's name; an
    organisation without a credit code by its organisation code."""
    state = _state()
    state.record.debtor_age = 37
    state.record.court_name = "成都市武侯区人民法院"
    shown = rules.published(state, in_full=True)
    assert (shown.debtor_age, shown.court_name) == (37, "成都市武侯区人民法院")
    state.record.debtor.CopyFrom(
        payloads_pb2.Debtor(
            type=payloads_pb2.ORG, name="某某合伙企业", org_code="M000100Y4",
            legal_representative="张某",
        )
    )  # fmt: skip
    shown = rules.published(state, in_full=True)
    assert (shown.credit_code, shown.org_code, shown.debtor_age) == ("", "M000100Y4", 0)
    assert rules.published(state, in_full=False).court_name == "成都市武侯区人民法院"


def test_the_resident_id_is_masked_by_the_nodes_mask() -> None:
    masks = IdMasks(resident_id=MaskPolicy(hidden_positions=frozenset(range(7, 15))))
    shown = rules.published(_state(), in_full=True, masks=masks)
    assert shown.id_number_masked == SAMPLE_ID_NUMBER[:6] + "*" * 8 + SAMPLE_ID_NUMBER[14:]
    change = rules.listing_change(7, "chengdu/bl/4", 4, _state(), masks=masks)
    assert change.listing.id_number_masked == shown.id_number_masked


def test_a_delisted_listing_is_no_longer_published_in_full() -> None:
    state = _state(status="delisted", delisted_on="2025-03-04", last_index=9)
    shown = rules.published(state, in_full=False)
    assert (shown.subject, shown.status, shown.delisted_on) == (
        "chengdu/bl/4",
        "delisted",
        "2025-03-04",
    )
    assert not (shown.obligation or shown.conduct or shown.performance or shown.basis_number)


# ---------------------------------------------------------------- change kinds


@pytest.mark.parametrize(
    ("fields", "last_index", "kind"),
    [
        ({}, 4, agency_pb2.CHANGE_LISTED),
        ({"last_index": 7}, 7, agency_pb2.CHANGE_CORRECTED),
        ({"last_index": 7}, 4, agency_pb2.CHANGE_LISTED),  # an earlier change of the listing
        ({"status": "delisted", "last_index": 9, "delist_ground": payloads_pb2.D1}, 9,
         agency_pb2.CHANGE_DELISTED),
        ({"status": "delisted", "last_index": 9, "delist_ground": payloads_pb2.REVOKED}, 9,
         agency_pb2.CHANGE_REVOKED),
        ({"status": "delisted", "last_index": 9, "delist_ground": payloads_pb2.EXPIRED}, 9,
         agency_pb2.CHANGE_EXPIRED),
        ({"status": "delisted", "last_index": 9, "delist_ground": payloads_pb2.D3,
          "credit_repair": payloads_pb2.CREDITOR_REQUEST}, 9, agency_pb2.CHANGE_REPAIRED),
        ({"status": "delisted", "last_index": 9, "delist_ground": payloads_pb2.D1,
          "credit_repair": payloads_pb2.ACTIVE_PERFORMANCE}, 9, agency_pb2.CHANGE_REPAIRED),
        ({"status": "delisted", "last_index": 9}, 6, agency_pb2.CHANGE_CORRECTED),
    ],
)  # fmt: skip
def test_a_change_is_named_from_the_listing_as_it_stands(
    fields: dict[str, object], last_index: int, kind: int
) -> None:
    state = _state(**fields)
    assert rules.change_kind("chengdu/bl/4", last_index, state) == kind
    change = rules.listing_change(12, "chengdu/bl/4", last_index, state)
    assert (change.position, change.kind) == (12, kind)
    assert bool(change.listing.obligation) == (state.status == "listed")


def test_a_listing_no_longer_held_is_named_gone() -> None:
    change = rules.listing_change(3, "chengdu/bl/4", 4, None)
    assert (change.kind, change.listing.subject) == (agency_pb2.CHANGE_GONE, "chengdu/bl/4")


# ---------------------------------------------------------------- admission, rate, quota


@pytest.fixture
def db() -> Iterator[Db[MemoryStore]]:
    runner = Db(MemoryStore())
    try:
        yield runner
    finally:
        runner.close()


def test_admission_is_the_agencies_table_or_the_granted_list(db: Db[MemoryStore]) -> None:
    config = Agencies(granted=["auditor/procuratorate"])
    gate, store = AgencyGate(db=db, config=config, clock=FakeClock()), db.store
    store.put_agency(AgencyRecord("samr-sc", None, None, 50, 0, "赵六"))

    def admit(role: str, name: str) -> tuple[AgencyLimits | None, str]:
        identity = Identity("chengyu.court", role, name, f"x/{role}/{name}")  # type: ignore[arg-type]
        admission = asyncio.run(gate.admit(identity))
        return admission.limits, admission.reason

    assert admit("agency", "samr-sc") == (AgencyLimits(20.0, 40, 50), "")
    assert admit("agency", "tax-sc") == (None, "agency_not_admitted")
    assert admit("auditor", "procuratorate")[0] == AgencyLimits(20.0, 40, 200_000)
    assert admit("auditor", "npc") == (None, "role_not_granted:auditor")
    assert admit("node", "chongqing") == (None, "role_not_granted:node")


def test_a_token_bucket_of_calls_and_a_daily_quota_of_subjects(db: Db[MemoryStore]) -> None:
    clock = FakeClock()
    gate = AgencyGate(db=db, config=Agencies(), clock=clock)
    limits = AgencyLimits(rate_per_s=1.0, burst=2, daily_quota=10)
    assert [gate.take("a", limits, 1) for _ in range(3)] == ["", "", "rate_limited"]
    clock.advance(ms=1_000)
    assert gate.take("a", limits, 9) == "daily_quota"  # 2 + 9 > 10: nothing charged
    assert gate.take("a", limits, 8) == ""
    assert gate.used_today("a") == 10 and gate.used_today("b") == 0
    clock.advance(days=1)
    assert gate.used_today("a") == 0
    assert gate.take("a", limits, 10) == ""


# ---------------------------------------------------------------- many-subject reads


def test_a_read_about_many_subjects_derives_a_row_per_subject() -> None:
    body = payloads_pb2.Payload(
        access_recorded=payloads_pb2.AccessRecorded(
            purpose="审批", what="agency: blacklist check batch", subject_keys=["k1", "k2"]
        )
    )
    payload = encode_payload(log_pb2.ACCESS_RECORDED, body)
    entry = make_entry(
        origin="chengdu", index=3, kind=log_pb2.ACCESS_RECORDED, subject="chengdu/access/3",
        actor="spiffe://chengyu.court/agency/samr-sc", hlc=1 << 16, payload=payload,
        salt=bytes(16), audience=("chengdu",),
    )  # fmt: skip
    folded = fold_batch([(decode_header(entry.header), payload)], {})
    assert folded.changes[(access_fold.SUBJECTS_TABLE, "chengdu/access/3/1")] == {
        "key": "chengdu/access/3/1", "access": "chengdu/access/3", "subject_key": "k2",
    }  # fmt: skip
    row = folded.changes[(access_fold.TABLE, "chengdu/access/3")]
    assert list(access_fold.state_of(row).subject_keys) == ["k1", "k2"]


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("section", "names"),
    [
        ({"granted": ["agency/samr-sc"]}, "agencies.granted"),
        ({"granted": ["node/Bad Name"]}, "agencies.granted"),
        ({"rate_per_s": 0.0}, "agencies.rate_per_s"),
        ({"batch_subjects_max": 1001}, "agencies.batch_subjects_max"),
        ({"follow_page_changes": 0}, "agencies.follow_page_changes"),
    ],
)
def test_a_bad_agencies_section_is_refused_naming_its_key(
    tmp_path: Path, section: dict[str, object], names: str
) -> None:
    base = {"node_id": "chengdu", "trust_domain": "chengyu.court", "listen": "127.0.0.1:0"}
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        NodeConfig.from_data({**base, "agencies": section}, tmp_path)
    granted = {"granted": ["node/chongqing", "auditor/npc"]}
    config = NodeConfig.from_data({**base, "agencies": granted}, tmp_path)
    assert Agencies().granted == [] and config.agencies.granted == granted["granted"]
