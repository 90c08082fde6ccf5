"""Resident IDs (GB 11643), credit codes (GB 32100-2015), ages and masking."""

from __future__ import annotations

import pickle
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.domain.errors import ValidationError
from sync.domain.identifiers import (
    CREDIT_CODE_ALPHABET,
    CREDIT_CODE_MASK,
    DEFAULT_MASK,
    MaskPolicy,
    age_on,
    credit_code_check_char,
    credit_code_weighted_sum,
    is_minor_on,
    mask_id,
    mask_name,
    resident_id_check_char,
    resident_id_weighted_sum,
    validate_credit_code,
    validate_org_code,
    validate_resident_id,
)

# Deterministic and leaves no .hypothesis/ directory behind.
FAST = settings(max_examples=150, database=None, derandomize=True, deadline=None)

# Independent of the code under test: the formulas exactly as DOMAIN.md states them.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def with_id_check(body: str) -> str:
    s = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[s % 11]


def with_cc_check(body: str) -> str:
    s = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(body, CC_WEIGHTS, strict=True))
    return body + CREDIT_CODE_ALPHABET[(31 - s % 31) % 31]


def make_id(birth: date, sequence: int = 123, area: str = "510104") -> str:
    return with_id_check(f"{area}{birth:%Y%m%d}{sequence:03d}")


valid_ids = st.builds(
    make_id,
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 999),
    st.from_regex(r"[0-9]{6}", fullmatch=True),
)
valid_credit_codes = st.from_regex(f"[{CREDIT_CODE_ALPHABET}]{{17}}", fullmatch=True).map(
    with_cc_check
)


# ------------------------------------------------------------------ resident ID


def test_domain_md_id_example_s_167_gives_x() -> None:
    assert resident_id_weighted_sum("11010519491231002") == 167
    assert 167 % 11 == 2
    assert resident_id_check_char("11010519491231002") == "X"
    rid = validate_resident_id("11010519491231002X")
    assert rid.number == "11010519491231002X"
    assert rid.area_code == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sequence == 2
    assert rid.sex == "F"  # even sequence
    assert rid.check_char == "X"


def test_lower_case_x_is_normalised() -> None:
    assert validate_resident_id(" 11010519491231002x ").number == "11010519491231002X"


def test_odd_sequence_is_male() -> None:
    assert validate_resident_id("510104199003071237").sex == "M"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("11010519491231002", "length"),
        ("11010519491231002XX", "length"),
        ("", "length"),
        ("1101051949123100X2", "format"),
        ("11010519491231002Y", "format"),
        ("１１０１０５１９４９１２３１００２Ｘ", "format"),  # full-width digits
        (make_id(date(2000, 1, 1))[:10] + "0230" + "1230", "birth_date"),  # 30 February
        ("110105189912310020", "birth_date"),  # before 1900
        ("110105194912310021", "checksum"),
    ],
)
def test_invalid_resident_ids(value: str, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_resident_id(value, field="debtor_id")
    assert (info.value.field, info.value.rule) == ("debtor_id", rule)
    # Chinese first (the field is named as it is: this one has no Chinese name), English after.
    assert str(info.value).startswith("debtor_id：") and " / debtor_id: " in str(info.value)
    if rule in ("length", "format", "checksum"):
        assert "（GB 11643）" in info.value.zh


@FAST
@given(valid_ids)
def test_every_generated_valid_id_passes(number: str) -> None:
    rid = validate_resident_id(number)
    assert rid.number == number
    assert rid.sex == ("M" if int(number[14:17]) % 2 else "F")


@FAST
@given(valid_ids, st.data())
def test_every_single_character_corruption_fails(number: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, 17), label="position")
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != number[pos]))
    corrupted = number[:pos] + replacement + number[pos + 1 :]
    assert resident_id_check_char(corrupted[:17]) != corrupted[17]
    with pytest.raises(ValidationError) as info:
        validate_resident_id(corrupted)
    # A corrupted date digit may already make the date impossible.
    assert info.value.rule in {"checksum", "birth_date"}


def test_result_prints_masked() -> None:
    rid = validate_resident_id("510104199003071237")
    assert "510104199003071237" not in repr(rid)
    assert "03071237" not in str(rid)
    assert rid.masked == "5101041990****1237"


