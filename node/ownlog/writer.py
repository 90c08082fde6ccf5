"""This node's own log: validate, append, sign, fold and commit — group-committed.

Submissions (from the admin API, the scheduler, the lookup responder) queue up; one writer
takes as many as are waiting (up to ``checkpoint_entries_max`` entries), validates each
submission against the current state plus the submissions before it in the group, and
commits all that passed in ONE transaction under signed checkpoints. A submission that fails
validation is rejected whole and changes nothing; the others in its group still commit.

Ordering: entries, checkpoints and folded state are committed BEFORE any caller is answered
and BEFORE the live tails are woken, so nothing is ever announced that could be lost.

The gate: started with ``recovering=True``, the writer takes no submission (they wait in the
queue) until ``recovered`` is called, i.e. until own-log recovery
(node.replication.recovery) has learned how much of this log the peers hold and fetched what
the store lacks. Signing before that could sign a second, inconsistent checkpoint at a size
the peers already hold (a store restored from an older copy).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ccnode.v1 import payloads_pb2
from node.aio import cancel_and_wait
from node.clock import Clock, today
from node.metrics import METRICS
from node.ratelog import RateLimitedLog
from node.store.base import (
    FoldedLogStore,
    OriginState,
    RowChange,
    RowQuery,
    RowStore,
    StoredEntry,
    StoreFull,
)
from node.store.checks import ROW_QUERY_AMONG_MAX
from node.store.runner import Db
from node.store.watch import Watch
from sync import hlc
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.domain.errors import ValidationError
from sync.domain.wording import joined
from sync.entry import SALT_BYTES, Entry, EntryError, decode_header, entry_id, make_entry
from sync.folds import fold_batch, state_keys
from sync.folds.types import Row, StateKey
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from sync.payload import encode_payload

log = logging.getLogger(__name__)

# A checkpoint is signed at least every this many entries / bytes within a commit, so that
# any run between two consecutive checkpoints fits one replication batch (<= 500 entries,
# <= 256 KiB) and relays can always cut batches at signed checkpoints. 250 = half a batch:
# a catch-up then gets full 500-entry batches (two intervals; a commit of 1,000 entries is
# four), and a batch costs a checkpoint, a signature check and a transaction whatever its size.
CHECKPOINT_INTERVAL_ENTRIES = 250
CHECKPOINT_INTERVAL_BYTES = 128 * 1024
# Page size of RowReader.find over the store.
FIND_PAGE_ROWS = 1000


class DraftRejected(Exception):
    """A draft broke a rule; the whole submission is refused and nothing is appended.

    ``explanation`` (English) and ``zh`` (Chinese) say the rule without naming the field;
    ``message`` is the one sentence of the refusal, Chinese first (sync/domain/wording.py)."""

    def __init__(self, position: int, field: str, rule: str, explanation: str, *, zh: str) -> None:
        self.position = position
        self.field = field
        self.rule = rule
        self.explanation = explanation
        self.zh = zh
        self.message = joined(field, zh, explanation)
        super().__init__(f"draft {position}: {self.message}")

    @classmethod
    def invalid(cls, position: int, exc: ValidationError) -> DraftRejected:
        """A domain validator's refusal of the draft at ``position``."""
        return cls(position, exc.field, exc.rule, exc.explanation, zh=exc.zh)

    def at(self, position: int) -> DraftRejected:
        """The same refusal, of the draft at ``position`` of the submission."""
        return DraftRejected(position, self.field, self.rule, self.explanation, zh=self.zh)


class AlreadyDone(DraftRejected):
    """The draft asks for a fact the log already holds (e.g. a listing of a debtor already
    listed for the same case): refused, or left out of a submission that asks for that
    (``skip_done``), naming the ``existing`` subject that covers it."""

    def __init__(
        self, position: int, field: str, rule: str, explanation: str, existing: str, *, zh: str
    ) -> None:
        super().__init__(position, field, rule, explanation, zh=zh)
        self.existing = existing


@dataclass
class Draft:
    kind: int
    payload: payloads_pb2.Payload
    subject: str = ""  # "" = a new fact: the business rules allocate one
    audience: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    confirm_bad_credit_code: bool = False


