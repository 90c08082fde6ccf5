"""What the agencies of joint punishment (联合惩戒单位) are told about the blacklist.

Source: 最高人民法院关于公布失信被执行人名单信息的若干规定 (法释〔2017〕7号) art. 6 (the published
fields), art. 9 (revocation), art. 10 (delisting; delisted information is no longer published),
art. 2 ¶2 and D3 (credit repair: early delisting on active performance or the creditor's
request). Pure functions: the Agency service (node/services/agency.py) reads rows, these say
what of them leaves the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccnode.v1 import agency_pb2, payloads_pb2, state_pb2
from sync.domain.errors import ValidationError
from sync.domain.identifiers import (
    DEFAULT_ID_MASKS,
    IdMasks,
    mask_id,
    validate_credit_code,
    validate_resident_id,
)

NAME_CHARS_MAX = 200
PURPOSE_CHARS_MAX = 500


@dataclass(frozen=True, slots=True)
class Subject:
    """A checked subject: the identifier as stored (``id_key``) and the name it must bear
    ("" = any)."""

    id_key: str
    name: str


def check_subject(id_number: str, name: str, field: str = "subject") -> Subject:
    """A resident ID (GB 11643, checksum checked) or a unified social credit code (GB 32100;
    a code failing its check character is still looked up: some early codes are legal), with
    an optional exact name. Errors name ``<field>.id_number`` or ``<field>.name``."""
    if not id_number.strip():
        raise ValidationError(
            f"{field}.id_number",
            "required",
            "a resident ID or credit code",
            zh="必须填写公民身份号码或统一社会信用代码",
        )
    try:
        id_key = validate_resident_id(id_number, f"{field}.id_number").number
    except ValidationError:
        id_key = validate_credit_code(id_number, f"{field}.id_number", allow_bad_checksum=True).code
    if len(name) > NAME_CHARS_MAX:
        raise ValidationError(
            f"{field}.name",
            "length",
            f"at most {NAME_CHARS_MAX} characters",
            zh=f"不得超过{NAME_CHARS_MAX}个字符",
        )
    return Subject(id_key, name.strip())


def check_purpose(purpose: str) -> str:
    """Every agency read states why (it is recorded with the read)."""
    if not purpose.strip():
        raise ValidationError(
            "purpose",
            "required",
            "every read states its purpose (recorded)",
            zh="每次查询均须写明事由（事由随查询记录在案）",
        )
    if len(purpose) > PURPOSE_CHARS_MAX:
        raise ValidationError(
            "purpose",
            "length",
            f"at most {PURPOSE_CHARS_MAX} characters",
            zh=f"不得超过{PURPOSE_CHARS_MAX}个字符",
        )
    return purpose.strip()


def published(
    state: state_pb2.ListingState, *, in_full: bool, masks: IdMasks = DEFAULT_ID_MASKS
) -> agency_pb2.PublishedListing:
    """The art. 6 fields of a listing, a person's resident ID masked by the node's resident-ID
    mask (``[masks]``); an organisation's credit code, or its organisation code when it has
    none, in full. ``in_full`` False (a delisted listing, art. 10): who it is, its case and
    court, and when it was delisted only."""
    record = state.record
    debtor = record.debtor
    person = debtor.type == payloads_pb2.PERSON
    out = agency_pb2.PublishedListing(
        subject=state.subject,
        status=state.status,
        debtor_type="person" if person else "org",
        name=debtor.name,
        id_number_masked=mask_id(debtor.id_number, masks.resident_id) if person else "",
        credit_code="" if person else debtor.credit_code.strip().upper(),
        org_code="" if person else debtor.org_code.strip().upper(),
        case_number=record.case_number,
        court=record.court,
        court_name=record.court_name,
        listed_on=record.listed_on,
        delisted_on=state.delisted_on,
    )
    if not in_full:
        return out
    out.debtor_age = record.debtor_age if person else 0
    out.sex = debtor.sex if person else ""
    out.legal_representative = "" if person else debtor.legal_representative
    out.obligation = record.obligation
    out.performance = record.performance
    out.conduct = record.conduct
    out.ground = record.ground
    out.basis_issuer = record.basis_issuer
    out.basis_number = record.basis_number
    out.filed_on = record.filed_on
    out.term_end_on = record.term_end_on
    return out


def listing_index(key: str) -> int:
    """The index of a listing's own entry: its subject is ``<origin>/bl/<index>``."""
    return int(key.rsplit("/", 1)[1])


def change_kind(
    key: str, last_index: int, state: state_pb2.ListingState | None
) -> agency_pb2.ListingChangeKind.ValueType:
    """What the change that entry ``last_index`` made to listing ``key`` was, from the
    listing's state now. A listing row changes only by its own entries, and once delisted
    never again, so an earlier change of a delisted listing was its listing or a correction,
    and its last change the delisting."""
    if state is None:
        return agency_pb2.CHANGE_GONE
    if state.status == "delisted" and last_index == state.last_index:
        if state.delist_ground == payloads_pb2.REVOKED:
            return agency_pb2.CHANGE_REVOKED
        if state.delist_ground == payloads_pb2.EXPIRED:
            return agency_pb2.CHANGE_EXPIRED
        if state.credit_repair != payloads_pb2.CREDIT_REPAIR_UNSPECIFIED:
            return agency_pb2.CHANGE_REPAIRED
        return agency_pb2.CHANGE_DELISTED
    if last_index == listing_index(key):
        return agency_pb2.CHANGE_LISTED
    return agency_pb2.CHANGE_CORRECTED


def listing_change(
    position: int,
    key: str,
    last_index: int,
    state: state_pb2.ListingState | None,
    *,
    masks: IdMasks = DEFAULT_ID_MASKS,
) -> agency_pb2.ListingChange:
    """One Follow change: its kind, and the listing as it stands (in full while listed)."""
    kind = change_kind(key, last_index, state)
    change = agency_pb2.ListingChange(position=position, kind=kind)
    if state is None:
        change.listing.subject = key
        return change
    change.listing.CopyFrom(published(state, in_full=state.status == "listed", masks=masks))
    if state.status == "delisted" and last_index == state.last_index:
        change.delist_ground = state.delist_ground
        change.credit_repair = state.credit_repair
    return change
