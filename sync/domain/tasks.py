"""Delegated enforcement (委托执行 / 事项委托): time limits and the rules of each step's content.

Sources: 最高人民法院关于委托执行若干问题的规定 (2020 revision); Civil Procedure Law art. 240.
Pure: "today" is always an argument; the limits are plain calendar days (DOMAIN.md), counted
from court-local dates. Which side may take which step, and in what state, is the task fold's
business (sync/folds/tasks.py); this module checks what a step carries.

Errors name the field and the rule, never a value (debtor IDs, names, account numbers), and
are worded Chinese first in the courts' terms (sync/domain/wording.py): scope and matter as the
CLI takes them (``whole``, ``matter``, ``freeze``), amounts in 元.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ccnode.v1 import payloads_pb2
from sync.domain.case_number import parse_court_code, require_enforcement_case
from sync.domain.errors import ValidationError
from sync.domain.identifiers import validate_credit_code, validate_resident_id
from sync.domain.seizures import check_measure
from sync.domain.wording import MINSU_JIESHI, WEITUO, yuan
from sync.ids import NODE_ID_RE

__all__ = [
    "CASE_CLOSING_STATUSES",
    "ESCALATION_MONTHS",
    "MATERIALS_DAYS",
    "OPEN_STATUSES",
    "REGISTER_DAYS",
    "REPORT_EVERY_DAYS",
    "START_DAYS",
    "TERMINAL_STATUSES",
    "Flag",
    "TaskDates",
    "add_months",
    "judged_zh",
    "matter_text",
    "parse_date",
    "require_text",
    "time_flags",
    "validate_acceptance",
    "validate_delegation",
    "validate_documents",
    "validate_measures",
]

# 委托执行若干问题的规定: register and name the judge within 7 days of receipt; start
# execution within 15 days; a status report at least every 30 days until done; after 6 months
# unfinished the creditor may ask the higher court to escalate; materials asked for must come
# within 30 days or the delegation counts as withdrawn.
REGISTER_DAYS = 7
START_DAYS = 15
REPORT_EVERY_DAYS = 30
ESCALATION_MONTHS = 6
MATERIALS_DAYS = 30

TERMINAL_STATUSES = frozenset({"completed", "failed", "rejected", "cancelled", "refused"})
# Whole-case delegation (委托执行若干问题的规定): the receiving court registers a new case and
# the delegating court closes its own (结案). From the acceptance on, the case is closed at the
# sender for any further delegation, whole or matter. A return (退回), a rejection or a
# cancellation gives the case back to the sender and reopens it; a completion or a failure
# ends the receiving court's case, and the sender's stays closed.
CASE_CLOSING_STATUSES = frozenset({"accepted", "in_progress", "completed", "failed"})
OPEN_STATUSES = frozenset({"delegated", "accepted", "in_progress", "returned"})

_TEXT_CHARS_MAX = 2000
_DIGEST_BYTES = 32

# The matter kinds as the CLI takes them (``ccnode tasks delegate --matter``) and as the courts
# name them.
MATTER_NAMES: dict[int, tuple[str, str]] = {
    payloads_pb2.INVESTIGATE: ("investigate", "调查财产"),
    payloads_pb2.FREEZE: ("freeze", "冻结"),
    payloads_pb2.RENEW: ("renew", "续行查封、冻结"),
    payloads_pb2.UNFREEZE: ("unfreeze", "解除查封、冻结"),
    payloads_pb2.DEDUCT: ("deduct", "扣划"),
    payloads_pb2.SEIZE: ("seize", "查封、扣押"),
    payloads_pb2.SERVE: ("serve", "送达文书"),
    payloads_pb2.CONTROL_PERSON: ("control-person", "控制被执行人"),
}
# Task statuses in the courts' terms (as ``ccnode tasks`` lists them).
STATUS_ZH: dict[str, str] = {
    "unknown": "未知",
    "delegated": "已委托",
    "accepted": "已立案",
    "in_progress": "执行中",
    "returned": "已退回",
    "completed": "已完成",
    "failed": "未能执行",
    "rejected": "已拒绝",
    "cancelled": "已撤回",
    "refused": "不予受理",
}


def matter_text(matter: int) -> str:
    """A matter kind as a refusal shows it: ``冻结（freeze）``."""
    name, zh = MATTER_NAMES.get(matter, (f"matter-{matter}", ""))
    return f"{zh}（{name}）" if zh else name


def _status_text(status: str) -> str:
    zh = STATUS_ZH.get(status)
    return f"{zh}（{status}）" if zh else status


def add_months(d: date, months: int) -> date:
    """``d`` shifted by calendar months; a day missing in the target month becomes its last day
    (the corresponding-day rule of Civil Code art. 202)."""
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))


def parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            field, "format", "must be a date YYYY-MM-DD", zh="须为日期，格式 YYYY-MM-DD"
        ) from None


def require_text(value: str, field: str, what: str = "is required", *, zh: str = "必须填写") -> str:
    """``value`` trimmed; refused (rule ``required``, worded ``what`` / ``zh``) when blank."""
    text = value.strip()
    if not text:
        raise ValidationError(field, "required", what, zh=zh)
    if len(text) > _TEXT_CHARS_MAX:
        raise ValidationError(
            field,
            "length",
            f"at most {_TEXT_CHARS_MAX} characters",
            zh=f"不得超过{_TEXT_CHARS_MAX}个字符",
        )
    return text


# ---------------------------------------------------------------- time limits


@dataclass(frozen=True)
class TaskDates:
    """The folded dates the time limits count from (None: not happened)."""

    status: str
    delegated_on: date | None
    clock_from: date | None  # the delegation, or the supplement that answered a return
    accepted_on: date | None
    started_on: date | None
    last_report_on: date | None
    returned_on: date | None


@dataclass(frozen=True)
class Flag:
    code: str
    due_on: date  # the last day allowed; flagged from the day after
    rule: str


def time_flags(t: TaskDates, today: date) -> list[Flag]:
    """The limits a task has passed as of ``today``. Computed at read time from the folded
    dates, so every node holding the task flags it on the same day."""
    flags: list[Flag] = []

    def due(code: str, anchor: date | None, days: int, rule: str) -> None:
        if anchor is not None and today > anchor + timedelta(days=days):
            flags.append(Flag(code, anchor + timedelta(days=days), rule))

    if t.status == "delegated":
        due("register_overdue", t.clock_from, REGISTER_DAYS, "register and name a judge in 7 days")
    if t.status in ("delegated", "accepted") and t.started_on is None:
        due("start_overdue", t.clock_from, START_DAYS, "start execution within 15 days")
    if t.status in ("accepted", "in_progress"):
        due(
            "report_overdue",
            t.last_report_on or t.accepted_on,
            REPORT_EVERY_DAYS,
            "a status report at least every 30 days until done",
        )
    if t.status == "returned":
        due(
            "withdrawn",
            t.returned_on,
            MATERIALS_DAYS,
            "materials not supplied within 30 days: the delegation counts as withdrawn",
        )
    if t.status in OPEN_STATUSES and t.delegated_on is not None:
        escalate_from = add_months(t.delegated_on, ESCALATION_MONTHS)
        if today > escalate_from:
            flags.append(
                Flag("escalation", escalate_from, "unfinished after 6 months: may be escalated")
            )
    return flags


# ---------------------------------------------------------------- the fold's refusals

# The task fold (sync/folds/tasks.py) refuses an event with a rule code and an English note,
# which it keeps in the folded state; a node's own step the dry run of that fold refuses is
# worded for the officer here, by rule.
_JUDGED_ZH: dict[str, str] = {
    "not_delegated": "本节点尚未收到该事项的委托，须先有委托",
    "case_closed": "委托法院已对本案作委托结案处理（委托执行全案已被立案），"
    f"不得再行委托或办理（{WEITUO}）",
    "wrong_side": "本节点不是此步骤的办理方：补充材料、撤回由委托方办理，立案、拒绝、退回、报告、"
    "完成、未能执行由受托方办理",
    "duplicate": "一件委托执行事项只委托一次",
    "materials_late": f"补充材料超过30日，视为撤回委托（{WEITUO}）",
    "report_unseen": "受托法院已在此期间报告执行情况，已办理的部分有效，撤回暂不生效",
    "unknown_seizure": "该事项无此查封、扣押、冻结措施",
    "unseen_seizure": "办理人尚未收到该措施的报告",
    "released": "该措施已解除",
    "concurrent_renewal": "该措施已同时被续行",
    "too_late": "已被同时办理的其他步骤取代",
    "lapsed": "措施期限已届满，续行须在届满前办理，届满后须重新查封、扣押、冻结"
    f"（{MINSU_JIESHI}第四百八十五条）",
    "max_term": f"续行期限超过该类财产的最长期限（{MINSU_JIESHI}第四百八十五条）",
}


def judged_zh(rule: str, status: str = "") -> str:
    """The Chinese sentence of a fold refusal by ``rule`` (the task's status for ``finished`` and
    ``state``): ``委托执行事项已办结（已完成（completed）），不能再办理此步骤``."""
    if rule == "finished":
        return f"委托执行事项已办结（{_status_text(status)}），不能再办理此步骤"
    if rule == "state":
        return f"委托执行事项当前状态为{_status_text(status)}，不能办理此步骤"
    return _JUDGED_ZH.get(rule, f"委托执行事项的此步骤不能办理（规则 {rule}）")


# ---------------------------------------------------------------- step contents


def _debtor(d: payloads_pb2.Debtor, confirm_bad_credit_code: bool, warnings: list[str]) -> None:
    require_text(d.name, "debtor.name")
    if d.org_code:  # (a listing's field, 法释〔2017〕7号 art. 6; not validated for tasks)
        raise ValidationError(
            "debtor.org_code",
            "not_allowed",
            "a task's debtor has no org_code",
            zh="委托执行事项的被执行人不填组织机构代码",
        )
    if d.type == payloads_pb2.PERSON:
        if d.credit_code:
            raise ValidationError(
                "debtor.credit_code",
                "absent",
                "a person (--debtor-type person) has an id_number, not a credit_code",
                zh="自然人（person）填写身份证号，不填统一社会信用代码",
            )
        d.id_number = validate_resident_id(d.id_number, "debtor.id_number").number
    elif d.type == payloads_pb2.ORG:
        if d.id_number:
            raise ValidationError(
                "debtor.id_number",
                "absent",
                "an organisation (--debtor-type org) has a credit_code, not an id_number",
                zh="法人或其他组织（org）填写统一社会信用代码，不填身份证号",
            )
        check = validate_credit_code(
            d.credit_code, "debtor.credit_code", allow_bad_checksum=confirm_bad_credit_code
        )
        d.credit_code = check.code
        if check.warning:
            warnings.append(check.warning)
    else:
        raise ValidationError(
            "debtor.type",
            "required",
            "must be person or org",
            zh="须为 person（自然人）或 org（组织）",
        )


def validate_documents(docs: Sequence[payloads_pb2.DocumentRef], field: str) -> None:
    """Documents go by name and SHA-256 digest (the files stay with the court)."""
    for n, doc in enumerate(docs):
        require_text(doc.name, f"{field}[{n}].name")
        if len(doc.sha256) != _DIGEST_BYTES:
            raise ValidationError(
                f"{field}[{n}].sha256",
                "digest",
                "must be a SHA-256 (32 bytes)",
                zh="须为 SHA-256 摘要（64位十六进制）",
            )


def _assets(assets: Sequence[payloads_pb2.AssetRecord], field: str) -> None:
    for n, asset in enumerate(assets):
        require_text(asset.asset_id, f"{field}[{n}].asset_id")
        if asset.category == payloads_pb2.ASSET_CATEGORY_UNSPECIFIED:
            raise ValidationError(
                f"{field}[{n}].category", "required", "must be a category", zh="须写明财产类别"
            )
        if asset.value_fen < 0:
            raise ValidationError(
                f"{field}[{n}].value_fen",
                "positive",
                f"must not be negative (given {yuan(asset.value_fen)})",
                zh=f"不得为负数（填写的是{yuan(asset.value_fen)}）",
            )


def validate_delegation(
    body: payloads_pb2.TaskDelegated,
    *,
    node_id: str,
    court_prefixes: Sequence[str],
    today: date,
    confirm_bad_credit_code: bool = False,
) -> list[str]:
    """Check and normalise (in place) a delegation drafted at ``node_id``; return warnings.

    Whole case: no matter kind. Matter: one of the matter kinds. The case is a 执 / 执恢 / 执保
    case of a court this node serves, the delegating court is that case's court, the receiving
    node is another node, the amount is positive and at least one document is attached.
    """
    warnings: list[str] = []
    if body.scope == payloads_pb2.WHOLE_CASE:
        if body.matter != payloads_pb2.MATTER_KIND_UNSPECIFIED:
            raise ValidationError(
                "matter",
                "absent",
                "a whole-case delegation (--scope whole) names no matter",
                zh=f"委托执行全案（whole）不写委托事项，委托事项只用于事项委托（matter）（{WEITUO}）",
            )
    elif body.scope == payloads_pb2.MATTER:
        if body.matter == payloads_pb2.MATTER_KIND_UNSPECIFIED:
            raise ValidationError(
                "matter",
                "required",
                "a matter delegation (--scope matter) names its matter",
                zh=f"事项委托（matter）须写明委托事项（{WEITUO}）",
            )
    else:
        raise ValidationError(
            "scope",
            "required",
            "must be whole or matter",
            zh="须为 whole（委托执行全案）或 matter（事项委托）",
        )
    case = require_enforcement_case(body.case_number, court_prefixes, "case_number", today=today)
    body.case_number = case.text
    court = parse_court_code(body.delegating_court or case.court, "delegating_court").text
    if court != case.court:
        raise ValidationError(
            "delegating_court",
            "court_mismatch",
            f"court {court} is not the court of case {case.text} ({case.court})",
            zh=f"委托法院须为本案执行法院：{court} 不是案件 {case.text} 的法院（{case.court}）",
        )
    body.delegating_court = court
    body.judge = require_text(
        body.judge, "judge", "the delegating judge is required", zh="须写明委托法院的承办法官"
    )
    if not NODE_ID_RE.fullmatch(body.receiving_node):
        raise ValidationError(
            "receiving_node", "format", "must be a node id", zh="须为节点编号（如 chongqing）"
        )
    if body.receiving_node == node_id:
        raise ValidationError(
            "receiving_node",
            "self",
            "a node cannot delegate to itself",
            zh=f"受托地区节点须为其他地区的节点，不能委托本节点（{WEITUO}：委托异地法院执行）",
        )
    body.receiving_court = parse_court_code(body.receiving_court, "receiving_court").text
    _debtor(body.debtor, confirm_bad_credit_code, warnings)
    if body.amount_fen <= 0:
        raise ValidationError(
            "amount_fen",
            "positive",
            f"the enforcement amount must be above 0 (given {yuan(body.amount_fen)})",
            zh=f"执行标的金额须大于0元（填写的是{yuan(body.amount_fen)}）",
        )
    if body.costs_fen < 0:
        raise ValidationError(
            "costs_fen",
            "positive",
            f"costs must not be negative (given {yuan(body.costs_fen)})",
            zh=f"执行费用不得为负数（填写的是{yuan(body.costs_fen)}）",
        )
    if body.deadline_on and parse_date(body.deadline_on, "deadline_on") < today:
        raise ValidationError(
            "deadline_on",
            "past",
            f"{body.deadline_on} is in the past (today is {today.isoformat()})",
            zh=f"办理期限 {body.deadline_on} 已过（今日 {today.isoformat()}）",
        )
    if not body.documents:
        raise ValidationError(
            "documents",
            "required",
            "attach the delegation letter and files",
            zh=f"须附委托执行函及相关材料（{WEITUO}）",
        )
    validate_documents(body.documents, "documents")
    _assets(body.assets, "assets")
    return warnings


def validate_acceptance(
    body: payloads_pb2.TaskAccepted,
    *,
    whole_case: bool,
    court_prefixes: Sequence[str],
    today: date,
) -> None:
    """Acceptance names the judge; a whole case is registered as a case of this node's courts."""
    body.judge = require_text(
        body.judge,
        "judge",
        "the receiving judge is required",
        zh=f"受托法院立案时须指定承办法官（{WEITUO}）",
    )
    if whole_case or body.registered_case_number:
        if not body.registered_case_number and whole_case:
            raise ValidationError(
                "registered_case_number",
                "required",
                "a whole case (--scope whole) is registered anew at the receiving court",
                zh=f"委托执行全案的，受托法院须立案并填写立案案号（{WEITUO}）",
            )
        case = require_enforcement_case(
            body.registered_case_number, court_prefixes, "registered_case_number", today=today
        )
        body.registered_case_number = case.text
    body.accepted_on = today.isoformat()


