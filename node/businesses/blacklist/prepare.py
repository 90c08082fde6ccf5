"""Preparers of the blacklist entries this node appends (listed, corrected, delisted).

Each draft is validated against the domain rules (sync/domain) and the current folded state,
normalised, and given its subject. Errors name the field and the rule and never echo
personal data.
"""

from __future__ import annotations

import datetime as dt

from ccnode.v1 import log_pb2, payloads_pb2
from node.ownlog.writer import Draft, PrepareContext, RowReader
from sync.domain import blacklist as bl
from sync.domain.errors import ValidationError
from sync.folds import blacklist as bl_fold
from sync.payload import body_name

_DEBTOR_TYPE = {payloads_pb2.PERSON: bl.DebtorType.PERSON, payloads_pb2.ORG: bl.DebtorType.ORG}
_DEBTOR_TYPE_PB = {v: k for k, v in _DEBTOR_TYPE.items()}


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, "format", "must be a date YYYY-MM-DD") from None


def listing_from_pb(
    rec: payloads_pb2.BlacklistRecord, *, listed_on: dt.date | None
) -> bl.ListingRecord:
    if rec.debtor.type not in _DEBTOR_TYPE:
        raise ValidationError("debtor_type", "required", "must be person or org")
    if rec.ground == payloads_pb2.LISTING_GROUND_UNSPECIFIED:
        raise ValidationError("ground", "required", "must be one of G1..G6")
    sex = rec.debtor.sex.upper() or None
    if sex not in (None, "M", "F"):
        raise ValidationError("sex", "format", "must be M or F")
    return bl.ListingRecord(
        case_number=rec.case_number,
        court=rec.court,
        debtor_type=_DEBTOR_TYPE[rec.debtor.type],
        name=rec.debtor.name,
        id_number=rec.debtor.id_number or None,
        credit_code=rec.debtor.credit_code or None,
        sex=sex,  # type: ignore[arg-type]
        legal_representative=rec.debtor.legal_representative or None,
        obligation=rec.obligation,
        performance=rec.performance,
        ground=bl.ListingGround(payloads_pb2.ListingGround.Name(rec.ground)),
        term_years=rec.term_years or None,  # 0 on the wire: the ground's default term
        basis_issuer=rec.basis_issuer,
        basis_number=rec.basis_number,
        filed_on=_date(rec.filed_on, "filed_on") if rec.filed_on else _missing("filed_on"),
        conduct=rec.conduct or None,
        listed_on=listed_on,
    )


def _missing(field: str) -> dt.date:
    raise ValidationError(field, "required", "is required")


def listing_to_pb(v: bl.ValidatedListing) -> payloads_pb2.BlacklistRecord:
    r = v.record
    return payloads_pb2.BlacklistRecord(
        case_number=r.case_number,
        court=r.court,
        debtor=payloads_pb2.Debtor(
            type=_DEBTOR_TYPE_PB[bl.DebtorType(r.debtor_type)],
            name=r.name,
            id_number=r.id_number or "",
            credit_code=r.credit_code or "",
            sex=r.sex or "",
            legal_representative=r.legal_representative or "",
        ),
        obligation=r.obligation,
        performance=r.performance,
        ground=payloads_pb2.ListingGround.Value(str(r.ground)),
        term_years=r.term_years or 0,
        conduct=r.conduct or "",
        basis_issuer=r.basis_issuer,
        basis_number=r.basis_number,
        filed_on=r.filed_on.isoformat(),
        listed_on=v.listed_on.isoformat(),
        term_end_on=v.term_end.isoformat() if v.term_end else "",
    )


def _own_listing(subject: str, rows: RowReader, ctx: PrepareContext) -> dict[str, object]:
    if not subject.startswith(bl_fold.subject_prefix(ctx.node_id)):
        raise ValidationError(
            "subject", "single_writer", "only the listing node may change a listing"
        )
    row = rows.get(bl_fold.TABLE, subject)
    if row is None:
        raise ValidationError("subject", "unknown", "no such listing")
    if row["status"] != "listed":
        raise ValidationError("subject", "delisted", "the listing is already delisted")
    return row


