"""Preparers of the asset-lookup entries this node appends (registered in
node/ownlog/preparers.py).

* LOOKUP_REQUESTED (this node asks): the form of the request — a peer to ask, a case number,
  an identifier of the stated kind, known categories, a purpose. The rights (an enforcement
  case of a court the requester serves, a valid identifier, quotas) are the target's to check
  (sync/domain/lookups.check_request): it does not trust the requester, and a denied attempt
  is on record in both logs like any other.
* LOOKUP_ANSWERED / LOOKUP_DENIED (this node replies): only to a pending lookup addressed to
  this node, naming its request, and an answer carries only the categories asked for (PIPL
  art. 6, minimum necessary).

Every lookup entry has the audience {requester, target}: its payload never leaves the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from ccnode.v1 import log_pb2, payloads_pb2
from node.ownlog.writer import Draft, PrepareContext, RowReader
from sync.domain.assets import category_text, known_categories, normalise_owner_id
from sync.domain.case_number import check_case_year, parse_case_number
from sync.domain.errors import ValidationError
from sync.domain.lookups import (
    PURPOSE_CHARS_MAX,
    lookup_subject,
    parse_lookup_subject,
    request_entry_id,
)
from sync.domain.registers import DEBTOR_TYPE_ZH
from sync.domain.wording import PIPL
from sync.entry import PAYLOAD_BYTES_MAX
from sync.folds import lookups as lookups_fold
from sync.ids import NODE_ID_RE
from sync.payload import body_name, encode_payload

NAME_CHARS_MAX = 100
DETAIL_CHARS_MAX = 500
_IDENTIFIER_CHARS_MAX = 18


def prepare_lookup(draft: Draft, rows: RowReader, ctx: PrepareContext) -> tuple[Draft, list[str]]:
    if draft.payload.WhichOneof("body") != body_name(draft.kind):
        raise ValidationError(
            "payload",
            "kind_mismatch",
            "payload does not match the entry kind",
            zh="请求内容与条目类别不符",
        )
    if draft.kind == log_pb2.LOOKUP_REQUESTED:
        return _prepare_request(draft, ctx), []
    return _prepare_reply(draft, rows, ctx), []


# ---------------------------------------------------------------- requests


def _prepare_request(draft: Draft, ctx: PrepareContext) -> Draft:
    if draft.subject:
        raise ValidationError(
            "subject",
            "assigned",
            "a new lookup gets its subject from the node",
            zh="新的联查由节点编号，请勿填写",
        )
    src = draft.payload.lookup_requested
    target = src.target_node.strip()
    if not NODE_ID_RE.fullmatch(target):
        raise ValidationError(
            "target_node",
            "format",
            "must be a node id",
            zh="须为节点编号（小写字母、数字和“-”，如 chongqing）",
        )
    if target == ctx.node_id:
        raise ValidationError(
            "target_node",
            "self",
            "a node does not look up its own region",
            zh="不得向本地区节点发起跨区域联查",
        )
    case = parse_case_number(src.case_number, "case_number")
    check_case_year(case, "case_number", today=ctx.today)
    body = payloads_pb2.LookupRequested(
        target_node=target,
        case_number=case.text,
        court=case.court,
        debtor=_debtor(src.debtor),
        categories=_categories(src.categories),
        purpose=_purpose(src.purpose),
        credit_code_confirmed=src.credit_code_confirmed,
        # Set by the admin API from this node's register of case parties, never by a client
        # (node/services/registers.py).
        debtor_registered=src.debtor_registered,
    )
    return Draft(
        draft.kind,
        payloads_pb2.Payload(lookup_requested=body),
        subject=lookup_subject(ctx.node_id, ctx.index),
        audience=(ctx.node_id, target),
    )


def _debtor(src: payloads_pb2.Debtor) -> payloads_pb2.Debtor:
    """Only what a lookup needs (minimum necessary): type, identifier, optional name."""
    if src.type == payloads_pb2.PERSON:
        field, value = "debtor.id_number", src.id_number
    elif src.type == payloads_pb2.ORG:
        field, value = "debtor.credit_code", src.credit_code
    else:
        raise ValidationError("debtor.type", "required", "must be person or org", zh=DEBTOR_TYPE_ZH)
    identifier = normalise_owner_id(value)
    if not identifier:
        raise ValidationError(
            field, "required", "the debtor's identifier is required", zh="必须填写"
        )
    if len(identifier) > _IDENTIFIER_CHARS_MAX or not identifier.isalnum():
        raise ValidationError(
            field,
            "format",
            "an identifier has 18 letters or digits",
            zh="证件号码为18位数字或字母（GB 11643、GB 32100）",
        )
    name = src.name.strip()
    if len(name) > NAME_CHARS_MAX:
        raise ValidationError(
            "debtor.name",
            "length",
            f"at most {NAME_CHARS_MAX} characters",
            zh=f"不得超过{NAME_CHARS_MAX}个字符",
        )
    out = payloads_pb2.Debtor(type=src.type, name=name)
    if src.type == payloads_pb2.PERSON:
        out.id_number = identifier
    else:
        out.credit_code = identifier
    return out


Category: TypeAlias = payloads_pb2.AssetCategory.ValueType


def _categories(values: Iterable[int]) -> list[Category]:
    return [Category(value) for value in known_categories(values)]


def _purpose(text: str) -> str:
    purpose = text.strip()
    if not purpose:
        raise ValidationError(
            "purpose",
            "required",
            "a lookup states its purpose",
            zh="联查须写明查询事由（事由随请求记录在案）",
        )
    if len(purpose) > PURPOSE_CHARS_MAX:
        raise ValidationError(
            "purpose",
            "length",
            f"at most {PURPOSE_CHARS_MAX} characters",
            zh=f"不得超过{PURPOSE_CHARS_MAX}个字符",
        )
    return purpose


# ---------------------------------------------------------------- replies


def _prepare_reply(draft: Draft, rows: RowReader, ctx: PrepareContext) -> Draft:
    parsed = parse_lookup_subject(draft.subject)
    if parsed is None:
        raise ValidationError(
            "subject",
            "format",
            "must be a lookup subject",
            zh="须为联查编号（<节点>/lookup/<序号>）",
        )
    row = rows.get(lookups_fold.TABLE, draft.subject)
    if row is None or row["target"] != ctx.node_id or not lookups_fold.state_of(row).request_entry:
        raise ValidationError(
            "subject", "unknown", "no lookup addressed to this node", zh="本节点无此待答复的联查"
        )
    if row["status"] != lookups_fold.PENDING:
        raise ValidationError(
            "subject",
            "replied",
            "the lookup has already been replied to",
            zh="该联查已答复，不得重复答复",
        )
    requester = parsed[0]
    request_id = request_entry_id(draft.subject)
    payload = payloads_pb2.Payload()
    if draft.kind == log_pb2.LOOKUP_ANSWERED:
        asked = _categories(lookups_fold.state_of(row).categories)
        payload.lookup_answered.CopyFrom(_answer(draft.payload.lookup_answered, asked, ctx))
        payload.lookup_answered.request = _request(payload.lookup_answered.request, request_id)
        if len(encode_payload(draft.kind, payload)) > PAYLOAD_BYTES_MAX:
            # Refused here, not by make_entry: an oversized entry would fail the whole
            # group commit instead of this one submission.
            raise ValidationError(
                "assets",
                "too_large",
                f"the answer exceeds {PAYLOAD_BYTES_MAX} bytes",
                zh=f"答复内容超过{PAYLOAD_BYTES_MAX}字节，请分类别答复",
            )
    else:
        payload.lookup_denied.CopyFrom(_denial(draft.payload.lookup_denied))
        payload.lookup_denied.request = _request(payload.lookup_denied.request, request_id)
    return Draft(
        draft.kind,
        payload,
        subject=draft.subject,
        audience=(requester, ctx.node_id),
        parents=(request_id,),
    )


def _request(given: str, request_id: str) -> str:
    if given and given != request_id:
        raise ValidationError(
            "request",
            "mismatch",
            "must name the lookup's request entry",
            zh="须为该联查的请求条目",
        )
    return request_id


def _answer(
    src: payloads_pb2.LookupAnswered, asked: list[Category], ctx: PrepareContext
) -> payloads_pb2.LookupAnswered:
    categories = list(src.categories) or asked
    asked_text = "、".join(category_text(c) for c in asked)
    if any(c not in asked for c in categories):
        extra = "、".join(category_text(c) for c in categories if c not in asked)
        raise ValidationError(
            "categories",
            "not_asked",
            "answer only the categories asked for",
            # PIPL art. 6: minimum necessary; the categories are public words, not data.
            zh=f"只能答复所查询的财产类别（{asked_text}），未查询{extra}（{PIPL}第六条）",
        )
    if any(a.category not in categories for a in src.assets):
        outside = "、".join(
            dict.fromkeys(
                category_text(a.category) for a in src.assets if a.category not in categories
            )
        )
        raise ValidationError(
            "assets",
            "not_asked",
            "an asset is of a category the answer does not cover",
            zh=f"所附财产含答复未涵盖的类别（{outside}）",
        )
    if src.assets_found and src.assets_found < len(src.assets):  # 0: not counted separately
        raise ValidationError(
            "assets_found",
            "range",
            "must count at least the assets carried",
            zh=f"不得少于所附财产数（{len(src.assets)}）",
        )
    out = payloads_pb2.LookupAnswered()
    out.CopyFrom(src)
    out.categories[:] = categories
    out.answered_on = ctx.today.isoformat()
    if not out.assets_found:
        out.assets_found = len(src.assets)
    return out


def _denial(src: payloads_pb2.LookupDenied) -> payloads_pb2.LookupDenied:
    if src.reason == payloads_pb2.DENIAL_REASON_UNSPECIFIED:
        raise ValidationError(
            "reason", "required", "a denial names its reason", zh="拒绝答复须写明拒绝理由"
        )
    detail = src.detail.strip()
    if not detail or len(detail) > DETAIL_CHARS_MAX:
        raise ValidationError(
            "detail",
            "required",
            f"a denial explains itself in 1..{DETAIL_CHARS_MAX} characters",
            zh=f"拒绝答复须说明情况，1至{DETAIL_CHARS_MAX}个字符",
        )
    return payloads_pb2.LookupDenied(request=src.request, reason=src.reason, detail=detail)
