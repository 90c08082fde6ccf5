"""The node's registers of people and parties: authorised officers per court, and the parties
(debtors) of the enforcement cases its courts hold.

* Officers (网络查询冻结规定 arts. 7–8: every query is attributable to a registered officer):
  an officer is registered at a court this node serves, with an id, a name and a role. The
  ``actor`` of an officer's lookup, task or blacklist step must be a registered officer id.
* Case parties (arts. 7–8: a query may only concern a debtor of the cited case): the debtors of
  a 执 / 执恢 / 执保 case of a court this node serves, by resident ID or credit code. A lookup
  is sent only for a registered debtor of the cited case.

Pure: the node keeps the registers (node/store) and calls these checks. Errors name the field
and the rule, never an ID number or a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ccnode.v1 import payloads_pb2
from sync.domain.case_number import court_served, parse_court_code, require_enforcement_case
from sync.domain.errors import ValidationError
from sync.domain.identifiers import validate_credit_code, validate_resident_id
from sync.domain.wording import CHAKONG

__all__ = [
    "DEBTOR_TYPE_ZH",
    "OFFICER_ID_CHARS_MAX",
    "OFFICER_ROLES",
    "Officer",
    "Party",
    "officer_serves",
    "validate_officer",
    "validate_party",
]

# 法官 judge, 法官助理 judge's assistant, 书记员 clerk, 执行员 enforcement officer.
OFFICER_ROLES: Final = ("judge", "assistant", "clerk", "enforcement_officer")
_ROLES_ZH: Final = (
    "judge（法官）、assistant（法官助理）、clerk（书记员）、enforcement_officer（执行员）"
)
OFFICER_ID_CHARS_MAX: Final = 64
_NAME_CHARS_MAX = 100
# The debtor types as the CLI takes them (--debtor-type / --type person|org).
DEBTOR_TYPE_ZH: Final = "须为 person（自然人）或 org（法人或其他组织）"
# An officer id is what ``--actor`` names: letters (any script), digits and . _ -, no spaces.
_OFFICER_ID_RE = re.compile(r"[^\W_][\w.\-]*")


@dataclass(frozen=True, slots=True)
class Officer:
    officer_id: str
    court: str  # the court code the officer serves at, e.g. 川0104
    name: str
    role: str  # one of OFFICER_ROLES


@dataclass(frozen=True, slots=True)
class Party:
    case_number: str  # normalised (full-width parentheses)
    party_id: str  # normalised resident ID or credit code
    party_type: str  # "person" | "org"
    name: str = ""


def validate_officer(
    officer_id: str, court: str, name: str, role: str, *, court_prefixes: Sequence[str]
) -> Officer:
    """An officer to register: a well-formed id, a court this node serves, a name, a role."""
    officer_id = officer_id.strip()
    if not officer_id or len(officer_id) > OFFICER_ID_CHARS_MAX:
        raise ValidationError(
            "officer_id",
            "required",
            f"1 to {OFFICER_ID_CHARS_MAX} characters",
            zh=f"必须填写，且不得超过{OFFICER_ID_CHARS_MAX}个字符",
        )
    if not _OFFICER_ID_RE.fullmatch(officer_id):
        raise ValidationError(
            "officer_id",
            "format",
            "letters, digits, '.', '_' and '-' only, no spaces",
            zh="只能由字母、数字和“.”“_”“-”组成，不得含空格",
        )
    code = parse_court_code(court, "court").text
    if not court_served(code, court_prefixes):
        raise ValidationError(
            "court",
            "court_prefix",
            f"court {code} is not a court this node serves (an officer is registered at one)",
            zh=f"法院{code}不属本节点所辖法院，承办人须登记于本节点所辖法院"
            f"（{CHAKONG}第七条、第八条：每次查询均须可归属于登记的承办人）",
        )
    name = name.strip()
    if not name or len(name) > _NAME_CHARS_MAX:
        # "officer.name" (AddOfficerRequest.officer.name): not the debtor's "name".
        raise ValidationError(
            "officer.name",
            "required",
            f"1 to {_NAME_CHARS_MAX} characters",
            zh=f"必须填写，且不得超过{_NAME_CHARS_MAX}个字符",
        )
    if role not in OFFICER_ROLES:
        raise ValidationError(
            "role",
            "enum",
            f"must be one of {', '.join(OFFICER_ROLES)}",
            zh=f"须为以下之一：{_ROLES_ZH}",
        )
    return Officer(officer_id, code, name, role)


def officer_serves(officer: Officer | None, court_prefixes: Sequence[str]) -> bool:
    """Whether ``officer`` is registered and serves at a court this node (still) serves."""
    return officer is not None and court_served(officer.court, court_prefixes)


def validate_party(
    case_number: str,
    debtor: payloads_pb2.Debtor,
    *,
    court_prefixes: Sequence[str],
    confirm_bad_credit_code: bool = False,
) -> tuple[Party, tuple[str, ...]]:
    """A debtor of an enforcement case of this node's courts; returns the party and warnings
    (an early credit code failing its check, confirmed by the officer)."""
    case = require_enforcement_case(case_number, court_prefixes, "case_number")
    name = debtor.name.strip()
    if len(name) > _NAME_CHARS_MAX:
        raise ValidationError(
            "debtor.name",
            "length",
            f"at most {_NAME_CHARS_MAX} characters",
            zh=f"不得超过{_NAME_CHARS_MAX}个字符",
        )
    if debtor.type == payloads_pb2.PERSON:
        number = validate_resident_id(debtor.id_number, "debtor.id_number").number
        return Party(case.text, number, "person", name), ()
    if debtor.type == payloads_pb2.ORG:
        code = validate_credit_code(
            debtor.credit_code, "debtor.credit_code", allow_bad_checksum=confirm_bad_credit_code
        )
        warnings = (code.warning,) if code.warning else ()
        return Party(case.text, code.code, "org", name), warnings
    raise ValidationError("debtor.type", "required", "must be person or org", zh=DEBTOR_TYPE_ZH)
