"""Fold of delegated enforcement tasks (委托执行 / 事项委托) and their seizure ledger.

Two writers: the delegating node D (subject ``D/task/<i>``, whose entry ``D/i`` is the
delegation) delegates, supplements and cancels; the receiving node R (the other member of the
delegation's audience) accepts, rejects, returns, reports, completes and fails. Either may
record the renewal or release of a seizure of the task. Every event names in ``parents`` the
last events of the task its author had seen.

The row keeps the task's events and the state is recomputed from the whole event set on
every fold, so any delivery order gives the same row (the rule in words: docs/tasks.md):

1. Causal order: an event comes after its parents and after its author's earlier events.
2. Concurrent events: facts (everything the receiving side reports, and seizure renewals and
   releases) before intents (delegate, supplement, cancel), then by (hlc, origin, index).
   The canonical order is the smallest linear extension of the causal order under that key
   (Kahn's algorithm with a min-heap).
3. The events are replayed in that order through one state machine. An event that breaks a
   rule is kept and marked "refused" with the rule; one that was valid as its author saw it
   (its causal past) but was overtaken by a concurrent event is marked "too_late". So facts
   beat intents: a report concurrent with a cancel stands and the cancel is too late.

Nodes outside the audience hold headers only: the status depends on headers alone (kind,
origin, index, hlc, parents, audience), payloads add details only (documents, measures,
reasons), so every node agrees on the status and the dates the time limits count from.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from sync.domain.errors import ValidationError
from sync.domain.seizures import check_renewal, max_term_days, start_problem, term_end
from sync.domain.tasks import CASE_CLOSING_STATUSES, MATERIALS_DAYS, TERMINAL_STATUSES
from sync.entry import Header, entry_id
from sync.folds.types import SEIZURES_TABLE, TASKS_TABLE, Ignored, Row, StateKey
from sync.hlc import physical_ms
from sync.ids import TASK_SUBJECTS
from sync.payload import PayloadError, decode_payload

TABLE = TASKS_TABLE
SEIZURE_TABLE = SEIZURES_TABLE

DELEGATING_KINDS = frozenset(
    {log_pb2.TASK_DELEGATED, log_pb2.TASK_SUPPLEMENTED, log_pb2.TASK_CANCELLED}
)
RECEIVING_KINDS = frozenset(
    {
        log_pb2.TASK_ACCEPTED,
        log_pb2.TASK_REJECTED,
        log_pb2.TASK_RETURNED,
        log_pb2.TASK_PROGRESS,
        log_pb2.TASK_COMPLETED,
        log_pb2.TASK_FAILED,
    }
)
LEDGER_KINDS = frozenset({log_pb2.SEIZURE_RENEWED, log_pb2.SEIZURE_RELEASED})
KINDS = DELEGATING_KINDS | RECEIVING_KINDS | LEDGER_KINDS
# Reports of work or of an outcome: a cancel that had not seen one of them is too late.
REPORT_KINDS = frozenset(
    {log_pb2.TASK_PROGRESS, log_pb2.TASK_COMPLETED, log_pb2.TASK_FAILED, log_pb2.TASK_REJECTED}
)
# Facts: what was done (reported by the receiving court, or a renewal/release made). Intents:
# what the delegating court wants. Concurrent facts are ordered first (rule 2).
FACT_KINDS = RECEIVING_KINDS | LEDGER_KINDS

_SEIZURE_SUFFIX_RE = re.compile(r"s[1-9][0-9]{0,5}")
_CST_OFFSET_MS = 8 * 3600 * 1000
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
# Rules that no view of the task could have allowed: never "too late", always "refused".
_STRUCTURAL_RULES = frozenset({"wrong_side", "duplicate", "not_delegated", "case_closed"})


def subject_prefix(origin: str) -> str:
    return TASK_SUBJECTS.prefix(origin)


def parse_subject(subject: str) -> tuple[str, int] | None:
    """(delegating node, index of the delegation entry) of a task subject, or None."""
    return TASK_SUBJECTS.parse(subject)


def seizure_task(seizure_id: str) -> str | None:
    """The task of a seizure id "<task>/s<n>", or None if it is not one."""
    task, sep, suffix = seizure_id.rpartition("/")
    if not sep or parse_subject(task) is None or not _SEIZURE_SUFFIX_RE.fullmatch(suffix):
        return None
    return task


def date_of(hlc: int) -> date:
    """The court-local (CST) date of an HLC timestamp."""
    return _EPOCH + timedelta(days=(physical_ms(hlc) + _CST_OFFSET_MS) // _DAY_MS)


def state_of(row: Mapping[str, object]) -> state_pb2.TaskState:
    record = row["record"]
    assert isinstance(record, bytes)
    return state_pb2.TaskState.FromString(record)


def seizure_of(row: Mapping[str, object]) -> state_pb2.SeizureState:
    record = row["record"]
    assert isinstance(record, bytes)
    return state_pb2.SeizureState.FromString(record)


def is_fact(kind: int) -> bool:
    return kind in FACT_KINDS


def order_key(e: state_pb2.TaskEventState) -> tuple[int, int, str, int]:
    """Rule 2: facts before intents, then (hlc, origin, index). Unique per event."""
    return (0 if is_fact(e.kind) else 1, e.hlc, e.origin, e.index)


# ---------------------------------------------------------------- the fold


def event_of(header: Header, payload: bytes | None) -> state_pb2.TaskEventState:
    return state_pb2.TaskEventState(
        entry_id=header.entry_id,
        origin=header.origin,
        index=header.index,
        kind=header.kind,  # type: ignore[arg-type]
        hlc=header.hlc,
        parents=list(dict.fromkeys(header.parents)),
        actor=header.actor,
        audience=sorted(set(header.audience)),
        held=payload is not None,
        payload=payload or b"",
        on=date_of(header.hlc).isoformat(),
    )


def fold(
    row: Row | None,
    header: Header,
    payload: bytes | None,
    *,
    related: Mapping[StateKey, Row] | None = None,
) -> Row | Ignored:
    """The task's row after one more event (None = no row yet). Never raises.

    ``related``: the rows of ``related_keys(header)`` this node holds; a delegation is judged
    against them for the whole-case closure (``closing_task``), once, when it is folded."""
    if header.kind not in KINDS:
        return Ignored("not a task entry")
    parsed = parse_subject(header.subject)
    if parsed is None:
        return Ignored("subject is not a task subject <node>/task/<index>")
    delegating = parsed[0]
    audience = set(header.audience)
    if len(audience) != 2 or delegating not in audience or header.origin not in audience:
        return Ignored("audience must be the delegating and the receiving node")
    item = state_of(row) if row is not None else state_pb2.TaskState(subject=header.subject)
    if any(e.entry_id == header.entry_id for e in item.events):
        return Ignored("event already folded")
    receiving = item.receiving_node
    if receiving and audience != {delegating, receiving}:
        return Ignored("wrong_side: not a party to the task")
    closed_by = item.case_closed_by
    if header.kind == log_pb2.TASK_DELEGATED and header.entry_id == _creation_id(header.subject):
        closed_by = closing_task(header, payload, related or {})
    events = [*item.events, event_of(header, payload)]
    return row_of(compute(header.subject, events, case_closed_by=closed_by))


def _creation_id(subject: str) -> str:
    parsed = parse_subject(subject)
    return entry_id(*parsed) if parsed is not None else ""


# ---------------------------------------------------------------- whole-case closure (结案)


def related_keys(header: Header) -> list[StateKey]:
    """The earlier tasks a delegation names in its parents: the delegating node's own
    delegations ("<origin>/<i>", i below the new one's index) become their task subjects. A
    new task has no parents of its own, so a delegation's parents only ever name these."""
    if header.kind != log_pb2.TASK_DELEGATED:
        return []
    keys: list[StateKey] = []
    for parent in header.parents:
        origin, _, index = parent.rpartition("/")
        if origin == header.origin and index.isdigit() and int(index) < header.index:
            keys.append((TABLE, f"{subject_prefix(origin)}{int(index)}"))
    return sorted(set(keys))


def closes_case(item: state_pb2.TaskState) -> bool:
    """A whole case accepted and not given back: its case is closed at the delegating court."""
    return (
        item.HasField("delegation")
        and item.delegation.scope == payloads_pb2.WHOLE_CASE
        and not item.case_closed_by
        and item.status in CASE_CLOSING_STATUSES
    )


def closing_task(header: Header, payload: bytes | None, related: Mapping[StateKey, Row]) -> str:
    """The subject of an earlier whole-case task of the same case, by the same delegating node,
    that had closed the case when ``header`` (a delegation) was made; "" if none.

    Each earlier task is judged on the events the new delegation had seen: the delegating
    node's own events before it (its log is totally ordered) and the events its parents name,
    with their causal past. So the verdict is the same on every node that holds both payloads
    (the delegating node, and the earlier task's receiving node), whatever arrived since. A
    node that holds either payload not cannot tell the case and judges nothing."""
    if payload is None or not related:
        return ""
    try:
        body = decode_payload(header.kind, payload).task_delegated
    except PayloadError:
        return ""
    named = set(header.parents)
    for (table, key), row in sorted(related.items()):
        if table != TABLE:
            continue
        other = state_of(row)
        d = other.delegation
        if (
            not other.HasField("delegation")
            or other.delegating_node != header.origin
            or d.scope != payloads_pb2.WHOLE_CASE
            or d.case_number != body.case_number
            or other.case_closed_by
        ):
            continue
        ordered = canonical_order(list(other.events))
        past = causal_past(ordered)
        seen: set[str] = set()
        for e in ordered:
            if e.entry_id in named or (e.origin == header.origin and e.index < header.index):
                seen.add(e.entry_id)
                seen |= past[e.entry_id]
        view = [e for e in other.events if e.entry_id in seen]
        if closes_case(compute(key, view)):
            return key
    return ""


def row_of(item: state_pb2.TaskState) -> Row:
    d = item.delegation
    held = item.HasField("delegation")
    return {
        "key": item.subject,
        "origin": item.delegating_node,
        "receiving": item.receiving_node,
        "status": item.status,
        "scope": enum_name(payloads_pb2.TaskScope, d.scope) if held else "",
        "matter": enum_name(payloads_pb2.MatterKind, d.matter) if held else "",
        "case_number": d.case_number,
        "delegating_court": d.delegating_court,
        "receiving_court": d.receiving_court,
        "delegated_on": item.delegated_on,
        "record": item.SerializeToString(deterministic=True),
    }


def derive(row: Row) -> dict[tuple[str, str], Row]:
    """The ledger rows of a task's seizures: a function of the task's row alone. Every seizure
    id of any held event has a row (void when not recorded), so the set of keys only grows
    and does not depend on the delivery order."""
    item = state_of(row)
    return {(SEIZURE_TABLE, s.seizure_id): seizure_row(s) for s in item.seizures}


def seizure_row(s: state_pb2.SeizureState) -> Row:
    return {
        "key": s.seizure_id,
        "task": s.task,
        "case_number": s.case_number,
        "asset_id": s.measure.asset.asset_id,
        "category": enum_name(payloads_pb2.AssetCategory, s.measure.asset.category),
        "value_fen": str(s.measure.value_fen),
        "start_on": s.measure.start_on,
        "end_on": s.end_on,
        "status": s.status,
        "queue_position": str(s.measure.queue_position),
        "record": s.SerializeToString(deterministic=True),
    }


def enum_name(enum: object, value: int) -> str:
    try:
        return str(enum.Name(value))  # type: ignore[attr-defined]
    except ValueError:
        return str(value)


# ---------------------------------------------------------------- causal order


def _predecessors(events: Sequence[state_pb2.TaskEventState]) -> dict[str, list[str]]:
    """Per event: the held events it names as parents, and its author's previous event."""
    ids = {e.entry_id for e in events}
    previous: dict[str, str] = {}
    by_origin: dict[str, list[state_pb2.TaskEventState]] = {}
    for e in events:
        by_origin.setdefault(e.origin, []).append(e)
    for chain in by_origin.values():
        chain.sort(key=lambda e: e.index)
        for before, after in itertools.pairwise(chain):
            previous[after.entry_id] = before.entry_id
    preds: dict[str, list[str]] = {}
    for e in events:
        named = [p for p in e.parents if p in ids and p != e.entry_id]
        if e.entry_id in previous:
            named.append(previous[e.entry_id])
        preds[e.entry_id] = sorted(set(named))
    return preds


def canonical_order(events: Sequence[state_pb2.TaskEventState]) -> list[state_pb2.TaskEventState]:
    """The smallest linear extension of the causal order under ``order_key``.

    A cycle (only forged parents can make one) is broken deterministically: when no event is
    ready, the smallest remaining one goes next as if its missing predecessors were met.
    """
    by_id = {e.entry_id: e for e in events}
    preds = _predecessors(events)
    waiting = {i: len(p) for i, p in preds.items()}
    succs: dict[str, list[str]] = {i: [] for i in by_id}
    for i, ps in preds.items():
        for p in ps:
            succs[p].append(i)
    heap = [(order_key(by_id[i]), i) for i, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    done: set[str] = set()
    out: list[state_pb2.TaskEventState] = []
    while len(out) < len(by_id):
        if not heap:
            rest = min((order_key(by_id[i]), i) for i in by_id if i not in done)
            heap.append(rest)
        _, i = heapq.heappop(heap)
        if i in done:
            continue
        done.add(i)
        out.append(by_id[i])
        for s in succs[i]:
            waiting[s] -= 1
            if waiting[s] == 0 and s not in done:
                heapq.heappush(heap, (order_key(by_id[s]), s))
    return out


def causal_past(ordered: Sequence[state_pb2.TaskEventState]) -> dict[str, frozenset[str]]:
    """Per event: every event it had seen (transitively). Predecessors placed after it (a
    broken cycle) do not count."""
    preds = _predecessors(ordered)
    past: dict[str, frozenset[str]] = {}
    for e in ordered:
        seen: set[str] = set()
        for p in preds[e.entry_id]:
            if p in past:
                seen.add(p)
                seen |= past[p]
        past[e.entry_id] = frozenset(seen)
    return past


def frontier(events: Iterable[state_pb2.TaskEventState]) -> list[str]:
    """The latest events of a set: those no other event of the set has seen. A new event by
    a node that holds the set names these as its parents."""
    ordered = canonical_order(list(events))
    past = causal_past(ordered)
    seen: set[str] = set()
    for ids in past.values():
        seen |= ids
    return sorted(e.entry_id for e in ordered if e.entry_id not in seen)


# ---------------------------------------------------------------- the state machine


@dataclass
class _Verdict:
    outcome: str  # "applied" | "refused" | "too_late" | "pending"
    rule: str = ""
    note: str = ""


@dataclass
class _Machine:
    """One replay of a task's events in a given order."""

    subject: str
    delegating: str
    receiving: str
    creation_id: str
    past: Mapping[str, frozenset[str]]
    case_closed_by: str = ""
    status: str = "unknown"
    prior: str = ""  # status before a return
    item: state_pb2.TaskState = field(default_factory=state_pb2.TaskState)
    seizures: dict[str, state_pb2.SeizureState] = field(default_factory=dict)
    verdicts: dict[str, _Verdict] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)  # applied reports, in order

    def run(self, ordered: Iterable[state_pb2.TaskEventState]) -> None:
        for e in ordered:
            body = _body(e)
            refusal = self._step(e, body)
            if refusal is None:
                self.verdicts[e.entry_id] = _Verdict("applied")
                if e.kind in REPORT_KINDS:
                    self.reports.append(e.entry_id)
            else:
                self.verdicts[e.entry_id] = _Verdict("refused", *refusal)

    # -- steps; each returns None (applied) or (rule, note)

    def _step(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        if e.kind == log_pb2.TASK_DELEGATED:
            return self._delegated(e, body)
        if self.status == "unknown":
            return ("not_delegated", "the task's delegation comes first")
        if self.status == "refused" and e.kind not in LEDGER_KINDS:
            return ("case_closed", "the task's delegation was refused: the case is closed")
        if e.kind in DELEGATING_KINDS and e.origin != self.delegating:
            return ("wrong_side", "only the delegating node may supplement or cancel a task")
        if e.kind in RECEIVING_KINDS and e.origin != self.receiving:
            return (
                "wrong_side",
                "only the receiving node may accept, reject, return, report, complete or fail",
            )
        if e.kind in LEDGER_KINDS:
            return self._ledger(e, body)
        step = _STEPS[e.kind]
        allowed, verb = step
        if self.status in TERMINAL_STATUSES:
            return ("finished", f"the task is already {self.status}")
        if self.status not in allowed:
            return ("state", f"cannot {verb} a task that is {self.status}")
        handler = getattr(self, f"_{verb}")
        result: tuple[str, str] | None = handler(e, body)
        return result

    def _delegated(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        if e.entry_id != self.creation_id:
            return ("duplicate", "a task is delegated once, by the entry its subject names")
        if self.case_closed_by:
            self.status = "refused"
            self.item.delegated_on = e.on
            if body is not None:
                self.item.delegation.CopyFrom(body.task_delegated)
            return (
                "case_closed",
                f"the case is closed at the delegating court: whole-case task "
                f"{self.case_closed_by} was accepted (结案)",
            )
        self.status = "delegated"
        self.item.delegated_on = self.item.clock_from = e.on
        self.item.delegated_hlc = e.hlc
        if body is not None:
            self.item.delegation.CopyFrom(body.task_delegated)
            self.item.documents.extend(body.task_delegated.documents)
        return None

    def _supplement(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        if self.status == "returned":
            due = date.fromisoformat(self.item.returned_on) + timedelta(days=MATERIALS_DAYS)
            if date.fromisoformat(e.on) > due:
                return (
                    "materials_late",
                    "materials came after 30 days: the delegation counts as withdrawn",
                )
            self.status = self.prior
            self.item.clock_from = e.on
        if body is not None:
            self.item.documents.extend(body.task_supplemented.documents)
        return None

    def _cancel(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        seen = self.past.get(e.entry_id, frozenset())
        unseen = [r for r in self.reports if r not in seen]
        if unseen:  # facts beat intents: work reported meanwhile stands, the cancel waits
            return ("report_unseen", f"the receiving court reported ({unseen[-1]}) meanwhile")
        self.status = "cancelled"
        self.item.finished_on = e.on
        if body is not None:
            self.item.reason = body.task_cancelled.reason
        return None

    def _accept(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        self.status = "accepted"
        self.item.accepted_on = self.item.last_report_on = e.on
        if body is not None:
            self.item.registered_case_number = body.task_accepted.registered_case_number
            self.item.receiving_judge = body.task_accepted.judge
        return None

    def _reject(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        self.status = "rejected"
        self.item.finished_on = e.on
        if body is not None:
            self.item.reason = body.task_rejected.reason
        return None

    def _return(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        self.prior, self.status = self.status, "returned"
        self.item.returned_on = e.on
        if body is not None:
            self.item.reason = body.task_returned.reason
        return None

    def _report(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        self.status = "in_progress"
        self.item.started_on = self.item.started_on or e.on
        self.item.last_report_on = e.on
        if body is not None:
            self._measures(e, body.task_progress.measures)
        return None

    def _complete(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        self.status = "completed"
        self.item.started_on = self.item.started_on or e.on
        self.item.last_report_on = self.item.finished_on = e.on
        if body is not None:
            self.item.result = body.task_completed.result
            self.item.found.extend(body.task_completed.found)
            self._measures(e, body.task_completed.measures)
        return None

    def _fail(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        self.status = "failed"
        self.item.started_on = self.item.started_on or e.on
        self.item.last_report_on = self.item.finished_on = e.on
        if body is not None:
            self.item.reason = body.task_failed.reason
        return None

    # -- the ledger

    def _measures(
        self, e: state_pb2.TaskEventState, measures: Sequence[payloads_pb2.SeizureMeasure]
    ) -> None:
        for m in measures:
            if seizure_task(m.seizure_id) != self.subject or m.seizure_id in self.seizures:
                continue  # outside the task's namespace, or taken: never recorded
            s = self._new_seizure(e, m)
            void = _measure_problem(m, self.item.delegated_on, e.on)
            if void:
                s.status, s.void_rule = "void", void
            else:
                s.status = "queued" if m.queue_position else "in_effect"
                start = date.fromisoformat(m.start_on)
                s.end_on = term_end(start, m.term_days).isoformat()
            self.seizures[m.seizure_id] = s

    def _new_seizure(
        self, e: state_pb2.TaskEventState, m: payloads_pb2.SeizureMeasure
    ) -> state_pb2.SeizureState:
        d = self.item.delegation
        return state_pb2.SeizureState(
            seizure_id=m.seizure_id,
            task=self.subject,
            case_number=d.case_number,
            court=d.delegating_court,
            measure_entry=e.entry_id,
            measure=m,
            cap_fen=d.amount_fen + d.costs_fen,
            task_hlc=self.item.delegated_hlc,
        )

    def _ledger(
        self, e: state_pb2.TaskEventState, body: payloads_pb2.Payload | None
    ) -> tuple[str, str] | None:
        if body is None:
            return None  # headers only: applied, details unknown
        if e.kind == log_pb2.SEIZURE_RENEWED:
            sid = body.seizure_renewed.seizure_id
        else:
            sid = body.seizure_released.seizure_id
        s = self.seizures.get(sid)
        if s is None or s.status in ("void", "pending"):
            return ("unknown_seizure", "no such seizure in this task")
        if s.measure_entry not in self.past.get(e.entry_id, frozenset()):
            return ("unseen_seizure", "its author had not seen the measure")
        if s.status == "released":
            return ("released", "the seizure was already released")
        if e.kind == log_pb2.SEIZURE_RELEASED:
            s.status, s.released_on = "released", e.on
            s.release_reason = body.seizure_released.reason
            s.release_entry = e.entry_id
            return None
        return self._renew(e, s, body.seizure_renewed)

    def _renew(
        self, e: state_pb2.TaskEventState, s: state_pb2.SeizureState, r: payloads_pb2.SeizureRenewed
    ) -> tuple[str, str] | None:
        seen = self.past.get(e.entry_id, frozenset())
        if any(x.entry_id not in seen for x in s.renewals):
            return ("concurrent_renewal", "the seizure was renewed concurrently")
        category = enum_name(payloads_pb2.AssetCategory, s.measure.asset.category)
        try:
            end = check_renewal(
                category=category,
                end_on=date.fromisoformat(s.end_on),
                renewed_on=date.fromisoformat(e.on),
                term_days=r.term_days,
            )
        except ValidationError as exc:
            return (exc.rule, exc.explanation)
        s.end_on = end.isoformat()
        s.renewals.add(entry_id=e.entry_id, renewed_on=e.on, term_days=r.term_days, end_on=s.end_on)
        return None


# Receiving and delegating steps: the statuses they may be taken in, and their handler.
_STEPS: dict[int, tuple[frozenset[str], str]] = {
    log_pb2.TASK_SUPPLEMENTED: (
        frozenset({"delegated", "accepted", "in_progress", "returned"}),
        "supplement",
    ),
    log_pb2.TASK_CANCELLED: (
        frozenset({"delegated", "accepted", "in_progress", "returned"}),
        "cancel",
    ),
    log_pb2.TASK_ACCEPTED: (frozenset({"delegated"}), "accept"),
    log_pb2.TASK_REJECTED: (frozenset({"delegated", "returned"}), "reject"),
    log_pb2.TASK_RETURNED: (frozenset({"delegated", "accepted"}), "return"),
    log_pb2.TASK_PROGRESS: (frozenset({"accepted", "in_progress"}), "report"),
    log_pb2.TASK_COMPLETED: (frozenset({"accepted", "in_progress"}), "complete"),
    log_pb2.TASK_FAILED: (frozenset({"accepted", "in_progress"}), "fail"),
}


def _body(e: state_pb2.TaskEventState) -> payloads_pb2.Payload | None:
    if not e.held:
        return None
    try:
        return decode_payload(e.kind, e.payload)
    except PayloadError:
        return None  # same bytes everywhere, so the same "details unknown" everywhere


def _measure_problem(m: payloads_pb2.SeizureMeasure, delegated_on: str, reported_on: str) -> str:
    """Why a reported measure cannot be in the ledger ("" if it can). The dates are those of
    the delegation and the report (header dates), so every node voids the same measures."""
    category = enum_name(payloads_pb2.AssetCategory, m.asset.category)
    if not m.asset.asset_id:
        return "asset_id"
    if m.value_fen <= 0:
        return "value_fen"
    try:
        start = date.fromisoformat(m.start_on)
        limit = max_term_days(category, start)
    except (ValueError, ValidationError):
        return "start_on" if category in _KNOWN_CATEGORIES else "category"
    problem = start_problem(
        start,
        reported_on=date.fromisoformat(reported_on),
        delegated_on=date.fromisoformat(delegated_on) if delegated_on else None,
    )
    if problem:
        return f"start_on:{problem}"
    if not 1 <= m.term_days <= limit:
        return "max_term"
    if m.indivisible and not m.indivisible_reason.strip():
        return "indivisible_reason"
    return ""


_KNOWN_CATEGORIES = frozenset(
    name for name in payloads_pb2.AssetCategory.keys() if name != "ASSET_CATEGORY_UNSPECIFIED"
)


# ---------------------------------------------------------------- compute


def compute(
    subject: str, events: Sequence[state_pb2.TaskEventState], *, case_closed_by: str = ""
) -> state_pb2.TaskState:
    """The task's state from its event set (any order in, the same item out).
    ``case_closed_by``: the earlier whole-case task that closed the case when this task was
    delegated (``closing_task``): the delegation is then refused."""
    parsed = parse_subject(subject)
    assert parsed is not None, "compute() takes a task subject"
    delegating, index = parsed
    creation_id = f"{delegating}/{index}"
    creation = next(
        (e for e in events if e.entry_id == creation_id and e.kind == log_pb2.TASK_DELEGATED),
        None,
    )
    receiving = ""
    if creation is not None:
        others = [a for a in creation.audience if a != delegating]
        receiving = others[0] if len(others) == 1 and len(creation.audience) == 2 else ""
    if receiving:
        parties = sorted({delegating, receiving})
        events = [e for e in events if list(e.audience) == parties]
    item = state_pb2.TaskState(
        subject=subject, delegating_node=delegating, case_closed_by=case_closed_by
    )
    if not receiving:
        return _pending(item, events)
    item.receiving_node = receiving
    ordered = canonical_order(events)
    past = causal_past(ordered)
    machine = replay(subject, ordered, past, receiving=receiving, case_closed_by=case_closed_by)
    _classify_refusals(machine, subject, ordered, past, receiving)
    done = _finish(machine, item, ordered)
    done.case_closed_by = case_closed_by
    done.closes_case = closes_case(done)
    return done


def replay(
    subject: str,
    ordered: Sequence[state_pb2.TaskEventState],
    past: Mapping[str, frozenset[str]],
    *,
    receiving: str,
    case_closed_by: str = "",
) -> _Machine:
    """Run the state machine over ``ordered`` (one linear extension of the causal order)."""
    parsed = parse_subject(subject)
    assert parsed is not None
    machine = _Machine(
        subject=subject,
        delegating=parsed[0],
        receiving=receiving,
        creation_id=f"{parsed[0]}/{parsed[1]}",
        past=past,
        case_closed_by=case_closed_by,
    )
    machine.run(ordered)
    return machine


def _classify_refusals(
    machine: _Machine,
    subject: str,
    ordered: Sequence[state_pb2.TaskEventState],
    past: Mapping[str, frozenset[str]],
    receiving: str,
) -> None:
    """A refused event that its author's own view allowed was overtaken: "too_late"."""
    for position, e in enumerate(ordered):
        verdict = machine.verdicts[e.entry_id]
        if verdict.outcome != "refused" or verdict.rule in _STRUCTURAL_RULES:
            continue
        seen = past[e.entry_id]
        view = [x for x in ordered if x.entry_id in seen] + [e]
        again = replay(
            subject, view, past, receiving=receiving, case_closed_by=machine.case_closed_by
        )
        if again.verdicts[e.entry_id].outcome != "applied":
            continue
        overtaken_by = next(
            (
                x
                for x in reversed(ordered[:position])
                if x.entry_id not in seen and machine.verdicts[x.entry_id].outcome == "applied"
            ),
            None,
        )
        note = "overtaken by events made concurrently"
        if overtaken_by is not None:
            kind = enum_name(log_pb2.EntryKind, overtaken_by.kind)
            note = f"overtaken by {kind} {overtaken_by.entry_id} made concurrently"
        machine.verdicts[e.entry_id] = _Verdict("too_late", "too_late", note)


def _pending(
    item: state_pb2.TaskState, events: Sequence[state_pb2.TaskEventState]
) -> state_pb2.TaskState:
    """No valid delegation held yet: keep every event, judge none."""
    item.status = "unknown"
    for e in sorted(events, key=lambda e: (e.origin, e.index)):
        out = item.events.add()
        out.CopyFrom(e)
        out.position, out.outcome, out.rule, out.note = 0, "pending", "", ""
    item.details_unknown = any(_body(e) is None for e in events)
    seizures: dict[str, state_pb2.SeizureState] = {}
    for e in item.events:
        _void_measures(item.subject, e, seizures, "pending")
    item.seizures.extend(seizures[k] for k in sorted(seizures))
    return item


def _finish(
    machine: _Machine, item: state_pb2.TaskState, ordered: Sequence[state_pb2.TaskEventState]
) -> state_pb2.TaskState:
    m = machine.item
    m.subject, m.delegating_node, m.receiving_node = (
        item.subject,
        item.delegating_node,
        (item.receiving_node),
    )
    m.status = machine.status
    for position, e in enumerate(ordered, start=1):
        verdict = machine.verdicts[e.entry_id]
        out = m.events.add()
        out.CopyFrom(e)
        out.position, out.outcome, out.rule, out.note = (
            position,
            verdict.outcome,
            verdict.rule,
            verdict.note,
        )
    m.details_unknown = any(_body(e) is None for e in ordered)
    m.cancel_too_late = any(
        e.kind == log_pb2.TASK_CANCELLED and e.outcome == "too_late" for e in m.events
    )
    seizures = dict(machine.seizures)
    for e in m.events:
        if e.outcome != "applied":
            _void_measures(m.subject, e, seizures, e.outcome)
    _follow_ups(m, seizures)
    m.seizures.extend(seizures[k] for k in sorted(seizures))
    return m


def _void_measures(
    subject: str,
    e: state_pb2.TaskEventState,
    seizures: dict[str, state_pb2.SeizureState],
    why: str,
) -> None:
    """Measures of an event that was not applied: rows marked void (or pending), so that
    every held seizure id has a row whatever the order the events came in."""
    body = _body(e)
    if body is None or e.kind not in (log_pb2.TASK_PROGRESS, log_pb2.TASK_COMPLETED):
        return
    measures = (
        body.task_progress.measures
        if e.kind == log_pb2.TASK_PROGRESS
        else body.task_completed.measures
    )
    for m in measures:
        if seizure_task(m.seizure_id) != subject or m.seizure_id in seizures:
            continue
        seizures[m.seizure_id] = state_pb2.SeizureState(
            seizure_id=m.seizure_id,
            task=subject,
            measure_entry=e.entry_id,
            measure=m,
            status="pending" if why == "pending" else "void",
            void_rule="" if why == "pending" else f"event_{why}",
        )


def _follow_ups(item: state_pb2.TaskState, seizures: Mapping[str, state_pb2.SeizureState]) -> None:
    """What someone must do next, visible on both nodes: a cancel overtaken by reports is
    decided again; seizures of a cancelled task, or of a task completed while its delegating
    court was cancelling it, are to be released."""
    binding = [s for k, s in sorted(seizures.items()) if s.status in ("in_effect", "queued")]
    if item.cancel_too_late and item.status in ("accepted", "in_progress"):
        item.follow_ups.append(
            "cancel_too_late: the receiving court reported before it saw the cancel; "
            "the delegating court cancels again if it still wants to"
        )
    elif item.cancel_too_late:
        item.follow_ups.append(
            f"cancel_too_late: the receiving court had already {item.status} the task"
        )
    reason = ""
    if item.status == "cancelled":
        reason = "task_cancelled"
    elif item.cancel_too_late and item.status == "completed":
        reason = "cancel_too_late"
    if reason and binding:
        for s in binding:
            s.follow_up = f"release_needed:{reason}"
        ids = ", ".join(s.seizure_id for s in binding)
        item.follow_ups.append(f"release_needed: {len(binding)} measures still bind ({ids})")


# ---------------------------------------------------------------- for the preparers


def verdict(
    subject: str, events: Sequence[state_pb2.TaskEventState], event: state_pb2.TaskEventState
) -> tuple[state_pb2.TaskState, state_pb2.TaskEventState | None]:
    """The task after one more event, and that event as judged (None: dropped as not a
    party's). A preparer's dry run: the same fold decides what the node may append."""
    new = compute(subject, [*events, event])
    judged = next((e for e in new.events if e.entry_id == event.entry_id), None)
    return new, judged
