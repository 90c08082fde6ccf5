"""Court codes and case numbers (案号).

Source: 最高人民法院关于人民法院案件案号的若干规定 (法〔2015〕137号, revised 法〔2018〕335号).
A case number is ``（year）`` + court code + [special-tribunal character] + case-type code +
serial + ``号``, e.g. ``（2024）川0104执1234号``. Case numbers and court codes are public
(they are published with every judgment and blacklist entry), so errors may echo them once
parsed; text that failed to parse is never echoed, as it may be anything (an ID number pasted
into the wrong field, a name).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sync.domain.courts_cn import require_known_court
from sync.domain.errors import ValidationError
from sync.domain.wording import ANHAO, field_label, known_field

__all__ = [
    "CASE_NUMBER_FIRST_YEAR",
    "COURT_PROVINCES",
    "ENFORCEMENT_BASIS_TYPES",
    "ENFORCEMENT_TYPES",
    "KNOWN_CASE_TYPES",
    "SPECIAL_TRIBUNALS",
    "CaseNumber",
    "CourtCode",
    "CourtLevel",
    "check_case_year",
    "court_level",
    "parse_case_number",
    "parse_court_code",
    "require_enforcement_case",
]

CourtLevel = Literal["high", "intermediate", "basic"]

# Province-level court characters as used in case numbers. These are not always the everyday
# abbreviations: Inner Mongolia is 内 (not 蒙), Guizhou 黔, Yunnan 云. 兵 (the Xinjiang
# Production and Construction Corps courts) is not a province but has its own court system
# and code, so it is accepted too.
COURT_PROVINCES: frozenset[str] = frozenset(
    "京津冀晋内辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔云藏陕甘青宁新" + "兵"
)

# 执行 case types. Only the first three open or carry an enforcement of a legal document and
# may therefore be cited by lookups, tasks and blacklist entries (DOMAIN.md).
ENFORCEMENT_BASIS_TYPES: frozenset[str] = frozenset({"执", "执恢", "执保"})
ENFORCEMENT_TYPES: frozenset[str] = ENFORCEMENT_BASIS_TYPES | frozenset(
    {"执异", "执复", "执监", "执协", "执他"}
)
# Common non-enforcement types: they parse, so an officer who pastes a judgment's number gets
# "not an enforcement case" rather than "malformed".
_OTHER_TYPES: frozenset[str] = frozenset(
    {
        "民初", "民终", "民申", "民再", "民抗", "民监", "民特", "民督", "民催", "民撤",
        "民辖", "民辖终", "民他", "刑初", "刑终", "刑申", "刑再", "刑抗", "刑核", "刑更",
        "刑医", "刑没", "刑他", "行初", "行终", "行申", "行再", "行抗", "行审", "行审复",
        "行他", "财保", "行保", "证保", "破申", "破", "破终", "强清", "司救", "赔", "委赔",
    }
)  # fmt: skip
KNOWN_CASE_TYPES: frozenset[str] = ENFORCEMENT_TYPES | _OTHER_TYPES

# Optional special-tribunal character between court code and type (2018 revision), e.g.
# （2024）川01知民初45号 for an intellectual-property tribunal.
SPECIAL_TRIBUNALS: frozenset[str] = frozenset({"知"})

# [0-9], not \d: \d also matches full-width and other Unicode digits.
_COURT_RE = re.compile(r"(?P<province>\S)(?P<digits>(?:[0-9]{2}){0,2})")
_CASE_RE = re.compile(
    r"[（(](?P<year>[0-9]{4})[）)]"
    r"(?P<province>\S)(?P<digits>[0-9]*)"
    r"(?P<chars>[\u4e00-\u9fff]{1,4})"
    r"(?P<serial>[0-9]+)号"
)
# Case numbers of this form exist from 2016: 法〔2015〕137号 applies to cases registered from
# 1 January 2016 (earlier cases were numbered as （2015）锦江执字第12号). The upper bound is the
# current year, which only the caller knows (`check_case_year`); 2100 stops a typo at parse.
CASE_NUMBER_FIRST_YEAR = 2016
_MIN_YEAR, _MAX_YEAR = CASE_NUMBER_FIRST_YEAR, 2100
_MAX_SERIAL_DIGITS = 8  # the longest in use: criminal review cases get 8-digit random serials


@dataclass(frozen=True)
class CourtCode:
    """A court code such as ``川`` (high), ``川01`` (intermediate) or ``川0104`` (basic)."""

    province: str
    digits: str

    @property
    def text(self) -> str:
        return self.province + self.digits

    @property
    def level(self) -> CourtLevel:
        # Special courts follow the same shape: 川71 (railway intermediate court) is
        # intermediate, 川7101 and 渝8601 are basic-level.
        if not self.digits:
            return "high"
        return "intermediate" if len(self.digits) == 2 else "basic"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class CaseNumber:
    """A parsed case number; `text` is its normalised form (full-width parentheses)."""

    year: int
    court: str
    case_type: str
    serial: int
    tribunal: str = ""  # optional special-tribunal character, usually empty

    @property
    def text(self) -> str:
        return f"（{self.year}）{self.court}{self.tribunal}{self.case_type}{self.serial}号"

    @property
    def court_code(self) -> CourtCode:
        return parse_court_code(self.court)

    @property
    def is_enforcement(self) -> bool:
        """Any 执 type, including objections, reviews and coordination cases."""
        return self.case_type in ENFORCEMENT_TYPES

    @property
    def is_enforcement_basis(self) -> bool:
        """执 / 执恢 / 执保: the only types lookups, tasks and blacklist entries may cite."""
        return self.case_type in ENFORCEMENT_BASIS_TYPES

    def __str__(self) -> str:
        return self.text


def parse_court_code(text: str, field: str = "court", *, registered: bool = True) -> CourtCode:
    """Parse ``川``, ``川01`` or ``川0104`` (province character + 0, 2 or 4 digits).

    A code of a province the court-code register covers (川, 渝) must be a registered court
    (rule "unknown_court", sync/domain/courts_cn.py) unless ``registered`` is False: a stored
    entry read back, whose court may have left the register since it was written.
    """
    if not isinstance(text, str):
        raise ValidationError(field, "type", "must be a string", zh="须为文本")
    stripped = text.strip()
    match = _COURT_RE.fullmatch(stripped)
    if match is None:
        raise ValidationError(
            field,
            "format",
            "a court code is a province character followed by 0, 2 or 4 digits, "
            "e.g. 川, 川01, 川0104",
            zh=f"法院代码为省级简称加0、2或4位数字，如川、川01、川0104（{ANHAO}）",
        )
    if match["province"] not in COURT_PROVINCES:
        raise ValidationError(
            field,
            "format",
            "the court code has an unknown province character",
            zh=f"法院代码的省级简称不正确（{ANHAO}）",
        )
    code = CourtCode(match["province"], match["digits"])
    if registered:
        require_known_court(code.text, field)
    return code


def court_level(court: str | CourtCode) -> CourtLevel:
    """The court's level, from the number of digits in its code (0, 2 or 4)."""
    code = court if isinstance(court, CourtCode) else parse_court_code(court)
    return code.level


