"""Payload retention: purge the payloads of closed matters once their period has passed
(PIPL arts. 6 and 34; the rules are sync/retention.py, the periods node.config.Retention).

Each node purges its own copies by the same rules; nothing is appended, sent or folded, so the
folded state stays what it was (see sync/retention.py for why no fold needs a purged payload).
Two guards keep a purge from stalling replication:

* a payload a configured peer is entitled to (the entry's audience names it, or is empty) is
  purged only once that peer's link has reported holding the entry (its vector); a peer
  that lags, or whose link has not reported since this node started, defers the purge;
* a reader that still asks for a purged payload is told so (node/services/federation.py).

Entries of an origin frozen after equivocation are never purged.

A run reads closed rows page by page (at most ``HELD_SUBJECTS_MAX`` subjects a read) and
purges in transactions of at most ``batch_entries_max`` payloads, each recorded with its time
and rule (``RetentionStore.purge_payloads``), so a run's cost is bounded per step and an
interrupted run leaves only whole batches. Time is the node's Clock: tests move a fake clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from node.aio import cancel_and_wait
from node.clock import Clock, today
from node.config import Retention
from node.metrics import METRICS
from node.ports import LinkStatus
from node.store.base import (
    HELD_SUBJECTS_MAX,
    HeldPayload,
    LogReader,
    PeerStore,
    RetentionStore,
    RowQuery,
    RowStore,
)
from node.store.runner import Db
from sync.domain.tasks import TERMINAL_STATUSES
from sync.entry import header_audience
from sync.folds.types import ACCESS_TABLE, BLACKLIST_TABLE, LOOKUPS_TABLE, TASKS_TABLE
from sync.retention import RULES, Rule, closed_on, due_on, latest_closing_day

log = logging.getLogger(__name__)


class RetentionRows(RowStore, RetentionStore, PeerStore, LogReader, Protocol):
    """What retention reads and writes: folded rows, held payloads and purges, the peers, and
    which origins are frozen."""


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """One rule as of a day: its period, what is due, what was purged, what comes next."""

    rule: str
    days: int
    closed_by: str
    due: int  # payloads held whose purge day is on or before the day
    purged: int  # payloads purged by this rule so far (on this node)
    next_due_on: str  # the first purge day after the day of a held payload ("" = none)


@dataclass(frozen=True, slots=True)
class _Due:
    held: HeldPayload
    due_on: dt.date


def _closed_query(rule: Rule, last_closed: dt.date | None, after_key: str | None) -> RowQuery:
    """The closed rows of the rule's table (closed on or before ``last_closed`` when given),
    one page, by key."""
    below: dict[str, str] = {}
    below_day = (last_closed + dt.timedelta(days=1)).isoformat() if last_closed else ""
    if rule.table == LOOKUPS_TABLE:
        if last_closed is not None:
            below = {"answered_on": below_day}
        return RowQuery(
            table=rule.table,
            among={"status": ("answered", "denied")},
            above={"answered_on": ""},
            below=below,
            after_key=after_key,
            limit=HELD_SUBJECTS_MAX,
        )
    if rule.table == BLACKLIST_TABLE:
        if last_closed is not None:
            below = {"delisted_on": below_day}
        return RowQuery(
            table=rule.table,
            equals={"status": "delisted"},
            above={"delisted_on": ""},
            below=below,
            after_key=after_key,
            limit=HELD_SUBJECTS_MAX,
        )
    if rule.table == TASKS_TABLE:
        return RowQuery(
            table=rule.table,
            among={"status": sorted(TERMINAL_STATUSES)},
            after_key=after_key,
            limit=HELD_SUBJECTS_MAX,
        )
    assert rule.table == ACCESS_TABLE, rule.table
    return RowQuery(table=rule.table, after_key=after_key, limit=HELD_SUBJECTS_MAX)


def held_page(
    store: RetentionRows,
    rule: Rule,
    days: int,
    last_closed: dt.date | None,
    after_key: str | None,
) -> tuple[list[_Due], str | None]:
    """One page of closed rows of ``rule`` and the payloads of its kinds still held for them,
    with their purge day; the key to go on after (None: the last page). Blocking."""
    rows, _ = store.query_rows(_closed_query(rule, last_closed, after_key))
    closed: dict[str, dt.date] = {}
    for row in rows:
        day = closed_on(rule.table, row)
        if day is not None and (last_closed is None or day <= last_closed):
            closed[row["key"]] = day
    found = [
        _Due(held, due_on(closed[held.subject], days))
        for held in (store.held_payloads(closed) if closed else [])
        if held.kind in rule.kinds
    ]
    following = rows[-1]["key"] if len(rows) == HELD_SUBJECTS_MAX else None
    return found, following


def _pages(
    store: RetentionRows, rule: Rule, days: int, last_closed: dt.date | None
) -> Iterator[list[_Due]]:
    after: str | None = None
    while True:
        page, after = held_page(store, rule, days, last_closed, after)
        yield page
        if after is None:
            return


def frozen_origins(store: LogReader) -> set[str]:
    """Origins frozen after equivocation: their entries are never purged (blocking)."""
    return {s.origin for s in store.origin_states() if s.frozen}


def rule_status(
    store: RetentionRows, rule: Rule, days: int, as_of: dt.date, frozen: set[str] | None = None
) -> RuleStatus:
    """What ``rule`` finds due on ``as_of`` (blocking: reads every closed row of its table);
    entries of ``frozen`` origins are not counted (never purged)."""
    due = 0
    upcoming: dt.date | None = None
    skip = frozen or set()
    for page in _pages(store, rule, days, None):
        for item in page:
            if item.held.origin in skip:
                continue
            if item.due_on <= as_of:
                due += 1
            elif upcoming is None or item.due_on < upcoming:
                upcoming = item.due_on
    return RuleStatus(
        rule=rule.name,
        days=days,
        closed_by=rule.closed_by,
        due=due,
        purged=store.purge_counts().get(rule.name, 0),
        next_due_on=upcoming.isoformat() if upcoming else "",
    )


def retention_status(store: RetentionRows, settings: Retention, as_of: dt.date) -> list[RuleStatus]:
    """Every rule's status on ``as_of`` (blocking)."""
    frozen = frozen_origins(store)
    return [rule_status(store, rule, settings.days(rule.name), as_of, frozen) for rule in RULES]


