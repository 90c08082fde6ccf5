"""The Lookups service (admin Unix socket): asset lookups, their results, the asset registry.

Reading a lookup's result is itself recorded: every response that carries the debtor or the
assets found appends an ACCESS_RECORDED entry (actor, purpose, what, the entries read, and the
hash of the debtor's identifier) to this node's own log BEFORE the data is returned. Results
are masked unless the caller asked to reveal them; the node masks, so no client can forget to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import grpc

from ccnode.v1 import log_pb2, lookups_pb2, lookups_pb2_grpc, payloads_pb2
from node.businesses.lookups.sources import asset_row
from node.clock import Clock, SystemClock
from node.metrics import METRICS, REQUESTER
from node.ownlog.writer import Draft, DraftRejected
from node.ports import Appender, AppliedFeed, ChangeFeed, PeerLinks
from node.replication.apply import Applied
from node.services.errors import refuse, refuse_draft, refuse_invalid
from node.services.projections import access_item, lookup_item
from node.services.purges import parse_entry_id, purge_pb
from node.services.registers import (
    officer_and_party_reads,
    require_officer,
    require_officer_of_lookup,
)
from node.store.base import (
    AssetRow,
    AssetStore,
    LogReader,
    PayloadPurge,
    RefusalStore,
    RegisterStore,
    RetentionStore,
    RowQuery,
    RowStore,
    StoredEntry,
)
from node.store.runner import Db
from sync.domain.assets import asset_from_json, asset_to_json, mask_asset
from sync.domain.errors import ValidationError
from sync.domain.lookups import (
    debtor_identifier,
    masked_debtor,
    parse_lookup_subject,
    subject_key,
)
from sync.domain.wording import CHAKONG
from sync.folds import access as access_fold
from sync.folds import lookups as lookups_fold
from sync.folds.types import Row
from sync.payload import PayloadError, decode_payload

LIMIT_MAX = 1000
WAIT_MAX_S = 300.0
WATCH_IDLE_S = 1.0  # the reply watch re-reads at least this often (and on every change)
IMPORT_RECORDS_MAX = 50_000  # per message; the CLI sends fewer
WHAT_RESULT = "lookup result"


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, text: str) -> NoReturn:
    await context.abort(code, text)
    raise AssertionError("unreachable")


def public_item(item: lookups_pb2.LookupItem) -> lookups_pb2.LookupItem:
    """A lookup's metadata for display: without the subject key (the hash of an identifier
    can be reversed by trying every plausible ID number)."""
    out = lookups_pb2.LookupItem()
    out.CopyFrom(item)
    out.ClearField("subject_key")
    return out


@dataclass(frozen=True)
class Held:
    """What a read of a lookup's result reads: its row, the purge records of its request and
    reply, and the entries of its subject this node holds (with their payloads)."""

    row: Row
    purges: dict[tuple[str, int], PayloadPurge]
    entries: list[StoredEntry]

    @property
    def item(self) -> lookups_pb2.LookupItem:
        return lookup_item(lookups_fold.state_of(self.row))


class HeldStore(RowStore, LogReader, RetentionStore, Protocol):
    """The lookup rows, the entries behind them and their purges."""


def read_held(store: HeldStore, rows: Mapping[str, Row]) -> dict[str, Held]:
    """The ``Held`` of each of these lookups' rows, in two queries for all of them (in a
    store thread)."""
    if not rows:
        return {}
    items = {subject: lookup_item(lookups_fold.state_of(row)) for subject, row in rows.items()}
    keys = [
        key
        for item in items.values()
        for key in map(parse_entry_id, _read_entries(item))
        if key is not None
    ]
    purges = store.payload_purges(keys) if keys else {}
    by_subject: dict[str, list[StoredEntry]] = {subject: [] for subject in rows}
    for entry in store.entries_by_subject(list(rows)):
        if entry.subject in by_subject:
            by_subject[entry.subject].append(entry)
    return {
        subject: Held(
            row,
            {
                key: purges[key]
                for key in map(parse_entry_id, _read_entries(items[subject]))
                if key is not None and key in purges
            },
            by_subject[subject],
        )
        for subject, row in rows.items()
    }


def _read_replies(store: HeldStore, subjects: list[str]) -> tuple[dict[str, Held], set[str]]:
    """(the ``Held`` of those of ``subjects`` replied to, the subjects with a row)."""
    rows = store.get_rows(lookups_fold.TABLE, subjects)
    replied = {s: row for s, row in rows.items() if row["status"] != lookups_fold.PENDING}
    return read_held(store, replied), set(rows)


def _read_entries(item: lookups_pb2.LookupItem) -> list[str]:
    """The entries a read of a lookup's result reads: its request and its reply."""
    return [e for e in (item.request_entry, item.reply.entry_id) if e]


