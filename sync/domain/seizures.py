"""Seizure limits (查封、扣押、冻结): terms by asset category, the amount cap of a case, renewals,
expiry warnings and the queue of later seizures of one asset (轮候查封).

Sources: 民诉法解释 (2022) art. 485; 查扣冻规定 (2020) arts. 19, 26, 27; CPL art. 253.
Pure: "today" is always an argument. Categories are ``AssetCategory`` names ("DEPOSIT", ...);
refusals show them as the officer types them (``存款（deposit）``, ``category_text``) and amounts
in 元 (``wording.yuan``), Chinese first (sync/domain/wording.py).
Errors name the field and the rule, never a value: asset ids and references are account and
certificate numbers (personal data).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from ccnode.v1 import payloads_pb2
from sync.domain.assets import category_name, category_text
from sync.domain.calendar import add_years
from sync.domain.errors import ValidationError
from sync.domain.wording import CHAFENG, MINSU_JIESHI, yuan

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "START_AHEAD_DAYS_MAX",
    "TERM_YEARS",
    "CaseTotal",
    "LedgerSeizure",
    "SeizureView",
    "case_totals",
    "check_amount_cap",
    "check_measure",
    "check_renewal",
    "handover_problem",
    "ledger_view",
    "max_term_days",
    "release_order",
    "start_problem",
    "term_end",
]

# Maximum term of one measure, in years, by category (民诉法解释 art. 485): bank deposits one
# year, movables two, real estate and other property rights three. Wealth products and online
# funds are money held by a financial institution and are frozen like deposits; vehicles and
# ships are registered movables; securities and equity are other property rights. The grouping
# of WEALTH and ONLINE_FUNDS has no explicit source: treat it as a configurable default.
TERM_YEARS: Mapping[str, int] = {
    "DEPOSIT": 1,
    "WEALTH": 1,
    "ONLINE_FUNDS": 1,
    "VEHICLE": 2,
    "SHIP": 2,
    "REAL_ESTATE": 3,
    "SECURITIES": 3,
    "EQUITY": 3,
    "OTHER_PROPERTY": 3,
}
# Warn when a measure has this many days or fewer left (DOMAIN.md).
EXPIRY_WARNING_DAYS = 30
# A measure may start at most this many days after the report that records it.
START_AHEAD_DAYS_MAX = 1

_ONE_DAY = timedelta(days=1)
# Where the sentences cite the terms and the cap (民诉法解释 art. 485; 查封规定 art. 19).
_TERM_SOURCE = f"{MINSU_JIESHI}第四百八十五条"
_CAP_SOURCE = f"{CHAFENG}第十九条"
_TERM_ZH = {1: "一年", 2: "二年", 3: "三年"}


def _category_value(category: str) -> int | None:
    try:
        return int(payloads_pb2.AssetCategory.Value(category))
    except ValueError:
        return None


def _shown(category: str) -> tuple[str, str]:
    """A category name (``"DEPOSIT"``) as the refusals show it, in Chinese and as the officer
    types it: (``存款（deposit）``, ``deposit``)."""
    value = _category_value(category)
    if value is None:
        return category.lower(), category.lower()
    return category_text(value), category_name(value)


def _term_zh(category: str, limit: int) -> str:
    """``存款（deposit）的冻结期限不得超过一年（365日）``: the term rule of ``category``."""
    shown, _ = _shown(category)
    years = TERM_YEARS[category]
    return f"{shown}的查封、扣押、冻结期限不得超过{_TERM_ZH.get(years, f'{years}年')}（{limit}日）"


def max_term_days(category: str, start: date) -> int:
    """The longest term, in days, of a measure of ``category`` starting on ``start``."""
    years = TERM_YEARS.get(category)
    if years is None:
        raise ValidationError(
            "category", "unknown", "is not a known asset category", zh="不是可识别的财产类别"
        )
    try:
        return (add_years(start, years) - start).days
    except ValueError:  # beyond year 9999
        raise ValidationError(
            "start_on", "date_range", "the term would end past 9999", zh="期限届满日超出9999年"
        ) from None


def term_end(start: date, term_days: int) -> date:
    """The last day a measure of ``term_days`` days starting on ``start`` is in effect."""
    return start + timedelta(days=term_days) - _ONE_DAY


def check_measure(
    *,
    category: str,
    value_fen: int,
    start_on: date,
    term_days: int,
    indivisible: bool,
    indivisible_reason: str,
    today: date,
    delegated_on: date | None = None,
    field_prefix: str = "measure",
) -> None:
    """One reported measure: a known category, a positive value, a start within the task's
    time (``start_problem``) and a term within the category's maximum; an indivisible asset
    needs its reason."""
    if category not in TERM_YEARS:
        raise ValidationError(
            f"{field_prefix}.category",
            "required",
            "must be an asset category",
            zh="须写明财产类别",
        )
    if value_fen <= 0:
        raise ValidationError(
            f"{field_prefix}.value_fen",
            "positive",
            f"must be above 0 (given {yuan(value_fen)})",
            zh=f"财产价值须大于0元（填写的是{yuan(value_fen)}）",
        )
    problem = start_problem(start_on, reported_on=today, delegated_on=delegated_on)
    if problem == "before_delegation":
        raise ValidationError(
            f"{field_prefix}.start_on",
            "before_delegation",
            "must not be before the task's delegation: a task reports measures it took",
            zh="措施起始日期不得早于委托日期：委托执行事项只报告为其采取的措施",
        )
    if problem == "future":
        raise ValidationError(
            f"{field_prefix}.start_on",
            "future",
            f"must not be in the future (more than {START_AHEAD_DAYS_MAX} day after the report)",
            zh=f"措施起始日期不得晚于报告日{START_AHEAD_DAYS_MAX}日以上",
        )
    limit = max_term_days(category, start_on)
    if not 1 <= term_days <= limit:
        raise ValidationError(
            f"{field_prefix}.term_days",
            "max_term",
            f"must be 1..{limit} days for {_shown(category)[1]} "
            f"({TERM_YEARS[category]} years at most, 民诉法解释 art. 485)",
            zh=f"{_term_zh(category, limit)}，填写的是{term_days}日（{_TERM_SOURCE}）",
        )
    if indivisible and not indivisible_reason.strip():
        raise ValidationError(
            f"{field_prefix}.indivisible_reason",
            "required",
            "an indivisible asset above the amount needs a recorded reason",
            zh=f"不可分物超出执行标的额的，须写明不可分且无其他可供执行财产的事由（{_CAP_SOURCE}）",
        )


def start_problem(start_on: date, *, reported_on: date, delegated_on: date | None) -> str:
    """Why a measure's start date cannot be (``""`` if it can): "before_delegation" (a task
    reports measures taken for it, so none starts before its delegation) or "future" (more
    than START_AHEAD_DAYS_MAX days after the report: a measure that starts tomorrow, e.g. at a
    registry that dates it the next working morning, is allowed; the day absorbs a report
    made around midnight)."""
    if delegated_on is not None and start_on < delegated_on:
        return "before_delegation"
    if start_on > reported_on + timedelta(days=START_AHEAD_DAYS_MAX):
        return "future"
    return ""


def handover_problem(start_on: date, term_days: int, today: date) -> int | None:
    """Days left of a measure handed over on ``today``, if under a month (it must be renewed
    first, DOMAIN.md "a seizure with under a month left must be renewed before a task hands it
    over"); None if it may be handed over."""
    days_left = (term_end(start_on, term_days) - today).days
    return days_left if days_left < EXPIRY_WARNING_DAYS else None


def check_renewal(*, category: str, end_on: date, renewed_on: date, term_days: int) -> date:
    """A renewal (续行) before expiry, for at most the category's maximum counted from the
    current end; returns the new last day. Rule "lapsed" after expiry: a lapsed measure is
    gone and must be seized anew."""
    if renewed_on > end_on:
        raise ValidationError(
            "renewed_on",
            "lapsed",
            f"the measure expired on {end_on.isoformat()} before the renewal: seize anew",
            zh=f"措施已于{end_on.isoformat()}期限届满，续行须在届满前办理，届满后须重新查封、"
            f"扣押、冻结（{_TERM_SOURCE}）",
        )
    if end_on == date.max:
        raise ValidationError(
            "end_on", "date_range", "the term would end past 9999", zh="期限届满日超出9999年"
        )
    limit = max_term_days(category, end_on + _ONE_DAY)
    if not 1 <= term_days <= limit:
        raise ValidationError(
            "term_days",
            "max_term",
            f"must be 1..{limit} days for {_shown(category)[1]} (same maximum)",
            zh=f"续行期限不得超过原定最长期限：{_term_zh(category, limit)}，填写的是{term_days}日"
            f"（{_TERM_SOURCE}）",
        )
    return end_on + timedelta(days=term_days)


def check_amount_cap(
    *,
    cap_fen: int,
    in_effect_fen: int,
    new: Sequence[tuple[int, bool, str]],
) -> list[str]:
    """New measures (value_fen, indivisible, reason) against the case's cap (amount + costs)
    with ``in_effect_fen`` already bound. Rule "over_amount" unless the excess comes from ONE
    indivisible asset with a recorded reason and the case was below the cap without it
    (DOMAIN.md: "except one indivisible asset when the debtor has nothing else"). Returns
    warnings for the allowed exception."""
    total = in_effect_fen + sum(value for value, _, _ in new)
    if total <= cap_fen:
        return []
    indivisible = [(v, reason) for v, flag, reason in new if flag and reason.strip()]
    without = total - sum(v for v, _ in indivisible)
    if len(indivisible) == 1 and without < cap_fen:
        return [
            f"查封、扣押、冻结措施（--measure）：一件不可分物超出执行标的额及执行费用（{yuan(cap_fen)}），"
            f"已记录其事由，变价后超出部分应当退还（{_CAP_SOURCE}） / "
            "measures: one indivisible asset exceeds the enforcement amount plus costs; "
            "recorded with its reason (excess must be paid back after sale)"
        ]
    raise ValidationError(
        "measures",
        "over_amount",
        f"the case would have {yuan(total)} frozen or seized, over its enforcement amount plus "
        f"costs of {yuan(cap_fen)} (超标的查封; 查扣冻规定 art. 19)",
        zh=f"本案查封、扣押、冻结的财产价值将达{yuan(total)}，超过执行标的额及执行费用"
        f"{yuan(cap_fen)}，不得超标的查封（{_CAP_SOURCE}）",
    )


# ---------------------------------------------------------------- the ledger at read time


@dataclass(frozen=True)
class LedgerSeizure:
    """What the read-time view needs of one ledger row."""

    key: str
    task: str
    case_number: str
    asset_id: str
    category: str
    value_fen: int
    start_on: date
    end_on: date  # start + term + renewals, as folded
    status: str  # folded: "in_effect" | "queued" | "released" | "void" | "pending"
    queue_position: int
    released_on: date | None
    indivisible: bool
    cap_fen: int
    task_hlc: int
    release_needed: bool = False  # the task's fold asked for a release (cancelled task, ...)


@dataclass(frozen=True)
class SeizureView:
    seizure: LedgerSeizure
    state: str  # "in_effect" | "queued" | "released" | "lapsed" | "void"
    effective_on: date | None
    effective_end_on: date | None
    queue_ahead: int
    days_left: int  # until the effective end (negative once lapsed; 0 when not in effect)
    flags: tuple[str, ...] = field(default=())
    # Place in the order of release of a case left over its cap by an indivisible asset (1 =
    # release first; 0 = not to be released for that reason): ``release_order``.
    release_order: int = 0


@dataclass(frozen=True)
class CaseTotal:
    case_number: str
    cap_fen: int
    in_effect_fen: int
    over_fen: int


def _free_from(s: LedgerSeizure, today: date) -> date | None:
    """The first day ``s`` no longer binds the asset (its release, or the day after its last
    day), if that day has come by ``today``."""
    if s.status == "released" and s.released_on is not None and s.released_on <= today:
        return s.released_on
    if s.status == "in_effect" and s.end_on < today:
        return s.end_on + _ONE_DAY
    return None


def _queue(items: Sequence[LedgerSeizure], today: date) -> dict[str, tuple[int, date | None]]:
    """Per seizure of ONE asset: (seizures still ahead, the day it took effect or None).

    A queued seizure's recorded position counts every seizure ahead of it at the registry,
    including those of courts outside the federation. Each seizure of the ledger that was
    ahead of it (recorded earlier and still binding on its start) and has since been released
    or has lapsed moves it up one place; at 0 it takes effect on the day the last one ahead
    stopped binding (轮候查封 takes effect in order when the one ahead is released)."""
    ordered = sorted(items, key=lambda s: (s.start_on, s.key))
    out: dict[str, tuple[int, date | None]] = {}
    for position, s in enumerate(ordered):
        if s.status != "queued":
            out[s.key] = (0, s.start_on)
            continue
        ended: list[date] = []
        for t in ordered[:position]:
            if t.status in ("void", "pending"):
                continue
            binding_at_start = t.released_on is None or t.released_on >= s.start_on
            free = _free_from(t, today)
            if binding_at_start and free is not None:
                ended.append(free)
        ahead = max(0, s.queue_position - len(ended))
        effective = max(ended) if ahead == 0 and ended else None
        out[s.key] = (ahead, effective)
    return out


def ledger_view(seizures: Iterable[LedgerSeizure], today: date) -> list[SeizureView]:
    """The ledger as of ``today``: effective state, queue, days left and flags, in key order.

    Flags: "expiring" (in effect, EXPIRY_WARNING_DAYS or fewer days left), "lapsed",
    "release_needed" (asked by the task's fold, or "over_amount": in effect beyond the case's
    cap, counting in start order and leaving indivisible assets aside).
    """
    items = list(seizures)
    by_asset: dict[str, list[LedgerSeizure]] = defaultdict(list)
    for s in items:
        by_asset[s.asset_id].append(s)
    queue: dict[str, tuple[int, date | None]] = {}
    for group in by_asset.values():
        queue.update(_queue(group, today))
    views = [_view(s, queue[s.key], today) for s in items]
    over = _over_amount(views)
    order = release_order(views)
    out = []
    for v in sorted(views, key=lambda v: v.seizure.key):
        flags = list(v.flags)
        if v.seizure.key in over or v.seizure.key in order:
            flags.append("over_amount")
        if v.seizure.key in order:
            flags.append("indivisible_excess")
        needed = v.seizure.key in over or v.seizure.key in order or v.seizure.release_needed
        if needed and v.state == "in_effect":
            flags.append("release_needed")
        out.append(_with_flags(v, tuple(flags), order.get(v.seizure.key, 0)))
    return out


def _with_flags(v: SeizureView, flags: tuple[str, ...], release_order: int = 0) -> SeizureView:
    return SeizureView(
        v.seizure,
        v.state,
        v.effective_on,
        v.effective_end_on,
        v.queue_ahead,
        v.days_left,
        flags,
        release_order,
    )


def release_order(views: Sequence[SeizureView]) -> dict[str, int]:
    """The measures to release, in order, of each case that one indivisible asset leaves over
    its cap (the exception of check_amount_cap: "excess must be released").

    The indivisible asset stays: the debtor has nothing else that covers the obligation. The
    case's other measures in effect are released until the value in effect is within the cap
    (or none is left): the latest-imposed first, since the earlier ones were within the cap
    when imposed and rank ahead at the registries (a later one is what took the case over);
    of measures imposed the same day, the smallest first, so that each release gives up as
    little security as possible and the marking stops as soon as the excess is covered; then
    by seizure id. Returns seizure id -> place (1 = first)."""
    caps = _cap_of_cases(v.seizure for v in views)
    by_case: dict[str, list[SeizureView]] = defaultdict(list)
    for v in views:
        if v.state == "in_effect" and v.seizure.case_number:
            by_case[v.seizure.case_number].append(v)
    order: dict[str, int] = {}
    for case, group in sorted(by_case.items()):
        if not any(v.seizure.indivisible for v in group):
            continue
        excess = sum(v.seizure.value_fen for v in group) - caps[case]
        divisible = [v for v in group if not v.seizure.indivisible]
        divisible.sort(
            key=lambda v: (
                -(v.effective_on or v.seizure.start_on).toordinal(),
                v.seizure.value_fen,
                v.seizure.key,
            )
        )
        place = 0
        for v in divisible:
            if excess <= 0:
                break
            place += 1
            order[v.seizure.key] = place
            excess -= v.seizure.value_fen
    return order


def _view(s: LedgerSeizure, queued: tuple[int, date | None], today: date) -> SeizureView:
    if s.status in ("void", "pending"):
        return SeizureView(s, "void", None, None, 0, 0)
    if s.status == "released":
        return SeizureView(s, "released", s.start_on, s.end_on, 0, 0)
    ahead, effective = queued
    if s.status == "queued" and ahead > 0:
        return SeizureView(s, "queued", None, None, ahead, 0)
    start = effective or s.start_on
    # A queued seizure's term runs from the day it took effect.
    end = s.end_on + (start - s.start_on) if s.status == "queued" else s.end_on
    days_left = (end - today).days
    if days_left < 0:
        return SeizureView(s, "lapsed", start, end, 0, days_left, ("lapsed",))
    flags = ("expiring",) if days_left <= EXPIRY_WARNING_DAYS else ()
    return SeizureView(s, "in_effect", start, end, 0, days_left, flags)


def _cap_of_cases(items: Iterable[LedgerSeizure]) -> dict[str, int]:
    """The cap of each case: the one stated by its most recent delegation."""
    latest: dict[str, tuple[int, int]] = {}
    for s in items:
        if s.case_number and (s.case_number not in latest or s.task_hlc > latest[s.case_number][0]):
            latest[s.case_number] = (s.task_hlc, s.cap_fen)
    return {case: cap for case, (_, cap) in latest.items()}


def _over_amount(views: Sequence[SeizureView]) -> set[str]:
    caps = _cap_of_cases(v.seizure for v in views)
    running: dict[str, int] = defaultdict(int)
    over: set[str] = set()
    in_effect = [v for v in views if v.state == "in_effect" and v.seizure.case_number]
    # A case with an indivisible asset in effect releases its excess in ``release_order``.
    excepted = {v.seizure.case_number for v in in_effect if v.seizure.indivisible}
    in_effect = [v for v in in_effect if v.seizure.case_number not in excepted]
    for v in sorted(in_effect, key=lambda v: (v.effective_on or v.seizure.start_on, v.seizure.key)):
        s = v.seizure
        running[s.case_number] += s.value_fen
        if running[s.case_number] > caps[s.case_number] and not s.indivisible:
            over.add(s.key)
    return over


def case_totals(views: Sequence[SeizureView]) -> list[CaseTotal]:
    """Per case: the cap, the value in effect and what lies beyond the cap, by case number."""
    caps = _cap_of_cases(v.seizure for v in views)
    in_effect: dict[str, int] = defaultdict(int)
    for v in views:
        if v.state == "in_effect" and v.seizure.case_number:
            in_effect[v.seizure.case_number] += v.seizure.value_fen
    return [
        CaseTotal(case, caps[case], in_effect[case], max(0, in_effect[case] - caps[case]))
        for case in sorted(caps)
    ]
