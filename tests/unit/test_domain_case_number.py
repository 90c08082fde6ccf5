"""Case numbers (案号) and court codes: DOMAIN.md examples and the malformed cases."""

from __future__ import annotations

from datetime import date

import pytest

from sync.domain.case_number import (
    COURT_PROVINCES,
    CaseNumber,
    CourtCode,
    check_case_year,
    court_level,
    parse_case_number,
    parse_court_code,
    require_enforcement_case,
)
from sync.domain.errors import ValidationError

CHENGDU = ("川01",)


def test_domain_md_example_parses() -> None:
    case = parse_case_number("（2024）川0104执1234号")
    assert case == CaseNumber(year=2024, court="川0104", case_type="执", serial=1234)
    assert case.text == "（2024）川0104执1234号"
    assert court_level(case.court) == "basic"
    assert case.is_enforcement_basis and case.is_enforcement


def test_ascii_parentheses_normalise_to_full_width() -> None:
    case = parse_case_number("(2024)川0104执1234号")
    assert case.text == "（2024）川0104执1234号"
    assert parse_case_number("  （2024)川0104执1234号 ").text == case.text


@pytest.mark.parametrize(
    ("court", "level"),
    [
        ("川", "high"),
        ("川01", "intermediate"),
        ("川0104", "basic"),
        ("川0191", "basic"),  # 成都高新区
        ("川71", "intermediate"),  # special (railway transport) intermediate court
        ("川7101", "basic"),
        ("渝8601", "basic"),
        ("渝05", "intermediate"),
        ("渝0103", "basic"),  # 渝中
    ],
)
def test_court_levels(court: str, level: str) -> None:
    assert court_level(court) == level
    assert parse_court_code(court).text == court


def test_court_level_accepts_parsed_code() -> None:
    assert court_level(CourtCode("川", "01")) == "intermediate"


def test_every_provincial_court_character_is_known() -> None:
    # 31 provincial-level units as written in case numbers (内 Inner Mongolia, 黔, 云), + 兵.
    assert len(COURT_PROVINCES - {"兵"}) == 31
    for province in COURT_PROVINCES:
        assert parse_case_number(f"（2023）{province}01执5号").court == f"{province}01"


@pytest.mark.parametrize(
    ("text", "case_type", "basis"),
    [
        ("（2024）川0104执恢12号", "执恢", True),
        ("（2024）川0104执保3号", "执保", True),
        ("（2024）川0104执异7号", "执异", False),
        ("（2024）川01执复7号", "执复", False),
        ("（2024）川执监7号", "执监", False),
        ("（2024）川0104执协7号", "执协", False),
        ("（2024）川0104执他7号", "执他", False),
    ],
)
def test_enforcement_types(text: str, case_type: str, basis: bool) -> None:
    case = parse_case_number(text)
    assert case.case_type == case_type
    assert case.is_enforcement
    assert case.is_enforcement_basis is basis


@pytest.mark.parametrize("case_type", ["民初", "民终", "刑初", "行初", "财保"])
def test_non_enforcement_types_parse_but_are_not_enforcement(case_type: str) -> None:
    case = parse_case_number(f"（2023）川0104{case_type}5678号")
    assert case.case_type == case_type
    assert not case.is_enforcement and not case.is_enforcement_basis