@dataclass(frozen=True)
class PrepareContext:
    node_id: str
    court_prefixes: tuple[str, ...]
    today: dt.date
    index: int  # the index this draft's entry will get
    # The index of the submission's first entry (None: this draft's own): a preparer tells a
    # repeat within one submission from a fact committed or submitted before it.
    first_index: int | None = None
    # Every draft of the submission, for a preparer that looks rows up for all of them at once
    # (RowReader.prefetch_by).
    submission: Sequence[Draft] = ()
    # The courts another origin's log certificate names (node.identity.origin_keys): a
    # preparer answering a peer's fact checks the peer was entitled to state it.
    courts_of: Callable[[str], tuple[str, ...]] = lambda _origin: ()

    @property
    def submission_start(self) -> int:
        return self.index if self.first_index is None else self.first_index


class RowReader:
    """Current folded rows plus the uncommitted changes of earlier drafts in the group."""

    def __init__(
        self,
        store: RowStore,
        pending: dict[StateKey, Row],
        committed: dict[StateKey, Row | None] | None = None,
    ) -> None:
        self._store = store
        self.pending = pending
        # Committed rows read so far (None: no such row), shared by the readers of one commit
        # group: the group reads one snapshot and nothing else writes before its commit, so a
        # row a preparer read is not read again by the fold (or the next submission).
        self._committed = {} if committed is None else committed
        # Per (table, column): value -> keys of pending rows that had it, so that find_by does
        # not scan every pending row (an import of 100,000 listings is one submission).
        self._pending_by: dict[tuple[str, str], dict[Any, set[str]]] = {}
        # Per (table, column): value -> the committed rows with it, read by prefetch_by.
        self._committed_by: dict[tuple[str, str], dict[Any, dict[str, Row]]] = {}

    def record(self, changes: Mapping[StateKey, Row]) -> None:
        """Add the rows an accepted draft changed to the pending ones."""
        self.pending.update(changes)
        for (table, column), index in self._pending_by.items():
            for (t, key), row in changes.items():
                if t == table:
                    index.setdefault(row.get(column), set()).add(key)

    def get(self, table: str, key: str) -> Row | None:
        if (table, key) in self.pending:
            return self.pending[(table, key)]
        if (table, key) in self._committed:
            return self._committed[(table, key)]
        row = self._store.get_rows(table, [key]).get(key)
        self._committed[(table, key)] = row
        return row

    def find(self, table: str, equals: Mapping[str, Any]) -> list[Row]:
        """Every row of ``table`` whose columns equal ``equals``, pending changes included, by
        key (e.g. the seizures of one case, for a cap that spans rows)."""
        rows: dict[str, Row] = {}
        offset = 0
        while True:
            page, total = self._store.query_rows(
                RowQuery(table=table, equals=equals, limit=FIND_PAGE_ROWS, offset=offset)
            )
            rows.update((row["key"], row) for row in page)
            offset += len(page)
            if not page or offset >= total:
                break
        for (t, key), row in self.pending.items():
            if t != table:
                continue
            if all(row.get(column) == value for column, value in equals.items()):
                rows[key] = row
            else:
                rows.pop(key, None)
        return [rows[key] for key in sorted(rows)]

    def prefetch_by(self, table: str, column: str, values: Callable[[], Iterable[Any]]) -> None:
        """Read the committed rows of ``table`` whose ``column`` is any of ``values()`` (called
        once per reader: the first call wins), a thousand values a query, for ``find_by``: a
        submission of many drafts then costs a query per thousand drafts, not one per draft."""
        if (table, column) in self._committed_by:
            return
        committed: dict[Any, dict[str, Row]] = {}
        wanted = sorted({value for value in values() if value is not None})
        for start in range(0, len(wanted), ROW_QUERY_AMONG_MAX):
            chunk = wanted[start : start + ROW_QUERY_AMONG_MAX]
            for value in chunk:
                committed[value] = {}
            for row in self._committed_rows(table, {}, {column: chunk}):
                committed.setdefault(row[column], {})[row["key"]] = row
        self._committed_by[(table, column)] = committed

    def _committed_rows(
        self, table: str, equals: Mapping[str, Any], among: Mapping[str, Sequence[Any]]
    ) -> Iterator[Row]:
        after: str | None = None
        while True:
            page, _ = self._store.query_rows(
                RowQuery(
                    table=table, equals=equals, among=among, after_key=after, limit=FIND_PAGE_ROWS
                )
            )
            yield from page
            if len(page) < FIND_PAGE_ROWS:
                return
            after = page[-1]["key"]

    def find_by(self, table: str, column: str, value: Any) -> list[Row]:
        """Every row of ``table`` whose ``column`` equals ``value``, pending changes included,
        by key: ``find`` on one (indexed) column, without a scan of the pending rows."""
        prefetched = self._committed_by.get((table, column), {}).get(value)
        committed = (
            prefetched.values()
            if prefetched is not None
            else self._committed_rows(table, {column: value}, {})
        )
        # A pending row is the current one: it decides whether the row still matches.
        rows = {r["key"]: r for r in committed if (table, r["key"]) not in self.pending}
        index = self._pending_by.get((table, column))
        if index is None:
            index = {}
            for (t, key), row in self.pending.items():
                if t == table:
                    index.setdefault(row.get(column), set()).add(key)
            self._pending_by[(table, column)] = index
        for key in index.get(value, ()):
            row = self.pending[(table, key)]
            if row.get(column) == value:  # not changed since
                rows[key] = row
        return [rows[key] for key in sorted(rows)]


