"""失信被执行人名单: listing, delisting and correction rules as pure validation.

Source: 最高人民法院关于公布失信被执行人名单信息的若干规定 (法释〔2017〕7号); see DOMAIN.md.
Every function takes plain values and the relevant dates; nothing here reads a clock.
Names, ID numbers and credit codes never appear in errors, and the record types print them
masked or not at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, TypeVar

from sync.domain.calendar import DEFAULT_CALENDAR, WorkCalendar, WorkdayCount, add_years
from sync.domain.case_number import (
    CaseNumber,
    check_case_year,
    parse_court_code,
    require_enforcement_case,
)
from sync.domain.courts_cn import court_name
from sync.domain.errors import ValidationError
from sync.domain.identifiers import (
    Sex,
    age_on,
    is_minor_on,
    validate_credit_code,
    validate_org_code,
    validate_resident_id,
)
from sync.domain.wording import SHIXIN

__all__ = [
    "ACT_WITHIN_WORKDAYS",
    "DEFAULT_TERM_YEARS",
    "MAX_EXTENSION_YEARS",
    "REPRESENTATIVES_MAX",
    "TERM_WARNING_DAYS",
    "ActDeadline",
    "CreditRepair",
    "DebtorType",
    "DelistGround",
    "ListingGround",
    "ListingRecord",
    "Representative",
    "RepresentativeRole",
    "TermExtension",
    "TermView",
    "ValidatedDelisting",
    "ValidatedListing",
    "act_deadline",
    "expiring_term_ends_before",
    "parse_listing_json",
    "term_view",
    "validate_correction",
    "validate_delisting",
    "validate_listing",
]

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

DEFAULT_TERM_YEARS: Final = 2  # art. 2: grounds G2–G6
MAX_EXTENSION_YEARS: Final = 3  # art. 2: extendable by 1–3 years
ACT_WITHIN_WORKDAYS: Final = 3  # arts. 2, 9, 10: delist / revoke / correct within 3 working days
# How far ahead `blacklist list --expiring` looks by default. No source sets a warning for a
# listing's term: a configurable default, the same 30 days as the seizure warning.
TERM_WARNING_DAYS: Final = 30


# ----------------------------------------------------------------------------- enums


class ListingGround(StrEnum):
    """Art. 1: why a debtor is listed."""

    G1 = "G1"
    G2 = "G2"
    G3 = "G3"
    G4 = "G4"
    G5 = "G5"
    G6 = "G6"

    @property
    def label_zh(self) -> str:
        return _LISTING_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LISTING_LABELS[self][1]

    @property
    def has_fixed_term(self) -> bool:
        """G1 lasts until a delisting ground applies; G2–G6 run for a term (art. 2)."""
        return self is not ListingGround.G1


_LISTING_LABELS: Final[dict[ListingGround, tuple[str, str]]] = {
    ListingGround.G1: ("有履行能力而拒不履行生效法律文书确定义务", "able to perform but refuses"),
    ListingGround.G2: (
        "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
        "obstructs or resists enforcement by forgery, violence or threats",
    ),
    ListingGround.G3: (
        "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
        "evades enforcement by sham litigation or arbitration, or by hiding or moving assets",
    ),
    ListingGround.G4: ("违反财产报告制度", "breaches the asset reporting duty"),
    ListingGround.G5: ("违反限制消费令", "breaches a consumption restriction order"),
    ListingGround.G6: (
        "无正当理由拒不履行执行和解协议",
        "refuses without good cause to perform an enforcement settlement",
    ),
}


class TermExtension(StrEnum):
    """Art. 2: the only reasons a G2–G6 term of two years may be extended by 1–3 years.

    Same members as ``ccnode.v1.TermExtension`` on the wire.
    """

    VIOLENCE_OR_THREATS = "VIOLENCE_OR_THREATS"
    MULTIPLE_DISHONEST_ACTS = "MULTIPLE_DISHONEST_ACTS"

    @property
    def label_zh(self) -> str:
        return _EXTENSION_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _EXTENSION_LABELS[self][1]


_EXTENSION_LABELS: Final[dict[TermExtension, tuple[str, str]]] = {
    TermExtension.VIOLENCE_OR_THREATS: (
        "以暴力、威胁方法妨碍、抗拒执行情节严重",
        "obstructed or resisted enforcement by violence or threats, seriously",
    ),
    TermExtension.MULTIPLE_DISHONEST_ACTS: ("具有多项失信行为", "several acts of dishonesty"),
}


class DelistGround(StrEnum):
    """Art. 10 grounds D1–D7, plus revocation (art. 9) and term expiry (art. 2).

    Same members as ``ccnode.v1.DelistGround`` on the wire.
    """

    D1 = "D1"
    D2 = "D2"
    D3 = "D3"
    D4 = "D4"
    D5 = "D5"
    D6 = "D6"
    D7 = "D7"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"

    @property
    def label_zh(self) -> str:
        return _DELIST_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _DELIST_LABELS[self][1]


_DELIST_LABELS: Final[dict[DelistGround, tuple[str, str]]] = {
    DelistGround.D1: ("已履行全部义务", "obligation fully performed"),
    DelistGround.D2: ("执行和解协议已履行完毕", "settlement agreement fully performed"),
    DelistGround.D3: (
        "申请执行人书面申请删除，人民法院审查同意",
        "creditor's written request, approved by the court",
    ),
    DelistGround.D4: (
        "终结本次执行程序后，通过网络执行查控系统查询两次以上未发现有可供执行财产",
        "after termination of this enforcement round, two online asset searches found nothing",
    ),
    DelistGround.D5: (
        "因审判监督或破产程序中止执行",
        "execution suspended for retrial or bankruptcy",
    ),
    DelistGround.D6: ("人民法院依法裁定不予执行", "execution refused (不予执行)"),
    DelistGround.D7: ("人民法院依法裁定终结执行", "execution terminated (终结执行)"),
    DelistGround.REVOKED: ("撤销错误的失信决定（第九条）", "wrong listing revoked (art. 9)"),
    DelistGround.EXPIRED: ("纳入期限届满", "listing term expired"),
}


class CreditRepair(StrEnum):
    """信用修复: which early-delisting route a delisting records (DOMAIN.md)."""

    ACTIVE_PERFORMANCE = "ACTIVE_PERFORMANCE"  # art. 2 ¶2
    CREDITOR_REQUEST = "CREDITOR_REQUEST"  # art. 10 D3
    NONE = "NONE"

    @property
    def label_zh(self) -> str:
        return {
            CreditRepair.ACTIVE_PERFORMANCE: "积极履行",
            CreditRepair.CREDITOR_REQUEST: "申请执行人申请",
            CreditRepair.NONE: "无",
        }[self]


class RepresentativeRole(StrEnum):
    """Whom a listed organisation's consumption restriction (限制消费令) binds with it (DOMAIN.md;
    最高人民法院关于限制被执行人高消费及有关消费的若干规定 art. 3 ¶2). Same members as
    ``ccnode.v1.RepresentativeRole`` on the wire, lower-cased in the import format."""

    LEGAL_REPRESENTATIVE = "legal_representative"
    PRINCIPAL_MANAGER = "principal_manager"
    DIRECTLY_RESPONSIBLE = "directly_responsible"
    ACTUAL_CONTROLLER = "actual_controller"

    @property
    def label_zh(self) -> str:
        return _ROLE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _ROLE_LABELS[self][1]


_ROLE_LABELS: Final[dict[RepresentativeRole, tuple[str, str]]] = {
    RepresentativeRole.LEGAL_REPRESENTATIVE: ("法定代表人", "legal representative"),
    RepresentativeRole.PRINCIPAL_MANAGER: ("主要负责人", "principal manager"),
    RepresentativeRole.DIRECTLY_RESPONSIBLE: ("直接责任人员", "directly responsible person"),
    RepresentativeRole.ACTUAL_CONTROLLER: ("实际控制人", "actual controller"),
}
# How many representatives one listing may record: a bound against garbage, not a legal rule.
REPRESENTATIVES_MAX: Final = 20


@dataclass(frozen=True, kw_only=True)
class Representative:
    """A person an organisation's listing binds (限制消费); name and ID kept out of repr."""

    role: RepresentativeRole
    name: str = dataclass_field(repr=False)
    id_number: str = dataclass_field(repr=False)