def test_special_tribunal_character() -> None:
    case = parse_case_number("(2024)川01知民初45号")
    assert (case.court, case.tribunal, case.case_type) == ("川01", "知", "民初")
    assert case.text == "（2024）川01知民初45号"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2024川0104执1234号", "format"),  # no parentheses
        ("（2024）川0104执1234", "format"),  # no 号
        ("（2024）川0104执号", "format"),  # no serial
        ("（24）川0104执1号", "format"),
        ("（２０２４）川0104执1号", "format"),  # full-width digits
        ("（2024）川010执1号", "format"),  # odd number of court digits
        ("（2024）川010401执1号", "format"),  # six court digits
        ("（2024）X0104执1号", "format"),
        ("（2024）最高法执监1号", "format"),  # supreme court code: not a provincial court
        ("（1989）川0104执1号", "year"),
        ("（2101）川0104执1号", "year"),
        ("（2024）川0104执0号", "serial"),
        ("（2024）川0104执01号", "serial"),
        ("（2024）川0104执123456789号", "serial"),
        ("（2024）川0104执行1号", "case_type"),
    ],
)
def test_malformed_case_numbers(text: str, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_case_number(text, field="case")
    assert (info.value.field, info.value.rule) == ("case", rule)
    assert str(info.value).startswith("case：") and " / case: " in str(info.value)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(ValidationError) as info:
        parse_case_number(2024)  # type: ignore[arg-type]
    assert info.value.rule == "type"


def test_unparsed_text_is_not_echoed() -> None:
    pasted_id = "（2024）川0104执510104199003071237号X"
    with pytest.raises(ValidationError) as info:
        parse_case_number(pasted_id)
    assert "510104199003071237" not in str(info.value)


def test_require_enforcement_case_accepts_basis_types_under_prefix() -> None:
    for text in ("（2024）川0104执1号", "（2024）川01执恢2号", "(2024)川0191执保3号"):
        assert require_enforcement_case(text, CHENGDU).court.startswith("川01")


def test_require_enforcement_case_refuses_non_enforcement_type() -> None:
    with pytest.raises(ValidationError) as info:
        require_enforcement_case("（2023）川0104民初5678号", CHENGDU)
    assert info.value.rule == "case_type"
    assert "民初" in str(info.value)


def test_require_enforcement_case_refuses_objection_case() -> None:
    with pytest.raises(ValidationError) as info:
        require_enforcement_case("（2024）川0104执异7号", CHENGDU)
    assert info.value.rule == "case_type"
    # The example: the rule is "only 执 / 执恢 / 执保 cases", Chinese first.
    assert str(info.value) == (
        "案号（--case-number）：执异案件不得引用，仅限执行实施类案件（执、执恢、执保）（《案号规定》）"
        " / case_number: a 执异 case may not be cited: only 执 / 执恢 / 执保 cases"
    )


@pytest.mark.parametrize(
    "text", ["（2024）渝0103执1号", "（2024）川0302执1号", "（2024）川71执1号"]
)
def test_require_enforcement_case_refuses_other_courts(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        require_enforcement_case(text, CHENGDU, field="cited_case")
    assert (info.value.field, info.value.rule) == ("cited_case", "court_prefix")


def test_require_enforcement_case_with_several_prefixes() -> None:
    prefixes = ["渝01", "渝02", "渝03", "渝04", "渝05", "渝86"]
    assert require_enforcement_case("（2024）渝8601执9号", prefixes).court == "渝8601"
    with pytest.raises(ValidationError):
        require_enforcement_case("（2024）渝执9号", prefixes)  # high court not configured


def test_require_enforcement_case_with_no_prefixes_refuses() -> None:
    with pytest.raises(ValidationError) as info:
        require_enforcement_case("（2024）川0104执1号", [])
    assert info.value.rule == "court_prefix"


def test_refusals_read_in_the_courts_terms() -> None:
    """DOMAIN.md's worked examples, refused in Chinese first with the rule's source."""
    with pytest.raises(ValidationError) as info:
        require_enforcement_case("（2024）渝0103执1号", CHENGDU)
    assert info.value.zh == "法院渝0103不属本节点所辖法院（所辖法院代码前缀：川01）"
    with pytest.raises(ValidationError) as info:
        parse_case_number("（2015）川0104执12号")
    assert info.value.rule == "year"
    assert "此种案号自2016年1月1日起使用，《案号规定》" in info.value.zh
    with pytest.raises(ValidationError) as info:
        parse_case_number("（2024）渝06执1号")  # Chongqing has 渝01–渝05 only
    assert info.value.rule == "unknown_court"
    assert info.value.zh == "法院代码渝06不在法院代码表内（《案号规定》）"
    with pytest.raises(ValidationError) as info:
        parse_case_number("（2024）川0104执行1号")
    assert info.value.zh_text == "案号（--case-number）：案件类型代字不正确（《案号规定》）"


def test_a_case_year_after_the_current_year_or_a_date_is_refused() -> None:
    case = parse_case_number("（2025）川0104执1号")
    with pytest.raises(ValidationError) as info:
        check_case_year(case, "case_number", today=date(2024, 12, 31))
    assert info.value.zh == (
        "案号（2025）川0104执1号的收案年度2025年晚于本年度（2024年）（案号按立案年度编制，《案号规定》）"
    )
    with pytest.raises(ValidationError) as info:
        check_case_year(
            case,
            "case_number",
            today=date(2025, 6, 1),
            not_after=date(2024, 3, 1),
            not_after_field="filed_on",
        )
    assert "晚于立案时间（--filed-on）（2024-03-01）" in info.value.zh
    check_case_year(case, "case_number", today=date(2025, 1, 1), not_after=date(2025, 1, 1))