# Whether every configured peer entitled to an entry's payload holds the entry.
PeersHold = Callable[[HeldPayload], bool]


class LinkStatuses(Protocol):
    """What the links last saw of each peer (node.ports.PeerLinks has it)."""

    def status(self, node_id: str) -> LinkStatus | None: ...


def peers_hold_check(node_id: str, peers: Sequence[str], links: LinkStatuses | None) -> PeersHold:
    """A check from the peers' last reported vectors: a peer entitled to an entry (and not its
    origin, which holds its own log) must have reported a size beyond the entry's index."""
    sizes: dict[str, dict[str, int] | None] = {}
    for peer in peers:
        status = links.status(peer) if links is not None else None
        reported = status is not None and (status.connected or status.last_contact_unix_ms > 0)
        sizes[peer] = dict(status.peer_sizes) if status is not None and reported else None

    def hold(held: HeldPayload) -> bool:
        audience = header_audience(held.header)
        for peer, vector in sizes.items():
            if peer in (node_id, held.origin) or (audience and peer not in audience):
                continue
            if vector is None or vector.get(held.origin, 0) <= held.index:
                return False
        return True

    return hold


@dataclass(slots=True)
class RunResult:
    purged: dict[str, int]  # per rule
    deferred: int  # due, but a peer entitled to it has not reported holding it


class RetentionPurge:
    """The background part: every ``settings.interval_s`` seconds, purge what is due."""

    def __init__(
        self,
        *,
        db: Db[RetentionRows],
        settings: Retention,
        node_id: str,
        clock: Clock,
        links: LinkStatuses | None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._node_id = node_id
        self._clock = clock
        self._links = links
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._settings.enabled:
            self._task = asyncio.create_task(self._loop(), name="ccnode-retention")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the schedule whatever one run met
                log.exception("retention run failed")
            await asyncio.sleep(self._settings.interval_s)

    async def run_once(self) -> RunResult:
        """Purge every payload due today that the peers entitled to it hold."""
        store = self._db.store
        as_of = today(self._clock)
        peers = [p.node_id for p in await self._db.read(store.peers)]
        hold = peers_hold_check(self._node_id, peers, self._links)
        # An origin frozen after equivocation is under investigation: its entries keep their
        # payloads whatever their matters (the evidence names its checkpoints, an
        # investigation may need what they say).
        frozen = await self._db.read(frozen_origins, store)
        result = RunResult(purged={}, deferred=0)
        for rule in RULES:
            days = self._settings.days(rule.name)
            last_closed = latest_closing_day(as_of, days)
            after: str | None = None
            count = 0
            while True:
                page, after = await self._db.read(held_page, store, rule, days, last_closed, after)
                ready = [d.held for d in page if d.due_on <= as_of and d.held.origin not in frozen]
                allowed = [h for h in ready if hold(h)]
                result.deferred += len(ready) - len(allowed)
                for batch in _batches(allowed, self._settings.batch_entries_max):
                    count += await self._db.write(
                        store.purge_payloads,
                        [(h.origin, h.index) for h in batch],
                        at_unix_ms=self._clock.now_ms(),
                        rule=rule.name,
                    )
                if after is None:
                    break
            if count:
                result.purged[rule.name] = count
                METRICS.purged_payloads.labels(rule=rule.name).inc(count)
        if result.purged or result.deferred:
            # Counts and rule names only: never a subject, an actor or a payload.
            log.info(
                "retention: purged %d payloads (%s); %d due wait for peers to hold them",
                sum(result.purged.values()),
                ", ".join(f"{rule} {n}" for rule, n in sorted(result.purged.items())) or "none",
                result.deferred,
            )
        return result


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