class DebtorType(StrEnum):
    PERSON = "person"
    ORG = "org"

    @property
    def label_zh(self) -> str:
        return "自然人" if self is DebtorType.PERSON else "法人或其他组织"


# Which credit-repair mark each delisting ground admits. D3 *is* the creditor's request, so it
# requires that mark. Early deletion for active performance (art. 2 ¶2) is recorded on a
# performance ground (D1, D2); the other grounds are not repairs.
_CREDIT_REPAIR_ALLOWED: Final[dict[DelistGround, frozenset[CreditRepair]]] = {
    DelistGround.D1: frozenset({CreditRepair.NONE, CreditRepair.ACTIVE_PERFORMANCE}),
    DelistGround.D2: frozenset({CreditRepair.NONE, CreditRepair.ACTIVE_PERFORMANCE}),
    DelistGround.D3: frozenset({CreditRepair.CREDITOR_REQUEST}),
}
_NOT_A_REPAIR: Final = frozenset({CreditRepair.NONE})


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True, kw_only=True)
class ListingRecord:
    """One listing as imported (JSON lines) or entered; personal fields are kept out of repr."""

    case_number: str
    court: str
    debtor_type: DebtorType
    name: str = dataclass_field(repr=False)
    id_number: str | None = dataclass_field(default=None, repr=False)  # persons
    credit_code: str | None = dataclass_field(default=None, repr=False)  # organisations
    # 组织机构代码: an organisation without a credit code (art. 6 "或者组织机构代码").
    org_code: str | None = dataclass_field(default=None, repr=False)
    sex: Sex | None = None  # persons; derived from the ID when absent
    legal_representative: str | None = dataclass_field(default=None, repr=False)  # orgs
    obligation: str = dataclass_field(repr=False)
    performance: str = dataclass_field(repr=False)
    ground: ListingGround
    term_years: int | None = None  # absent: 0 for G1 (no term), 2 for G2–G6; 0 on the wire = G1
    basis_issuer: str
    basis_number: str
    filed_on: date
    conduct: str | None = dataclass_field(default=None, repr=False)
    listed_on: date | None = None
    # Organisations: whom the consumption restriction binds with it (legal representative, ...).
    representatives: tuple[Representative, ...] = dataclass_field(default=(), repr=False)
    term_extension: TermExtension | None = None  # required for a term over 2 years


@dataclass(frozen=True)
class ValidatedListing:
    """A listing that passed every rule, normalised, with its computed dates."""

    record: ListingRecord  # normalised; `listed_on` set, `term_years` 0 for G1
    case: CaseNumber
    debtor_age: int | None  # published for persons (art. 6); age on the listing date
    term_end: date | None  # last day of the term; None for G1
    delist_due_by: date | None  # term_end + 3 working days; None for G1
    warnings: tuple[str, ...] = ()
    # Years the count to delist_due_by had no published holidays for (counted Monday–Friday).
    # Usual for a term ending beyond the last notice; not a listing warning, since the officer
    # can do nothing about it: a delisting at the term's end warns if it is still so.
    delist_due_uncovered_years: tuple[int, ...] = ()
    court_name: str = ""  # the enforcing court's name (art. 6), from the court-code register
    # The officer confirmed a credit code that fails its check character: recorded in the entry.
    credit_code_confirmed: bool = False

    @property
    def listed_on(self) -> date:
        assert self.record.listed_on is not None
        return self.record.listed_on