def parse_case_number(
    text: str, field: str = "case_number", *, registered: bool = True
) -> CaseNumber:
    """Parse and normalise a case number; ASCII parentheses become full-width ones. Its court
    must be registered (see `parse_court_code`) unless ``registered`` is False."""
    if not isinstance(text, str):
        raise ValidationError(field, "type", "must be a string", zh="须为文本")
    stripped = text.strip()
    match = _CASE_RE.fullmatch(stripped)
    if match is None:
        raise ValidationError(
            field,
            "format",
            "not a case number of the form （2024）川0104执1234号",
            zh=f"不是有效的案号，格式如（2024）川0104执1234号（{ANHAO}）",
        )
    court = parse_court_code(match["province"] + match["digits"], field, registered=registered)
    year, serial_s = int(match["year"]), match["serial"]
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValidationError(
            field,
            "year",
            f"year {year} is outside {_MIN_YEAR}..{_MAX_YEAR} (case numbers of this form "
            "exist from 2016, 法〔2015〕137号)",
            zh=f"收案年度{year}年不在{_MIN_YEAR}至{_MAX_YEAR}年之间"
            f"（此种案号自2016年1月1日起使用，{ANHAO}）",
        )
    if serial_s.startswith("0"):
        raise ValidationError(
            field,
            "serial",
            "serial must be a positive number without leading zeros",
            zh=f"案件编号须为正整数，不以0开头（{ANHAO}）",
        )
    if len(serial_s) > _MAX_SERIAL_DIGITS:
        raise ValidationError(
            field,
            "serial",
            f"serial has more than {_MAX_SERIAL_DIGITS} digits",
            zh=f"案件编号不得超过{_MAX_SERIAL_DIGITS}位",
        )
    tribunal, case_type = _split_type(match["chars"], field)
    return CaseNumber(year, court.text, case_type, int(serial_s), tribunal)


