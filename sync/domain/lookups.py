"""Cross-region asset lookups (跨区域财产联查): subjects, the target's checks, subject keys.

A lookup is a LOOKUP_REQUESTED entry in the requester's log (subject
``<requester>/lookup/<index>``, audience {requester, target}) answered by a LOOKUP_ANSWERED or
LOOKUP_DENIED entry with the same subject in the target's log. The target does not trust the
requester's own checks: `check_request` is what it verifies before it reads its registry
(网络查询冻结规定 arts. 7–8: a query concerns a debtor of the cited enforcement case).

Denial details name the field and the rule, Chinese first like every refusal
(sync/domain/wording.py ``joined``); case numbers and court codes are public and may be echoed,
identifiers never are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ccnode.v1 import payloads_pb2
from sync.domain.assets import known_categories, mask_owner_id, normalise_owner_id
from sync.domain.case_number import court_served, parse_case_number
from sync.domain.errors import ValidationError
from sync.domain.identifiers import mask_name, validate_credit_code, validate_resident_id
from sync.domain.registers import DEBTOR_TYPE_ZH
from sync.domain.wording import ANHAO, CHAKONG, joined
from sync.ids import LOOKUP_SUBJECTS

__all__ = [
    "PURPOSE_CHARS_MAX",
    "CheckedRequest",
    "Denial",
    "check_request",
    "debtor_identifier",
    "lookup_subject",
    "masked_debtor",
    "parse_lookup_subject",
    "request_entry_id",
    "subject_key",
]

PURPOSE_CHARS_MAX: Final = 500


def lookup_subject(requester: str, index: int) -> str:
    """The subject of the lookup whose request is entry ``index`` of ``requester``'s log."""
    return LOOKUP_SUBJECTS.of(requester, index)


def parse_lookup_subject(subject: str) -> tuple[str, int] | None:
    """(requester, index of the request entry), or None if ``subject`` is not a lookup's."""
    return LOOKUP_SUBJECTS.parse(subject)


def request_entry_id(subject: str) -> str:
    """The entry id ("origin/index") of a lookup's request; ValueError if not a lookup."""
    parsed = parse_lookup_subject(subject)
    if parsed is None:
        raise ValueError("not a lookup subject")
    return f"{parsed[0]}/{parsed[1]}"