def validate_measures(
    measures: Sequence[payloads_pb2.SeizureMeasure],
    *,
    today: date,
    delegated_on: date | None = None,
    field: str = "measures",
) -> None:
    """Each measure against the seizure limits (term by category, value, start, reason)."""
    seen: set[str] = set()
    for n, m in enumerate(measures):
        where = f"{field}[{n}]"
        require_text(m.asset.asset_id, f"{where}.asset.asset_id")
        if m.asset.asset_id in seen:
            raise ValidationError(
                f"{where}.asset",
                "duplicate",
                "one measure per asset and report",
                zh="同一财产在一次报告中只能报一项措施",
            )
        seen.add(m.asset.asset_id)
        try:
            category = payloads_pb2.AssetCategory.Name(m.asset.category)
        except ValueError:
            raise ValidationError(
                f"{where}.asset.category",
                "unknown",
                "is not a known asset category",
                zh="不是可识别的财产类别",
            ) from None
        start = parse_date(m.start_on, f"{where}.start_on") if m.start_on else today
        m.start_on = start.isoformat()
        check_measure(
            category=category,
            value_fen=m.value_fen,
            start_on=start,
            term_days=m.term_days,
            indivisible=m.indivisible,
            indivisible_reason=m.indivisible_reason,
            today=today,
            delegated_on=delegated_on,
            field_prefix=where,
        )
