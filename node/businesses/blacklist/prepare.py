"""Preparers of the blacklist entries this node appends (listed, corrected, delisted).

Each draft is validated against the domain rules (sync/domain) and the current folded state,
normalised, and given its subject. Errors name the field and the rule and never echo
personal data.

One listing per debtor and case: while a listing of this node for a court, case number and
debtor identifier is listed, a second one is refused — "already_listed" when the first was
committed (or submitted before this submission), naming its subject (a new ground for the same
case is a correction of that entry); "duplicate_listing" when it repeats an earlier draft of
the same submission. After a delisting the debtor may be listed again for the case. The rule
is the origin's to enforce here, not the fold's: a peer folds every listing of a validly
signed log alike (sync/folds/blacklist.py), so a log written before the rule replicates as it
is. The lookup reads the rows of the debtor's identifier (``id_key``, indexed) and keeps those
of this node's court and case: a debtor has a handful of listings, so no index on the case is
needed; the listings of every debtor of a submission are read at once
(``RowReader.prefetch_by``), so an import of many listings costs a query per thousand of them.
A correction may not move a listing onto the court, case and debtor of another listed entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ccnode.v1 import log_pb2, payloads_pb2
from node.ownlog.writer import AlreadyDone, Draft, DraftRejected, PrepareContext, RowReader
from sync.domain import blacklist as bl
from sync.domain import blacklist_codec as codec
from sync.domain.errors import ValidationError
from sync.domain.wording import SHIXIN
from sync.folds import blacklist as bl_fold
from sync.payload import body_name


def _own_listing(subject: str, rows: RowReader, ctx: PrepareContext) -> dict[str, object]:
    if not subject.startswith(bl_fold.subject_prefix(ctx.node_id)):
        raise ValidationError(
            "subject",
            "single_writer",
            "only the listing node may change a listing",
            zh="只有纳入该条目的节点可以更正或删除",
        )
    row = rows.get(bl_fold.TABLE, subject)
    if row is None:
        raise ValidationError("subject", "unknown", "no such listing", zh="没有这个失信名单条目")
    if row["status"] != "listed":
        raise ValidationError(
            "subject", "delisted", "the listing is already delisted", zh="该条目已删除"
        )
    return row


def _listed_keys(drafts: Sequence[Draft]) -> Iterator[str]:
    """The debtor keys of a submission's listings, as submitted (a key that validation
    normalises otherwise is looked up on its own)."""
    for draft in drafts:
        if draft.kind == log_pb2.BLACKLIST_LISTED:
            yield bl_fold.id_key(draft.payload.blacklist_listed.record.debtor)


def _check_one_listing(
    record: payloads_pb2.BlacklistRecord,
    rows: RowReader,
    ctx: PrepareContext,
    *,
    corrected: str | None = None,
) -> None:
    """Refuse a listing of a court, case and debtor that this node lists already; or, for the
    ``corrected`` subject, a correction onto another listing's court, case and debtor."""
    key = bl_fold.id_key(record.debtor)
    if not key:
        return
    own = bl_fold.subject_prefix(ctx.node_id)
    rows.prefetch_by(bl_fold.TABLE, "id_key", lambda: _listed_keys(ctx.submission))
    for row in rows.find_by(bl_fold.TABLE, "id_key", key):
        if not (
            row["status"] == "listed"
            and row["key"].startswith(own)
            and row["court"] == record.court
            and row["case_number"] == record.case_number
            and row["key"] != corrected
        ):
            continue
        if corrected is not None:
            raise DraftRejected(
                0,
                "case_number",
                "already_listed",
                f"the debtor is listed for this court and case as {row['key']}; "
                "delist one of the two instead",
                zh=f"该被执行人已由本院以此案号纳入（{row['key']}）；应删除其中一条",
            )
        if int(row["key"].removeprefix(own)) >= ctx.submission_start:
            raise DraftRejected(
                0,
                "debtor",
                "duplicate_listing",
                "repeats an earlier listing of this submission (the same court, case "
                "number and debtor)",
                zh="与本次提交中前一条目重复（同一执行法院、案号和被执行人）",
            )
        raise AlreadyDone(
            0,
            "debtor",
            "already_listed",
            f"already listed for this court and case as {row['key']}; a new ground "
            "for the same case is a correction of that entry",
            row["key"],
            zh=f"已由本院以此案号纳入（{row['key']}）；同一案件的新失信情形应更正该条目"
            f"（{SHIXIN}第十一条）",
        )