# Validates and normalises one draft; raises DraftRejected(position=0, ...) on a broken rule.
Prepare = Callable[[Draft, RowReader, PrepareContext], tuple[Draft, list[str]]]


@dataclass
class SubmitResult:
    entry_ids: list[str]
    subjects: list[str]
    size: int
    checkpoint: str
    warnings: list[str] = field(default_factory=list)
    # skip_done: (position, existing subject) of every draft left out; entry_ids and subjects
    # are those of the drafts appended.
    skipped: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Submission:
    drafts: list[Draft]
    actor: str
    future: asyncio.Future[SubmitResult]
    skip_done: bool = False
    check_only: bool = False


class LocalLog:
    def __init__(
        self,
        *,
        db: Db[FoldedLogStore],
        node_id: str,
        trust_domain: str,
        signer: Ed25519Signer,
        clock: Clock,
        prepare: Prepare,
        watch: Watch,
        court_prefixes: Sequence[str] = (),
        checkpoint_entries_max: int = 1000,
        courts_of: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        self._db = db
        self.node_id = node_id
        self.origin_line = origin_line(trust_domain, node_id)
        self._signer = signer
        self._clock = clock
        self._failures = RateLimitedLog(log, clock)
        self._prepare = prepare
        self._watch = watch
        self._court_prefixes = tuple(court_prefixes)
        self._courts_of = courts_of or (lambda _origin: ())
        self._group_entries_max = checkpoint_entries_max
        self._queue: asyncio.Queue[_Submission] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._last_hlc = 0
        self._gate = asyncio.Event()
        self.on_commit: list[Callable[[], None]] = []

    async def start(self, *, recovering: bool = False) -> None:
        """Load the last clock reading and start the writer; with ``recovering``, appends wait
        until ``recovered`` is called."""
        self._last_hlc = await self._db.read(self._load_last_hlc)
        if not recovering:
            self._gate.set()
        self._task = asyncio.create_task(self._writer(), name="ccnode-local-log")

    @property
    def recovering(self) -> bool:
        """True while appends wait for own-log recovery."""
        return not self._gate.is_set()

    async def recovered(self) -> None:
        """Own-log recovery is over: reload the clock from the (possibly longer) stored log,
        then let the waiting submissions through. The next commit reads the stored size
        itself, so only the clock needs reloading."""
        self._last_hlc = await self._db.read(self._load_last_hlc)
        self._gate.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def _load_last_hlc(self) -> int:
        state = self._db.store.origin_state(self.node_id)
        if state is None or state.size == 0:
            return 0
        return self._db.store.entries(self.node_id, state.size - 1, state.size)[0].hlc

    async def submit(
        self,
        drafts: Sequence[Draft],
        actor: str,
        *,
        skip_done: bool = False,
        check_only: bool = False,
    ) -> SubmitResult:
        """Append ``drafts`` (all or nothing). ``skip_done``: a draft refused as
        ``AlreadyDone`` is left out (reported in ``SubmitResult.skipped``) instead of refusing
        the submission, so that re-running a submission whose outcome was unknown is safe.
        ``check_only``: every check of an append against the current state, the same refusal
        or warnings, and nothing appended (``SubmitResult`` without entry ids)."""
        if not drafts:
            raise DraftRejected(0, "drafts", "empty", "nothing to append", zh="没有可提交的内容")
        if not actor.strip():
            raise DraftRejected(
                0,
                "actor",
                "required",
                "the responsible officer is required",
                zh="须写明承办人（每次提交均须可追溯到承办人）",
            )
        future: asyncio.Future[SubmitResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(
            _Submission(list(drafts), actor.strip(), future, skip_done, check_only)
        )
        return await future

    async def _writer(self) -> None:
        await self._gate.wait()
        while True:
            group = [await self._queue.get()]
            entries = len(group[0].drafts)
            while not self._queue.empty():
                nxt = self._queue._queue[0]  # type: ignore[attr-defined]  # peek, no await
                if entries + len(nxt.drafts) > self._group_entries_max:
                    break
                group.append(self._queue.get_nowait())
                entries += len(nxt.drafts)
            started_s = self._clock.monotonic_s()
            try:
                outcomes = await self._db.write(self._commit_group, group)
            except Exception as exc:  # storage failure: every caller in the group learns it
                # One line per kind a minute; a full store is no bug, so no traceback.
                self._failures.error(
                    type(exc).__name__,
                    "commit of %d submissions failed: %s",
                    len(group),
                    exc if isinstance(exc, StoreFull) else type(exc).__name__,
                    exc_info=not isinstance(exc, StoreFull),
                )
                for sub in group:
                    if not sub.future.done():
                        sub.future.set_exception(exc)
                continue
            self._count(outcomes, self._clock.monotonic_s() - started_s)
            for sub, outcome in zip(group, outcomes, strict=True):
                if sub.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    sub.future.set_exception(outcome)
                else:
                    sub.future.set_result(outcome)
            self._watch.notify()
            for callback in self.on_commit:
                callback()

    def _count(self, outcomes: Sequence[SubmitResult | DraftRejected], seconds: float) -> None:
        """Metrics of one commit group: entries appended (not groups), its time, the log size."""
        METRICS.commit_seconds.observe(seconds)
        done = [o for o in outcomes if isinstance(o, SubmitResult)]
        appended = sum(len(o.entry_ids) for o in done)
        if appended:
            METRICS.appended.inc(appended)
            METRICS.log_held(self.node_id, max(o.size for o in done))
            when_s = hlc.physical_ms(self._last_hlc) / 1000  # the newest checkpoint's last entry
            METRICS.checkpoint_time.labels(origin=self.node_id).set(when_s)

    # ---------------------------------------------------------------- in the writer thread

    def _commit_group(self, group: list[_Submission]) -> list[SubmitResult | DraftRejected]:
        store = self._db.store
        state = store.origin_state(self.node_id)
        size0 = state.size if state else 0
        frontier = Frontier.from_bytes(state.frontier) if state else Frontier()
        now_ms = self._clock.now_ms()
        day = today(self._clock)
        pending: dict[StateKey, Row] = {}
        stored: list[StoredEntry] = []
        outcomes: list[SubmitResult | DraftRejected] = []
        last_hlc = self._last_hlc
        committed: dict[StateKey, Row | None] = {}
        # One read snapshot for the group's checks: no connection checkout or BEGIN per row
        # read (the commit below writes on its own connection).
        with store.snapshot():
            for sub in group:
                try:
                    made, rows, last_hlc_sub, warnings, skipped = self._build(
                        sub, size0 + len(stored), pending, now_ms, day, last_hlc, committed
                    )
                except DraftRejected as exc:
                    outcomes.append(exc)
                    continue
                except Exception:  # a defect in one preparer must not fail the others' commits
                    log.exception("preparing a submission of %d drafts failed", len(sub.drafts))
                    outcomes.append(
                        DraftRejected(
                            0,
                            "drafts",
                            "internal",
                            "the node could not prepare this entry",
                            zh="本节点未能处理该条目（内部错误，已记入节点日志）",
                        )
                    )
                    continue
                if sub.check_only:  # checked like an append; its rows and entries are dropped
                    outcomes.append(
                        SubmitResult(
                            entry_ids=[],
                            subjects=[],
                            size=0,
                            checkpoint="",
                            warnings=warnings,
                            skipped=skipped,
                        )
                    )
                    continue
                pending = rows
                last_hlc = last_hlc_sub
                first = len(stored)
                stored.extend(made)
                outcomes.append(
                    SubmitResult(
                        entry_ids=[entry_id(self.node_id, e.index) for e in made],
                        subjects=[e.subject for e in made],
                        size=0,
                        checkpoint="",
                        warnings=warnings,
                        skipped=skipped,
                    )
                )
                assert len(stored) - first + len(skipped) == len(sub.drafts)
        if not stored:  # every draft refused or left out: the log is as it was
            return [
                replace(o, size=size0, checkpoint=state.checkpoint_note if state else "")
                if isinstance(o, SubmitResult)
                else o
                for o in outcomes
            ]
        checkpoints = self._sign_intervals(frontier, stored)
        final_size, final_note = checkpoints[-1]
        store.append(
            origin=self.node_id,
            expected_size=size0,
            entries=stored,
            state=OriginState(
                origin=self.node_id,
                size=final_size,
                root=frontier.root(),
                frontier=frontier.to_bytes(),
                checkpoint_note=final_note,
            ),
            changes=[RowChange(t, k, row) for (t, k), row in pending.items()],
            checkpoints=checkpoints[:-1],
        )
        self._last_hlc = last_hlc
        return [
            replace(o, size=final_size, checkpoint=final_note) if isinstance(o, SubmitResult) else o
            for o in outcomes
        ]

    def _build(
        self,
        sub: _Submission,
        index0: int,
        pending: dict[StateKey, Row],
        now_ms: int,
        day: dt.date,
        last_hlc: int,
        committed: dict[StateKey, Row | None],
    ) -> tuple[list[StoredEntry], dict[StateKey, Row], int, list[str], list[tuple[int, str]]]:
        rows = dict(pending)
        reader = RowReader(self._db.store, rows, committed)
        made: list[StoredEntry] = []
        warnings: list[str] = []
        skipped: list[tuple[int, str]] = []
        for position, draft in enumerate(sub.drafts):
            # A draft left out takes no index: the entries stay gapless.
            index = index0 + len(made)
            ctx = PrepareContext(
                self.node_id,
                self._court_prefixes,
                day,
                index,
                index0,
                sub.drafts,
                courts_of=self._courts_of,
            )
            try:
                ready, notes = self._prepare(draft, reader, ctx)
            except AlreadyDone as exc:
                if not sub.skip_done:
                    raise exc.at(position) from None
                skipped.append((position, exc.existing))
                continue
            except DraftRejected as exc:
                raise exc.at(position) from None
            warnings.extend(f"draft {position}: {w}" for w in notes)
            last_hlc = hlc.tick(last_hlc, now_ms)
            payload = encode_payload(ready.kind, ready.payload)
            try:
                entry: Entry = make_entry(
                    origin=self.node_id,
                    index=index,
                    kind=ready.kind,
                    subject=ready.subject,
                    actor=sub.actor,
                    hlc=last_hlc,
                    payload=payload,
                    salt=secrets.token_bytes(SALT_BYTES),
                    audience=ready.audience,
                    parents=ready.parents,
                )
            except EntryError as exc:  # e.g. a payload over the entry size limit
                field, _, explanation = str(exc).partition(": ")
                raise DraftRejected(
                    position,
                    field,
                    "entry_limits",
                    explanation or str(exc),
                    zh="超出日志条目的格式限制（如内容大小上限），请拆分或精简后再提交",
                ) from None
            header = decode_header(entry.header)
            folded = fold_batch(
                [(header, payload)],
                {k: v for k in state_keys([header]) if (v := reader.get(*k)) is not None},
                courts=self._court_prefixes,
            )
            if folded.ignored:
                reason = folded.ignored[0][1]
                raise DraftRejected(
                    position,
                    "subject",
                    "state",
                    reason,
                    zh="与本节点现有记录的状态不符，未予记录（原因见英文说明）",
                )
            reader.record(folded.changes)
            made.append(
                StoredEntry(
                    origin=self.node_id,
                    index=index,
                    kind=ready.kind,
                    subject=ready.subject,
                    actor=sub.actor,
                    hlc=last_hlc,
                    leaf_hash=entry.leaf_hash(),
                    header=entry.header,
                    salt=entry.salt,
                    payload=payload,
                )
            )
        return made, rows, last_hlc, warnings, skipped

    def _sign_intervals(
        self, frontier: Frontier, stored: list[StoredEntry]
    ) -> list[tuple[int, str]]:
        """Extend the frontier over the new leaves, signing a checkpoint at each interval end."""
        checkpoints: list[tuple[int, str]] = []
        since_entries = since_bytes = 0

        def sign() -> None:
            cp = Checkpoint(origin=self.origin_line, size=frontier.size, root=frontier.root())
            checkpoints.append((frontier.size, sign_checkpoint(cp, self._signer)))

        for entry in stored:
            entry_bytes = len(entry.header) + len(entry.salt) + len(entry.payload or b"")
            if since_entries and since_bytes + entry_bytes > CHECKPOINT_INTERVAL_BYTES:
                sign()
                since_entries = since_bytes = 0
            frontier.append(entry.leaf_hash)
            since_entries += 1
            since_bytes += entry_bytes
            if since_entries >= CHECKPOINT_INTERVAL_ENTRIES:
                sign()
                since_entries = since_bytes = 0
        if since_entries:
            sign()
        return checkpoints
