"""The Agency service: the blacklist for the agencies of joint punishment, over mutual TLS.

Read-only. Callers: ``agency/<name>`` certificates admitted on this node, and node or auditor
certificates that node.json's ``agencies.granted`` names (node/businesses/agency.py); any
other caller is refused and the refusal recorded. Each caller has a rate and a daily quota of
subjects (RESOURCE_EXHAUSTED, recorded as a refusal).

Check and CheckBatch answer from the check every reader of the list shares
(node/businesses/blacklist/check.py): the listings in force an identifier finds, with the
fields 法释〔2017〕7号 art. 6 publishes and resident IDs masked (sync/domain/agency.py). Follow
streams the node's blacklist change feed (node/store/base.py, ChangeFeedStore) from the
position the agency names: the catch-up, a CaughtUp, then the live tail, woken by the
ChangeFeed on every commit, with a CaughtUp heartbeat while nothing changes; the caller's
admission is checked again before every page, so removing an agency ends its streams.

Ordering rule: every answer is recorded as an ACCESS_RECORDED entry in this node's own log
(actor = the caller's URI, its stated purpose, the entries read, the subjects' SHA-256 keys)
and that entry is committed BEFORE the answer leaves the node; if recording fails, nothing is
sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import NoReturn, Protocol

import grpc

from ccnode.v1 import agency_pb2, agency_pb2_grpc
from node.businesses.access import record_access
from node.businesses.agency import AgencyGate, AgencyLimits
from node.businesses.blacklist.check import check_subjects
from node.clock import Clock
from node.identity.auth import Caller, reason_zh
from node.ownlog.writer import DraftRejected
from node.ports import Appender, CallerAuth, ChangeFeed
from node.services.errors import refuse, refuse_draft, refuse_invalid
from node.store.base import AgencyStore, ChangeFeedStore, ListingChange, RowStore, StoreFull
from node.store.runner import Db
from sync.domain import agency as rules
from sync.domain.errors import ValidationError
from sync.domain.identifiers import DEFAULT_ID_MASKS, IdMasks
from sync.domain.lookups import subject_key
from sync.folds import blacklist as bl_fold

CALLERS = ("agency", "node", "auditor")
HEARTBEAT_S = 10.0


class AgencyServiceStore(RowStore, AgencyStore, ChangeFeedStore, Protocol):
    """What the Agency service reads: listing rows, the admitted agencies, the change feed."""


class AgencyService(agency_pb2_grpc.AgencyServicer):
    def __init__(
        self,
        *,
        db: Db[AgencyServiceStore],
        auth: CallerAuth,
        gate: AgencyGate,
        appender: Appender,
        changes: ChangeFeed,
        clock: Clock,
        masks: IdMasks = DEFAULT_ID_MASKS,
    ) -> None:
        self._masks = masks
        self._db = db
        self._auth = auth
        self._gate = gate
        self._appender = appender
        self._changes = changes
        self._clock = clock

    # ---------------------------------------------------------------- admission

    async def _caller(
        self, context: grpc.aio.ServicerContext, method: str
    ) -> tuple[Caller, AgencyLimits]:
        """The caller and its limits if it may call this service; else the call ends,
        recorded."""
        caller = await self._auth.require(context, CALLERS, method)
        admission = await self._gate.admit(caller.identity)
        if admission.limits is None:
            await self._auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                method,
                admission.reason,
                zh=reason_zh(admission.reason),
            )
            raise AssertionError("unreachable")
        return caller, admission.limits

    async def _charge(
        self,
        context: grpc.aio.ServicerContext,
        caller: Caller,
        method: str,
        limits: AgencyLimits,
        subjects: int,
    ) -> None:
        reason = self._gate.take(caller.identity.uri, limits, subjects)
        if reason:
            await self._auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                method,
                reason,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                zh=reason_zh(reason),
            )

    async def _record(
        self,
        context: grpc.aio.ServicerContext,
        caller: Caller,
        entries: Sequence[str],
        *,
        purpose: str,
        what: str,
        subject_keys: Sequence[str] = (),
    ) -> str:
        """Record the read in this node's log BEFORE it is answered; the record's entry id."""
        try:
            ids = await record_access(
                self._appender,
                entries,
                actor=caller.identity.uri,
                purpose=purpose,
                what=what,
                subject_keys=subject_keys,
            )
        except DraftRejected as exc:  # no record, no answer
            await refuse_draft(context, exc, numbered=False)
        except StoreFull:
            await _abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "the read could not be recorded: this node's database is full",
            )
        except Exception:  # no record, no answer
            await _abort(
                context, grpc.StatusCode.UNAVAILABLE, "the read could not be recorded: retry later"
            )
        return ids[0]

    # ---------------------------------------------------------------- Check, CheckBatch

    async def Check(
        self, request: agency_pb2.CheckRequest, context: grpc.aio.ServicerContext
    ) -> agency_pb2.CheckResponse:
        caller, limits = await self._caller(context, "Agency.Check")
        try:
            purpose = rules.check_purpose(request.purpose)
            subject = rules.check_subject(
                request.subject.id_number, request.subject.name, "subject"
            )
        except ValidationError as exc:
            await refuse_invalid(context, exc)
        await self._charge(context, caller, "Agency.Check", limits, 1)
        results, entries = await self._check([subject])
        entry = await self._record(
            context,
            caller,
            entries,
            purpose=purpose,
            what="agency: blacklist check",
            subject_keys=[subject_key(subject.id_key)],
        )
        return agency_pb2.CheckResponse(result=results[0], access_entry=entry)

    async def CheckBatch(
        self, request: agency_pb2.CheckBatchRequest, context: grpc.aio.ServicerContext
    ) -> agency_pb2.CheckBatchResponse:
        caller, limits = await self._caller(context, "Agency.CheckBatch")
        batch_max = self._gate.config.batch_subjects_max
        count = len(request.subjects)
        if not 1 <= count <= batch_max:
            await refuse(
                context,
                "subjects",
                "count",
                f"1 to {batch_max} subjects per call",
                zh=f"每次须有1至{batch_max}个查询对象",
            )
        try:
            purpose = rules.check_purpose(request.purpose)
            subjects = [
                rules.check_subject(s.id_number, s.name, f"subjects[{i}]")
                for i, s in enumerate(request.subjects)
            ]
        except ValidationError as exc:
            await refuse_invalid(context, exc)
        await self._charge(context, caller, "Agency.CheckBatch", limits, count)
        results, entries = await self._check(subjects)
        entry = await self._record(
            context,
            caller,
            entries,
            purpose=purpose,
            what="agency: blacklist check batch",
            subject_keys=[subject_key(s.id_key) for s in subjects],
        )
        return agency_pb2.CheckBatchResponse(results=results, access_entry=entry)

    async def _check(
        self, subjects: Sequence[rules.Subject]
    ) -> tuple[list[agency_pb2.SubjectResult], list[str]]:
        """Per subject, the listings in force it finds (one trip to a reader thread), and the
        entry ids of every listing shown."""
        checks = await self._db.read(
            check_subjects,
            self._db.store,
            [(s.id_key, s.name or None) for s in subjects],
            statuses=("listed",),
        )
        results: list[agency_pb2.SubjectResult] = []
        entries: list[str] = []
        for check in checks:
            hits = [hit for hit in check.hits if hit.listed]
            listings = [
                rules.published(hit.listing, in_full=True, masks=self._masks) for hit in hits
            ]
            entries.extend(hit.listing.entry_id for hit in hits)
            results.append(
                agency_pb2.SubjectResult(
                    listed=bool(listings),
                    listings=listings,
                    reasons=[hit.reason_en for hit in hits],
                    reasons_zh=[hit.reason_zh for hit in hits],
                )
            )
        return results, sorted(set(entries))

    # ---------------------------------------------------------------- Follow

    async def Follow(
        self, request: agency_pb2.FollowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[agency_pb2.FollowMessage]:
        caller, limits = await self._caller(context, "Agency.Follow")
        try:
            purpose = rules.check_purpose(request.purpose)
        except ValidationError as exc:
            await refuse_invalid(context, exc)
        await self._charge(context, caller, "Agency.Follow", limits, 0)
        store = self._db.store
        head = await self._db.read(store.blacklist_change_head)
        if request.after > head:
            await refuse(
                context,
                "after",
                "beyond_head",
                f"this node's change feed ends at position {head} (positions are per node)",
                zh=f"本节点的名单变动序号至 {head} 为止（序号按节点各自编排）",
                code=grpc.StatusCode.OUT_OF_RANGE,
            )
        position = request.after
        page_max = self._gate.config.follow_page_changes
        caught_up = False
        while not self._changes.closed:
            seen = self._changes.version  # read BEFORE the page: a later commit wakes us
            # Admission holds for the whole stream: an agency removed (or a grant withdrawn)
            # gets nothing more, the stream ends refused (recorded).
            if (await self._gate.admit(caller.identity)).limits is None:
                await self._caller(context, "Agency.Follow")
            page = await self._db.read(store.blacklist_changes, position, page_max)
            if page:
                changes = [_change(c, self._masks) for c in page]
                held = [c.row for c in page if c.row is not None]
                entry = await self._record(
                    context,
                    caller,
                    sorted({row["entry_id"] for row in held}),
                    purpose=purpose,
                    what=f"agency: blacklist changes {page[0].seq}-{page[-1].seq}",
                    subject_keys=sorted({subject_key(row["id_key"]) for row in held}),
                )
                yield agency_pb2.FollowMessage(changes=changes, access_entry=entry)
                position = page[-1].seq
                caught_up = False
                continue
            if not caught_up:
                caught_up = True
                yield self._caught_up(position)
            if await self._changes.wait(seen, HEARTBEAT_S) == seen and not self._changes.closed:
                yield self._caught_up(position)

    def _caught_up(self, position: int) -> agency_pb2.FollowMessage:
        return agency_pb2.FollowMessage(
            caught_up=agency_pb2.FollowCaughtUp(
                position=position, server_time_unix_ms=self._clock.now_ms()
            )
        )


def _change(c: ListingChange, masks: IdMasks) -> agency_pb2.ListingChange:
    state = bl_fold.state_of(c.row) if c.row is not None else None
    return rules.listing_change(c.seq, c.key, c.last_index, state, masks=masks)


async def _abort(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, details: str
) -> NoReturn:
    await context.abort(code, details)
    raise AssertionError("unreachable")