def subject_key(identifier: str) -> str:
    """SHA-256 hex of a normalised resident ID or credit code: how `audit access` finds the
    lookups and reads about one person or company without storing the number again. (The
    same key as ACCESS_RECORDED.subject_key written by the blacklist reads.)"""
    return hashlib.sha256(normalise_owner_id(identifier).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Denial:
    reason: int  # payloads_pb2.DenialReason
    detail: str  # names the field and the rule, never personal data


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    owner_id: str  # normalised identifier to look up
    categories: tuple[int, ...]  # distinct, in the requested order
    warnings: tuple[str, ...] = ()


def check_request(
    request: payloads_pb2.LookupRequested,
    *,
    target: str,
    requester_prefixes: Sequence[str] | None,
    requester_courts: Sequence[str] | None = None,
) -> CheckedRequest | Denial:
    """The target's checks of a request, in order: known requester; addressed here; a 执 / 执恢
    / 执保 case of a court the requester serves; a valid identifier; known categories; a
    purpose; the requester's statement that the debtor is a registered party of the case.
    ``requester_prefixes`` is None for a requester that is not a peer of this node.
    ``requester_courts``: the court prefixes the requester's log-signing certificate names
    (node/identity/court_authority.py; None: not checked): the cited case's court must be
    among them too, so the requester's court serves the case by the federation CA's word as
    well as by this node's peer table.
    Rate limits and quotas are the caller's (they depend on time and history)."""
    assert not isinstance(requester_prefixes, str), "a sequence of prefixes, not one string"
    if requester_prefixes is None:
        return Denial(
            payloads_pb2.UNKNOWN_REQUESTER,
            joined("requester", "请求方不是本节点的对端节点", "not a peer of this node"),
        )
    if request.target_node != target:
        return Denial(
            payloads_pb2.MALFORMED,
            joined("target_node", "请求所指为其他节点", "the request names another node"),
        )
    denial = _check_case(request, requester_prefixes)
    if denial is not None:
        return denial
    if requester_courts is not None:
        court = parse_case_number(request.case_number).court
        if not court_served(court, requester_courts):
            return Denial(
                payloads_pb2.COURT_OUTSIDE_PREFIXES,
                joined(
                    "case_number",
                    f"法院{court}不在请求方节点证书所列法院之内",
                    f"court {court} is not among the courts the requester's certificate names",
                ),
            )
    try:
        owner_id, warnings = _check_debtor(request)
    except ValidationError as err:
        return Denial(payloads_pb2.INVALID_IDENTIFIER, str(err))
    try:
        categories = known_categories(request.categories)
    except ValidationError as err:
        return Denial(payloads_pb2.UNKNOWN_CATEGORY, str(err))
    purpose = request.purpose.strip()
    if not purpose or len(purpose) > PURPOSE_CHARS_MAX:
        return Denial(
            payloads_pb2.MALFORMED,
            joined(
                "purpose",
                f"必须填写，且不得超过{PURPOSE_CHARS_MAX}个字符",
                f"required, at most {PURPOSE_CHARS_MAX} characters",
            ),
        )
    if not request.debtor_registered:
        # The parties of a case are in the register of the court that holds it, at the
        # requester; the target cannot see it. What it can verify is that the requester's
        # node stated it, in its signed request, for a case of a court it serves (above).
        return Denial(
            payloads_pb2.NOT_A_DEBTOR,
            joined(
                "debtor",
                "请求方未声明被查询人为所引案件登记的被执行人"
                f"（{CHAKONG}第七条、第八条：仅可查询本案被执行人）",
                "the requester does not state the debtor is a registered party of the "
                "cited case (网络查询冻结规定 arts. 7–8: a query concerns a debtor of the case)",
            ),
        )
    return CheckedRequest(owner_id, categories, warnings)


def _check_case(
    request: payloads_pb2.LookupRequested, requester_prefixes: Sequence[str]
) -> Denial | None:
    try:
        case = parse_case_number(request.case_number)
    except ValidationError as err:
        return Denial(payloads_pb2.MALFORMED, str(err))
    if not case.is_enforcement_basis:
        return Denial(
            payloads_pb2.CASE_NOT_ENFORCEMENT,
            joined(
                "case_number",
                f"{case.case_type}案件不得查询，仅限执行实施类案件（执、执恢、执保）（{ANHAO}）",
                f"a {case.case_type} case may not be cited: only 执 / 执恢 / 执保 cases",
            ),
        )
    if request.court and request.court != case.court:
        return Denial(
            payloads_pb2.MALFORMED,
            joined("court", "与案号中的法院代码不一致", "differs from the case number's court"),
        )
    prefixes = [p for p in requester_prefixes if p]
    if not prefixes:
        return Denial(
            payloads_pb2.COURT_OUTSIDE_PREFIXES,
            joined(
                "case_number",
                "本节点未为请求方配置所辖法院代码前缀",
                "no court prefixes are configured for the requester on this node",
            ),
        )
    if not any(case.court.startswith(p) for p in prefixes):
        return Denial(
            payloads_pb2.COURT_OUTSIDE_PREFIXES,
            joined(
                "case_number",
                f"法院{case.court}不属请求方所辖法院（{'、'.join(prefixes)}）",
                f"court {case.court} is not among the requester's courts ({', '.join(prefixes)})",
            ),
        )
    return None


def _check_debtor(request: payloads_pb2.LookupRequested) -> tuple[str, tuple[str, ...]]:
    debtor = request.debtor
    if debtor.type == payloads_pb2.PERSON:
        return validate_resident_id(debtor.id_number, "debtor.id_number").number, ()
    if debtor.type == payloads_pb2.ORG:
        code = validate_credit_code(
            debtor.credit_code,
            "debtor.credit_code",
            allow_bad_checksum=request.credit_code_confirmed,
        )
        return code.code, (code.warning,) if code.warning else ()
    raise ValidationError("debtor.type", "required", "must be person or org", zh=DEBTOR_TYPE_ZH)


def debtor_identifier(debtor: payloads_pb2.Debtor) -> str:
    """The identifier a lookup is about, normalised ("" when absent)."""
    value = debtor.id_number if debtor.type == payloads_pb2.PERSON else debtor.credit_code
    return normalise_owner_id(value)


def masked_debtor(debtor: payloads_pb2.Debtor) -> payloads_pb2.Debtor:
    """A debtor for a reader who did not reveal: a person's identifier and given name hidden;
    an organisation's name and credit code are public (法释〔2017〕7号 art. 6)."""
    out = payloads_pb2.Debtor()
    out.CopyFrom(debtor)
    org = debtor.type == payloads_pb2.ORG
    out.name = mask_name(debtor.name, organisation=org)
    if debtor.id_number:
        out.id_number = mask_owner_id(debtor.id_number)
    if debtor.credit_code and not org:
        out.credit_code = mask_owner_id(debtor.credit_code)
    return out
