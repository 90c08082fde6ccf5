"""失信名单 records between the domain type (sync.domain.blacklist.ListingRecord) and the log's
wire record (payloads_pb2.BlacklistRecord), and the import format's JSON object.

One place for both directions, used by the node's preparers (node/businesses/blacklist) and
by the CLI (cli/blacklist.py): the wire record is the log's data format, so the two sides must
read and write it the same way. On the wire the term is always explicit and 0 means "no fixed
term" (G1); a record without a term gets its ground's default on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ccnode.v1 import payloads_pb2
from sync.domain.blacklist import (
    DEFAULT_TERM_YEARS,
    DebtorType,
    ListingGround,
    ListingRecord,
    Representative,
    RepresentativeRole,
    TermExtension,
    ValidatedListing,
)
from sync.domain.errors import ValidationError
from sync.domain.wording import SHIXIN

__all__ = [
    "DEBTOR_TYPE_NAMES",
    "date_from_pb",
    "listing_from_pb",
    "listing_json_from_pb",
    "listing_to_pb",
    "representative_role",
    "representative_role_pb",
    "representatives_from_pb",
    "representatives_to_pb",
    "validated_to_pb",
]

_DEBTOR_TYPE = {payloads_pb2.PERSON: DebtorType.PERSON, payloads_pb2.ORG: DebtorType.ORG}
_DEBTOR_TYPE_PB = {v: k for k, v in _DEBTOR_TYPE.items()}
# The import format's names of the wire's debtor types.
DEBTOR_TYPE_NAMES = {payloads_pb2.PERSON: "person", payloads_pb2.ORG: "org"}
_ROLE = {
    payloads_pb2.LEGAL_REPRESENTATIVE: RepresentativeRole.LEGAL_REPRESENTATIVE,
    payloads_pb2.PRINCIPAL_MANAGER: RepresentativeRole.PRINCIPAL_MANAGER,
    payloads_pb2.DIRECTLY_RESPONSIBLE: RepresentativeRole.DIRECTLY_RESPONSIBLE,
    payloads_pb2.ACTUAL_CONTROLLER: RepresentativeRole.ACTUAL_CONTROLLER,
}
_ROLE_PB = {v: k for k, v in _ROLE.items()}


def representative_role(value: int) -> RepresentativeRole | None:
    """The domain role of a wire role (None: unspecified or unknown to this release)."""
    for wire, role in _ROLE.items():
        if wire == value:
            return role
    return None


def representative_role_pb(role: RepresentativeRole) -> payloads_pb2.RepresentativeRole.ValueType:
    return _ROLE_PB[RepresentativeRole(role)]


def representatives_from_pb(
    reps: Sequence[payloads_pb2.Representative],
) -> tuple[Representative, ...]:
    out = []
    for position, r in enumerate(reps):
        role = representative_role(r.role)
        if role is None:
            raise ValidationError(
                f"representatives[{position}].role",
                "enum",
                "must be one of " + ", ".join(member.value for member in RepresentativeRole),
                zh="须为以下之一："
                + "、".join(f"{m.value}（{m.label_zh}）" for m in RepresentativeRole),
            )
        out.append(Representative(role=role, name=r.name, id_number=r.id_number))
    return tuple(out)


def representatives_to_pb(
    reps: Sequence[Representative],
) -> list[payloads_pb2.Representative]:
    return [
        payloads_pb2.Representative(
            role=representative_role_pb(r.role), name=r.name, id_number=r.id_number
        )
        for r in reps
    ]


def date_from_pb(text: str, field: str) -> date:
    """A wire date (ISO YYYY-MM-DD) of ``field``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            field, "format", "must be a date YYYY-MM-DD", zh="须为 YYYY-MM-DD 格式的日期"
        ) from None


def _missing(field: str) -> date:
    raise ValidationError(field, "required", "is required", zh="必须填写")


def listing_from_pb(rec: payloads_pb2.BlacklistRecord, *, listed_on: date | None) -> ListingRecord:
    """The domain record of a wire record (not yet validated: validate_listing does that).
    ValidationError for what cannot be represented at all (no debtor type, ground or date)."""
    if rec.debtor.type not in _DEBTOR_TYPE:
        raise ValidationError(
            "debtor_type",
            "required",
            "must be person or org",
            zh="须为 person（自然人）或 org（法人或其他组织）",
        )
    if rec.ground == payloads_pb2.LISTING_GROUND_UNSPECIFIED:
        raise ValidationError(
            "ground",
            "required",
            "must be one of G1..G6",
            zh=f"须为 G1 至 G6 之一（{SHIXIN}第一条）",
        )
    sex = rec.debtor.sex.upper() or None
    if sex not in (None, "M", "F"):
        raise ValidationError("sex", "format", "must be M or F", zh="须为 M（男）或 F（女）")
    return ListingRecord(
        case_number=rec.case_number,
        court=rec.court,
        debtor_type=_DEBTOR_TYPE[rec.debtor.type],
        name=rec.debtor.name,
        id_number=rec.debtor.id_number or None,
        credit_code=rec.debtor.credit_code or None,
        org_code=rec.debtor.org_code or None,
        sex=sex,  # type: ignore[arg-type]
        legal_representative=rec.debtor.legal_representative or None,
        obligation=rec.obligation,
        performance=rec.performance,
        ground=ListingGround(payloads_pb2.ListingGround.Name(rec.ground)),
        term_years=rec.term_years or None,  # 0 on the wire: the ground's default term
        basis_issuer=rec.basis_issuer,
        basis_number=rec.basis_number,
        filed_on=date_from_pb(rec.filed_on, "filed_on") if rec.filed_on else _missing("filed_on"),
        conduct=rec.conduct or None,
        listed_on=listed_on,
        representatives=representatives_from_pb(rec.representatives),
        term_extension=_extension(rec.term_extension),
    )


