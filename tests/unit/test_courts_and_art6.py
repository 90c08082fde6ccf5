"""The court-code register (sync/domain/courts_cn.py), case-number years, the published fields
of 法释〔2017〕7号 art. 6 (age, court name, organisation code, extension reason, credit-code
confirmation), the 3-working-day deadline of corrections and delistings, and the masks of
each kind of identifier (node config ``masks``)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from ccnode.v1 import admin_pb2, payloads_pb2, tasks_pb2
from node.config import ConfigError, Masks, NodeConfig
from node.services.admin import masked_item
from node.services.tasks import masked
from sync.domain.blacklist import (
    DebtorType,
    DelistGround,
    ListingGround,
    ListingRecord,
    TermExtension,
    act_deadline,
    validate_correction,
    validate_delisting,
    validate_listing,
)
from sync.domain.blacklist_codec import listing_from_pb, validated_to_pb
from sync.domain.case_number import (
    CASE_NUMBER_FIRST_YEAR,
    check_case_year,
    parse_case_number,
    parse_court_code,
    require_enforcement_case,
)
from sync.domain.courts_cn import COURTS, court_name, prefix_problem
from sync.domain.errors import ValidationError
from sync.domain.identifiers import (
    DEFAULT_ID_MASKS,
    IdMasks,
    MaskPolicy,
    mask_id,
    org_code_check_char,
    validate_org_code,
)

CHENGDU = ("川01",)
LISTED_ON = date(2024, 3, 1)  # a Friday
ADULT_ID = "510104199003071237"  # DOMAIN.md's mask example: born 1990-03-07, male
CREDIT_CODE = "91350100M000100Y43"  # DOMAIN.md's example
BAD_CREDIT_CODE = "91350100M000100Y44"
ORG_CODE = "M000100Y4"  # positions 9–17 of DOMAIN.md's credit code


def person(**changes: object) -> ListingRecord:
    base = ListingRecord(
        case_number="（2024）川0104执1234号",
        court="川0104",
        debtor_type=DebtorType.PERSON,
        name="张三丰",
        id_number=ADULT_ID,
        obligation="支付货款人民币120000元及利息",
        performance="全部未履行",
        ground=ListingGround.G3,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初5678号",
        filed_on=date(2024, 1, 10),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def org(**changes: object) -> ListingRecord:
    rec = person(
        debtor_type=DebtorType.ORG, name="成都某某建筑有限公司", id_number=None,
        credit_code=CREDIT_CODE, legal_representative="李四",
    )  # fmt: skip
    return dataclasses.replace(rec, **changes)  # type: ignore[arg-type]


def listed(rec: ListingRecord, **kwargs: object) -> object:
    return validate_listing(rec, court_prefixes=CHENGDU, listed_on=LISTED_ON, **kwargs)  # type: ignore[arg-type]


def refused(rec: ListingRecord, **kwargs: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_listing(rec, court_prefixes=CHENGDU, listed_on=LISTED_ON, **kwargs)  # type: ignore[arg-type]
    return info.value


# ------------------------------------------------------------------ court-code register


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("川", "四川省高级人民法院", "high"),
        ("渝", "重庆市高级人民法院", "high"),
        ("川01", "四川省成都市中级人民法院", "intermediate"),
        ("川34", "四川省凉山彝族自治州中级人民法院", "intermediate"),
        ("渝05", "重庆市第五中级人民法院", "intermediate"),
        ("川0104", "四川省成都市锦江区人民法院", "basic"),  # DOMAIN.md's example court
        ("川0121", "四川省金堂县人民法院", "basic"),
        ("川1002", "四川省内江市市中区人民法院", "basic"),
        ("川1102", "四川省乐山市市中区人民法院", "basic"),
        ("渝0103", "重庆市渝中区人民法院", "basic"),  # DOMAIN.md: 渝0103 渝中
        ("渝0229", "重庆市城口县人民法院", "basic"),
        ("川0191", "四川省成都高新技术产业开发区人民法院", "basic"),
        ("川71", "成都铁路运输中级法院", "intermediate"),
        ("川7101", "成都铁路运输第一法院", "basic"),
        ("渝8601", "重庆铁路运输法院", "basic"),
    ],
)
def test_registered_courts_have_their_names_and_levels(code: str, name: str, level: str) -> None:
    assert court_name(code) == name
    assert COURTS[code].level == level == parse_court_code(code).level


def test_register_holds_every_county_of_sichuan_and_chongqing() -> None:
    # GB/T 2260 (2023): Sichuan 183 county-level divisions, Chongqing 38; 21 + 5 intermediate
    # courts, 2 high courts and the 4 special courts of DOMAIN.md.
    basic = [c for c in COURTS.values() if c.level == "basic" and not c.special]
    assert len([c for c in basic if c.code[0] == "川"]) == 183
    assert len([c for c in basic if c.code[0] == "渝"]) == 38
    assert len([c for c in COURTS.values() if c.level == "intermediate" and not c.special]) == 26
    assert len(COURTS) == 183 + 38 + 26 + 2 + 4
    for court in COURTS.values():
        assert court.name.endswith("法院")
        assert parse_court_code(court.code).text == court.code


@pytest.mark.parametrize("code", ["渝06", "渝99", "川00", "川0000", "川02", "川0701", "渝0191"])
def test_unknown_codes_are_refused_naming_the_rule(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_court_code(code)
    assert (info.value.field, info.value.rule) == ("court", "unknown_court")
    assert code in str(info.value)  # court codes are public
    assert (
        info.value.zh_text == f"执行法院（--court）：法院代码{code}不在法院代码表内（《案号规定》）"
    )
    with pytest.raises(ValidationError) as info:
        parse_case_number(f"（2024）{code}执1号")
    assert (info.value.field, info.value.rule) == ("case_number", "unknown_court")


def test_a_stored_entry_whose_court_left_the_register_still_parses() -> None:
    assert parse_court_code("川0701", registered=False).text == "川0701"
    case = require_enforcement_case("（2024）川0100执1号", CHENGDU, registered=False)
    assert case.court == "川0100"


def test_courts_of_other_provinces_are_checked_for_form_only() -> None:
    assert parse_court_code("京01").text == "京01"
    assert court_name("京01") == ""


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [("川", True), ("川01", True), ("渝86", True), ("川0", True), ("川02", False),
     ("渝06", False), ("川0000", False), ("京01", True)],
)  # fmt: skip
def test_court_prefixes_must_start_a_registered_court(prefix: str, ok: bool) -> None:
    assert (prefix_problem(prefix) is None) is ok


def test_a_node_configured_for_an_unknown_court_refuses_to_start(tmp_path: Path) -> None:
    data = {"node_id": "chengdu", "trust_domain": "t", "listen": "127.0.0.1:1",
            "court_prefixes": ["渝06"]}  # fmt: skip
    with pytest.raises(ConfigError, match="court_prefixes: no court of the court-code register"):
        NodeConfig.from_data(data, tmp_path)


# ------------------------------------------------------------------------ case years


def test_case_year_may_not_be_after_the_current_year() -> None:
    case = parse_case_number("（2026）川01执123号")
    check_case_year(case, "case_number", today=date(2026, 1, 1))
    with pytest.raises(ValidationError) as info:
        check_case_year(case, "case_number", today=date(2025, 12, 31))
    assert (info.value.field, info.value.rule) == ("case_number", "year")
    with pytest.raises(ValidationError) as info:
        require_enforcement_case(case.text, CHENGDU, today=date(2025, 12, 31))
    assert info.value.rule == "year"


def test_case_year_has_a_lower_bound_of_2016() -> None:
    assert CASE_NUMBER_FIRST_YEAR == 2016  # 法〔2015〕137号 applies from 2016-01-01
    assert parse_case_number("（2016）川0104执1号").year == 2016
    with pytest.raises(ValidationError) as info:
        parse_case_number("（2015）川0104执1号")
    assert info.value.rule == "year"


def test_case_year_after_the_filing_date_refused() -> None:
    err = refused(person(filed_on=date(2023, 12, 29)))  # case of 2024 filed in 2023
    assert (err.field, err.rule) == ("case_number", "year")
    assert "filing date" in str(err)


def test_case_year_after_the_listing_date_refused() -> None:
    rec = person(case_number="（2025）川0104执1号", filed_on=date(2024, 1, 10))
    with pytest.raises(ValidationError) as info:
        validate_listing(rec, court_prefixes=CHENGDU, listed_on=date(2024, 12, 31))
    assert info.value.rule == "year"


# ------------------------------------------------------------------ art. 6 published fields


def test_age_and_court_name_are_derived_and_travel_on_the_wire() -> None:
    result = validate_listing(person(), court_prefixes=CHENGDU, listed_on=LISTED_ON)
    assert result.debtor_age == 33  # born 1990-03-07, listed 2024-03-01
    assert result.court_name == "四川省成都市锦江区人民法院"
    wire = validated_to_pb(result)
    assert (wire.debtor_age, wire.court_name) == (33, "四川省成都市锦江区人民法院")
    assert listing_from_pb(wire, listed_on=LISTED_ON) == result.record


def test_organisation_code_check_digit_gb_11714() -> None:
    # C9 = 11 − Σ(value × weight) mod 11; M=22, Y=34: 66 + 5 + 68 = 139, 139 mod 11 = 7 → 4.
    assert org_code_check_char("M000100Y") == "4"
    assert validate_org_code("m000100y-4").code == ORG_CODE
    for bad, rule in (("M000100Y5", "checksum"), ("M000100Y", "length"), ("M00010-Y4", "format")):
        with pytest.raises(ValidationError) as info:
            validate_org_code(bad)
        assert info.value.rule == rule
        assert "M000100" not in str(info.value)


def test_an_organisation_without_a_credit_code_is_listed_by_its_organisation_code() -> None:
    result = validate_listing(
        org(credit_code=None, org_code="M000100Y-4"), court_prefixes=CHENGDU, listed_on=LISTED_ON
    )
    assert result.record.org_code == ORG_CODE and result.record.credit_code is None
    assert validated_to_pb(result).debtor.org_code == ORG_CODE
    assert refused(org(credit_code=None, org_code="M000100Y5")).rule == "checksum"
    assert refused(org(org_code=ORG_CODE)).rule == "not_allowed"  # the credit code has it
    err = refused(org(credit_code=None))
    assert (err.field, err.rule) == ("credit_code", "required")
    assert refused(person(org_code=ORG_CODE)).rule == "not_allowed"


@pytest.mark.parametrize("term_years", [3, 4, 5])
def test_a_term_over_two_years_needs_its_extension_reason(term_years: int) -> None:
    err = refused(person(ground=ListingGround.G2, term_years=term_years))
    assert (err.field, err.rule) == ("term_extension", "extension_reason")
    assert "art. 2" in str(err)
    for reason in TermExtension:
        ok = validate_listing(
            person(ground=ListingGround.G2, term_years=term_years, term_extension=reason),
            court_prefixes=CHENGDU,
            listed_on=LISTED_ON,
        )
        assert ok.record.term_extension is reason
        assert validated_to_pb(ok).term_extension == payloads_pb2.TermExtension.Value(reason)


def test_an_extension_reason_without_an_extension_is_refused() -> None:
    for rec in (
        person(ground=ListingGround.G2, term_extension=TermExtension.VIOLENCE_OR_THREATS),
        person(ground=ListingGround.G1, term_extension=TermExtension.MULTIPLE_DISHONEST_ACTS),
    ):
        err = refused(rec)
        assert (err.field, err.rule) == ("term_extension", "not_allowed")


def test_extension_reasons_are_a_closed_set() -> None:
    assert {r.value for r in TermExtension} == {"VIOLENCE_OR_THREATS", "MULTIPLE_DISHONEST_ACTS"}
    assert TermExtension.VIOLENCE_OR_THREATS.label_zh == "以暴力、威胁方法妨碍、抗拒执行情节严重"
    err = refused(person(term_years=3, term_extension="POOR_ATTITUDE"))
    assert (err.field, err.rule) == ("term_extension", "enum")


def test_a_correction_lengthening_the_term_needs_the_reason_too() -> None:
    original = validate_listing(person(), court_prefixes=CHENGDU, listed_on=LISTED_ON)
    with pytest.raises(ValidationError) as info:
        validate_correction(
            original, person(term_years=4), court_prefixes=CHENGDU, on=date(2024, 4, 1)
        )
    assert (info.value.field, info.value.rule) == ("term_extension", "extension_reason")
    ok = validate_correction(
        original,
        person(term_years=4, term_extension=TermExtension.MULTIPLE_DISHONEST_ACTS),
        court_prefixes=CHENGDU,
        on=date(2024, 4, 1),
    )
    assert ok.term_end == date(2028, 3, 1)


def test_a_stored_extended_listing_without_a_reason_can_still_be_corrected_and_delisted() -> None:
    # Written before the reason was recorded: read back as stored, corrected without
    # lengthening its term, and delisted.
    stored = validate_listing(
        person(ground=ListingGround.G2, term_years=3),
        court_prefixes=CHENGDU,
        listed_on=LISTED_ON,
        stored=True,
    )
    corrected = validate_correction(
        stored,
        person(ground=ListingGround.G2, term_years=3, performance="部分履行"),
        court_prefixes=CHENGDU,
        on=date(2024, 4, 1),
    )
    assert corrected.record.term_extension is None
    with pytest.raises(ValidationError) as info:  # lengthening it needs the reason
        validate_correction(
            stored, person(ground=ListingGround.G2, term_years=4),
            court_prefixes=CHENGDU, on=date(2024, 4, 1),
        )  # fmt: skip
    assert info.value.rule == "extension_reason"
    delisted = validate_delisting(
        DelistGround.D1, reason="已履行", on=date(2024, 4, 1), listing=stored
    )
    assert delisted.ground is DelistGround.D1


def test_the_officers_credit_code_confirmation_is_recorded_in_the_entry() -> None:
    confirmed = validate_listing(
        org(credit_code=BAD_CREDIT_CODE),
        court_prefixes=CHENGDU,
        listed_on=LISTED_ON,
        confirm_bad_credit_code=True,
    )
    assert confirmed.credit_code_confirmed
    assert validated_to_pb(confirmed).credit_code_confirmed
    assert any(
        w.startswith("统一社会信用代码（--credit-code）：校验码不符（GB 32100），经承办人确认")
        and " / credit_code: check character" in w
        for w in confirmed.warnings
    )
    good = validate_listing(
        org(), court_prefixes=CHENGDU, listed_on=LISTED_ON, confirm_bad_credit_code=True
    )
    assert not good.credit_code_confirmed  # nothing to confirm
    assert not validated_to_pb(good).credit_code_confirmed


# -------------------------------------------------- ground arose on: 3 working days (arts. 9, 10)


def test_a_correction_records_its_deadline_in_the_statutory_calendar() -> None:
    # Ground arose Friday 27 September 2024; National Day holidays 1–7 October, with
    # Sunday 29 September a working day: 29 and 30 September and 8 October.
    on_time = act_deadline(date(2024, 9, 27), on=date(2024, 10, 8), listed_on=LISTED_ON)
    assert on_time.due_by == date(2024, 10, 8) and not on_time.late and on_time.warnings == ()
    late = act_deadline(date(2024, 9, 27), on=date(2024, 10, 9), listed_on=LISTED_ON)
    assert late.late and late.warnings == ("on: later than the 3-working-day limit (2024-10-08)",)
    for arose in (date(2024, 10, 10), date(2024, 2, 29)):  # after the action, before listing
        with pytest.raises(ValidationError) as info:
            act_deadline(arose, on=date(2024, 10, 9), listed_on=LISTED_ON)
        assert (info.value.field, info.value.rule) == ("ground_arose_on", "date_order")


def test_a_delisting_records_its_ground_date_and_lateness() -> None:
    listing = validate_listing(person(), court_prefixes=CHENGDU, listed_on=LISTED_ON)
    d = validate_delisting(
        DelistGround.D1, reason="已履行", on=date(2024, 10, 9), listing=listing,
        ground_arose_on=date(2024, 9, 27),
    )  # fmt: skip
    assert (d.ground_arose_on, d.due_by, d.late) == (date(2024, 9, 27), date(2024, 10, 8), True)
    with pytest.raises(ValidationError) as info:
        validate_delisting(
            DelistGround.D1, reason="r", on=date(2024, 10, 9), listing=listing,
            ground_arose_on=date(2024, 2, 1),
        )  # fmt: skip
    assert info.value.rule == "date_order"


def test_an_expiry_takes_no_ground_date() -> None:
    with pytest.raises(ValidationError) as info:
        validate_delisting(
            DelistGround.EXPIRED, reason="r", on=date(2026, 3, 5),
            ground_arose_on=date(2026, 3, 2),
        )  # fmt: skip
    assert (info.value.field, info.value.rule) == ("ground_arose_on", "not_allowed")


# ------------------------------------------------------------------------------- masks


def test_each_kind_of_identifier_has_its_own_default_mask() -> None:
    masks = DEFAULT_ID_MASKS
    assert mask_id(ADULT_ID, masks.resident_id) == "5101041990****1237"  # DOMAIN.md
    assert mask_id(CREDIT_CODE, masks.credit_code) == "913501********0Y43"
    assert mask_id(ORG_CODE, masks.org_code) == "M0*****Y4"
    assert masks.owner(ADULT_ID) == "5101041990****1237"
    assert masks.owner(CREDIT_CODE) == "913501********0Y43"
    assert masks.owner(ORG_CODE) == "M0*****Y4"
    assert masks.owner("915101000000000000") == "915101********0000"  # 18 digits, not an ID


def test_configured_masks_and_their_limits() -> None:
    masks = Masks(resident_id_keep_head=6, resident_id_keep_tail=4, mask_char="#").policies()
    assert mask_id(ADULT_ID, masks.resident_id) == "510104########1237"
    assert mask_id(CREDIT_CODE, masks.credit_code) == "913501########0Y43"
    for bad in ({"resident_id_keep_head": 14}, {"org_code_keep_tail": 8, "org_code_keep_head": 1}):
        with pytest.raises(ValueError, match="fewer than"):
            Masks(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        IdMasks(org_code=MaskPolicy())  # an 18-character mask for a 9-character code


def test_a_bad_mask_configuration_refuses_to_start(tmp_path: Path) -> None:
    data = {"node_id": "chengdu", "trust_domain": "t", "listen": "127.0.0.1:1",
            "masks": {"credit_code_keep_head": 10, "credit_code_keep_tail": 8}}  # fmt: skip
    with pytest.raises(
        ConfigError, match=r"masks\.credit_code: the kept characters must be fewer than 18"
    ):
        NodeConfig.from_data(data, tmp_path)


def test_a_published_listing_masks_a_persons_id_and_shows_an_organisations_code() -> None:
    masks = Masks(resident_id_keep_head=6).policies()
    person_item = admin_pb2.BlacklistItem(
        record=payloads_pb2.BlacklistRecord(
            debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number=ADULT_ID)
        )
    )
    assert masked_item(person_item, masks).record.debtor.id_number == "510104********1237"
    org_item = admin_pb2.BlacklistItem(
        record=payloads_pb2.BlacklistRecord(
            debtor=payloads_pb2.Debtor(type=payloads_pb2.ORG, org_code=ORG_CODE)
        )
    )
    assert masked_item(org_item, masks).record.debtor.org_code == ORG_CODE  # art. 6


def test_a_task_read_masks_an_organisations_credit_code_with_the_credit_code_mask() -> None:
    item = tasks_pb2.TaskItem()
    item.delegation.debtor.type = payloads_pb2.PERSON
    item.delegation.debtor.id_number = ADULT_ID
    item.delegation.assets.add(owner_id=CREDIT_CODE, reference="6222020200001234567")
    item.found.add(owner_id=ADULT_ID)
    out = masked(item)
    assert out.delegation.debtor.id_number == "5101041990****1237"
    # Before: the resident-ID mask, 91350100M0****0Y43, which showed 4 more characters.
    assert out.delegation.assets[0].owner_id == "913501********0Y43"
    assert out.found[0].owner_id == "5101041990****1237"
    assert masked(item, reveal=True).delegation.assets[0].owner_id == CREDIT_CODE
