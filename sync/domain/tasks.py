"""Delegated enforcement (委托执行 / 事项委托): time limits and the rules of each step's content.

Sources: 最高人民法院关于委托执行若干问题的规定 (2020 revision); Civil Procedure Law art. 240.
Pure: "today" is always an argument; the limits are plain calendar days (DOMAIN.md), counted
from court-local dates. Which side may take which step, and in what state, is the task fold's
business (sync/folds/tasks.py); this module checks what a step carries.

Errors name the field and the rule, never a value (debtor IDs, names, account numbers).
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
        raise ValidationError(field, "format", "must be a date YYYY-MM-DD") from None


def require_text(value: str, field: str, what: str = "is required") -> str:
    text = value.strip()
    if not text:
        raise ValidationError(field, "required", what)
    if len(text) > _TEXT_CHARS_MAX:
        raise ValidationError(field, "length", f"at most {_TEXT_CHARS_MAX} characters")
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


# ---------------------------------------------------------------- step contents


def _debtor(d: payloads_pb2.Debtor, confirm_bad_credit_code: bool, warnings: list[str]) -> None:
    require_text(d.name, "debtor.name")
    if d.org_code:  # (a listing's field, 法释〔2017〕7号 art. 6; not validated for tasks)
        raise ValidationError("debtor.org_code", "not_allowed", "a task's debtor has no org_code")
    if d.type == payloads_pb2.PERSON:
        if d.credit_code:
            raise ValidationError("debtor.credit_code", "absent", "a person has an id_number")
        d.id_number = validate_resident_id(d.id_number, "debtor.id_number").number
    elif d.type == payloads_pb2.ORG:
        if d.id_number:
            raise ValidationError("debtor.id_number", "absent", "an organisation has a credit_code")
        check = validate_credit_code(
            d.credit_code, "debtor.credit_code", allow_bad_checksum=confirm_bad_credit_code
        )
        d.credit_code = check.code
        if check.warning:
            warnings.append(check.warning)
    else:
        raise ValidationError("debtor.type", "required", "must be person or org")


def validate_documents(docs: Sequence[payloads_pb2.DocumentRef], field: str) -> None:
    """Documents go by name and SHA-256 digest (the files stay with the court)."""
    for n, doc in enumerate(docs):
        require_text(doc.name, f"{field}[{n}].name")
        if len(doc.sha256) != _DIGEST_BYTES:
            raise ValidationError(f"{field}[{n}].sha256", "digest", "must be a SHA-256 (32 bytes)")


def _assets(assets: Sequence[payloads_pb2.AssetRecord], field: str) -> None:
    for n, asset in enumerate(assets):
        require_text(asset.asset_id, f"{field}[{n}].asset_id")
        if asset.category == payloads_pb2.ASSET_CATEGORY_UNSPECIFIED:
            raise ValidationError(f"{field}[{n}].category", "required", "must be a category")
        if asset.value_fen < 0:
            raise ValidationError(f"{field}[{n}].value_fen", "positive", "must not be negative")


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
            raise ValidationError("matter", "absent", "a whole-case delegation has no matter kind")
    elif body.scope == payloads_pb2.MATTER:
        if body.matter == payloads_pb2.MATTER_KIND_UNSPECIFIED:
            raise ValidationError("matter", "required", "a matter delegation names its matter")
    else:
        raise ValidationError("scope", "required", "must be whole_case or matter")
    case = require_enforcement_case(body.case_number, court_prefixes, "case_number", today=today)
    body.case_number = case.text
    court = parse_court_code(body.delegating_court or case.court, "delegating_court").text
    if court != case.court:
        raise ValidationError(
            "delegating_court", "court_mismatch", f"court {court} is not the court of the case"
        )
    body.delegating_court = court
    body.judge = require_text(body.judge, "judge", "the delegating judge is required")
    if not NODE_ID_RE.fullmatch(body.receiving_node):
        raise ValidationError("receiving_node", "format", "must be a node id")
    if body.receiving_node == node_id:
        raise ValidationError("receiving_node", "self", "a node cannot delegate to itself")
    body.receiving_court = parse_court_code(body.receiving_court, "receiving_court").text
    _debtor(body.debtor, confirm_bad_credit_code, warnings)
    if body.amount_fen <= 0:
        raise ValidationError("amount_fen", "positive", "the enforcement amount must be above 0")
    if body.costs_fen < 0:
        raise ValidationError("costs_fen", "positive", "costs must not be negative")
    if body.deadline_on and parse_date(body.deadline_on, "deadline_on") < today:
        raise ValidationError("deadline_on", "past", "must not be in the past")
    if not body.documents:
        raise ValidationError("documents", "required", "attach the delegation letter and files")
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
    body.judge = require_text(body.judge, "judge", "the receiving judge is required")
    if whole_case or body.registered_case_number:
        if not body.registered_case_number and whole_case:
            raise ValidationError(
                "registered_case_number", "required", "a whole case is registered anew"
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
            raise ValidationError(f"{where}.asset", "duplicate", "one measure per asset and report")
        seen.add(m.asset.asset_id)
        try:
            category = payloads_pb2.AssetCategory.Name(m.asset.category)
        except ValueError:
            raise ValidationError(
                f"{where}.asset.category", "unknown", "is not a known asset category"
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