@dataclass(frozen=True)
class ValidatedDelisting:
    ground: DelistGround
    reason: str = dataclass_field(repr=False)
    on: date
    credit_repair: CreditRepair
    due_by: date | None  # last day to act, when the date the ground arose is known
    warnings: tuple[str, ...] = ()
    ground_arose_on: date | None = None

    @property
    def late(self) -> bool:
        return self.due_by is not None and self.on > self.due_by


# ------------------------------------------------------------------------ text fields

# Generous limits: they stop pasted documents and garbage, not real names or obligations.
_MAX_CHARS: Final[dict[str, int]] = {
    "name": 200,
    "legal_representative": 100,
    "obligation": 2000,
    "performance": 500,
    "conduct": 2000,
    "basis_issuer": 200,
    "basis_number": 100,
    "reason": 1000,
}
_MULTILINE: Final = frozenset({"obligation", "conduct", "reason"})


def _text(value: object, field: str, *, required: bool = True) -> str | None:
    """Stripped text within its length limit, free of control characters; never echoed."""
    if value is None:
        if required:
            raise ValidationError(field, "required", "is required", zh="必须填写")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "type", "must be a string", zh="须为文本")
    text = value.strip()
    if not text:
        if required:
            raise ValidationError(field, "required", "must not be empty", zh="不得为空")
        return None
    limit = _MAX_CHARS[field]
    if len(text) > limit:
        raise ValidationError(
            field, "too_long", f"must be at most {limit} characters", zh=f"不得超过{limit}个字符"
        )
    allowed = "\n" if field in _MULTILINE else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise ValidationError(
            field, "format", "must not contain control characters", zh="不得含有控制字符"
        )
    return text


def _absent(value: object, field: str, why: str, zh: str) -> None:
    if value is not None and value != "":
        raise ValidationError(field, "not_allowed", why, zh=zh)


# ---------------------------------------------------------------------------- listing


def validate_listing(
    rec: ListingRecord,
    *,
    court_prefixes: Sequence[str],
    listed_on: date,
    confirm_bad_credit_code: bool = False,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    stored: bool = False,
    require_extension: bool = True,
) -> ValidatedListing:
    """Apply the listing rules of 法释〔2017〕7号 to `rec`, to be listed on `listed_on`.

    Raises ValidationError for the first rule broken. `confirm_bad_credit_code` records that
    an officer confirmed an organisation's credit code that fails its check character.

    ``stored`` reads back an entry already in the log (to delist or correct it): the rules
    of authoring that a release may add or a register update may change (the court-code
    register, the case year, the extension reason) are not applied again, so that a listing
    can always be delisted. ``require_extension`` False leaves the extension reason of a term
    over 2 years to the caller (`validate_correction`).
    """
    warnings: list[str] = []
    case = require_enforcement_case(
        rec.case_number, court_prefixes, "case_number", registered=not stored
    )
    court = parse_court_code(rec.court, "court", registered=not stored)
    if court.text != case.court:
        raise ValidationError(
            "court",
            "court_mismatch",
            f"court {court.text} is not the court of case {case.text} ({case.court})",
            zh=f"{court.text} 不是案件 {case.text} 的执行法院（{case.court}）（{SHIXIN}第六条）",
        )
    if rec.listed_on is not None and rec.listed_on != listed_on:
        raise ValidationError(
            "listed_on",
            "mismatch",
            "differs from the listing date given",
            zh=f"与纳入日期 {listed_on.isoformat()} 不一致",
        )
    if rec.filed_on > listed_on:
        raise ValidationError(
            "filed_on",
            "date_order",
            "filing date is after the listing date",
            zh=f"立案时间不得晚于纳入日期 {listed_on.isoformat()}",
        )
    if not stored:
        check_case_year(
            case, "case_number", today=listed_on, not_after=rec.filed_on,
            not_after_field="filing date",
        )  # fmt: skip
    if rec.filed_on.year != case.year:
        warnings.append(
            f"filed_on: filing year {rec.filed_on.year} differs from the case year {case.year}"
        )
    debtor_type = _enum(DebtorType, rec.debtor_type, "debtor_type")
    ground = _enum(ListingGround, rec.ground, "ground")
    debtor = _validate_debtor(rec, debtor_type, listed_on, confirm_bad_credit_code, warnings)
    term_years = _term_years(ground, rec.term_years)
    extension = _extension(
        term_years, rec.term_extension, required=require_extension and not stored
    )
    term_end = add_years(listed_on, term_years) if term_years else None
    due = calendar.count_workdays(term_end, ACT_WITHIN_WORKDAYS) if term_end else None
    record = replace(
        debtor.record,
        case_number=case.text,
        court=court.text,
        debtor_type=debtor_type,
        ground=ground,
        term_years=term_years,
        obligation=_required_text(rec.obligation, "obligation"),
        performance=_required_text(rec.performance, "performance"),
        basis_issuer=_required_text(rec.basis_issuer, "basis_issuer"),
        basis_number=_required_text(rec.basis_number, "basis_number"),
        conduct=_text(rec.conduct, "conduct", required=False),
        listed_on=listed_on,
        term_extension=extension,
    )
    return ValidatedListing(
        record,
        case,
        debtor.age,
        term_end,
        due.day if due else None,
        tuple(warnings),
        due.uncovered_years if due else (),
        court_name=court_name(court.text),
        credit_code_confirmed=debtor.credit_code_confirmed,
    )


@dataclass(frozen=True)
class _Debtor:
    record: ListingRecord  # the input with the debtor fields normalised
    age: int | None
    credit_code_confirmed: bool = False