def prepare_blacklist(
    draft: Draft, rows: RowReader, ctx: PrepareContext
) -> tuple[Draft, list[str]]:
    payload = payloads_pb2.Payload()
    if draft.payload.WhichOneof("body") != body_name(draft.kind):
        raise ValidationError(
            "payload",
            "kind_mismatch",
            "payload does not match the entry kind",
            zh="内容与条目类别不符",
        )
    if draft.kind == log_pb2.BLACKLIST_LISTED:
        if draft.subject:
            raise ValidationError(
                "subject",
                "assigned",
                "a new listing gets its subject from the node",
                zh="新条目的编号由节点分配，不得填写",
            )
        rec = codec.listing_from_pb(draft.payload.blacklist_listed.record, listed_on=None)
        v = bl.validate_listing(
            rec,
            court_prefixes=ctx.court_prefixes,
            listed_on=ctx.today,
            confirm_bad_credit_code=draft.confirm_bad_credit_code,
        )
        payload.blacklist_listed.record.CopyFrom(codec.validated_to_pb(v))
        _check_one_listing(payload.blacklist_listed.record, rows, ctx)
        subject = f"{bl_fold.subject_prefix(ctx.node_id)}{ctx.index}"
        return Draft(draft.kind, payload, subject=subject), list(v.warnings)
    row = _own_listing(draft.subject, rows, ctx)
    original_pb = bl_fold.state_of(row).record
    listed_on = codec.date_from_pb(original_pb.listed_on, "listed_on")
    original = bl.validate_listing(
        codec.listing_from_pb(original_pb, listed_on=listed_on),
        court_prefixes=ctx.court_prefixes,
        listed_on=listed_on,
        confirm_bad_credit_code=True,
        stored=True,
    )
    if draft.kind == log_pb2.BLACKLIST_CORRECTED:
        src = draft.payload.blacklist_corrected
        corrected = codec.listing_from_pb(src.record, listed_on=listed_on)
        v = bl.validate_correction(
            original,
            corrected,
            court_prefixes=ctx.court_prefixes,
            on=ctx.today,
            confirm_bad_credit_code=draft.confirm_bad_credit_code,
        )
        if not src.reason.strip():
            raise ValidationError(
                "reason",
                "required",
                "a correction needs a reason",
                zh=f"更正须写明理由（{SHIXIN}第十一条）",
            )
        warnings = list(v.warnings)
        out = payload.blacklist_corrected
        if src.ground_arose_on:
            deadline = bl.act_deadline(
                codec.date_from_pb(src.ground_arose_on, "ground_arose_on"),
                on=ctx.today,
                listed_on=listed_on,
            )
            out.ground_arose_on = deadline.ground_arose_on.isoformat()
            out.act_due_on = deadline.due_by.isoformat()
            out.late = deadline.late
            warnings.extend(deadline.warnings)
        out.record.CopyFrom(codec.validated_to_pb(v))
        _check_one_listing(out.record, rows, ctx, corrected=draft.subject)
        out.reason = src.reason.strip()
        out.corrected_on = ctx.today.isoformat()
        return Draft(draft.kind, payload, subject=draft.subject), warnings
    src_d = draft.payload.blacklist_delisted
    if src_d.ground == payloads_pb2.DELIST_GROUND_UNSPECIFIED:
        raise ValidationError(
            "ground",
            "required",
            "must be one of D1..D7, REVOKED, EXPIRED",
            zh=f"须为 D1 至 D7（{SHIXIN}第十条）、REVOKED（撤销，第九条）"
            "或 EXPIRED（期限届满）之一",
        )
    repair = {
        payloads_pb2.CREDIT_REPAIR_UNSPECIFIED: bl.CreditRepair.NONE,
        payloads_pb2.ACTIVE_PERFORMANCE: bl.CreditRepair.ACTIVE_PERFORMANCE,
        payloads_pb2.CREDITOR_REQUEST: bl.CreditRepair.CREDITOR_REQUEST,
    }[src_d.credit_repair]
    on = codec.date_from_pb(src_d.delisted_on, "delisted_on") if src_d.delisted_on else ctx.today
    if on > ctx.today:
        raise ValidationError(
            "delisted_on",
            "future",
            "must not be in the future",
            zh=f"不得晚于今天 {ctx.today.isoformat()}",
        )
    d = bl.validate_delisting(
        payloads_pb2.DelistGround.Name(src_d.ground),
        reason=src_d.reason,
        on=on,
        credit_repair=repair,
        listing=original,
        ground_arose_on=codec.date_from_pb(src_d.ground_arose_on, "ground_arose_on")
        if src_d.ground_arose_on
        else None,
    )
    payload.blacklist_delisted.ground = src_d.ground
    payload.blacklist_delisted.reason = d.reason
    payload.blacklist_delisted.delisted_on = d.on.isoformat()
    payload.blacklist_delisted.credit_repair = src_d.credit_repair
    if d.ground_arose_on is not None:
        payload.blacklist_delisted.ground_arose_on = d.ground_arose_on.isoformat()
    if d.due_by is not None:
        payload.blacklist_delisted.act_due_on = d.due_by.isoformat()
        payload.blacklist_delisted.late = d.late
    return Draft(draft.kind, payload, subject=draft.subject), list(d.warnings)
