"""失信被执行人名单 rules (法释〔2017〕7号) as DOMAIN.md states them."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.domain.blacklist import (
    CreditRepair,
    DebtorType,
    DelistGround,
    ListingGround,
    ListingRecord,
    TermExtension,
    TermView,
    ValidatedListing,
    expiring_term_ends_before,
    parse_listing_json,
    term_view,
    validate_correction,
    validate_delisting,
    validate_listing,
)
from sync.domain.calendar import WorkCalendar
from sync.domain.errors import ValidationError

FAST = settings(max_examples=100, database=None, derandomize=True, deadline=None)
CHENGDU = ("川01",)
LISTED_ON = date(2024, 3, 1)  # a Friday
assert LISTED_ON.weekday() == 4

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: date, sequence: int = 123) -> str:
    body = f"510104{birth:%Y%m%d}{sequence:03d}"
    s = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[s % 11]


ADULT_ID = make_id(date(1980, 6, 15))  # sequence 123: odd, male
ORG_CODE = "91350100M000100Y43"  # DOMAIN.md's example, checksum ok
ORG_CODE_BAD_CHECK = "91350100M000100Y44"


def person(**changes: Any) -> ListingRecord:
    base = ListingRecord(
        case_number="（2024）川0104执1234号",
        court="川0104",
        debtor_type=DebtorType.PERSON,
        name="张三丰",
        id_number=ADULT_ID,
        sex="M",
        obligation="支付货款人民币120000元及利息",
        performance="全部未履行",
        ground=ListingGround.G3,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初5678号",
        filed_on=date(2024, 1, 10),
        conduct="隐匿财产规避执行",
    )
    return dataclasses.replace(base, **changes)


def org(**changes: Any) -> ListingRecord:
    base = person(
        debtor_type=DebtorType.ORG,
        name="成都某某建筑有限公司",
        id_number=None,
        sex=None,
        credit_code=ORG_CODE,
        legal_representative="李四",
    )
    return dataclasses.replace(base, **changes)


def listed(rec: ListingRecord | None = None, on: date = LISTED_ON) -> ValidatedListing:
    return validate_listing(rec or person(), court_prefixes=CHENGDU, listed_on=on)


def refused(rec: ListingRecord, on: date = LISTED_ON, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_listing(rec, court_prefixes=CHENGDU, listed_on=on, **kwargs)
    return info.value


# ---------------------------------------------------------------------- enums


def test_ground_labels() -> None:
    assert ListingGround.G1.label_zh.startswith("有履行能力")
    assert ListingGround.G4.label_zh == "违反财产报告制度"
    assert all(g.label_zh and g.label_en for g in ListingGround)
    assert all(g.label_zh and g.label_en for g in DelistGround)
    assert [g.value for g in DelistGround] == [
        "D1", "D2", "D3", "D4", "D5", "D6", "D7", "REVOKED", "EXPIRED",
    ]  # fmt: skip
    assert ListingGround("G2") is ListingGround.G2 and ListingGround.G2 == "G2"
    assert CreditRepair.CREDITOR_REQUEST.label_zh and DebtorType.ORG.label_zh


# -------------------------------------------------------------- valid listings


def test_person_listing_is_normalised_with_term_dates() -> None:
    result = listed(person(case_number="(2024)川0104执1234号", id_number=ADULT_ID.lower()))
    rec = result.record
    assert rec.case_number == "（2024）川0104执1234号"
    assert result.case.court == "川0104" and result.case.serial == 1234
    assert rec.listed_on == LISTED_ON and result.listed_on == LISTED_ON
    assert rec.term_years == 2  # G3 default
    assert result.term_end == date(2026, 3, 1)  # a Sunday
    assert result.delist_due_by == date(2026, 3, 4)  # Mon, Tue, Wed
    assert result.debtor_age == 43
    assert result.warnings == ()


def test_sex_is_derived_from_the_id_when_absent() -> None:
    assert listed(person(sex=None)).record.sex == "M"


def test_text_fields_are_stripped() -> None:
    rec = listed(person(name=" 张三丰 ", obligation="第一项\n第二项 ")).record
    assert (rec.name, rec.obligation) == ("张三丰", "第一项\n第二项")


def test_delist_due_by_uses_the_configured_calendar() -> None:
    holiday = WorkCalendar(holidays=frozenset({date(2026, 3, 2)}))
    result = validate_listing(
        person(), court_prefixes=CHENGDU, listed_on=LISTED_ON, calendar=holiday
    )
    assert result.delist_due_by == date(2026, 3, 5)


@pytest.mark.parametrize("term_years", [2, 3, 4, 5])
def test_fixed_term_may_be_extended_by_one_to_three_years(term_years: int) -> None:
    rec = person(
        ground=ListingGround.G2, term_years=term_years,
        term_extension=TermExtension.VIOLENCE_OR_THREATS if term_years > 2 else None,
    )  # fmt: skip
    result = listed(rec)
    assert result.record.term_years == term_years
    assert result.term_end == date(2024 + term_years, 3, 1)


@pytest.mark.parametrize("term_years", [None, 0])
def test_g1_has_no_term(term_years: int | None) -> None:
    result = listed(person(ground=ListingGround.G1, term_years=term_years))
    assert result.record.term_years == 0
    assert result.term_end is None and result.delist_due_by is None


def test_listing_on_leap_day_ends_on_28_february() -> None:
    result = listed(person(), on=date(2024, 2, 29))
    assert result.term_end == date(2026, 2, 28)


def test_organisation_listing() -> None:
    result = listed(org(credit_code=ORG_CODE.lower()))
    assert result.record.credit_code == ORG_CODE
    assert result.record.legal_representative == "李四"
    assert result.debtor_age is None


def test_filing_year_differing_from_case_year_is_a_warning() -> None:
    # A case of 2023 filed in 2024 is suspect, not impossible; a case of 2024 filed in 2023
    # cannot be (test_case_year_after_the_filing_date_refused).
    rec = person(case_number="（2023）川0104执1234号")
    result = listed(rec)
    assert result.warnings and result.warnings[0].startswith("filed_on: ")


# ------------------------------------------------------------------- refusals


def test_minor_refused_on_listing_date_and_accepted_after_18th_birthday() -> None:
    birth = date(2006, 3, 1)
    rec = person(id_number=make_id(birth, sequence=124), sex=None)
    for day in (date(2024, 2, 29), date(2024, 3, 1)):  # the 18th birthday itself is still minor
        err = refused(rec, on=day)
        assert (err.field, err.rule) == ("id_number", "minor")
        assert "art. 4" in str(err)
    result = listed(rec, on=date(2024, 3, 2))
    assert result.debtor_age == 18 and result.record.sex == "F"


def test_g1_with_a_term_refused() -> None:
    err = refused(person(ground=ListingGround.G1, term_years=2))
    assert (err.field, err.rule) == ("term_years", "term")


@pytest.mark.parametrize("term_years", [6, 1, -1, 10])
def test_term_outside_two_to_five_years_refused(term_years: int) -> None:
    err = refused(person(ground=ListingGround.G3, term_years=term_years))
    assert (err.field, err.rule) == ("term_years", "term")


def test_boolean_term_refused() -> None:
    assert refused(person(term_years=True)).rule == "type"


@pytest.mark.parametrize("legal_rep", [None, "", "   "])
def test_organisation_without_legal_representative_refused(legal_rep: str | None) -> None:
    err = refused(org(legal_representative=legal_rep))
    assert (err.field, err.rule) == ("legal_representative", "required")


def test_organisation_credit_code_checksum() -> None:
    err = refused(org(credit_code=ORG_CODE_BAD_CHECK))
    assert (err.field, err.rule) == ("credit_code", "checksum")
    result = validate_listing(
        org(credit_code=ORG_CODE_BAD_CHECK),
        court_prefixes=CHENGDU,
        listed_on=LISTED_ON,
        confirm_bad_credit_code=True,
    )
    assert result.record.credit_code == ORG_CODE_BAD_CHECK
    assert any(w.startswith("统一社会信用代码（--credit-code）：") for w in result.warnings)
    assert any("/ credit_code: " in w for w in result.warnings)


def test_court_mismatch_refused() -> None:
    err = refused(person(court="川0105"))
    assert (err.field, err.rule) == ("court", "court_mismatch")


def test_non_enforcement_case_refused() -> None:
    err = refused(person(case_number="（2023）川0104民初5678号"))
    assert (err.field, err.rule) == ("case_number", "case_type")


def test_case_outside_the_node_prefixes_refused() -> None:
    err = refused(person(case_number="（2024）渝0103执1号", court="渝0103"))
    assert (err.field, err.rule) == ("case_number", "court_prefix")


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"id_number": None}, "id_number", "required"),
        ({"id_number": ADULT_ID[:-1] + "0"}, "id_number", "checksum"),
        ({"sex": "F"}, "sex", "sex_mismatch"),
        ({"credit_code": ORG_CODE}, "credit_code", "not_allowed"),
        ({"legal_representative": "李四"}, "legal_representative", "not_allowed"),
        ({"name": "  "}, "name", "required"),
        ({"name": "张" * 201}, "name", "too_long"),
        ({"name": "张三\x00"}, "name", "format"),
        ({"obligation": ""}, "obligation", "required"),
        ({"obligation": "x" * 2001}, "obligation", "too_long"),
        ({"performance": "全部\r未履行"}, "performance", "format"),
        ({"basis_issuer": ""}, "basis_issuer", "required"),
        ({"basis_number": ""}, "basis_number", "required"),
        ({"conduct": "x" * 2001}, "conduct", "too_long"),
        ({"filed_on": date(2024, 3, 2)}, "filed_on", "date_order"),
        ({"listed_on": date(2024, 3, 2)}, "listed_on", "mismatch"),
        ({"ground": "G7"}, "ground", "enum"),
        ({"debtor_type": "company"}, "debtor_type", "enum"),
        ({"id_number": make_id(date(2025, 1, 1))}, "id_number", "birth_date"),
    ],
)
def test_person_field_rules(changes: dict[str, Any], field: str, rule: str) -> None:
    err = refused(person(**changes))
    assert (err.field, err.rule) == (field, rule)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"credit_code": None}, "credit_code", "required"),
        ({"id_number": ADULT_ID}, "id_number", "not_allowed"),
        ({"sex": "M"}, "sex", "not_allowed"),
    ],
)
def test_organisation_field_rules(changes: dict[str, Any], field: str, rule: str) -> None:
    err = refused(org(**changes))
    assert (err.field, err.rule) == (field, rule)


def test_conduct_is_optional() -> None:
    assert listed(person(conduct=None)).record.conduct is None


# -------------------------------------------------------------------- delisting


def test_delisting_basic() -> None:
    result = validate_delisting(DelistGround.D1, reason="已全部履行", on=date(2024, 6, 3))
    assert result.ground is DelistGround.D1 and result.credit_repair is CreditRepair.NONE
    assert result.due_by is None and result.warnings == ()


def test_creditor_request_is_d3_credit_repair() -> None:
    result = validate_delisting(
        "D3", reason="申请执行人书面申请", on=date(2024, 6, 3), credit_repair="CREDITOR_REQUEST"
    )
    assert result.credit_repair is CreditRepair.CREDITOR_REQUEST
    for ground, repair in (
        (DelistGround.D3, CreditRepair.NONE),
        (DelistGround.D1, CreditRepair.CREDITOR_REQUEST),
        (DelistGround.D4, CreditRepair.ACTIVE_PERFORMANCE),
        (DelistGround.REVOKED, CreditRepair.ACTIVE_PERFORMANCE),
    ):
        with pytest.raises(ValidationError) as info:
            validate_delisting(ground, reason="r", on=date(2024, 6, 3), credit_repair=repair)
        assert (info.value.field, info.value.rule) == ("credit_repair", "credit_repair")


def test_active_performance_only_within_a_fixed_term() -> None:
    fixed = listed()
    ok = validate_delisting(
        DelistGround.D1,
        reason="积极履行",
        on=date(2025, 1, 6),
        credit_repair=CreditRepair.ACTIVE_PERFORMANCE,
        listing=fixed,
    )
    assert ok.credit_repair is CreditRepair.ACTIVE_PERFORMANCE
    for listing, on in ((listed(person(ground=ListingGround.G1)), date(2025, 1, 6)),
                        (fixed, date(2026, 3, 2))):  # fmt: skip
        with pytest.raises(ValidationError) as info:
            validate_delisting(
                DelistGround.D1,
                reason="积极履行",
                on=on,
                credit_repair=CreditRepair.ACTIVE_PERFORMANCE,
                listing=listing,
            )
        assert info.value.rule == "credit_repair"


def test_expiry_needs_a_term_that_has_ended() -> None:
    fixed = listed()
    result = validate_delisting(
        DelistGround.EXPIRED, reason="期限届满", on=date(2026, 3, 2), listing=fixed
    )
    assert result.due_by == date(2026, 3, 4) and result.warnings == ()
    late = validate_delisting(
        DelistGround.EXPIRED, reason="期限届满", on=date(2026, 3, 5), listing=fixed
    )
    assert late.warnings and late.warnings[0].startswith("on: ")
    with pytest.raises(ValidationError) as info:
        validate_delisting(DelistGround.EXPIRED, reason="r", on=date(2026, 3, 1), listing=fixed)
    assert (info.value.field, info.value.rule) == ("ground", "term")
    g1 = listed(person(ground=ListingGround.G1))
    with pytest.raises(ValidationError) as info:
        validate_delisting(DelistGround.EXPIRED, reason="r", on=date(2030, 1, 1), listing=g1)
    assert info.value.rule == "term"


FRIDAY_JUNE = date(2024, 6, 7)


def test_delisting_deadline_from_when_the_ground_arose() -> None:
    result = validate_delisting(
        DelistGround.D7, reason="终结执行", on=date(2024, 6, 10), ground_arose_on=FRIDAY_JUNE
    )
    assert result.due_by == date(2024, 6, 13)  # Monday 10 June is 端午节: Tue, Wed, Thu
    assert result.warnings == ()
    with pytest.raises(ValidationError) as info:
        validate_delisting(
            DelistGround.D7, reason="r", on=date(2024, 6, 6), ground_arose_on=FRIDAY_JUNE
        )
    assert info.value.rule == "date_order"


def test_a_deadline_counted_through_a_year_without_a_notice_is_flagged() -> None:
    # 2030 has no published holidays in this release: counted Monday–Friday, and said so.
    result = validate_delisting(
        DelistGround.D7, reason="终结执行", on=date(2030, 10, 2), ground_arose_on=date(2030, 9, 30)
    )
    assert result.due_by == date(2030, 10, 3)
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("due_by: ") and "2030" in result.warnings[0]
    late = validate_delisting(
        DelistGround.D7, reason="终结执行", on=date(2030, 10, 4), ground_arose_on=date(2030, 9, 30)
    )
    assert [w.split(":")[0] for w in late.warnings] == ["on", "due_by"]


def test_a_term_ending_beyond_the_notices_is_provisional_but_not_a_listing_warning() -> None:
    listing = listed(on=date(2026, 3, 2))  # term ends Thursday 2 March 2028
    assert listing.delist_due_by == date(2028, 3, 7)
    assert listing.delist_due_uncovered_years == (2028,)
    assert listing.warnings == ()
    expired = validate_delisting(
        DelistGround.EXPIRED, reason="期限届满", on=date(2028, 3, 3), listing=listing
    )
    assert expired.due_by == date(2028, 3, 7)
    assert len(expired.warnings) == 1 and "2028" in expired.warnings[0]
    assert listed().delist_due_uncovered_years == ()  # term ends 2026: covered


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"reason": ""}, "reason", "required"),
        ({"reason": "x" * 1001}, "reason", "too_long"),
        ({"ground": "D8"}, "ground", "enum"),
        ({"credit_repair": "MAYBE"}, "credit_repair", "enum"),
    ],
)
def test_delisting_refusals(kwargs: dict[str, Any], field: str, rule: str) -> None:
    args: dict[str, Any] = {"ground": DelistGround.D1, "reason": "已履行", "on": date(2024, 6, 3)}
    args.update(kwargs)
    ground = args.pop("ground")
    with pytest.raises(ValidationError) as info:
        validate_delisting(ground, **args)
    assert (info.value.field, info.value.rule) == (field, rule)


def test_delisting_before_the_listing_refused() -> None:
    with pytest.raises(ValidationError) as info:
        validate_delisting(DelistGround.D1, reason="r", on=date(2024, 2, 29), listing=listed())
    assert (info.value.field, info.value.rule) == ("on", "date_order")


# ------------------------------------------------------------------- correction


def correct(original: ValidatedListing, corrected: ListingRecord) -> ValidatedListing:
    return validate_correction(original, corrected, court_prefixes=CHENGDU, on=date(2024, 4, 1))


def test_correction_keeps_the_listing_date_and_recomputes_the_term() -> None:
    original = listed()
    result = correct(
        original,
        person(
            ground=ListingGround.G2, term_years=3, name="张三峰",
            term_extension=TermExtension.MULTIPLE_DISHONEST_ACTS,
        ),
    )  # fmt: skip
    assert result.record.name == "张三峰"
    assert result.listed_on == LISTED_ON
    assert result.term_end == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("corrected", "field"),
    [
        (person(id_number=make_id(date(1981, 6, 15))), "id_number"),
        (person(court="川0105", case_number="（2024）川0105执1234号"), "court"),
        (org(), "debtor_type"),
        (person(listed_on=date(2024, 3, 4)), "listed_on"),
    ],
)
def test_correction_may_not_change_identity_court_or_date(
    corrected: ListingRecord, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        correct(listed(), corrected)
    assert (info.value.field, info.value.rule) == (field, "immutable_field")
    assert "revoke" in str(info.value) or field == "listed_on"


def test_correction_of_org_credit_code_refused() -> None:
    other_code = "91510100MA61234560"
    with pytest.raises(ValidationError) as info:
        correct(listed(org()), org(credit_code=other_code))
    assert (info.value.field, info.value.rule) == ("credit_code", "immutable_field")
    assert other_code not in str(info.value)


def test_correction_normalises_before_comparing() -> None:
    result = correct(listed(), person(id_number=" " + ADULT_ID.lower(), performance="部分履行"))
    assert result.record.performance == "部分履行"


def test_correction_is_validated_in_full() -> None:
    with pytest.raises(ValidationError) as info:
        correct(listed(), person(ground=ListingGround.G1, term_years=2))
    assert info.value.rule == "term"


def test_correction_that_changes_nothing_refused() -> None:
    with pytest.raises(ValidationError) as info:
        correct(listed(), person())
    assert info.value.rule == "no_change"


def test_correction_dated_before_listing_refused() -> None:
    with pytest.raises(ValidationError) as info:
        validate_correction(listed(), person(), court_prefixes=CHENGDU, on=date(2024, 2, 1))
    assert info.value.rule == "date_order"


# ------------------------------------------------------------------ JSON import


def person_json(**changes: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "case_number": "(2024)川0104执1234号",
        "court": "川0104",
        "debtor_type": "person",
        "name": "张三丰",
        "id_number": ADULT_ID,
        "sex": "男",
        "obligation": "支付货款人民币120000元及利息",
        "performance": "全部未履行",
        "ground": "G3",
        "term_years": 3,
        "term_extension": "multiple_dishonest_acts",
        "basis_issuer": "成都市锦江区人民法院",
        "basis_number": "（2023）川0104民初5678号",
        "filed_on": "2024-01-10",
    }
    obj.update(changes)
    return obj


def test_parse_listing_json_round_trip() -> None:
    rec = parse_listing_json(json.loads(json.dumps(person_json())), line_no=1)
    assert rec.debtor_type is DebtorType.PERSON and rec.ground is ListingGround.G3
    assert rec.sex == "M" and rec.term_years == 3 and rec.filed_on == date(2024, 1, 10)
    assert rec.listed_on is None and rec.conduct is None
    assert listed(rec).record.case_number == "（2024）川0104执1234号"


def test_parse_listing_json_org_with_optional_keys() -> None:
    obj = person_json(
        debtor_type="org", name="成都某某建筑有限公司", id_number=None, sex=None,
        credit_code=ORG_CODE, legal_representative="李四", conduct="转移财产",
        listed_on="2024-03-01", term_years=None, term_extension=None,
    )  # fmt: skip
    rec = parse_listing_json(obj)
    assert rec.debtor_type is DebtorType.ORG and rec.listed_on == LISTED_ON
    assert listed(rec).record.term_years == 2


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"colour": "red"}, "colour", "unknown_field"),
        ({ADULT_ID: "x"}, "<unnamed>", "unknown_field"),
        ({"name": None}, "name", "required"),
        ({"filed_on": None}, "filed_on", "required"),
        ({"name": 42}, "name", "type"),
        ({"term_years": "3"}, "term_years", "type"),
        ({"term_years": 2.0}, "term_years", "type"),
        ({"term_years": True}, "term_years", "type"),
        ({"filed_on": "2024/01/10"}, "filed_on", "date"),
        ({"filed_on": "20240110"}, "filed_on", "date"),
        ({"filed_on": "2024-02-30"}, "filed_on", "date"),
        ({"debtor_type": "PERSON"}, "debtor_type", "enum"),
        ({"ground": "G0"}, "ground", "enum"),
        ({"sex": "X"}, "sex", "enum"),
        ({"id_number": 510104198006151234}, "id_number", "type"),
    ],
)
def test_parse_listing_json_errors_name_the_field(
    changes: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_listing_json(person_json(**changes), line_no=12)
    err = info.value
    assert (err.field, err.rule, err.line_no) == (field, rule, 12)
    assert str(err).startswith("第12行（line 12）：") and f" / {field}: " in str(err)
    assert ADULT_ID not in str(err) and "510104198006151234" not in str(err)


def test_parse_listing_json_requires_a_mapping() -> None:
    with pytest.raises(ValidationError) as info:
        parse_listing_json(["not", "an", "object"])  # type: ignore[arg-type]
    assert (info.value.field, info.value.rule) == ("listing", "type")


# -------------------------------------------------------------- no personal data


def test_record_repr_hides_personal_fields() -> None:
    shown = repr(listed().record)
    for secret in (ADULT_ID, "张三丰", "120000"):
        assert secret not in shown
    assert "川0104" in shown


@FAST
@given(st.sampled_from(["id_number", "credit_code"]), st.integers(0, 17), st.data())
def test_no_listing_error_contains_the_identifier(
    field: str, pos: int, data: st.DataObject
) -> None:
    value = ADULT_ID if field == "id_number" else ORG_CODE
    replacement = data.draw(st.sampled_from("0123456789XABC"))
    bad = value[:pos] + replacement + value[pos + 1 :]
    for rec in (person(id_number=bad), org(credit_code=bad), person(credit_code=bad),
                org(id_number=bad), person(case_number=bad), person(court=bad)):  # fmt: skip
        try:
            validate_listing(rec, court_prefixes=CHENGDU, listed_on=LISTED_ON)
        except ValidationError as err:
            assert bad not in str(err) and bad not in repr(err)
    try:
        parse_listing_json(person_json(**{field: bad, "name": bad, bad: bad}), line_no=3)
    except ValidationError as err:
        assert bad not in str(err) and bad not in repr(err)


# ---------------------------------------------------------------- term (read time)


@pytest.mark.parametrize(
    ("on", "view"),
    [
        (date(2026, 12, 1), TermView("expiring", 31)),
        (date(2027, 1, 1), TermView("expiring", 0)),  # the term's last day
        (date(2027, 1, 2), TermView("awaiting_delisting", -1)),
        (date(2027, 1, 6), TermView("awaiting_delisting", -5)),  # the last day to delist
        (date(2027, 1, 7), TermView("delisting_overdue", -6)),
    ],
)
def test_term_view_counts_to_the_term_end_then_to_the_delisting_deadline(
    on: date, view: TermView
) -> None:
    assert term_view(date(2027, 1, 1), date(2027, 1, 6), on) == view


def test_an_expiring_search_includes_the_last_day_of_its_window() -> None:
    assert expiring_term_ends_before(date(2026, 12, 22), 10) == date(2027, 1, 2)
    assert expiring_term_ends_before(date(2026, 12, 22), 0) == date(2026, 12, 23)
    # Beyond the calendar: no bound rather than an error.
    assert expiring_term_ends_before(date(9999, 12, 1), 30) is None
    assert expiring_term_ends_before(date(2026, 12, 22), 4_000_000_000) is None