def _validate_debtor(
    rec: ListingRecord,
    debtor_type: DebtorType,
    listed_on: date,
    confirm_bad_credit_code: bool,
    warnings: list[str],
) -> _Debtor:
    name = _required_text(rec.name, "name")
    if debtor_type is DebtorType.PERSON:
        _absent(
            rec.credit_code, "credit_code", "a person is identified by id_number",
            f"自然人以身份证号标识，不填统一社会信用代码（{SHIXIN}第六条）",
        )  # fmt: skip
        _absent(
            rec.org_code, "org_code", "a person is identified by id_number",
            f"自然人以身份证号标识，不填组织机构代码（{SHIXIN}第六条）",
        )  # fmt: skip
        _absent(
            rec.legal_representative, "legal_representative", "only for organisations",
            f"仅法人或其他组织填写（{SHIXIN}第六条）",
        )  # fmt: skip
        if rec.representatives:
            raise ValidationError(
                "representatives",
                "not_allowed",
                "only an organisation has representatives",
                zh="仅法人或其他组织有代表人",
            )
        if rec.id_number is None:
            raise ValidationError(
                "id_number",
                "required",
                "is required for a person",
                zh=f"自然人必须填写（{SHIXIN}第六条）",
            )
        rid = validate_resident_id(rec.id_number, "id_number")
        if rec.sex is not None and rec.sex != rid.sex:
            raise ValidationError(
                "sex",
                "sex_mismatch",
                "does not match the ID number",
                zh="与身份证号不符（GB 11643）",
            )
        if rid.birth_date > listed_on:
            raise ValidationError(
                "id_number",
                "birth_date",
                "birth date is after the listing date",
                zh="出生日期晚于纳入日期（GB 11643）",
            )
        if is_minor_on(rid, listed_on):
            raise ValidationError(
                "id_number",
                "minor",
                "the debtor is under 18 on the listing date; minors are never listed "
                "(法释〔2017〕7号 art. 4)",
                zh=f"被执行人在纳入日期未满十八周岁，未成年人不得纳入失信名单（{SHIXIN}第四条）",
            )
        normalised = replace(
            rec, name=name, id_number=rid.number, sex=rid.sex, credit_code=None,
            org_code=None, legal_representative=None,
        )  # fmt: skip
        return _Debtor(normalised, age_on(rid, listed_on))
    _absent(
        rec.id_number, "id_number", "an organisation is identified by credit_code",
        f"法人或其他组织以统一社会信用代码标识，不填身份证号（{SHIXIN}第六条）",
    )  # fmt: skip
    _absent(rec.sex, "sex", "only for persons", f"仅自然人填写（{SHIXIN}第六条）")
    representatives = _validate_representatives(rec.representatives)
    legal_rep = _legal_representative(rec.legal_representative, representatives)
    if rec.credit_code is None and rec.org_code is not None:
        # Art. 6: an organisation without a unified social credit code is published with its
        # organisation code (GB 11714).
        org = validate_org_code(rec.org_code, "org_code")
        normalised = replace(
            rec, name=name, credit_code=None, org_code=org.code,
            legal_representative=legal_rep, id_number=None, sex=None,
            representatives=representatives,
        )  # fmt: skip
        return _Debtor(normalised, None)
    if rec.credit_code is None:
        raise ValidationError(
            "credit_code",
            "required",
            "is required for an organisation (or org_code, for one without a credit code)",
            zh=f"法人或其他组织必须填写；没有统一社会信用代码的，填写组织机构代码（{SHIXIN}第六条）",
        )
    _absent(
        rec.org_code, "org_code", "the credit code already contains the organisation code",
        "已填统一社会信用代码的不再填写：统一社会信用代码已含组织机构代码（GB 32100）",
    )  # fmt: skip
    credit = validate_credit_code(
        rec.credit_code, "credit_code", allow_bad_checksum=confirm_bad_credit_code
    )
    if credit.warning is not None:
        warnings.append(credit.warning)
    normalised = replace(
        rec, name=name, credit_code=credit.code, legal_representative=legal_rep,
        id_number=None, sex=None, org_code=None, representatives=representatives,
    )  # fmt: skip
    return _Debtor(normalised, None, credit_code_confirmed=not credit.checksum_ok)


def _validate_representatives(
    reps: Sequence[Representative],
) -> tuple[Representative, ...]:
    """Each representative's role from the closed set, a name, a valid resident ID (checked
    like a person debtor's); one legal representative at most; no person twice in one role.
    Fields are named by position: ``representatives[2].id_number``."""
    if not isinstance(reps, Sequence) or isinstance(reps, str):
        raise ValidationError("representatives", "type", "must be a list", zh="须为列表")
    if len(reps) > REPRESENTATIVES_MAX:
        raise ValidationError(
            "representatives",
            "too_many",
            f"at most {REPRESENTATIVES_MAX} per listing",
            zh=f"每个条目不得超过{REPRESENTATIVES_MAX}人",
        )
    out: list[Representative] = []
    seen: set[tuple[RepresentativeRole, str]] = set()
    for position, r in enumerate(reps):
        where = f"representatives[{position}]"
        if not isinstance(r, Representative):
            raise ValidationError(where, "type", "must be a representative", zh="须为代表人")
        role = _enum(RepresentativeRole, r.role, f"{where}.role")
        try:  # the limits of the legal representative's name, named by position
            name = _required_text(r.name, "legal_representative")
        except ValidationError as err:
            raise err.renamed(f"{where}.name") from None
        rid = validate_resident_id(r.id_number, f"{where}.id_number")
        if (role, rid.number) in seen:
            raise ValidationError(
                f"{where}.id_number",
                "duplicate",
                "the same person is given twice in this role",
                zh="同一人以同一身份重复填写",
            )
        if role is RepresentativeRole.LEGAL_REPRESENTATIVE and any(
            o.role is RepresentativeRole.LEGAL_REPRESENTATIVE for o in out
        ):
            raise ValidationError(
                f"{where}.role",
                "duplicate",
                "an organisation has one legal representative",
                zh=f"法人或其他组织只有一名法定代表人（{SHIXIN}第六条）",
            )
        seen.add((role, rid.number))
        out.append(Representative(role=role, name=name, id_number=rid.number))
    return tuple(out)