def _extension(value: payloads_pb2.TermExtension.ValueType) -> TermExtension | None:
    if value == payloads_pb2.TERM_EXTENSION_UNSPECIFIED:
        return None
    try:
        return TermExtension(payloads_pb2.TermExtension.Name(value))
    except ValueError:
        raise ValidationError(
            "term_extension",
            "enum",
            "is not a known extension: violence_or_threats or multiple_dishonest_acts",
            zh="须为 violence_or_threats（以暴力、威胁方法妨碍、抗拒执行情节严重）"
            f"或 multiple_dishonest_acts（具有多项失信行为）（{SHIXIN}第二条第一款）",
        ) from None


def validated_to_pb(v: ValidatedListing) -> payloads_pb2.BlacklistRecord:
    """The wire record of a validated listing, with what validation derived: the term's end,
    the debtor's age and the court's name (art. 6), the officer's credit-code confirmation."""
    return listing_to_pb(
        v.record,
        term_end=v.term_end,
        debtor_age=v.debtor_age,
        court_name=v.court_name,
        credit_code_confirmed=v.credit_code_confirmed,
    )


def listing_to_pb(
    rec: ListingRecord,
    *,
    term_end: date | None = None,
    debtor_age: int | None = None,
    court_name: str = "",
    credit_code_confirmed: bool = False,
) -> payloads_pb2.BlacklistRecord:
    """The wire record of ``rec``; ``term_end`` and the derived fields are known once the
    listing is validated (`validated_to_pb`)."""
    term_years = rec.term_years
    if term_years is None:
        term_years = DEFAULT_TERM_YEARS if rec.ground.has_fixed_term else 0
    return payloads_pb2.BlacklistRecord(
        case_number=rec.case_number,
        court=rec.court,
        debtor=payloads_pb2.Debtor(
            type=_DEBTOR_TYPE_PB[DebtorType(rec.debtor_type)],
            name=rec.name,
            id_number=rec.id_number or "",
            credit_code=rec.credit_code or "",
            sex=rec.sex or "",
            legal_representative=rec.legal_representative or "",
            org_code=rec.org_code or "",
        ),
        obligation=rec.obligation,
        performance=rec.performance,
        ground=payloads_pb2.ListingGround.Value(str(rec.ground)),
        term_years=term_years,
        conduct=rec.conduct or "",
        basis_issuer=rec.basis_issuer,
        basis_number=rec.basis_number,
        filed_on=rec.filed_on.isoformat(),
        listed_on=rec.listed_on.isoformat() if rec.listed_on else "",
        term_end_on=term_end.isoformat() if term_end else "",
        representatives=representatives_to_pb(rec.representatives),
        debtor_age=debtor_age or 0,
        court_name=court_name,
        term_extension=payloads_pb2.TermExtension.Value(str(rec.term_extension))
        if rec.term_extension
        else payloads_pb2.TERM_EXTENSION_UNSPECIFIED,
        credit_code_confirmed=credit_code_confirmed,
    )


def listing_json_from_pb(rec: payloads_pb2.BlacklistRecord) -> dict[str, Any]:
    """A wire record as an object of the import format (absent fields omitted), e.g. to merge
    corrections into before sync.domain.blacklist.parse_listing_json reads it back."""
    d = rec.debtor
    obj: dict[str, Any] = {
        "case_number": rec.case_number,
        "court": rec.court,
        "debtor_type": DEBTOR_TYPE_NAMES.get(d.type),
        "name": d.name,
        "id_number": d.id_number,
        "credit_code": d.credit_code,
        "org_code": d.org_code,
        "sex": d.sex,
        "legal_representative": d.legal_representative,
        "obligation": rec.obligation,
        "performance": rec.performance,
        "ground": _enum_name(payloads_pb2.ListingGround, rec.ground),
        # 0 on the wire is "no fixed term"; absent lets a corrected ground take its default.
        "term_years": rec.term_years or None,
        "conduct": rec.conduct,
        "basis_issuer": rec.basis_issuer,
        "basis_number": rec.basis_number,
        "filed_on": rec.filed_on,
        "listed_on": rec.listed_on,
        "representatives": [
            {
                "role": role.value if (role := representative_role(r.role)) else "",
                "name": r.name,
                "id_number": r.id_number,
            }
            for r in rec.representatives
        ]
        or None,
        "term_extension": _enum_name(payloads_pb2.TermExtension, rec.term_extension),
    }
    return {key: value for key, value in obj.items() if value not in ("", None)}


def _enum_name(enum: Any, value: int) -> str:
    return "" if value == 0 else str(enum.Name(value))