# ------------------------------------------------------------------------- ages


def test_age_counts_the_new_year_from_the_day_after_the_birthday() -> None:
    rid = validate_resident_id(make_id(date(2006, 5, 20)))
    assert age_on(rid, date(2024, 5, 19)) == 17
    assert age_on(rid, date(2024, 5, 20)) == 17  # the 18th birthday itself
    assert age_on(rid, date(2024, 5, 21)) == 18
    assert is_minor_on(rid, date(2024, 5, 20))
    assert not is_minor_on(rid, date(2024, 5, 21))
    assert age_on(rid, date(2006, 5, 20)) == 0


def test_leap_day_birthday_completes_on_28_february() -> None:
    rid = validate_resident_id(make_id(date(2004, 2, 29)))
    assert is_minor_on(rid, date(2022, 2, 28))
    assert not is_minor_on(rid, date(2022, 3, 1))
    assert age_on(rid, date(2020, 3, 1)) == 16


def test_age_before_birth_is_refused() -> None:
    rid = validate_resident_id(make_id(date(2006, 5, 20)))
    with pytest.raises(ValidationError) as info:
        age_on(rid, date(2006, 5, 19))
    assert info.value.rule == "birth_date"


# -------------------------------------------------------------------- credit code


def test_domain_md_credit_code_example_s_1640_gives_3() -> None:
    assert credit_code_weighted_sum("91350100M000100Y4") == 1640
    assert 1640 % 31 == 28
    assert credit_code_check_char("91350100M000100Y4") == "3"
    check = validate_credit_code("91350100M000100Y43")
    assert check.checksum_ok and check.warning is None
    assert check.code == "91350100M000100Y43"
    assert check.registration_authority == "9"
    assert check.organisation_category == "1"
    assert check.area_code == "350100"
    assert check.organisation_code == "M000100Y4"
    assert check.check_char == "3"


def test_credit_code_is_upper_cased() -> None:
    assert validate_credit_code("91350100m000100y43").code == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100I43", "format"),  # I is not in the alphabet
        ("91350100M000100O43", "format"),
        ("91350100M000100Y4-", "format"),
        ("91350100M000100Y44", "checksum"),
    ],
)
def test_invalid_credit_codes(value: str, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_credit_code(value)
    assert (info.value.field, info.value.rule) == ("credit_code", rule)


def test_bad_checksum_accepted_with_warning_when_officer_confirms() -> None:
    check = validate_credit_code("91350100M000100Y44", allow_bad_checksum=True)
    assert not check.checksum_ok
    assert check.warning is not None
    assert check.warning.startswith("统一社会信用代码（--credit-code）：校验码不符（GB 32100）")
    assert " / credit_code: check character does not match GB 32100-2015" in check.warning
    assert "91350100M000100Y44" not in check.warning


def test_confirmation_does_not_excuse_format_errors() -> None:
    with pytest.raises(ValidationError) as info:
        validate_credit_code("91350100M000100Y4", allow_bad_checksum=True)
    assert info.value.rule == "length"


@FAST
@given(valid_credit_codes, st.data())
def test_credit_code_checksum_catches_every_single_substitution(
    code: str, data: st.DataObject
) -> None:
    assert validate_credit_code(code).checksum_ok
    pos = data.draw(st.integers(0, 17), label="position")
    replacement = data.draw(st.sampled_from(CREDIT_CODE_ALPHABET).filter(lambda c: c != code[pos]))
    corrupted = code[:pos] + replacement + code[pos + 1 :]
    with pytest.raises(ValidationError) as info:
        validate_credit_code(corrupted)
    assert info.value.rule == "checksum"


# --------------------------------------------------------------- never echo values


@FAST
@given(
    st.one_of(
        valid_ids,
        valid_credit_codes,
        st.text(alphabet="0123456789Xx", min_size=15, max_size=19),
        st.text(alphabet=CREDIT_CODE_ALPHABET + "IOSVZ-", min_size=16, max_size=19),
    ),
    st.data(),
)
def test_no_validation_error_contains_the_value(value: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, max(len(value) - 1, 0)))
    corrupted = value[:pos] + "7" + value[pos + 1 :]
    for candidate in (value, corrupted):
        for validate in (validate_resident_id, validate_credit_code):
            try:
                validate(candidate)
            except ValidationError as err:
                for shown in (str(err), repr(err), err.explanation, *map(str, err.args)):
                    assert candidate not in shown
                    assert candidate.strip().upper() not in shown
                # No chained exception (e.g. int()'s "invalid literal …") may carry it either.
                assert err.__cause__ is None
                assert err.__context__ is None or err.__suppress_context__


