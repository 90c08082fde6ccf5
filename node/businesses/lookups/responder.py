"""The lookup responder: answers asset lookups addressed to this node, online.

It wakes whenever a peer's batch was applied (``node.on_applied``) and once at start-up, and
then handles every pending lookup whose target is this node — the fold has already put each
request it holds into the ``lookups`` table, so a query replaces scanning batches, and
requests received while the node was down are answered when it starts.

For each request, in subject order: the checks of sync/domain/lookups.check_request against
this node's peer table (which courts it trusts the requester to serve), then the requester's
rate limit (token bucket on the node's injected monotonic clock) and daily quota (answered
lookups of the court-local day, counted from the folded state, so a restart resets nothing).
Then it reads only the categories asked for and appends LOOKUP_ANSWERED, or LOOKUP_DENIED with
the reason. Ordering: a reply is committed to this node's log BEFORE the next batch of
requests is queried, so no request is ever answered twice (the preparer refuses a second reply
too).

Process logs name subjects and rules, never identifiers or assets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ccnode.v1 import log_pb2, payloads_pb2
from node.aio import cancel_and_wait
from node.clock import Clock, today
from node.config import Limits
from node.metrics import METRICS, TARGET
from node.ownlog.writer import Draft, DraftRejected
from node.ports import Appender, AppliedFeed, AssetSource
from node.replication.apply import Applied
from node.store.base import LogReader, PeerRecord, PeerStore, RowQuery, RowStore
from node.store.runner import Db
from sync import hlc
from sync.domain.assets import normalise_owner_id
from sync.domain.lookups import CheckedRequest, Denial, check_request, parse_lookup_subject
from sync.domain.wording import joined
from sync.entry import PAYLOAD_BYTES_MAX
from sync.folds import lookups as lookups_fold
from sync.folds.types import Row
from sync.payload import PayloadError, decode_payload

log = logging.getLogger(__name__)

ACTOR = "ccnode-lookup-responder"
PAGE_ROWS = 500
# Replies prepared concurrently: asset reads overlap and their commits share group commits.
CONCURRENT_REPLIES = 64
# An answer must fit one entry; the payload's envelope (request id, categories, counts) is
# far below this margin.
ANSWER_ASSET_BYTES_MAX = PAYLOAD_BYTES_MAX - 4096


class RateLimiter:
    """A token bucket per requester: ``per_minute`` tokens of burst, refilled continuously."""

    def __init__(self, clock: Clock, per_minute: int) -> None:
        assert per_minute > 0, "lookup_rate_per_minute must be positive"
        self._clock = clock
        self._capacity = float(per_minute)
        self._refill_per_s = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # requester -> (tokens, at_s)

    def take(self, requester: str) -> bool:
        now_s = self._clock.monotonic_s()
        tokens, at_s = self._buckets.get(requester, (self._capacity, now_s))
        tokens = min(self._capacity, tokens + (now_s - at_s) * self._refill_per_s)
        if tokens < 1.0:
            self._buckets[requester] = (tokens, now_s)
            return False
        self._buckets[requester] = (tokens - 1.0, now_s)
        return True


@dataclass(frozen=True)
class _Work:
    subject: str
    requester: str
    request_id: str
    denial: Denial | None
    checked: CheckedRequest | None
    requested_hlc: int  # the request entry's (the requester's clock): for the latency metric


class ResponderStore(RowStore, PeerStore, LogReader, Protocol):
    """Reads pending lookups, the peers' court prefixes and the requests' payloads."""


class LookupResponder:
    def __init__(
        self,
        *,
        db: Db[ResponderStore],
        appender: Appender,
        applied: AppliedFeed,
        source: AssetSource,
        node_id: str,
        limits: Limits,
        clock: Clock,
        courts_of: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        # The court prefixes an origin's log-signing certificate names (OriginKeys.courts);
        # None: not checked (only the peer table's prefixes are).
        self._courts_of = courts_of
        self._db = db
        self._appender = appender
        self._applied = applied
        self.source = source
        self._node_id = node_id
        self._limits = limits
        self._clock = clock
        self.limiter = RateLimiter(clock, limits.lookup_rate_per_minute)
        self.daily_quota = limits.lookup_daily_quota
        self._answered_day = ""
        self._answered: dict[str, int] = {}  # requester -> answered on _answered_day
        self._wake = asyncio.Event()
        self._retry = False  # the last run failed: any applied batch wakes the next one
        self._task: asyncio.Task[None] | None = None
        self.replied = 0  # replies appended since start (tests, metrics)

    async def start(self) -> None:
        self._applied.subscribe(self._on_applied)
        self._wake.set()  # requests that arrived while the node was down
        self._task = asyncio.create_task(self._loop(), name="ccnode-lookup-responder")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._applied.unsubscribe(self._on_applied)
        await cancel_and_wait(self._task)
        self._task = None

    def _on_applied(self, applied: Applied) -> None:
        # Any peer's batch that added a lookup request may carry one for us (relayed by a
        # third node too); one indexed query per wake-up costs less than decoding every
        # batch's headers. A batch without one cannot (a catch-up applies thousands of
        # those; a batch of answers to this node's own requests neither), except as the
        # retry after a failed run.
        if log_pb2.LOOKUP_REQUESTED in applied.kinds or self._retry:
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self.run_once():
                    pass  # a full page: there may be more
                self._retry = False
            except asyncio.CancelledError:
                raise
            except Exception:  # keep answering whatever one run met; the next wake retries
                self._retry = True
                log.exception("lookup responder run failed")

    # ---------------------------------------------------------------- one run

    async def run_once(self) -> int:
        """Reply to up to one page of pending lookups addressed here; return how many."""
        db = self._db
        rows, peer_list, requests = await db.read(_pending, db.store, self._node_id)
        if not rows:
            return 0
        peers = {p.node_id: p for p in peer_list}
        day = today(self._clock).isoformat()
        if day != self._answered_day:
            self._answered_day, self._answered = day, {}
        work = [await self._decide(row, requests.get(str(row["key"])), peers) for row in rows]
        done = 0
        for start in range(0, len(work), CONCURRENT_REPLIES):
            chunk = work[start : start + CONCURRENT_REPLIES]
            results = await asyncio.gather(*(self._reply(w) for w in chunk))
            done += sum(results)
        return done if len(rows) == PAGE_ROWS else 0

    async def _decide(
        self,
        row: Row,
        request: payloads_pb2.LookupRequested | None,
        peers: dict[str, PeerRecord],
    ) -> _Work:
        """The checks, in order; rate and quota are counted here, one request at a time."""
        subject = str(row["key"])
        item = lookups_fold.state_of(row)
        if request is None:  # purged, or not a request: the requester's log cannot change
            denial = Denial(
                payloads_pb2.MALFORMED,
                joined(
                    "request", "本节点未保存或无法读取该请求内容", "payload not held or unreadable"
                ),
            )
            return _Work(
                subject, item.requester, item.request_entry, denial, None, item.requested_hlc
            )
        peer = peers.get(item.requester)
        outcome = check_request(
            request,
            target=self._node_id,
            requester_prefixes=None if peer is None else peer.court_prefixes,
            requester_courts=None if self._courts_of is None else self._courts_of(item.requester),
        )
        if isinstance(outcome, Denial):
            return _Work(
                subject, item.requester, item.request_entry, outcome, None, item.requested_hlc
            )
        if not self.limiter.take(item.requester):
            denial = Denial(
                payloads_pb2.RATE_LIMITED,
                joined(
                    "requester",
                    f"每分钟查询超过{self._limits.lookup_rate_per_minute}次，请稍后再查",
                    f"more than {self._limits.lookup_rate_per_minute} "
                    "lookups per minute; ask again later",
                ),
            )
            return _Work(
                subject, item.requester, item.request_entry, denial, None, item.requested_hlc
            )
        answered = self._answered
        if item.requester not in answered:
            answered[item.requester] = await self._answered_on(item.requester, self._answered_day)
        if answered[item.requester] >= self.daily_quota:
            denial = Denial(
                payloads_pb2.QUOTA_EXCEEDED,
                joined(
                    "requester",
                    f"已达每日答复{self.daily_quota}次的查询限额（北京时间0时重置）",
                    f"daily quota of {self.daily_quota} answered lookups reached "
                    "(resets at 00:00 China Standard Time)",
                ),
            )
            return _Work(
                subject, item.requester, item.request_entry, denial, None, item.requested_hlc
            )
        answered[item.requester] += 1
        return _Work(subject, item.requester, item.request_entry, None, outcome, item.requested_hlc)

    async def _answered_on(self, requester: str, day: str) -> int:
        """Answered lookups of ``requester`` on ``day``, from the folded state: read once per
        requester and day, then counted here as this responder answers."""
        db = self._db
        _, total = await db.read(
            db.store.query_rows,
            RowQuery(
                table=lookups_fold.TABLE,
                equals={
                    "origin": requester,
                    "target": self._node_id,
                    "status": lookups_fold.ANSWERED,
                    "answered_on": day,
                },
                limit=0,
            ),
        )
        return total

    async def _reply(self, work: _Work) -> int:
        if work.denial is not None:
            payload = payloads_pb2.Payload(
                lookup_denied=payloads_pb2.LookupDenied(
                    request=work.request_id,
                    reason=payloads_pb2.DenialReason.ValueType(work.denial.reason),
                    detail=work.denial.detail,
                )
            )
            draft = Draft(log_pb2.LOOKUP_DENIED, payload, subject=work.subject)
        else:
            assert work.checked is not None
            draft = await self._answer(work.subject, work.request_id, work.checked)
        try:
            await self._appender.submit([draft], ACTOR)
        except DraftRejected as exc:  # e.g. replied meanwhile by an officer's Submit
            log.warning("lookup %s: reply refused (%s)", work.subject, exc.rule)
            if work.denial is None and work.requester in self._answered:
                self._answered[work.requester] -= 1  # counted when decided, not answered
            return 0
        self.replied += 1
        # From the request's time on the requester's clock to the reply committed here: the
        # replication both ways and the checks; clocks apart by more than that read as 0.
        seconds = (self._clock.now_ms() - hlc.physical_ms(work.requested_hlc)) / 1000
        outcome = lookups_fold.DENIED if work.denial is not None else lookups_fold.ANSWERED
        METRICS.lookup_seconds.labels(role=TARGET, outcome=outcome).observe(max(0.0, seconds))
        return 1

    async def _answer(self, subject: str, request_id: str, checked: CheckedRequest) -> Draft:
        found = await self.source.find(checked.owner_id, checked.categories)
        # Minimum necessary, whatever the source returned: this owner, these categories.
        assets = sorted(
            (
                a
                for a in found
                if normalise_owner_id(a.owner_id) == checked.owner_id
                and a.category in checked.categories
            ),
            key=lambda a: (a.category, a.asset_id),
        )
        carried = fit(assets, ANSWER_ASSET_BYTES_MAX)
        answer = payloads_pb2.LookupAnswered(
            request=request_id,
            categories=checked.categories,  # type: ignore[arg-type]
            assets=carried,
            assets_found=len(assets),
            truncated=len(carried) < len(assets),
        )
        if answer.truncated:
            log.warning(
                "lookup %s: %d of %d assets fit one answer", subject, len(carried), len(assets)
            )
        return Draft(
            log_pb2.LOOKUP_ANSWERED, payloads_pb2.Payload(lookup_answered=answer), subject=subject
        )


def _pending(
    store: ResponderStore, node_id: str
) -> tuple[list[Row], list[PeerRecord], dict[str, payloads_pb2.LookupRequested]]:
    """Up to a page of the lookups pending here, the peer table, and the requests' payloads:
    one trip to the store (in a store thread)."""
    rows, _ = store.query_rows(
        RowQuery(
            table=lookups_fold.TABLE,
            equals={"target": node_id, "status": lookups_fold.PENDING},
            limit=PAGE_ROWS,
        )
    )
    if not rows:
        return [], [], {}
    return rows, store.peers(), _request_bodies(store, [str(r["key"]) for r in rows])


def _request_bodies(
    store: ResponderStore, subjects: list[str]
) -> dict[str, payloads_pb2.LookupRequested]:
    """The request payloads of these lookups, in one query (by subject)."""
    out = {}
    for entry in store.entries_by_subject(subjects):
        parsed = parse_lookup_subject(entry.subject)
        if entry.kind != log_pb2.LOOKUP_REQUESTED or entry.payload is None:
            continue
        if parsed != (entry.origin, entry.index):
            continue  # the fold ignored it too
        try:
            body = decode_payload(entry.kind, entry.payload).lookup_requested
        except PayloadError:
            continue
        out[entry.subject] = body
    return out


def fit(
    assets: Sequence[payloads_pb2.AssetRecord], bytes_max: int
) -> list[payloads_pb2.AssetRecord]:
    """The longest prefix of ``assets`` whose encoding fits ``bytes_max`` (field overhead
    included: tag and length prefix per record)."""
    out: list[payloads_pb2.AssetRecord] = []
    used = 0
    for asset in assets:
        size = asset.ByteSize()
        used += size + 1 + _varint_bytes(size)
        if used > bytes_max:
            break
        out.append(asset)
    return out


def _varint_bytes(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)