def _split_type(chars: str, field: str) -> tuple[str, str]:
    """Separate an optional special-tribunal character from the case-type code."""
    if chars in KNOWN_CASE_TYPES:
        return "", chars
    if chars[0] in SPECIAL_TRIBUNALS and chars[1:] in KNOWN_CASE_TYPES:
        return chars[0], chars[1:]
    raise ValidationError(
        field, "case_type", "unknown case-type code", zh=f"案件类型代字不正确（{ANHAO}）"
    )


def court_served(court: str, prefixes: Sequence[str]) -> bool:
    """Whether court code ``court`` starts with one of ``prefixes`` (empty ones never
    match). The one rule of court entitlement: a node's preparers refuse a draft for a court
    it does not serve, and every node's folds ignore such a fact from its origin, with the
    prefixes of the origin's log-signing certificate (sync/folds/blacklist.py)."""
    assert not isinstance(prefixes, str), "prefixes is a sequence of prefixes, not one string"
    return any(prefix and court.startswith(prefix) for prefix in prefixes)


def case_court(text: str) -> str:
    """The court code of a case number as written (the province character and the digits
    after the year), without checking the rest; "" if it does not start like a case number.
    Cheap enough for a fold over every listing of a catch-up."""
    match = _CASE_COURT_RE.match(text)
    return match[1] if match else ""


_CASE_COURT_RE = re.compile(r"\s*[（(]\s*\d{4}\s*[）)]\s*([\u4e00-\u9fff]\d{0,4})")


def check_case_year(
    case: CaseNumber,
    field: str,
    *,
    today: date,
    not_after: date | None = None,
    not_after_field: str = "",
) -> None:
    """Rule "year": the case's year may not be after the current year (``today``, the node's
    clock or as-of date) nor after ``not_after`` (a filing or listing date), when given: a
    case is numbered in the year it is registered (法〔2015〕137号)."""
    if case.year > today.year:
        raise ValidationError(
            field,
            "year",
            f"year {case.year} of case {case.text} is after the current year",
            zh=f"案号{case.text}的收案年度{case.year}年晚于本年度（{today.year}年）"
            f"（案号按立案年度编制，{ANHAO}）",
        )
    if not_after is not None and case.year > not_after.year:
        # ``not_after_field`` names a field (``filed_on``) or says the date in English.
        when = field_label(not_after_field) if known_field(not_after_field) else "所述日期"
        raise ValidationError(
            field,
            "year",
            f"year {case.year} of case {case.text} is after the {not_after_field or 'date'} "
            f"({not_after.isoformat()})",
            zh=f"案号{case.text}的收案年度{case.year}年晚于{when}（{not_after.isoformat()}）"
            f"（案号按立案年度编制，{ANHAO}）",
        )


def require_enforcement_case(
    text: str,
    prefixes: Sequence[str],
    field: str = "case_number",
    *,
    today: date | None = None,
    registered: bool = True,
) -> CaseNumber:
    """Parse a case number that an enforcement action may cite at this node.

    Rule "case_type" unless it is a 执 / 执恢 / 执保 case; rule "court_prefix" unless its
    court code starts with one of the node's configured `prefixes` (e.g. ``["川01"]``);
    rule "unknown_court" for a court outside the register (unless ``registered`` is False);
    with ``today``, rule "year" for a case of a later year (`check_case_year`).
    """
    assert not isinstance(prefixes, str), "prefixes is a sequence of prefixes, not one string"
    case = parse_case_number(text, field, registered=registered)
    if today is not None:
        check_case_year(case, field, today=today)
    if not case.is_enforcement_basis:
        raise ValidationError(
            field,
            "case_type",
            f"a {case.case_type} case may not be cited: only 执 / 执恢 / 执保 cases",
            zh=f"{case.case_type}案件不得引用，仅限执行实施类案件（执、执恢、执保）（{ANHAO}）",
        )
    if not court_served(case.court, prefixes):
        allowed = [p for p in prefixes if p]
        raise ValidationError(
            field,
            "court_prefix",
            f"court {case.court} is not served by this node "
            f"(prefixes: {', '.join(allowed) or 'none configured'})",
            zh=f"法院{case.court}不属本节点所辖法院"
            f"（所辖法院代码前缀：{'、'.join(allowed) or '未配置'}）",
        )
    return case