class ReplyWatch:
    """Waiters for lookups' replies, served by ONE reader: after every applied batch that
    changed lookup rows (a reply is the target's entry: it only ever arrives in a peer's
    batch, never in this node's own commits) and at least every WATCH_IDLE_S, it reads the
    rows of all awaited lookups in one query and wakes those replied to, with what their
    results are read from (``Held``: in the same trip to the store). A read per waiter per
    change would grow with the square of the load."""

    def __init__(self, *, db: Db[HeldStore], changes: ChangeFeed, applied: AppliedFeed) -> None:
        self._db = db
        self._changes = changes  # for ``closed``: the node stops
        self._waiting: dict[str, list[asyncio.Future[Held]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        applied.subscribe(self._on_applied)

    def _on_applied(self, applied: Applied) -> None:
        if lookups_fold.TABLE in applied.tables:
            self._changed.set()

    async def wait(self, subject: str, timeout_s: float) -> Held | None:
        """The lookup once it is no longer pending; None after ``timeout_s``."""
        future: asyncio.Future[Held] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(subject, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ccnode-lookup-replies")
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiting.get(subject, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiting.pop(subject, None)

    async def _run(self) -> None:
        store = self._db.store
        while self._waiting and not self._changes.closed:
            self._changed.clear()  # a batch applied from here on is read below or next time
            replied, _ = await self._db.read(_read_replies, store, list(self._waiting))
            for subject, held in replied.items():
                for future in self._waiting.pop(subject, []):
                    if not future.done():
                        future.set_result(held)
            if self._waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), WATCH_IDLE_S)


class LookupsStore(
    RowStore, LogReader, AssetStore, RetentionStore, RegisterStore, RefusalStore, Protocol
):
    """Lookup rows, the entries behind them (payloads and purges), the asset registry, the
    registers."""


class LookupsService(lookups_pb2_grpc.LookupsServicer):
    def __init__(
        self,
        *,
        db: Db[LookupsStore],
        appender: Appender,
        links: PeerLinks,
        changes: ChangeFeed,
        applied: AppliedFeed,
        court_prefixes: tuple[str, ...] = (),
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._appender = appender
        self._links = links
        self._court_prefixes = court_prefixes
        self._clock = clock or SystemClock()
        self._replies = ReplyWatch(db=db, changes=changes, applied=applied)
        self._officer_and_party = officer_and_party_reads(db)

    # ---------------------------------------------------------------- lookups

    async def Request(
        self, request: lookups_pb2.LookupRequest, context: grpc.aio.ServicerContext
    ) -> lookups_pb2.LookupResult:
        if not request.purpose.strip():
            await refuse(
                context,
                "purpose",
                "required",
                "state why the debtor's assets are asked (recorded with the request)",
                zh=f"必须写明查询事由，并随请求记录（{CHAKONG}第七条、第八条）",
            )
        body = _requested(request)
        # The officer and the case party are read in one trip; the officer's refusal comes
        # first.
        registered = await require_officer_of_lookup(
            self._db,
            self._officer_and_party,
            self._court_prefixes,
            request.actor,
            body,
            context,
            clock=self._clock,
            method="Lookups.Request",
        )
        if not self._is_peer(request.target):
            # A lookup's entries reach only its audience: a relay holds their headers alone
            # and may not pass them to the requester or the target (sync/verify.py), so the
            # reply can only come over a direct link to the target.
            await refuse(
                context,
                "target",
                "not_peer",
                "not a peer of this node (a lookup travels only over a direct link)",
                zh="不是本节点的对端节点：查询只经直接连接发送（ccnode peers add）",
            )
        # 网络查询冻结规定 arts. 7–8: a query may only concern a debtor of the cited case. The
        # register of case parties is this node's: it checks, and its signed request says so.
        if registered is False:
            await refuse(
                context,
                "debtor",
                "not_a_debtor",
                "is not registered as a debtor of the cited case (ccnode cases add-party; "
                "网络查询冻结规定 arts. 7–8: a query may only concern a debtor of the case)",
                zh=(
                    "未登记为所引案件的被执行人（ccnode cases add-party）：只能查询本案被执行人"
                    f"的财产（{CHAKONG}第七条、第八条）"
                ),
            )
        body.debtor_registered = bool(registered)
        draft = Draft(log_pb2.LOOKUP_REQUESTED, payloads_pb2.Payload(lookup_requested=body))
        started_s = time.monotonic()
        try:
            submitted = await self._appender.submit([draft], request.actor)
        except DraftRejected as exc:
            await refuse_draft(context, exc, numbered=False)
        subject = submitted.subjects[0]
        if request.wait_s <= 0:
            row = await self._row(subject)
            assert row is not None, "the request's own commit folded its row"
            return lookups_pb2.LookupResult(
                item=public_item(lookup_item(lookups_fold.state_of(row)))
            )
        held = await self._replies.wait(subject, min(request.wait_s, WAIT_MAX_S))
        if held is None:
            held = await self._held(subject)
            assert held is not None
        status = held.row["status"]
        outcome = "timed_out" if status == lookups_fold.PENDING else str(status)
        METRICS.lookup_seconds.labels(role=REQUESTER, outcome=outcome).observe(
            time.monotonic() - started_s
        )
        if status == lookups_fold.PENDING:
            return lookups_pb2.LookupResult(item=public_item(held.item), timed_out=True)
        return await self._result(held, request.actor, request.purpose, request.reveal)

    async def _require_officer(
        self, actor: str, context: grpc.aio.ServicerContext, method: str
    ) -> None:
        await require_officer(
            self._db, self._court_prefixes, actor, context, clock=self._clock, method=method
        )

    def _is_peer(self, node_id: str) -> bool:
        return self._links.status(node_id) is not None  # a link runs for every stored peer

    async def _row(self, subject: str) -> Row | None:
        rows = await self._db.read(self._db.store.get_rows, lookups_fold.TABLE, [subject])
        return rows.get(subject)

    async def _held(self, subject: str) -> Held | None:
        """The lookup's row with what its result is read from, in one trip to the store."""
        store = self._db.store
        found = await self._db.read(_read_one, store, subject)
        return found.get(subject)

    async def List(
        self, request: lookups_pb2.ListLookupsRequest, context: grpc.aio.ServicerContext
    ) -> lookups_pb2.ListLookupsResponse:
        equals: dict[str, Any] = {}
        for column, value in (
            ("status", request.status),
            ("origin", request.requester),
            ("target", request.target),
        ):
            if value:
                equals[column] = value
        rows, total = await self._db.read(
            self._db.store.query_rows,
            RowQuery(
                table=lookups_fold.TABLE,
                equals=equals,
                limit=min(request.limit or 100, LIMIT_MAX),
                offset=request.offset,
            ),
        )
        return lookups_pb2.ListLookupsResponse(
            items=[public_item(lookup_item(lookups_fold.state_of(r))) for r in rows], total=total
        )

    async def Get(
        self, request: lookups_pb2.GetLookupRequest, context: grpc.aio.ServicerContext
    ) -> lookups_pb2.LookupResult:
        if not request.actor.strip() or not request.purpose.strip():
            await refuse(
                context,
                "purpose" if request.actor.strip() else "actor",
                "recorded_read",
                "reading a lookup result is recorded: say who and why",
                zh=(
                    "查阅查询结果须写明承办人（--actor）和事由（--purpose），并予记录"
                    f"（{CHAKONG}第七条、第八条）"
                ),
            )
        await self._require_officer(request.actor, context, "Lookups.Get")
        if parse_lookup_subject(request.subject) is None:
            await refuse(
                context,
                "subject",
                "format",
                "not a lookup's subject (origin/lookup/n)",
                zh="不是查询事项编号（格式为 节点/lookup/序号）",
            )
        held = await self._held(request.subject)
        if held is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no lookup {request.subject}")
        return await self._result(held, request.actor, request.purpose, request.reveal)

    async def _result(
        self, held: Held, actor: str, purpose: str, reveal: bool
    ) -> lookups_pb2.LookupResult:
        """The lookup with whatever payloads this node holds (read with its row); a read of
        personal data is recorded in this node's log before it is returned."""
        item = held.item
        read = _read_entries(item)
        result = lookups_pb2.LookupResult(item=public_item(item), revealed=reveal)
        result.purged.extend(purge_pb(held.purges[key]) for key in sorted(held.purges))
        bodies = _bodies(item, held.entries)
        if item.subject_key and len(result.purged) < len(read):
            # The row has payload details: this node is in the audience. The read is recorded
            # before anything is returned. Once every payload of the lookup was purged there
            # is nothing personal left to read (the row holds no identifier, only its
            # digest), so nothing is recorded.
            result.access_entry = await self.record_access(
                read, actor, purpose, WHAT_RESULT, item.subject_key
            )
        request_body = bodies.get(item.request_entry)
        answer_body = bodies.get(item.reply.entry_id) if not item.reply.denied else None
        debtor = request_body.lookup_requested.debtor if request_body is not None else None
        assets = list(answer_body.lookup_answered.assets) if answer_body is not None else []
        if debtor is None and not assets:
            return result  # headers only (a node outside the audience): nothing personal
        if not result.access_entry:
            identifier = debtor_identifier(debtor) if debtor is not None else ""
            result.access_entry = await self.record_access(
                read, actor, purpose, WHAT_RESULT, subject_key(identifier) if identifier else ""
            )
        if debtor is not None:
            result.debtor.CopyFrom(debtor if reveal else masked_debtor(debtor))
        result.assets.extend(assets if reveal else [mask_asset(a) for a in assets])
        return result

    async def record_access(
        self, entries: list[str], actor: str, purpose: str, what: str, key: str
    ) -> str:
        payload = payloads_pb2.Payload(
            access_recorded=payloads_pb2.AccessRecorded(
                entries=entries, purpose=purpose.strip(), what=what, subject_key=key
            )
        )
        draft = Draft(kind=log_pb2.ACCESS_RECORDED, payload=payload)
        return (await self._appender.submit([draft], actor)).entry_ids[0]

    # ---------------------------------------------------------------- accountability

    async def Access(
        self, request: lookups_pb2.AccessRequest, context: grpc.aio.ServicerContext
    ) -> lookups_pb2.AccessResponse:
        if not request.id_number.strip():
            await refuse(
                context,
                "id_number",
                "required",
                "the resident ID or credit code is required",
                zh="必须填写身份证号或统一社会信用代码",
            )
        key = subject_key(request.id_number)
        limit = min(request.limit or LIMIT_MAX, LIMIT_MAX)
        store = self._db.store
        lookups, _ = await self._db.read(
            store.query_rows,
            RowQuery(table=lookups_fold.TABLE, equals={"subject_key": key}, limit=limit),
        )
        reads, _ = await self._db.read(
            store.query_rows,
            RowQuery(table=access_fold.TABLE, equals={"subject_key": key}, limit=limit),
        )
        # Reads about many subjects at once (an agency's CheckBatch) are found through the
        # rows their subjects derive.
        among, _ = await self._db.read(
            store.query_rows,
            RowQuery(table=access_fold.SUBJECTS_TABLE, equals={"subject_key": key}, limit=limit),
        )
        if among:
            batch_reads = await self._db.read(
                store.get_rows, access_fold.TABLE, sorted({r["access"] for r in among})
            )
            reads = [*reads, *batch_reads.values()][:limit]
        items = sorted(
            (lookup_item(lookups_fold.state_of(r)) for r in lookups), key=lambda i: i.requested_hlc
        )
        accesses = sorted(
            (access_item(access_fold.state_of(r)) for r in reads), key=lambda a: a.hlc
        )
        for a in accesses:
            a.ClearField("subject_key")
            a.ClearField("subject_keys")
        return lookups_pb2.AccessResponse(lookups=[public_item(i) for i in items], reads=accesses)

    # ---------------------------------------------------------------- asset registry

    async def ImportAssets(
        self,
        request_iterator: AsyncIterator[lookups_pb2.ImportAssetsRequest],
        context: grpc.aio.ServicerContext,
    ) -> lookups_pb2.ImportAssetsResponse:
        imported = 0
        async for message in request_iterator:
            if len(message.records) > IMPORT_RECORDS_MAX:
                await refuse(
                    context,
                    "records",
                    "too_many",
                    f"at most {IMPORT_RECORDS_MAX} per message",
                    zh=f"每条消息至多{IMPORT_RECORDS_MAX}条",
                )
            try:
                # Thousands of records: checked off the event loop, which serves replication.
                rows = await asyncio.to_thread(_checked_rows, message)
            except ValidationError as exc:
                await refuse_invalid(context, exc)
            await self._db.write(self._db.store.put_assets, rows)
            imported += len(rows)
        total = await self._db.read(self._db.store.count_assets)
        return lookups_pb2.ImportAssetsResponse(imported=imported, total=total)

    async def CountAssets(
        self, request: lookups_pb2.CountAssetsRequest, context: grpc.aio.ServicerContext
    ) -> lookups_pb2.CountAssetsResponse:
        return lookups_pb2.CountAssetsResponse(
            total=await self._db.read(self._db.store.count_assets)
        )


def _read_one(store: HeldStore, subject: str) -> dict[str, Held]:
    return read_held(store, store.get_rows(lookups_fold.TABLE, [subject]))


def _bodies(
    item: lookups_pb2.LookupItem, entries: Sequence[StoredEntry]
) -> dict[str, payloads_pb2.Payload]:
    """The payloads held of the lookup's request and reply, by entry id (none on a node
    outside the audience, or after a purge)."""
    wanted = {item.request_entry, item.reply.entry_id} - {""}
    out = {}
    for e in entries:
        entry_id = f"{e.origin}/{e.index}"
        if entry_id not in wanted or e.payload is None:
            continue
        try:
            out[entry_id] = decode_payload(e.kind, e.payload)
        except PayloadError:
            continue
    return out


def _requested(request: lookups_pb2.LookupRequest) -> payloads_pb2.LookupRequested:
    """The body of the LOOKUP_REQUESTED entry a request asks for."""
    return payloads_pb2.LookupRequested(
        target_node=request.target,
        case_number=request.case_number,
        debtor=request.debtor,
        categories=request.categories,
        purpose=request.purpose,
        credit_code_confirmed=request.credit_code_confirmed,
    )


def _checked_rows(message: lookups_pb2.ImportAssetsRequest) -> list[AssetRow]:
    """The records of one import message, checked and normalised by the import format's rules
    (the same as the CLI's, so a record from any client meets them), as stored rows."""
    return [
        asset_row(
            asset_from_json(
                asset_to_json(record),
                message.first_line + offset if message.first_line else None,
                allow_bad_credit_code=message.allow_bad_credit_codes,
            )
        )
        for offset, record in enumerate(message.records)
    ]