# ------------------------------------------------------------------------ masking


def test_domain_md_mask_example() -> None:
    assert mask_id("510104199003071237") == "5101041990****1237"
    assert mask_id("510104199003071237", DEFAULT_MASK) == "5101041990****1237"
    assert mask_id("11010519491231002x") == "1101051949****002X"


def test_credit_code_mask_keeps_first_six_and_last_four() -> None:
    assert mask_id("91350100M000100Y43", CREDIT_CODE_MASK) == "913501********0Y43"


def test_configurable_positions_and_mask_char() -> None:
    policy = MaskPolicy(hidden_positions=frozenset(range(7, 15)), mask_char="#")
    assert mask_id("510104199003071237", policy) == "510104########1237"


def test_unknown_shape_keeps_at_most_the_last_four_and_at_most_half() -> None:
    assert mask_id("510104900307123") == "***********7123"  # old 15-digit ID
    assert mask_id("6222021234567890123") == "***************0123"
    assert mask_id("123456") == "***456"
    assert mask_id("12") == "*2"
    assert mask_id("") == ""


def test_mask_never_raises_on_malformed_values() -> None:
    assert mask_id("51010419900307123Y") == "5101041990****123Y"  # right length, bad content


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mask_char": "**"},
        {"hidden_positions": frozenset({0})},
        {"hidden_positions": frozenset({19})},
        {"hidden_positions": frozenset()},
        {"fallback_keep_tail": -1},
    ],
)
def test_bad_mask_policy_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MaskPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("李四", "李*"),
        ("欧阳娜娜", "欧***"),
        (" 王五 ", "王*"),
        ("王", "*"),
        ("", ""),
    ],
)
def test_mask_person_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_organisation_names_are_public() -> None:
    assert mask_name("成都某某建筑有限公司", organisation=True) == "成都某某建筑有限公司"
    assert mask_name("张三丰", mask_char="○") == "张○○"


# ------------------------------------------------------------------------- errors


def test_validation_error_survives_pickling_with_its_attributes() -> None:
    err = ValidationError(
        "id_number",
        "checksum",
        "check character does not match",
        zh="校验码不符（GB 11643）",
        line_no=7,
    )
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.field, copy.rule, copy.line_no, copy.zh, str(copy)) == (
        "id_number",
        "checksum",
        7,
        "校验码不符（GB 11643）",
        "第7行（line 7）：身份证号（--id-number）：校验码不符（GB 11643）"
        " / id_number: check character does not match",
    )
    assert isinstance(copy, ValueError)


def test_refusals_name_the_standard_and_never_the_number() -> None:
    """DOMAIN.md's worked examples with a wrong check character, as the officer reads them."""
    cases = [
        (
            validate_resident_id,
            "110105194912310021",
            "身份证号（--id-number）：校验码不符（GB 11643）",
        ),
        (
            validate_credit_code,
            "91350100M000100Y44",
            "统一社会信用代码（--credit-code）：校验码不符（GB 32100）",
        ),
        (validate_org_code, "M000100Y-5", "组织机构代码（--org-code）：校验码不符（GB 11714）"),
    ]
    for validate, value, sentence in cases:
        with pytest.raises(ValidationError) as info:
            validate(value)
        assert info.value.rule == "checksum"
        assert info.value.zh_text.startswith(sentence)
        assert value not in str(info.value) and value.replace("-", "") not in str(info.value)
    with pytest.raises(ValidationError) as info:
        validate_credit_code("91350100M000100Y4O")
    assert info.value.zh == "只能由数字和除I、O、S、V、Z以外的大写字母组成（GB 32100）"