def prepare_blacklist(
    draft: Draft, rows: RowReader, ctx: PrepareContext
) -> tuple[Draft, list[str]]:
    payload = payloads_pb2.Payload()
    if draft.payload.WhichOneof("body") != body_name(draft.kind):
        raise ValidationError("payload", "kind_mismatch", "payload does not match the entry kind")
    if draft.kind == log_pb2.BLACKLIST_LISTED:
        if draft.subject:
            raise ValidationError(
                "subject", "assigned", "a new listing gets its subject from the node"
            )
        rec = listing_from_pb(draft.payload.blacklist_listed.record, listed_on=None)
        v = bl.validate_listing(
            rec,
            court_prefixes=ctx.court_prefixes,
            listed_on=ctx.today,
            confirm_bad_credit_code=draft.confirm_bad_credit_code,
        )
        payload.blacklist_listed.record.CopyFrom(listing_to_pb(v))
        subject = f"{bl_fold.subject_prefix(ctx.node_id)}{ctx.index}"
        return Draft(draft.kind, payload, subject=subject), list(v.warnings)
    row = _own_listing(draft.subject, rows, ctx)
    original_pb = bl_fold.state_of(row).record
    listed_on = _date(original_pb.listed_on, "listed_on")
    original = bl.validate_listing(
        listing_from_pb(original_pb, listed_on=listed_on),
        court_prefixes=ctx.court_prefixes,
        listed_on=listed_on,
        confirm_bad_credit_code=True,
    )
    if draft.kind == log_pb2.BLACKLIST_CORRECTED:
        src = draft.payload.blacklist_corrected
        corrected = listing_from_pb(src.record, listed_on=listed_on)
        v = bl.validate_correction(
            original,
            corrected,
            court_prefixes=ctx.court_prefixes,
            on=ctx.today,
            confirm_bad_credit_code=draft.confirm_bad_credit_code,
        )
        if not src.reason.strip():
            raise ValidationError("reason", "required", "a correction needs a reason")
        payload.blacklist_corrected.record.CopyFrom(listing_to_pb(v))
        payload.blacklist_corrected.reason = src.reason.strip()
        payload.blacklist_corrected.corrected_on = ctx.today.isoformat()
        return Draft(draft.kind, payload, subject=draft.subject), list(v.warnings)
    src_d = draft.payload.blacklist_delisted
    if src_d.ground == payloads_pb2.DELIST_GROUND_UNSPECIFIED:
        raise ValidationError("ground", "required", "must be one of D1..D7, REVOKED, EXPIRED")
    repair = {
        payloads_pb2.CREDIT_REPAIR_UNSPECIFIED: bl.CreditRepair.NONE,
        payloads_pb2.ACTIVE_PERFORMANCE: bl.CreditRepair.ACTIVE_PERFORMANCE,
        payloads_pb2.CREDITOR_REQUEST: bl.CreditRepair.CREDITOR_REQUEST,
    }[src_d.credit_repair]
    on = _date(src_d.delisted_on, "delisted_on") if src_d.delisted_on else ctx.today
    if on > ctx.today:
        raise ValidationError("delisted_on", "future", "must not be in the future")
    d = bl.validate_delisting(
        payloads_pb2.DelistGround.Name(src_d.ground),
        reason=src_d.reason,
        on=on,
        credit_repair=repair,
        listing=original,
    )
    payload.blacklist_delisted.ground = src_d.ground
    payload.blacklist_delisted.reason = d.reason
    payload.blacklist_delisted.delisted_on = d.on.isoformat()
    payload.blacklist_delisted.credit_repair = src_d.credit_repair
    return Draft(draft.kind, payload, subject=draft.subject), list(d.warnings)