def _legal_representative(given: str | None, reps: Sequence[Representative]) -> str | None:
    """The published name of the legal representative / person in charge (art. 6): as given,
    or that of the representative recorded in that role; both must agree."""
    legal = next((r for r in reps if r.role is RepresentativeRole.LEGAL_REPRESENTATIVE), None)
    text = _text(given, "legal_representative", required=legal is None)
    if legal is None:
        return text
    if text is not None and text != legal.name:
        raise ValidationError(
            "legal_representative",
            "mismatch",
            "differs from the name of the representative in role legal_representative",
            zh="与身份为 legal_representative（法定代表人）的代表人姓名不一致",
        )
    return legal.name


def _required_text(value: object, field: str) -> str:
    text = _text(value, field)
    assert text is not None
    return text


def _term_years(ground: ListingGround, term_years: int | None) -> int:
    """0 (no term) for G1; 2 by default for G2–G6, or 3–5 when extended by 1–3 years (art. 2)."""
    if term_years is not None and (isinstance(term_years, bool) or not isinstance(term_years, int)):
        raise ValidationError(
            "term_years", "type", "must be a whole number of years", zh="须为整数年"
        )
    if not ground.has_fixed_term:
        if term_years:
            raise ValidationError(
                "term_years",
                "term",
                "ground G1 has no fixed term: give 0 or leave it out",
                zh=f"失信情形 G1 不设期限：填 0 或不填（{SHIXIN}第二条）",
            )
        return 0
    if term_years is None:
        return DEFAULT_TERM_YEARS
    longest = DEFAULT_TERM_YEARS + MAX_EXTENSION_YEARS
    if not DEFAULT_TERM_YEARS <= term_years <= longest:
        raise ValidationError(
            "term_years",
            "term",
            f"ground {ground.value} takes {DEFAULT_TERM_YEARS} years, extendable by 1 to "
            f"{MAX_EXTENSION_YEARS} (so {DEFAULT_TERM_YEARS}..{longest})",
            zh=f"失信情形 {ground.value} 的期限为{DEFAULT_TERM_YEARS}年，"
            f"可延长1至{MAX_EXTENSION_YEARS}年"
            f"（即{DEFAULT_TERM_YEARS}至{longest}年）（{SHIXIN}第二条第一款）",
        )
    return term_years


def _extension(
    term_years: int, extension: TermExtension | str | None, *, required: bool
) -> TermExtension | None:
    """The reason of a term over 2 years (art. 2: serious violence or threats, or several acts
    of dishonesty): rule "extension_reason" when it is missing (and ``required``), rule
    "not_allowed" when the term is not extended."""
    reason = None if extension is None else _enum(TermExtension, extension, "term_extension")
    if term_years > DEFAULT_TERM_YEARS:
        if reason is None and required:
            raise ValidationError(
                "term_extension",
                "extension_reason",
                f"a term over {DEFAULT_TERM_YEARS} years needs its reason: "
                + " or ".join(f"{_typed(member)} ({member.label_zh})" for member in TermExtension)
                + " (法释〔2017〕7号 art. 2)",
                zh=f"期限超过{DEFAULT_TERM_YEARS}年的，须写明延长事由："
                + "或".join(f"{_typed(member)}（{member.label_zh}）" for member in TermExtension)
                + f"（{SHIXIN}第二条第一款）",
            )
        return reason
    if reason is not None:
        raise ValidationError(
            "term_extension",
            "not_allowed",
            f"only a term over {DEFAULT_TERM_YEARS} years is extended",
            zh=f"期限未超过{DEFAULT_TERM_YEARS}年的，不填延长事由（{SHIXIN}第二条第一款）",
        )
    return None


def _enum(enum: type[_E], value: object, field: str) -> _E:
    """`value` as a member of `enum`; the value is not echoed (it may be anything)."""
    allowed = ", ".join(_typed(member) for member in enum if member is not CreditRepair.NONE)
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    source = _ENUM_SOURCES.get(enum)
    zh = f"须为以下之一：{allowed}" + (f"（{source}）" if source else "")
    raise ValidationError(field, "enum", f"must be one of {allowed}", zh=zh)


# The spelling the CLI takes (its --help choices): ``active``, not ACTIVE_PERFORMANCE.
_TYPED: Final[dict[str, str]] = {
    CreditRepair.ACTIVE_PERFORMANCE: "active",
    CreditRepair.CREDITOR_REQUEST: "creditor",
    CreditRepair.NONE: "none",
    TermExtension.VIOLENCE_OR_THREATS: "violence_or_threats",
    TermExtension.MULTIPLE_DISHONEST_ACTS: "multiple_dishonest_acts",
}
_ENUM_SOURCES: Final[dict[type[StrEnum], str]] = {
    ListingGround: f"{SHIXIN}第一条",
    TermExtension: f"{SHIXIN}第二条第一款",
    DelistGround: f"{SHIXIN}第九条、第十条",
}


def _typed(member: StrEnum) -> str:
    """An enum member as the officer types it at the CLI."""
    return _TYPED.get(member, member.value)


# -------------------------------------------------------------------------- delisting


