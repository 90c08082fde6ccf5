"""Resident ID numbers (GB 11643), unified social credit codes (GB 32100-2015), organisation
codes (GB 11714-1997), masking.

Every value handled here is personal data or may be (an individual business's credit code
identifies a person). Errors therefore name the field and the rule only, and the result types
print masked: a stray ``log.info("%r", rid)`` must not leak a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Literal

from sync.domain.calendar import add_years
from sync.domain.errors import ValidationError
from sync.domain.wording import joined

__all__ = [
    "ADULT_AGE_YEARS",
    "CREDIT_CODE_ALPHABET",
    "CREDIT_CODE_MASK",
    "DEFAULT_ID_MASKS",
    "DEFAULT_MASK",
    "ORG_CODE_MASK",
    "CreditCodeCheck",
    "IdMasks",
    "MaskPolicy",
    "OrgCode",
    "ResidentId",
    "Sex",
    "age_on",
    "credit_code_check_char",
    "credit_code_weighted_sum",
    "is_minor_on",
    "mask_id",
    "mask_name",
    "org_code_check_char",
    "resident_id_check_char",
    "resident_id_weighted_sum",
    "validate_credit_code",
    "validate_org_code",
    "validate_resident_id",
]

Sex = Literal["M", "F"]

ADULT_AGE_YEARS = 18
_CODE_LENGTH = 18  # both a resident ID and a credit code are 17 characters + 1 check character

# GB 11643-1999: ISO 7064 MOD 11-2.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_MIN_BIRTH_YEAR = 1900  # an earlier "birth year" is a typo, not a living debtor

# GB 32100-2015: 31 characters, no I O S V Z.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {ch: value for value, ch in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_MODULUS = len(CREDIT_CODE_ALPHABET)

_BAD_CHECKSUM_WARNING = (
    "check character does not match GB 32100-2015; accepted because an officer confirmed "
    "it (some early codes are legal although they fail the check)"
)
_BAD_CHECKSUM_WARNING_ZH = (
    "校验码不符（GB 32100），经承办人确认（--confirm-bad-credit-code）予以受理"
    "（部分早期赋码虽未通过校验，仍属合法代码）"
)


# ------------------------------------------------------------------ resident ID (GB 11643)


def resident_id_weighted_sum(body: str) -> int:
    """S = Σ digit × weight over the first 17 digits."""
    assert len(body) == len(_ID_WEIGHTS) and body.isascii() and body.isdigit()
    return sum(int(ch) * weight for ch, weight in zip(body, _ID_WEIGHTS, strict=True))


def resident_id_check_char(body: str) -> str:
    """The check character for the first 17 digits: "10X98765432"[S mod 11]."""
    return _ID_CHECK_CHARS[resident_id_weighted_sum(body) % 11]


@dataclass(frozen=True, repr=False)
class ResidentId:
    """A valid 18-character resident ID; `number` is normalised (upper-case X)."""

    number: str
    area_code: str
    birth_date: date
    sequence: int  # 3-digit order code: odd for men, even for women
    sex: Sex
    check_char: str

    @property
    def masked(self) -> str:
        return mask_id(self.number)

    def __repr__(self) -> str:
        return f"ResidentId({self.masked})"

    __str__ = __repr__


def validate_resident_id(s: str, field: str = "id_number") -> ResidentId:
    """Check length, characters, birth date and check character; normalise x to X."""
    if not isinstance(s, str):
        raise ValidationError(field, "type", "must be a string", zh="须为文本")
    number = s.strip().upper()
    if len(number) != _CODE_LENGTH:
        raise ValidationError(
            field, "length", "a resident ID has 18 characters", zh="公民身份号码为18位（GB 11643）"
        )
    if _ID_RE.fullmatch(number) is None:
        raise ValidationError(
            field,
            "format",
            "a resident ID is 17 digits followed by a digit or X",
            zh="公民身份号码为17位数字加1位校验码（数字或X）（GB 11643）",
        )
    birth = _birth_date(number[6:14], field)
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            field,
            "checksum",
            "check character does not match (GB 11643 MOD 11-2)",
            zh="校验码不符（GB 11643）",
        )
    sequence = int(number[14:17])
    return ResidentId(
        number=number,
        area_code=number[:6],
        birth_date=birth,
        sequence=sequence,
        sex="M" if sequence % 2 else "F",
        check_char=number[17],
    )


def _birth_date(yyyymmdd: str, field: str) -> date:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    try:
        birth = date(year, month, day)
    except ValueError:
        # `from None`: the chained message would carry the date digits.
        raise ValidationError(
            field,
            "birth_date",
            "birth date is not a calendar date",
            zh="第7至14位的出生日期不是有效日期（GB 11643）",
        ) from None
    if birth.year < _MIN_BIRTH_YEAR:
        raise ValidationError(
            field,
            "birth_date",
            f"birth year is before {_MIN_BIRTH_YEAR}",
            zh=f"出生年份不得早于{_MIN_BIRTH_YEAR}年",
        )
    return birth


def age_on(resident_id: ResidentId, on: date) -> int:
    """Age in full years (周岁) on the date `on`.

    A year of age is complete only at the end of the birthday, so the new age counts from the
    day after it: 周岁 "从周岁生日的第二天起算" (法释〔2006〕1号 art. 2), the same result as
    Civil Code arts. 201–202 (a period starts the day after the event and ends on the
    corresponding day; 29 February ends on 28 February in common years). On their 18th
    birthday a person is therefore still 17 here, one day later than the everyday count.
    """
    birth = resident_id.birth_date
    if on < birth:
        raise ValidationError(
            "id_number",
            "birth_date",
            "birth date is after the date the age is needed for",
            zh="出生日期晚于计算年龄的日期",
        )
    age = on.year - birth.year
    if age > 0 and add_years(birth, age) >= on:
        age -= 1
    return age


def is_minor_on(resident_id: ResidentId, on: date) -> bool:
    """Under 18 on `on`, counted as in `age_on` (a minor until the end of the 18th birthday)."""
    return age_on(resident_id, on) < ADULT_AGE_YEARS


# ------------------------------------------------ unified social credit code (GB 32100-2015)


def credit_code_weighted_sum(body: str) -> int:
    """S = Σ value × weight over the first 17 characters (values 0–30 by alphabet position)."""
    assert len(body) == len(_CREDIT_WEIGHTS) and all(ch in _CREDIT_VALUES for ch in body)
    return sum(_CREDIT_VALUES[ch] * w for ch, w in zip(body, _CREDIT_WEIGHTS, strict=True))


def credit_code_check_char(body: str) -> str:
    """The check character for the first 17 characters: value (31 − S mod 31) mod 31."""
    s = credit_code_weighted_sum(body)
    return CREDIT_CODE_ALPHABET[(_CREDIT_MODULUS - s % _CREDIT_MODULUS) % _CREDIT_MODULUS]


@dataclass(frozen=True, repr=False)
class CreditCodeCheck:
    """A well-formed credit code; `checksum_ok` False only when an officer confirmed it."""

    code: str
    checksum_ok: bool
    warning: str | None = None

    @property
    def registration_authority(self) -> str:
        """Position 1: 登记管理部门代码 (e.g. 9 = market regulation, 5 = civil affairs)."""
        return self.code[0]

    @property
    def organisation_category(self) -> str:
        """Position 2: 机构类别代码 (e.g. 1 = enterprise, 2 = individual business)."""
        return self.code[1]

    @property
    def area_code(self) -> str:
        """Positions 3–8: administrative area of the registering authority."""
        return self.code[2:8]

    @property
    def organisation_code(self) -> str:
        """Positions 9–17: the 9-character 组织机构代码 (GB 11714) embedded in the code."""
        return self.code[8:17]

    @property
    def check_char(self) -> str:
        return self.code[17]

    @property
    def masked(self) -> str:
        return mask_id(self.code, CREDIT_CODE_MASK)

    def __repr__(self) -> str:
        return f"CreditCodeCheck({self.masked}, checksum_ok={self.checksum_ok})"

    __str__ = __repr__


def validate_credit_code(
    s: str, field: str = "credit_code", allow_bad_checksum: bool = False
) -> CreditCodeCheck:
    """Check length, alphabet and check character; normalise to upper case.

    A wrong check character is refused (rule "checksum") unless `allow_bad_checksum` records
    that an officer confirmed the code: some early codes are legal despite failing the check
    (DOMAIN.md), so the result then carries ``checksum_ok=False`` and a `warning`.
    """
    if not isinstance(s, str):
        raise ValidationError(field, "type", "must be a string", zh="须为文本")
    code = s.strip().upper()
    if len(code) != _CODE_LENGTH:
        raise ValidationError(
            field,
            "length",
            "a unified social credit code has 18 characters",
            zh="统一社会信用代码为18位（GB 32100）",
        )
    if not all(ch in _CREDIT_VALUES for ch in code):
        raise ValidationError(
            field,
            "format",
            "only digits and the letters A–Y except I, O, S, V, Z are allowed",
            zh="只能由数字和除I、O、S、V、Z以外的大写字母组成（GB 32100）",
        )
    if credit_code_check_char(code[:17]) == code[17]:
        return CreditCodeCheck(code, checksum_ok=True)
    if not allow_bad_checksum:
        raise ValidationError(
            field,
            "checksum",
            "check character does not match GB 32100-2015 "
            "(an officer may confirm an early code that fails the check: "
            "--confirm-bad-credit-code)",
            zh="校验码不符（GB 32100）；早期赋码未通过校验的，经承办人确认"
            "（--confirm-bad-credit-code）后可予受理",
        )
    warning = joined(field, _BAD_CHECKSUM_WARNING_ZH, _BAD_CHECKSUM_WARNING)
    return CreditCodeCheck(code, checksum_ok=False, warning=warning)


# ------------------------------------------------------- organisation code (GB 11714-1997)

# 8 characters (digits, upper-case letters A–Z valued 10–35) and a check character:
# C9 = 11 − (Σ value × weight mod 11), written X for 10 and 0 for 11.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_RE = re.compile(r"[0-9A-Z]{8}")
_ORG_CODE_LENGTH = 9


def org_code_check_char(body: str) -> str:
    """The check character of an organisation code's first 8 characters."""
    assert _ORG_BODY_RE.fullmatch(body) is not None
    s = sum(int(ch, 36) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - s % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


@dataclass(frozen=True, repr=False)
class OrgCode:
    """A valid 组织机构代码, normalised to its 9 characters (no hyphen)."""

    code: str

    @property
    def masked(self) -> str:
        return mask_id(self.code, ORG_CODE_MASK)

    def __repr__(self) -> str:
        return f"OrgCode({self.masked})"

    __str__ = __repr__


def validate_org_code(s: str, field: str = "org_code") -> OrgCode:
    """Check an organisation code (GB 11714-1997): 8 digits or upper-case letters, then the
    check character, optionally written with a hyphen before it (``M000100Y-4``)."""
    if not isinstance(s, str):
        raise ValidationError(field, "type", "must be a string", zh="须为文本")
    code = s.strip().upper()
    if len(code) == _ORG_CODE_LENGTH + 1 and code[8] == "-":
        code = code[:8] + code[9]
    if len(code) != _ORG_CODE_LENGTH:
        raise ValidationError(
            field,
            "length",
            "an organisation code has 9 characters",
            zh="组织机构代码为9位（GB 11714）",
        )
    if _ORG_BODY_RE.fullmatch(code[:8]) is None or not (code[8].isdigit() or code[8] == "X"):
        raise ValidationError(
            field,
            "format",
            "an organisation code is 8 digits or letters and a check character",
            zh="组织机构代码为8位数字或大写字母加1位校验码（GB 11714）",
        )
    if org_code_check_char(code[:8]) != code[8]:
        raise ValidationError(
            field,
            "checksum",
            "check character does not match (GB 11714)",
            zh="校验码不符（GB 11714）",
        )
    return OrgCode(code)


# ------------------------------------------------------------------------------ masking


@dataclass(frozen=True)
class MaskPolicy:
    """Which 1-based character positions to hide in a value of `length` characters.

    A value of any other length has an unknown shape: all but its last `fallback_keep_tail`
    characters are hidden, and never fewer than half of them, so short values stay hidden.
    No statute fixes the mask (DOMAIN.md), hence the configuration.
    """

    hidden_positions: frozenset[int] = dataclass_field(
        default_factory=lambda: frozenset(range(11, 15))
    )
    length: int = _CODE_LENGTH
    mask_char: str = "*"
    fallback_keep_tail: int = 4

    def __post_init__(self) -> None:
        if len(self.mask_char) != 1:
            raise ValueError("mask_char must be exactly one character")
        if self.length < 1 or self.fallback_keep_tail < 0:
            raise ValueError("length must be positive and fallback_keep_tail not negative")
        if not self.hidden_positions or not all(
            1 <= p <= self.length for p in self.hidden_positions
        ):
            raise ValueError(f"hidden_positions must be non-empty and within 1..{self.length}")

    @classmethod
    def keep_ends(
        cls, keep_head: int, keep_tail: int, length: int = _CODE_LENGTH, mask_char: str = "*"
    ) -> MaskPolicy:
        """Hide everything but the first `keep_head` and the last `keep_tail` characters."""
        hidden = frozenset(range(keep_head + 1, length - keep_tail + 1))
        return cls(hidden_positions=hidden, length=length, mask_char=mask_char)


DEFAULT_MASK = MaskPolicy()
"""Resident IDs: hide birth month and day, `510104199003071237` → `5101041990****1237`."""

CREDIT_CODE_MASK = MaskPolicy.keep_ends(6, 4)
"""Credit codes: keep the first 6 and last 4 characters, hide the middle 8."""

ORG_CODE_MASK = MaskPolicy.keep_ends(2, 2, length=_ORG_CODE_LENGTH)
"""Organisation codes (9 characters): keep the first and last 2, hide the middle 5."""


@dataclass(frozen=True)
class IdMasks:
    """The mask of each kind of identifier, as a node's configuration sets them
    (node/config.py ``masks``): a resident ID, a unified social credit code and an
    organisation code each have their own length and their own mask."""

    resident_id: MaskPolicy = DEFAULT_MASK
    credit_code: MaskPolicy = CREDIT_CODE_MASK
    org_code: MaskPolicy = ORG_CODE_MASK

    def __post_init__(self) -> None:
        for name, policy, length in (
            ("resident_id", self.resident_id, _CODE_LENGTH),
            ("credit_code", self.credit_code, _CODE_LENGTH),
            ("org_code", self.org_code, _ORG_CODE_LENGTH),
        ):
            if policy.length != length:
                raise ValueError(f"{name}: a mask for {length} characters is needed")

    def owner(self, value: str) -> str:
        """An identifier of unknown kind (an asset's owner): a valid resident ID with the
        resident-ID mask, 9 characters with the organisation-code mask, anything else with the
        credit-code mask (of unknown shape when not 18 characters long)."""
        text = value.strip().upper()
        if _ID_RE.fullmatch(text):
            try:
                validate_resident_id(text)
                return mask_id(text, self.resident_id)
            except ValidationError:
                pass  # 18 digits that are no resident ID: an all-digit credit code
        if len(text) == _ORG_CODE_LENGTH:
            return mask_id(text, self.org_code)
        return mask_id(text, self.credit_code)


DEFAULT_ID_MASKS = IdMasks()


def mask_id(s: str, policy: MaskPolicy = DEFAULT_MASK) -> str:
    """Mask an identifier for publication or display; never raises on the value.

    Works on malformed values too (they are masked as "unknown shape" when their length
    differs from the policy's), since a value that failed validation must still be shown
    masked.
    """
    value = s.strip().upper()
    if len(value) == policy.length:
        return "".join(
            policy.mask_char if pos in policy.hidden_positions else ch
            for pos, ch in enumerate(value, start=1)
        )
    keep = min(policy.fallback_keep_tail, len(value) // 2)
    return policy.mask_char * (len(value) - keep) + value[len(value) - keep :]


def mask_name(name: str, *, organisation: bool = False, mask_char: str = "*") -> str:
    """Keep a person's first character (the surname, or its first half) and mask the rest.

    ``张三丰`` → ``张**``. A compound surname (欧阳) keeps only its first character: showing less
    is the safe side. A one-character name is masked whole. Organisation names are public
    (法释〔2017〕7号 art. 6) and are returned unchanged apart from surrounding whitespace.
    """
    if len(mask_char) != 1:
        raise ValueError("mask_char must be exactly one character")
    value = name.strip()
    if organisation:
        return value
    if len(value) <= 1:
        return mask_char * len(value)
    return value[0] + mask_char * (len(value) - 1)
