"""The local Tasks service (admin socket): delegated tasks and the seizure ledger, read side.

Writes are drafts of the TASK_* / SEIZURE_* kinds through Admin.Submit. Time-limit flags and
the ledger's effective state (queue, expiry, over-amount) are computed here, at read time, from
the folded rows and the node's injected clock: two nodes holding the same rows flag the same
tasks on the same day. Overdue, Board and SeizuresExpiring take the day as ``as_of`` too (what
the rules say on that day, node/services/dates.py). Personal identifiers (debtor IDs, asset
owners, account and certificate numbers, locations) are masked unless a Get asks to reveal
them, which is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

import grpc

from ccnode.v1 import payloads_pb2, tasks_pb2, tasks_pb2_grpc
from node.businesses.access import record_access
from node.businesses.tasks.prepare import ledger_seizure
from node.clock import Clock, today
from node.ports import Appender
from node.services.dates import as_of_day
from node.services.errors import refuse
from node.services.projections import seizure_item, task_item
from node.services.purges import purges_of
from node.services.registers import require_officer
from node.store.base import (
    LogReader,
    RefusalStore,
    RegisterStore,
    RetentionStore,
    RowQuery,
    RowStore,
)
from node.store.runner import Db
from sync.domain import seizures as sz
from sync.domain import tasks as dom
from sync.domain.identifiers import DEFAULT_ID_MASKS, DEFAULT_MASK, IdMasks, mask_id
from sync.domain.wording import PIPL
from sync.folds import tasks as tf

LIMIT_MAX = 1000
PAGE_ROWS = 1000


# ---------------------------------------------------------------- read-time views


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def task_dates(item: tasks_pb2.TaskItem) -> dom.TaskDates:
    return dom.TaskDates(
        status=item.status,
        delegated_on=_date(item.delegated_on),
        clock_from=_date(item.clock_from),
        accepted_on=_date(item.accepted_on),
        started_on=_date(item.started_on),
        last_report_on=_date(item.last_report_on),
        returned_on=_date(item.returned_on),
    )


def with_flags(item: tasks_pb2.TaskItem, day: dt.date) -> tasks_pb2.TaskItem:
    for flag in dom.time_flags(task_dates(item), day):
        item.flags.add(code=flag.code, due_on=flag.due_on.isoformat(), rule=flag.rule)
    return item


def seizure_pb(view: sz.SeizureView, item: tasks_pb2.SeizureItem) -> tasks_pb2.SeizureItem:
    out = tasks_pb2.SeizureItem()
    out.CopyFrom(item)
    out.state = view.state
    out.effective_on = view.effective_on.isoformat() if view.effective_on else ""
    out.effective_end_on = view.effective_end_on.isoformat() if view.effective_end_on else ""
    out.queue_ahead = view.queue_ahead
    out.days_left = view.days_left
    out.flags.extend(view.flags)
    out.release_order = view.release_order
    return out


# ---------------------------------------------------------------- masking


def _mask_asset(asset: payloads_pb2.AssetRecord, masks: IdMasks) -> None:
    if asset.owner_id:  # a person's resident ID or an organisation's code, each its own mask
        asset.owner_id = masks.owner(asset.owner_id)
    if asset.reference:
        asset.reference = mask_id(asset.reference, DEFAULT_MASK)
    asset.location = ""


def masked(
    item: tasks_pb2.TaskItem, *, reveal: bool = False, masks: IdMasks = DEFAULT_ID_MASKS
) -> tasks_pb2.TaskItem:
    """What a client sees: never the raw payloads; identifiers masked unless revealed, each
    kind with its own mask (resident ID, credit code, organisation code)."""
    out = tasks_pb2.TaskItem()
    out.CopyFrom(item)
    for e in out.events:
        e.payload = b""
    if reveal:
        return out
    debtor = out.delegation.debtor
    if debtor.id_number:
        debtor.id_number = mask_id(debtor.id_number, masks.resident_id)
    if debtor.credit_code and debtor.type == payloads_pb2.PERSON:
        debtor.credit_code = mask_id(debtor.credit_code, masks.credit_code)
    for asset in [*out.delegation.assets, *out.found, *(s.measure.asset for s in out.seizures)]:
        _mask_asset(asset, masks)
    return out


def masked_seizure(
    item: tasks_pb2.SeizureItem, masks: IdMasks = DEFAULT_ID_MASKS
) -> tasks_pb2.SeizureItem:
    out = tasks_pb2.SeizureItem()
    out.CopyFrom(item)
    _mask_asset(out.measure.asset, masks)
    return out


def role_of(row: dict[str, Any], node_id: str) -> str:
    if row["origin"] == node_id:
        return "delegated"
    if row["receiving"] == node_id:
        return "received"
    return "observed"  # headers of other nodes' tasks


# ---------------------------------------------------------------- the service


class TasksStore(RowStore, LogReader, RetentionStore, RegisterStore, RefusalStore, Protocol):
    """Task and seizure rows, the task events behind them (and their purges), and the
    officers who read them."""


class TasksService(tasks_pb2_grpc.TasksServicer):
    def __init__(
        self,
        *,
        db: Db[TasksStore],
        appender: Appender,
        node_id: str,
        clock: Clock,
        masks: IdMasks = DEFAULT_ID_MASKS,
        court_prefixes: tuple[str, ...] = (),
    ) -> None:
        self._masks = masks
        self._db = db
        self._appender = appender
        self._node_id = node_id
        self._clock = clock
        self._court_prefixes = court_prefixes

    def _all_rows(self, table: str, equals: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of a table matching ``equals`` (blocking: run through db.read)."""
        store = self._db.store
        out: list[dict[str, Any]] = []
        while True:
            page, total = store.query_rows(
                RowQuery(table=table, equals=equals or {}, limit=PAGE_ROWS, offset=len(out))
            )
            out.extend(page)
            if not page or len(out) >= total:
                return out

    async def _open_tasks(self) -> list[tuple[dict[str, Any], tasks_pb2.TaskItem]]:
        """Tasks that can be overdue: the open statuses only (indexed column)."""
        out: list[tuple[dict[str, Any], tasks_pb2.TaskItem]] = []
        for status in sorted(dom.OPEN_STATUSES):
            rows = await self._db.read(self._all_rows, tf.TABLE, {"status": status})
            out.extend((row, task_item(tf.state_of(row))) for row in rows)
        return sorted(out, key=lambda pair: pair[0]["key"])

    async def List(
        self, request: tasks_pb2.TaskListRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.TaskListResponse:
        day = today(self._clock)
        equals: dict[str, Any] = {}
        if request.status:
            equals["status"] = request.status
        if request.case_number:
            equals["case_number"] = request.case_number
        if request.role == "delegated":
            equals["origin"] = self._node_id
        elif request.role == "received":
            equals["receiving"] = self._node_id
        elif request.role:
            await refuse(
                context,
                "role",
                "enum",
                "must be delegated or received",
                zh="须为 delegated（本节点委托的）或 received（本节点受托的）",
            )
        limit = min(request.limit or 100, LIMIT_MAX)
        rows, total = await self._db.read(
            self._db.store.query_rows,
            RowQuery(table=tf.TABLE, equals=equals, limit=limit, offset=request.offset),
        )
        items = []
        for row in rows:
            item = masked(with_flags(task_item(tf.state_of(row)), day), masks=self._masks)
            del item.events[:]
            items.append(item)
        return tasks_pb2.TaskListResponse(items=items, total=total, today=day.isoformat())

    async def Get(
        self, request: tasks_pb2.TaskGetRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.TaskGetResponse:
        if request.reveal and (not request.actor.strip() or not request.purpose.strip()):
            await refuse(
                context,
                "reveal",
                "recorded_read",
                "unmasked personal data needs an actor and a purpose (it is recorded)",
                zh=f"查看完整个人信息须写明承办人（--actor）和事由（--purpose），并记录在案（{PIPL}）",
            )
        if request.reveal:
            await require_officer(
                self._db,
                self._court_prefixes,
                request.actor,
                context,
                clock=self._clock,
                method="Tasks.Get",
            )
        rows = await self._db.read(self._db.store.get_rows, tf.TABLE, [request.subject])
        row = rows.get(request.subject)
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no task {request.subject}")
            raise AssertionError("unreachable")
        day = today(self._clock)
        state = tf.state_of(row)
        item = with_flags(task_item(state), day)
        await self._attach_ledger(item, day)
        if request.reveal:
            await self._record_access(item, request.actor, request.purpose)
        purged = await purges_of(self._db, [(e.origin, e.index) for e in state.events])
        return tasks_pb2.TaskGetResponse(
            item=masked(item, reveal=request.reveal, masks=self._masks),
            today=day.isoformat(),
            purged=purged,
        )

    async def _attach_ledger(self, item: tasks_pb2.TaskItem, day: dt.date) -> None:
        """The task's seizures with their read-time state (queue, expiry, over-amount), from
        the ledger rows they depend on: their case's (the cap) and their assets' (the queue)."""
        related: dict[str, dict[str, Any]] = {}
        for column, values in (
            ("case_number", {s.case_number for s in item.seizures if s.case_number}),
            ("asset_id", {s.measure.asset.asset_id for s in item.seizures}),
        ):
            for value in sorted(values):
                rows = await self._db.read(self._all_rows, tf.SEIZURE_TABLE, {column: value})
                related.update((r["key"], r) for r in rows)
        ledger = sz.ledger_view((ledger_seizure(r) for r in related.values()), day)
        views = {v.seizure.key: v for v in ledger}
        seizures = [seizure_pb(views[s.seizure_id], s) if s.seizure_id in views else s
                    for s in item.seizures]  # fmt: skip
        del item.seizures[:]
        item.seizures.extend(seizures)

    async def _record_access(self, item: tasks_pb2.TaskItem, actor: str, purpose: str) -> None:
        debtor = item.delegation.debtor
        await record_access(
            self._appender,
            [e.entry_id for e in item.events if e.held],
            actor=actor,
            purpose=purpose,
            what="delegated task record",
            identifier=debtor.id_number or debtor.credit_code,
        )

    async def Overdue(
        self, request: tasks_pb2.TaskOverdueRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.TaskOverdueResponse:
        day = await as_of_day(context, request.as_of, self._clock)
        items = []
        for _, item in await self._open_tasks():
            with_flags(item, day)
            if item.flags:
                out = masked(item, masks=self._masks)
                del out.events[:]
                items.append(out)
        return tasks_pb2.TaskOverdueResponse(
            items=items, today=today(self._clock).isoformat(), as_of=day.isoformat()
        )

    async def Board(
        self, request: tasks_pb2.TaskBoardRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.TaskBoardResponse:
        day = await as_of_day(context, request.as_of, self._clock)
        rows = await self._db.read(self._all_rows, tf.TABLE)
        overdue_keys: set[str] = set()
        by_flag: Counter[str] = Counter()
        for row, item in await self._open_tasks():
            codes = {f.code for f in dom.time_flags(task_dates(item), day)}
            by_flag.update(codes)
            if codes:
                overdue_keys.add(row["key"])
        groups: dict[tuple[str, str], tasks_pb2.TaskBoardRow] = {}
        for row in rows:
            role = role_of(row, self._node_id)
            region = row["receiving"] if role == "delegated" else row["origin"]
            group = groups.setdefault(
                (region, role), tasks_pb2.TaskBoardRow(region=region, role=role)
            )
            group.by_status[row["status"]] += 1
            group.total += 1
            group.overdue += row["key"] in overdue_keys
        return tasks_pb2.TaskBoardResponse(
            by_status=Counter(row["status"] for row in rows),
            by_flag=by_flag,
            rows=[groups[k] for k in sorted(groups)],
            overdue=len(overdue_keys),
            total=len(rows),
            today=today(self._clock).isoformat(),
            as_of=day.isoformat(),
        )

    # ---------------------------------------------------------------- the ledger

    async def _ledger(self, day: dt.date) -> list[sz.SeizureView]:
        """The whole ledger as of ``day``: queues and case caps span tasks, so every row."""
        rows = await self._db.read(self._all_rows, tf.SEIZURE_TABLE)
        return sz.ledger_view((ledger_seizure(r) for r in rows), day)

    async def _seizure_items(self, views: Iterable[sz.SeizureView]) -> list[tasks_pb2.SeizureItem]:
        keys = [v.seizure.key for v in views]
        rows = await self._db.read(self._db.store.get_rows, tf.SEIZURE_TABLE, keys)
        return [
            masked_seizure(
                seizure_pb(v, seizure_item(tf.seizure_of(rows[v.seizure.key]))), self._masks
            )
            for v in views
            if v.seizure.key in rows
        ]

    async def Seizures(
        self, request: tasks_pb2.SeizuresRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.SeizuresResponse:
        day = today(self._clock)
        views = await self._ledger(day)
        matching = [
            v
            for v in views
            if (not request.case_number or v.seizure.case_number == request.case_number)
            and (not request.task or v.seizure.task == request.task)
            and (not request.state or v.state == request.state)
        ]
        limit = min(request.limit or 100, LIMIT_MAX)
        page = matching[request.offset : request.offset + limit]
        cases = {v.seizure.case_number for v in matching}
        totals = [t for t in sz.case_totals(views) if t.case_number in cases]
        return tasks_pb2.SeizuresResponse(
            items=await self._seizure_items(page),
            total=len(matching),
            cases=[
                tasks_pb2.SeizureCaseTotal(
                    case_number=t.case_number,
                    cap_fen=t.cap_fen,
                    in_effect_fen=t.in_effect_fen,
                    over_fen=t.over_fen,
                )
                for t in totals
            ],
            today=day.isoformat(),
        )

    async def SeizuresExpiring(
        self, request: tasks_pb2.SeizuresExpiringRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.SeizuresExpiringResponse:
        day = await as_of_day(context, request.as_of, self._clock)
        within_days = request.within_days or sz.EXPIRY_WARNING_DAYS
        views = [
            v
            for v in await self._ledger(day)
            if v.state == "in_effect" and 0 <= v.days_left <= within_days
        ]
        views.sort(key=lambda v: (v.days_left, v.seizure.key))
        return tasks_pb2.SeizuresExpiringResponse(
            items=await self._seizure_items(views),
            today=today(self._clock).isoformat(),
            as_of=day.isoformat(),
        )