def validate_delisting(
    ground: DelistGround | str,
    *,
    reason: str,
    on: date,
    credit_repair: CreditRepair | str = CreditRepair.NONE,
    listing: ValidatedListing | None = None,
    ground_arose_on: date | None = None,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> ValidatedDelisting:
    """Check a delisting on date `on`; with `listing`, also check it against the entry.

    Each ground must be acted on within 3 working days (arts. 2, 9, 10). A late delisting is
    still required, so lateness is a warning, not a refusal. The deadline counts from
    `ground_arose_on` or, for EXPIRED, from the listing's term end, in `calendar`; when that
    count ran through a year without published holidays, a warning says so.
    """
    ground = _enum(DelistGround, ground, "ground")
    repair = _enum(CreditRepair, credit_repair, "credit_repair")
    text = _required_text(reason, "reason")
    if repair not in _CREDIT_REPAIR_ALLOWED.get(ground, _NOT_A_REPAIR):
        raise _repair_refused(ground, repair)
    if ground_arose_on is not None and ground_arose_on > on:
        raise ValidationError(
            "ground_arose_on",
            "date_order",
            "the ground cannot arise after the delisting",
            zh=f"删除事由发生日期不得晚于删除日期 {on.isoformat()}",
        )
    if ground_arose_on is not None and ground is DelistGround.EXPIRED:
        raise ValidationError(
            "ground_arose_on",
            "not_allowed",
            "an expiry arises at the term's end: its deadline counts from there",
            zh=f"期限届满的删除自期限届满之日起算，不填事由发生日期（{SHIXIN}第二条）",
        )
    if ground_arose_on is not None and listing is not None and ground_arose_on < listing.listed_on:
        raise ValidationError(
            "ground_arose_on",
            "date_order",
            "the ground cannot arise before the listing date",
            zh=f"事由发生日期不得早于纳入日期 {listing.listed_on.isoformat()}",
        )
    due = (
        calendar.count_workdays(ground_arose_on, ACT_WITHIN_WORKDAYS)
        if ground_arose_on is not None
        else None
    )
    if listing is not None:
        _check_against_listing(ground, repair, on, listing)
        if ground is DelistGround.EXPIRED and listing.delist_due_by is not None:
            due = WorkdayCount(
                listing.delist_due_by, listing.delist_due_uncovered_years, calendar.version
            )
    if due is None:
        return ValidatedDelisting(ground, text, on, repair, None, ())
    return ValidatedDelisting(
        ground, text, on, repair, due.day, _deadline_warnings(due, on), ground_arose_on
    )


def _deadline_warnings(due: WorkdayCount, on: date) -> tuple[str, ...]:
    warnings = [] if on <= due.day else [_late_warning(due.day)]
    fallback = due.warning()
    if fallback is not None:
        # The deadline may move once this year's notice is in a release: say it is provisional.
        warnings.append(f"due_by: {fallback}")
    return tuple(warnings)


@dataclass(frozen=True)
class ActDeadline:
    """When an action on a listing (a correction, arts. 9–10) was due: 3 working days after
    its ground arose, in the statutory calendar; late when taken after that day."""

    ground_arose_on: date
    due_by: date
    on: date
    warnings: tuple[str, ...]

    @property
    def late(self) -> bool:
        return self.on > self.due_by


def act_deadline(
    ground_arose_on: date,
    *,
    on: date,
    listed_on: date,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> ActDeadline:
    """The 3-working-day deadline of an action taken on ``on`` whose ground arose on
    ``ground_arose_on`` (between the listing date and ``on``, rule "date_order"); lateness is
    a warning, not a refusal: a late correction is still due."""
    if ground_arose_on > on:
        raise ValidationError(
            "ground_arose_on",
            "date_order",
            "the ground cannot arise after the action",
            zh=f"事由发生日期不得晚于办理日期 {on.isoformat()}",
        )
    if ground_arose_on < listed_on:
        raise ValidationError(
            "ground_arose_on",
            "date_order",
            "the ground cannot arise before the listing date",
            zh=f"事由发生日期不得早于纳入日期 {listed_on.isoformat()}",
        )
    due = calendar.count_workdays(ground_arose_on, ACT_WITHIN_WORKDAYS)
    return ActDeadline(ground_arose_on, due.day, on, _deadline_warnings(due, on))


def _repair_refused(ground: DelistGround, repair: CreditRepair) -> ValidationError:
    """Refusal of the credit-repair mark ``repair`` the ground does not admit (art. 2 ¶2;
    art. 10 D3), naming the mark as the officer typed it."""
    allowed = _CREDIT_REPAIR_ALLOWED.get(ground, _NOT_A_REPAIR)
    given = "不选" if repair is CreditRepair.NONE else f"选 {_typed(repair)}"
    given_en = "none" if repair is CreditRepair.NONE else _typed(repair)
    if CreditRepair.NONE not in allowed:
        return ValidationError(
            "credit_repair",
            "credit_repair",
            f"ground {ground.value} is the creditor's request: give creditor, not {given_en}",
            zh=f"删除事由 {ground.value} 即申请执行人申请删除，须选 creditor，不能{given}"
            f"（{SHIXIN}第十条第一款第三项）",
        )
    if allowed == _NOT_A_REPAIR:
        return ValidationError(
            "credit_repair",
            "credit_repair",
            f"ground {ground.value} is not a credit repair: leave it out, not {given_en}",
            zh=f"删除事由 {ground.value} 不属于信用修复，不选信用修复方式，不能{given}"
            f"（{SHIXIN}第二条第二款、第十条）",
        )
    return ValidationError(
        "credit_repair",
        "credit_repair",
        f"ground {ground.value} admits only active (or none), not {given_en}",
        zh=f"删除事由 {ground.value} 只可选 active（积极履行）或不选，不能{given}"
        f"（{SHIXIN}第二条第二款）",
    )


def _check_against_listing(
    ground: DelistGround, repair: CreditRepair, on: date, listing: ValidatedListing
) -> None:
    if on < listing.listed_on:
        raise ValidationError(
            "on",
            "date_order",
            "delisting date is before the listing date",
            zh=f"删除日期不得早于纳入日期 {listing.listed_on.isoformat()}",
        )
    term_end = listing.term_end
    if ground is DelistGround.EXPIRED:
        if term_end is None:
            raise ValidationError(
                "ground",
                "term",
                "a G1 listing has no term that could expire",
                zh=f"失信情形 G1 的条目不设期限，不能以期限届满（EXPIRED）删除（{SHIXIN}第二条）",
            )
        if on <= term_end:
            raise ValidationError(
                "ground",
                "term",
                "the listing term has not yet ended",
                zh=f"期限至 {term_end.isoformat()} 届满，尚未届满不能以 EXPIRED 删除"
                f"（{SHIXIN}第二条）",
            )
    if repair is CreditRepair.ACTIVE_PERFORMANCE:
        # Art. 2 ¶2 deletes a fixed-term listing *early*: there is no term to shorten for G1,
        # and after the term ends the listing expires anyway.
        if term_end is None or on > term_end:
            raise ValidationError(
                "credit_repair",
                "credit_repair",
                "early deletion for active performance applies only within a fixed term",
                zh=f"active（积极履行）提前删除仅适用于期限内的定期条目（{SHIXIN}第二条第二款）",
            )


def _late_warning(due_by: date) -> str:
    return f"on: later than the 3-working-day limit ({due_by.isoformat()})"


# ------------------------------------------------------------------ term (read time)


@dataclass(frozen=True)
class TermView:
    """Where a fixed-term listing stands on a day, as an expiring search reports it."""

    state: str  # "expiring" | "awaiting_delisting" | "delisting_overdue"
    days_left: int  # from the day to the term's last day; negative once the term has ended


def expiring_term_ends_before(on: date, within_days: int) -> date | None:
    """The first term end an expiring search as of ``on`` leaves out: the day after the one
    ``within_days`` after ``on`` (None: beyond the calendar, so no bound). Terms that ended
    before ``on`` are included: they await their delisting."""
    try:
        return on + timedelta(days=within_days + 1)
    except OverflowError:
        return None


def term_view(term_end: date, delist_due_by: date, on: date) -> TermView:
    """A fixed-term listing on day ``on``: its term runs through ``term_end`` ("expiring" while
    it has not ended), then it awaits delisting, within 3 working days (art. 2), through
    ``delist_due_by``; a listing still listed after that is "delisting_overdue"."""
    days_left = (term_end - on).days
    if days_left >= 0:
        return TermView("expiring", days_left)
    if on <= delist_due_by:
        return TermView("awaiting_delisting", days_left)
    return TermView("delisting_overdue", days_left)


# ------------------------------------------------------------------------- correction


def validate_correction(
    original: ValidatedListing,
    corrected: ListingRecord,
    *,
    court_prefixes: Sequence[str],
    on: date,
    confirm_bad_credit_code: bool = False,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> ValidatedListing:
    """Check a correction (更正) of wrong data in `original`, made on date `on`.

    The debtor's identity (type and ID number, credit code or organisation code), the listing
    court and the listing date may not change: a listing of the wrong person or by the wrong
    court is revoked (撤销, art. 9) and listed afresh, rule "immutable_field". The corrected
    record is validated in full as of the original listing date, so the term keeps its start.
    A corrected term over 2 years needs its extension reason (rule "extension_reason"), as a
    listing does; only a stored listing of such a term written without one (before the reason
    was recorded) keeps its term unchanged without it.
    """
    before = original.record
    if on < original.listed_on:
        raise ValidationError(
            "on",
            "date_order",
            "correction date is before the listing date",
            zh=f"更正日期不得早于纳入日期 {original.listed_on.isoformat()}",
        )
    for field, old, new in (
        ("debtor_type", before.debtor_type, corrected.debtor_type),
        ("court", before.court, _normalised_court(corrected.court)),
        ("id_number", before.id_number, _normalised_code(corrected.id_number)),
        ("credit_code", before.credit_code, _normalised_code(corrected.credit_code)),
        ("org_code", before.org_code, _normalised_org_code(corrected.org_code)),
    ):
        if old != new:
            raise ValidationError(
                field,
                "immutable_field",
                "cannot be corrected: revoke the listing (art. 9) and list again",
                zh=f"不能更正：应撤销该条目（{SHIXIN}第九条）后重新纳入（{SHIXIN}第十一条）",
            )
    if corrected.listed_on is not None and corrected.listed_on != original.listed_on:
        raise ValidationError(
            "listed_on",
            "immutable_field",
            "the listing date cannot be corrected",
            zh=f"纳入日期不能更正（{SHIXIN}第十一条）",
        )
    result = validate_listing(
        corrected,
        court_prefixes=court_prefixes,
        listed_on=original.listed_on,
        confirm_bad_credit_code=confirm_bad_credit_code,
        calendar=calendar,
        require_extension=False,
    )
    term = result.record.term_years or 0
    legacy = term == (before.term_years or 0) and before.term_extension is None
    if not legacy:
        _extension(term, result.record.term_extension, required=True)
    if result.record == before:
        raise ValidationError(
            "correction", "no_change", "changes nothing in the listing", zh="未改变条目的任何内容"
        )
    return result


def _normalised_court(court: str) -> str:
    try:
        return parse_court_code(court).text
    except ValidationError:
        return court  # differs from the stored, valid code: reported as immutable


def _normalised_org_code(code: str | None) -> str | None:
    normalised = _normalised_code(code)
    if normalised is not None and len(normalised) == 10 and normalised[8] == "-":
        return normalised[:8] + normalised[9]
    return normalised


def _normalised_code(code: str | None) -> str | None:
    if code is None:
        return None
    stripped = code.strip().upper()
    return stripped or None


# ---------------------------------------------------------------------- JSON import

_REQUIRED_KEYS: Final = (
    "case_number", "court", "debtor_type", "name", "obligation", "performance", "ground",
    "basis_issuer", "basis_number", "filed_on",
)  # fmt: skip
_OPTIONAL_TEXT_KEYS: Final = (
    "id_number", "credit_code", "org_code", "sex", "legal_representative", "conduct",
    "term_extension",
)  # fmt: skip
_KNOWN_KEYS: Final = frozenset(
    (*_REQUIRED_KEYS, *_OPTIONAL_TEXT_KEYS, "term_years", "listed_on", "representatives")
)
_REPRESENTATIVE_KEYS: Final = frozenset({"role", "name", "id_number"})
_SAFE_KEY_RE: Final = re.compile(r"[a-z_][a-z0-9_]{0,39}")
_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SEX_CODES: Final[dict[str, Sex]] = {"M": "M", "F": "F", "男": "M", "女": "F"}


def parse_listing_json(obj: Mapping[str, object], line_no: int | None = None) -> ListingRecord:
    """Build a ListingRecord from one decoded JSON object of the import format.

    Checks keys and types only; the legal rules are `validate_listing`'s. Unknown keys are
    refused; ``null`` counts as absent for optional keys. Errors carry `line_no`.
    """
    try:
        return _parse_listing(obj)
    except ValidationError as err:
        raise err.at_line(line_no) from None


def _parse_listing(obj: Mapping[str, object]) -> ListingRecord:
    if not isinstance(obj, Mapping):
        raise ValidationError("listing", "type", "must be a JSON object", zh="须为 JSON 对象")
    unknown = sorted(str(key) for key in obj if key not in _KNOWN_KEYS)
    if unknown:
        # Keys are echoed only when they look like field names: a stray ID number used as a
        # key must not reach the message.
        key = unknown[0] if _SAFE_KEY_RE.fullmatch(unknown[0]) else "<unnamed>"
        raise ValidationError(
            key, "unknown_field", "is not a field of the listing format", zh="不是导入格式的字段"
        )
    for key in _REQUIRED_KEYS:
        if obj.get(key) is None:
            raise ValidationError(key, "required", "is required", zh="必须填写")
    strings = {key: _json_str(obj, key) for key in (*_REQUIRED_KEYS, *_OPTIONAL_TEXT_KEYS)}
    return ListingRecord(
        case_number=_present(strings["case_number"]),
        court=_present(strings["court"]),
        debtor_type=_enum(DebtorType, strings["debtor_type"], "debtor_type"),
        name=_present(strings["name"]),
        id_number=strings["id_number"],
        credit_code=strings["credit_code"],
        org_code=strings["org_code"],
        sex=_sex(strings["sex"]),
        legal_representative=strings["legal_representative"],
        obligation=_present(strings["obligation"]),
        performance=_present(strings["performance"]),
        ground=_enum(ListingGround, _present(strings["ground"]).strip(), "ground"),
        term_years=_json_int(obj, "term_years"),
        basis_issuer=_present(strings["basis_issuer"]),
        basis_number=_present(strings["basis_number"]),
        filed_on=_present(_json_date(obj, "filed_on")),
        conduct=strings["conduct"],
        listed_on=_json_date(obj, "listed_on"),
        term_extension=_optional_enum(TermExtension, strings["term_extension"], "term_extension"),
        representatives=_json_representatives(obj.get("representatives")),
    )


def _json_representatives(value: object) -> tuple[Representative, ...]:
    """The import format's ``representatives``: a list of objects {role, name, id_number},
    role one of legal_representative, principal_manager, directly_responsible,
    actual_controller (the rules, e.g. the ID's checksum, are validate_listing's)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError(
            "representatives", "type", "must be a list of objects", zh="须为对象列表"
        )
    out = []
    for position, item in enumerate(value):
        where = f"representatives[{position}]"
        if not isinstance(item, Mapping):
            raise ValidationError(
                where,
                "type",
                "must be an object {role, name, id_number}",
                zh="须为含 role、name、id_number 的对象",
            )
        unknown = sorted(str(key) for key in item if key not in _REPRESENTATIVE_KEYS)
        if unknown:
            key = unknown[0] if _SAFE_KEY_RE.fullmatch(unknown[0]) else "<unnamed>"
            raise ValidationError(
                f"{where}.{key}",
                "unknown_field",
                "is not a field of a representative",
                zh="不是代表人的字段",
            )
        fields: dict[str, str] = {}
        for key in ("role", "name", "id_number"):
            text = item.get(key)
            if text is None:
                raise ValidationError(f"{where}.{key}", "required", "is required", zh="必须填写")
            if not isinstance(text, str):
                raise ValidationError(f"{where}.{key}", "type", "must be a string", zh="须为文本")
            fields[key] = text
        out.append(
            Representative(
                role=_enum(RepresentativeRole, fields["role"].strip().lower(), f"{where}.role"),
                name=fields["name"],
                id_number=fields["id_number"],
            )
        )
    return tuple(out)


def _optional_enum(enum: type[_E], value: str | None, field: str) -> _E | None:
    if value is None or not value.strip():
        return None
    return _enum(enum, value.strip().upper(), field)


def _present(value: _T | None) -> _T:
    assert value is not None, "required keys were checked first"
    return value


def _json_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValidationError(key, "type", "must be a string", zh="须为文本")


def _json_int(obj: Mapping[str, object], key: str) -> int | None:
    value = obj.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValidationError(key, "type", "must be a whole number", zh="须为整数")


def _json_date(obj: Mapping[str, object], key: str) -> date | None:
    value = _json_str(obj, key)
    if value is None:
        return None
    if _ISO_DATE_RE.fullmatch(value) is None:
        raise ValidationError(
            key, "date", "must be an ISO date YYYY-MM-DD", zh="须为 YYYY-MM-DD 格式的日期"
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(key, "date", "is not a calendar date", zh="不是有效日期") from None


def _sex(value: str | None) -> Sex | None:
    if value is None or not value.strip():
        return None
    code = _SEX_CODES.get(value.strip().upper())
    if code is None:
        raise ValidationError("sex", "enum", "must be M, F, 男 or 女", zh="须为 男、女、M 或 F")
    return code
