"""Business rules for delegated tasks (委托执行) and the seizure ledger, before this node appends.

Each step is checked twice over, from the same sources: its content against the domain rules
(sync/domain/tasks.py, sync/domain/seizures.py), and its place in the task by a dry run of the
task fold (sync/folds/tasks.py) over the events this node holds plus the new one. So a step
by the wrong side is refused with rule "wrong_side", a step in the wrong state with the fold's
rule, and what the fold would later judge is exactly what the node checked. The new event's
parents are the latest events of the task this node holds; its audience is the two parties.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from node.ownlog.writer import Draft, PrepareContext, RowReader
from sync.domain import seizures as sz
from sync.domain import tasks as dom
from sync.domain.case_number import court_served
from sync.domain.errors import ValidationError
from sync.domain.wording import CHAFENG, WEITUO, yuan
from sync.entry import PARENTS_MAX
from sync.folds import tasks as tf
from sync.hlc import pack
from sync.payload import body_name

# Matters (and whole cases) that bind assets: a case already covered up to its enforcement
# amount plus costs may not ask for more (超标的查封).
_BINDING_MATTERS = frozenset({payloads_pb2.FREEZE, payloads_pb2.SEIZE})
_DAY_MS = 86_400_000
# Each step as the officer takes it (the ``ccnode tasks`` / ``ccnode seizures`` command) and
# as the courts name it.
_STEP_NAMES: dict[int, tuple[str, str]] = {
    log_pb2.TASK_ACCEPTED: ("accept", "立案（accept）"),
    log_pb2.TASK_REJECTED: ("reject", "不予受理（reject）"),
    log_pb2.TASK_RETURNED: ("return", "退回（return）"),
    log_pb2.TASK_SUPPLEMENTED: ("supplement", "补充材料（supplement）"),
    log_pb2.TASK_PROGRESS: ("report", "报告执行情况（report）"),
    log_pb2.TASK_COMPLETED: ("complete", "办结（complete）"),
    log_pb2.TASK_FAILED: ("fail", "未能执行（fail）"),
    log_pb2.TASK_CANCELLED: ("cancel", "撤回委托（cancel）"),
    log_pb2.SEIZURE_RENEWED: ("renew", "续行（renew）"),
    log_pb2.SEIZURE_RELEASED: ("release", "解除（release）"),
}
_NOON_CST_MS = 4 * 3600 * 1000  # 12:00 CST is 04:00 UTC


def _body(draft: Draft) -> payloads_pb2.Payload:
    if draft.payload.WhichOneof("body") != body_name(draft.kind):
        raise ValidationError(
            "payload",
            "kind_mismatch",
            "payload does not match the entry kind",
            zh="请求内容与条目类别不符",
        )
    body = payloads_pb2.Payload()
    body.CopyFrom(draft.payload)
    return body


def _hlc_on(day: dt.date) -> int:
    """An HLC stamp on ``day`` (CST) for the dry run: the fold only reads its date."""
    return pack((day - dt.date(1970, 1, 1)).days * _DAY_MS + _NOON_CST_MS, 0)


# ---------------------------------------------------------------- the seizure ledger


def ledger_seizure(row: dict[str, object]) -> sz.LedgerSeizure:
    """A ledger row as the read-time view takes it."""
    s = tf.seizure_of(row)
    m = s.measure
    start = _iso(m.start_on) or dt.date(1970, 1, 1)
    return sz.LedgerSeizure(
        key=s.seizure_id,
        task=s.task,
        case_number=s.case_number,
        asset_id=m.asset.asset_id,
        category=tf.enum_name(payloads_pb2.AssetCategory, m.asset.category),
        value_fen=m.value_fen,
        start_on=start,
        end_on=_iso(s.end_on) or start,
        status=s.status,
        queue_position=m.queue_position,
        released_on=_iso(s.released_on),
        indivisible=m.indivisible and bool(m.indivisible_reason.strip()),
        cap_fen=s.cap_fen,
        task_hlc=s.task_hlc,
        release_needed=s.follow_up.startswith("release_needed"),
    )


def _iso(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _views(rows: RowReader, today: dt.date, **equals: str) -> list[sz.SeizureView]:
    return sz.ledger_view((ledger_seizure(r) for r in rows.find(tf.SEIZURE_TABLE, equals)), today)


def _in_effect_fen(rows: RowReader, case_number: str, today: dt.date) -> int:
    return sum(
        v.seizure.value_fen
        for v in _views(rows, today, case_number=case_number)
        if v.state == "in_effect"
    )


# ---------------------------------------------------------------- delegation


def _delegate(draft: Draft, rows: RowReader, ctx: PrepareContext) -> tuple[Draft, list[str]]:
    if draft.subject:
        raise ValidationError(
            "subject",
            "assigned",
            "a new task gets its subject from the node",
            zh="新委托的事项编号由节点分配，不得自行填写",
        )
    payload = _body(draft)
    body = payload.task_delegated
    warnings = dom.validate_delegation(
        body,
        node_id=ctx.node_id,
        court_prefixes=ctx.court_prefixes,
        today=ctx.today,
        confirm_bad_credit_code=draft.confirm_bad_credit_code,
    )
    if body.scope == payloads_pb2.WHOLE_CASE or body.matter in _BINDING_MATTERS:
        cap_fen = body.amount_fen + body.costs_fen
        room_fen = cap_fen - _in_effect_fen(rows, body.case_number, ctx.today)
        if room_fen <= 0:
            bound = yuan(cap_fen - room_fen)
            raise ValidationError(
                "amount_fen",
                "over_amount",
                f"the case's freezes and seizures ({bound}) already cover its enforcement "
                f"amount plus costs ({yuan(cap_fen)}): release some before asking for more "
                "(超标的查封)",
                zh=f"本案已查封、扣押、冻结{bound}，已达执行标的额及执行费用{yuan(cap_fen)}，"
                f"须先解除部分措施再委托查封、冻结，不得超标的查封（{CHAFENG}第十九条）",
            )
        listed_fen = sum(a.value_fen for a in body.assets)
        if listed_fen > room_fen:
            warnings.append(
                f"财产（--asset）：所列财产价值{yuan(listed_fen)}，受托法院至多还可查封、扣押、冻结"
                f"{yuan(room_fen)}（一件不可分物除外，{CHAFENG}第十九条） / "
                f"assets: listed assets are worth {yuan(listed_fen)}; the receiving court may "
                f"bind at most {yuan(room_fen)} more (one indivisible asset excepted)"
            )
    parents = _case_closure(body.case_number, rows, ctx)
    subject = f"{tf.subject_prefix(ctx.node_id)}{ctx.index}"
    audience = (ctx.node_id, body.receiving_node)
    _dry_run(subject, [], draft.kind, payload, ctx, audience, ())
    return Draft(draft.kind, payload, subject=subject, audience=audience, parents=parents), warnings


def _case_closure(case_number: str, rows: RowReader, ctx: PrepareContext) -> tuple[str, ...]:
    """Whole-case closure (结案): refuse a delegation of a case this node's court has closed by
    delegating it whole (accepted, not returned, rejected or cancelled). Otherwise the parents
    of the new delegation: each earlier whole-case task of the case, by its delegation and its
    latest events as this node holds them, so that every node holding both folds the new one
    against the same view (sync/folds/tasks.py ``closing_task``)."""
    parents: list[str] = []
    earlier = [tf.state_of(r) for r in rows.find(tf.TABLE, {"case_number": case_number})]
    for item in sorted(earlier, key=lambda t: t.delegated_hlc, reverse=True):
        d = item.delegation
        if item.delegating_node != ctx.node_id or d.scope != payloads_pb2.WHOLE_CASE:
            continue
        if item.case_closed_by:
            continue
        if tf.closes_case(item):
            raise ValidationError(
                "case_number",
                "case_closed",
                f"the case was delegated whole in task {item.subject} and accepted: the "
                "delegating court has closed it (结案) until the task is returned, rejected or "
                "cancelled",
                zh=f"本案已委托执行全案（{item.subject}）并经受托法院立案，委托法院已作委托结案"
                f"处理，在该委托被退回、拒绝或撤回前不得再行委托（{WEITUO}第二条）",
            )
        creation = tf.parse_subject(item.subject)
        assert creation is not None
        # The node's own earlier events count by log order; the receiving node's latest one
        # (its log is ordered too, so at most one is in the frontier) carries its past.
        theirs = [e for e in tf.frontier(item.events) if not e.startswith(f"{ctx.node_id}/")]
        named = [f"{creation[0]}/{creation[1]}", *theirs]
        for parent in dict.fromkeys(named):
            if len(parents) < PARENTS_MAX and parent not in parents:
                parents.append(parent)
    return tuple(parents)


# ---------------------------------------------------------------- later steps


def _task(subject: str, rows: RowReader, ctx: PrepareContext) -> state_pb2.TaskState:
    if tf.parse_subject(subject) is None:
        raise ValidationError(
            "subject",
            "format",
            "must be a task subject <node>/task/<index>",
            zh="须为事项编号 <节点>/task/<序号>（如 chengdu/task/3）",
        )
    row = rows.get(tf.TABLE, subject)
    if row is None:
        raise ValidationError(
            "subject", "unknown", "no such task on this node", zh="本节点无此委托执行事项"
        )
    item = tf.state_of(row)
    if item.status == "unknown":
        raise ValidationError(
            "subject",
            "not_delegated",
            "this node does not hold the delegation",
            zh="本节点尚未收到该事项的委托",
        )
    if ctx.node_id not in (item.delegating_node, item.receiving_node):
        raise ValidationError(
            "task",
            "wrong_side",
            "this node is not a party to the task",
            zh="本节点既非委托方也非受托方",
        )
    return item


def _side(kind: int, item: state_pb2.TaskState, ctx: PrepareContext) -> None:
    name = tf.enum_name(log_pb2.EntryKind, kind)
    if kind in tf.DELEGATING_KINDS and ctx.node_id != item.delegating_node:
        raise ValidationError(
            "task",
            "wrong_side",
            f"{_STEP_NAMES.get(kind, (name, ''))[0]}: only the delegating node "
            f"{item.delegating_node} may",
            zh=f"{_STEP_NAMES.get(kind, ('', name))[1]}由委托方（{item.delegating_node}）办理",
        )
    if kind in tf.RECEIVING_KINDS and ctx.node_id != item.receiving_node:
        raise ValidationError(
            "task",
            "wrong_side",
            f"{_STEP_NAMES.get(kind, (name, ''))[0]}: only the receiving node "
            f"{item.receiving_node} may",
            zh=f"{_STEP_NAMES.get(kind, ('', name))[1]}由受托方（{item.receiving_node}）办理",
        )


def _step(draft: Draft, rows: RowReader, ctx: PrepareContext) -> tuple[Draft, list[str]]:
    payload = _body(draft)
    subject = draft.subject
    if not subject and draft.kind in tf.LEDGER_KINDS:
        subject = tf.seizure_task(_seizure_id(payload)) or ""
    item = _task(subject, rows, ctx)
    _side(draft.kind, item, ctx)
    warnings = _CONTENT[draft.kind](payload, item, rows, ctx)
    parents = tuple(tf.frontier(item.events))[-PARENTS_MAX:]
    audience = (item.delegating_node, item.receiving_node)
    _dry_run(subject, item.events, draft.kind, payload, ctx, audience, parents, item.status)
    return (
        Draft(draft.kind, payload, subject=subject, audience=audience, parents=parents),
        warnings,
    )


def _dry_run(
    subject: str,
    events: Sequence[state_pb2.TaskEventState],
    kind: int,
    payload: payloads_pb2.Payload,
    ctx: PrepareContext,
    audience: tuple[str, str],
    parents: tuple[str, ...],
    status: str = "",
) -> None:
    """The fold's verdict on the new event over what this node holds: it must be applied
    (``status``: the task's, to word a refusal by its state)."""
    event = state_pb2.TaskEventState(
        entry_id=f"{ctx.node_id}/{ctx.index}",
        origin=ctx.node_id,
        index=ctx.index,
        kind=kind,  # type: ignore[arg-type]
        hlc=_hlc_on(ctx.today),
        parents=parents,
        audience=sorted(set(audience)),
        held=True,
        payload=payload.SerializeToString(deterministic=True),
        on=ctx.today.isoformat(),
    )
    _, judged = tf.verdict(subject, events, event)
    if judged is None:
        raise ValidationError(
            "task",
            "wrong_side",
            "this node is not a party to the task",
            zh="本节点既非委托方也非受托方",
        )
    if judged.outcome != "applied":
        raise ValidationError(
            "task",
            judged.rule,
            judged.note or judged.rule,
            zh=dom.judged_zh(judged.rule, status),
        )


def _seizure_id(payload: payloads_pb2.Payload) -> str:
    if payload.HasField("seizure_renewed"):
        return payload.seizure_renewed.seizure_id
    return payload.seizure_released.seizure_id


# ---------------------------------------------------------------- step contents

# The content check of each later step: normalises the payload in place, returns warnings.
_Check = Callable[[payloads_pb2.Payload, state_pb2.TaskState, RowReader, PrepareContext], list[str]]


def _accepted(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    delegation = item.delegation
    # The delegating node must be entitled (by its log certificate) to speak for the court it
    # delegates from, and the task must name a court this node serves: the receiving party is
    # the one node besides the sender that holds the delegation's payload, so it checks.
    if not court_served(delegation.delegating_court, ctx.courts_of(item.delegating_node)):
        raise ValidationError(
            "delegating_court",
            "court_not_served",
            f"the delegating node's certificate does not name the delegating court "
            f"{delegation.delegating_court}",
            zh=f"委托方节点的证书未列明委托法院 {delegation.delegating_court}",
        )
    if not court_served(delegation.receiving_court, ctx.court_prefixes):
        raise ValidationError(
            "receiving_court",
            "court_not_served",
            f"this node does not serve the receiving court {delegation.receiving_court}",
            zh=f"本节点不服务受托法院 {delegation.receiving_court}",
        )
    dom.validate_acceptance(
        p.task_accepted,
        whole_case=delegation.scope == payloads_pb2.WHOLE_CASE,
        court_prefixes=ctx.court_prefixes,
        today=ctx.today,
    )
    return []


def _reason_required(body_field: str, what: str, what_zh: str) -> _Check:
    """The content check of a step that only needs its written reason."""

    def check(
        p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
    ) -> list[str]:
        body = getattr(p, body_field)
        body.reason = dom.require_text(body.reason, "reason", what, zh=what_zh)
        return []

    return check


def _returned(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    body = p.task_returned
    body.reason = dom.require_text(
        body.reason,
        "reason",
        "a return (退回) needs written reasons",
        zh=f"退回须书面说明理由（{WEITUO}）",
    )
    latest = ctx.today + dt.timedelta(days=dom.MATERIALS_DAYS)
    due = (
        dom.parse_date(body.materials_due_on, "materials_due_on")
        if body.materials_due_on
        else latest
    )
    if not ctx.today <= due <= latest:
        raise ValidationError(
            "materials_due_on",
            "range",
            f"materials are due within {dom.MATERIALS_DAYS} days of the return "
            f"({ctx.today.isoformat()} to {latest.isoformat()})",
            zh=f"补充材料期限须在退回之日起{dom.MATERIALS_DAYS}日内（{ctx.today.isoformat()}至"
            f"{latest.isoformat()}），逾期视为撤回委托（{WEITUO}）",
        )
    body.materials_due_on = due.isoformat()
    return []


def _supplemented(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    body = p.task_supplemented
    if not body.documents and not body.note.strip():
        raise ValidationError(
            "documents",
            "required",
            "a supplement carries documents or a note",
            zh="补充材料须附材料或说明（--note）",
        )
    dom.validate_documents(body.documents, "documents")
    return []


def _progress(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    body = p.task_progress
    body.report = dom.require_text(
        body.report, "report", "a progress report needs its text", zh="须写明执行情况"
    )
    if item.status == "accepted" and not body.started_on:
        body.started_on = ctx.today.isoformat()
    return _new_measures(body.measures, item, rows, ctx)


def _completed(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    body = p.task_completed
    body.result = dom.require_text(
        body.result,
        "result",
        "a completion reports its result",
        zh=f"执行完毕须告知执行结果（{WEITUO}）",
    )
    body.completed_on = ctx.today.isoformat()
    for n, asset in enumerate(body.found):
        dom.require_text(asset.asset_id, f"found[{n}].asset_id")
    # A seizure with under a month left must be renewed before the task hands it over.
    for v in _views(rows, ctx.today, task=item.subject):
        if v.state == "in_effect" and v.days_left < sz.EXPIRY_WARNING_DAYS:
            raise ValidationError(
                "measures",
                "renew_first",
                f"seizure {v.seizure.key} has {v.days_left} days left: renew it before "
                "completing the task",
                zh=f"措施 {v.seizure.key} 仅余{v.days_left}日，不足一个月，须先续行再办结移交"
                f"（ccnode seizures renew {v.seizure.key}）",
            )
    warnings = _new_measures(body.measures, item, rows, ctx)
    # So must a measure the completion itself carries (one that takes effect now).
    for n, m in enumerate(body.measures):
        if m.queue_position:
            continue
        days_left = sz.handover_problem(dt.date.fromisoformat(m.start_on), m.term_days, ctx.today)
        if days_left is not None:
            raise ValidationError(
                f"measures[{n}].term_days",
                "renew_first",
                f"the measure has {days_left} days left: renew it before completing the task",
                zh=f"该措施仅余{days_left}日，不足一个月，须先续行再办结移交",
            )
    return warnings


def _new_measures(
    measures: Sequence[payloads_pb2.SeizureMeasure],
    item: state_pb2.TaskState,
    rows: RowReader,
    ctx: PrepareContext,
) -> list[str]:
    """Check new measures, number them "<task>/s<n>", queue them behind seizures of the same
    asset (轮候) and hold the case within its enforcement amount plus costs."""
    if not measures:
        return []
    dom.validate_measures(measures, today=ctx.today, delegated_on=_iso(item.delegated_on))
    numbers = [
        int(s.seizure_id.rpartition("/s")[2])
        for s in item.seizures
        if tf.seizure_task(s.seizure_id) == item.subject
    ]
    first = max(numbers, default=0) + 1
    case = item.delegation.case_number
    for n, m in enumerate(measures):
        m.seizure_id = f"{item.subject}/s{first + n}"
        ahead = [
            v
            for v in _views(rows, ctx.today, asset_id=m.asset.asset_id)
            if v.state in ("in_effect", "queued")
        ]
        if any(v.seizure.case_number == case for v in ahead):
            raise ValidationError(
                f"measures[{n}].asset",
                "already_seized",
                "this case already binds the asset",
                zh="本案已查封、扣押、冻结该财产，不得重复采取措施",
            )
        m.queue_position = max(m.queue_position, len(ahead))
    binding = [(m.value_fen, m.indivisible, m.indivisible_reason) for m in measures]
    binding = [b for b, m in zip(binding, measures, strict=True) if m.queue_position == 0]
    d = item.delegation
    return sz.check_amount_cap(
        cap_fen=d.amount_fen + d.costs_fen,
        in_effect_fen=_in_effect_fen(rows, case, ctx.today),
        new=binding,
    )


def _renewed(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    body = p.seizure_renewed
    seizure = _seizure(body.seizure_id, item)
    body.renewed_on = ctx.today.isoformat()
    if body.term_days == 0:  # the same maximum again, counted from the current end
        category = tf.enum_name(payloads_pb2.AssetCategory, seizure.measure.asset.category)
        end = _iso(seizure.end_on) or ctx.today
        body.term_days = sz.max_term_days(category, end + dt.timedelta(days=1))
    return []


def _released(
    p: payloads_pb2.Payload, item: state_pb2.TaskState, rows: RowReader, ctx: PrepareContext
) -> list[str]:
    body = p.seizure_released
    _seizure(body.seizure_id, item)
    body.reason = dom.require_text(
        body.reason, "reason", "a release needs its reason", zh="解除措施须写明理由"
    )
    body.released_on = ctx.today.isoformat()
    return []


def _seizure(seizure_id: str, item: state_pb2.TaskState) -> state_pb2.SeizureState:
    for s in item.seizures:
        if s.seizure_id == seizure_id:
            return s
    raise ValidationError(
        "seizure_id", "unknown", "no such seizure in this task", zh="该委托执行事项无此措施"
    )


_CONTENT: dict[int, _Check] = {
    log_pb2.TASK_ACCEPTED: _accepted,
    log_pb2.TASK_REJECTED: _reason_required(
        "task_rejected", "a rejection needs written reasons", "不予受理须书面说明理由"
    ),
    log_pb2.TASK_RETURNED: _returned,
    log_pb2.TASK_SUPPLEMENTED: _supplemented,
    log_pb2.TASK_PROGRESS: _progress,
    log_pb2.TASK_COMPLETED: _completed,
    log_pb2.TASK_FAILED: _reason_required(
        "task_failed", "say why it failed", "须写明未能执行的原因"
    ),
    log_pb2.TASK_CANCELLED: _reason_required(
        "task_cancelled", "a cancellation needs its reason", "撤回委托须写明理由"
    ),
    log_pb2.SEIZURE_RENEWED: _renewed,
    log_pb2.SEIZURE_RELEASED: _released,
}


def prepare_task(draft: Draft, rows: RowReader, ctx: PrepareContext) -> tuple[Draft, list[str]]:
    """The preparer of every task and seizure kind (registered in node/ownlog/preparers.py)."""
    if draft.kind == log_pb2.TASK_DELEGATED:
        return _delegate(draft, rows, ctx)
    return _step(draft, rows, ctx)
