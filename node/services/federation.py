"""The Federation service: what a region node offers its peers over mutual TLS."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc, log_pb2
from node.clock import Clock
from node.config import Limits
from node.ports import CallerAuth, ChangeFeed, Keys, Routing, Witnessing
from node.replication.cutting import BatchCutter, cut_batch, for_every_reader
from node.replication.equivocation import EVIDENCE_PER_STREAM_MAX, evidence_pb
from node.replication.exchange import Exchange, gossip_checkpoint
from node.services.purges import purged_on
from node.store import proofs
from node.store.base import (
    EvidenceRecord,
    LogReader,
    OriginState,
    PayloadPurge,
    RetentionStore,
)
from node.store.runner import Db
from sync.checkpoint import open_checkpoint
from sync.domain.calendar import CALENDAR_VERSION, check_peer_calendar
from sync.entry import decode_header
from sync.ids import NODE_ID_RE
from sync.note import NoteError
from sync.retention import purge_note

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
# A Sync stream gossips the checkpoints of the origins its subscriber takes elsewhere at most
# this often (one note per origin that grew), so gossip costs little next to the entries.
GOSSIP_INTERVAL_S = 1.0
# Held notes kept in their gossip form (the latest of each origin, a few times over).
GOSSIP_FORMS_MAX = 1024
# Origins one Take may name: far more than a federation of regions has.
TAKE_ORIGINS_MAX = 256
NODE = ("node",)


class FederationStore(LogReader, RetentionStore, Protocol):
    """The logs this node serves, the evidence it holds, and which payloads it purged (to say
    so to a reader)."""

    def evidence(self) -> list[EvidenceRecord]: ...


def held_now(store: FederationStore) -> tuple[list[EvidenceRecord], list[OriginState]]:
    """The evidence, then the origin states (an origin frozen meanwhile is then frozen in the
    states), in one trip to a reader thread."""
    evidence = store.evidence()
    return evidence, store.origin_states()


def purged_blocker(
    store: FederationStore, origin: str, start: int, end: int, reader: str
) -> PayloadPurge | None:
    """The first entry of [start, end) whose payload ``reader`` is entitled to but this node
    purged by retention (blocking), if that is what stops serving the range."""
    for entry in store.entries(origin, start, end):
        if entry.payload is None and decode_header(entry.header).visible_to(reader):
            return store.payload_purges([(origin, entry.index)]).get((origin, entry.index))
    return None


@dataclass(slots=True)
class _Selection:
    """What one stream's subscriber takes: ``take`` None = every origin (no selection)."""

    take: set[str] | None
    sent: dict[str, int]  # per origin, the size the subscriber holds or was sent
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    error: str = ""  # a bad Take read mid-stream: the stream ends with it

    @classmethod
    def of(cls, request: federation_pb2.SubscribeRequest) -> _Selection | str:
        """The selection of a subscription, or the error that refuses it."""
        sent = dict(request.vector.sizes)
        if not request.HasField("take"):
            return cls(None, sent)
        selection = cls(set(), sent)
        error = selection.replace(request.take)
        return error or selection

    def replace(self, take: federation_pb2.Take) -> str:
        """Take the origins of ``take`` from now on; an error (and no change) if it is bad."""
        held = dict(take.held.sizes)
        if len(held) > TAKE_ORIGINS_MAX:
            return f"take.held: at most {TAKE_ORIGINS_MAX} origins"
        for origin in held:
            if not NODE_ID_RE.fullmatch(origin):
                return "take.held: each origin must be a node id"
        for origin, size in held.items():
            # Messages of one stream arrive in order: what was sent before stays received.
            self.sent[origin] = max(self.sent.get(origin, 0), size)
        self.take = set(held)
        self.woken.set()
        return ""


async def _read_takes(
    requests: AsyncIterator[federation_pb2.SyncRequest], selection: _Selection
) -> None:
    """The subscriber's later messages on a Sync stream: each a new Take."""
    async for msg in requests:
        if msg.WhichOneof("body") != "take":
            selection.error = "subscribe: only as the first message of a Sync stream"
        elif selection.take is None:
            selection.error = "take: only on a stream whose subscribe has a take"
        else:
            selection.error = selection.replace(msg.take)
        if selection.error:
            selection.woken.set()
            return


@dataclass(slots=True)
class _Snapshot:
    """The evidence and origin states as of one ChangeFeed version, read in one trip for
    every stream that one change woke (a commit wakes each of the node's streams; read
    per stream, the same two tables were read once per subscriber)."""

    version: int
    read: asyncio.Future[tuple[dict[str, log_pb2.EquivocationEvidence], list[OriginState]]]


async def _wait_either(changed: Awaitable[int], woken: asyncio.Event) -> None:
    """Until the store changes (or the wait times out) or the selection is replaced."""
    waits = {asyncio.ensure_future(changed), asyncio.ensure_future(woken.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        for wait in waits:
            with contextlib.suppress(asyncio.CancelledError):
                await wait


class FederationService(federation_pb2_grpc.FederationServicer):
    def __init__(
        self,
        *,
        db: Db[FederationStore],
        auth: CallerAuth,
        keys: Keys,
        exchange: Exchange,
        witnessing: Witnessing,
        changes: ChangeFeed,
        limits: Limits,
        clock: Clock,
        cutter: BatchCutter = cut_batch,
        routing: Routing | None = None,
    ) -> None:
        self._cut = cutter
        self._routing = routing
        self._db = db
        self._auth = auth
        self._keys = keys
        self._exchange = exchange
        self._witnessing = witnessing
        self._changes = changes
        self._limits = limits
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._gossip_forms: dict[str, tuple[str, int, str] | None] = {}
        # The cuts under way, by (origin, start, size, entries max, bytes max); each gives
        # the batch, or None if it is not the same for every reader.
        self._cuts: dict[
            tuple[str, int, int, int, int], asyncio.Future[federation_pb2.Batch | None]
        ] = {}

    async def _held(
        self, version: int
    ) -> tuple[dict[str, log_pb2.EquivocationEvidence], list[OriginState]]:
        """The evidence (one record per origin) and the origin states, read after the
        ChangeFeed reached ``version``: shared by the streams that ask at the same version
        (a failed read is not shared: the next stream reads again)."""
        snap = self._snapshot
        if (
            snap is None
            or snap.version != version
            or (snap.read.done() and (snap.read.cancelled() or snap.read.exception()))
        ):
            snap = self._snapshot = _Snapshot(version, asyncio.ensure_future(self._read_held()))
        return await asyncio.shield(snap.read)

    def _gossip_form(self, note: str) -> tuple[str, int, str] | None:
        """gossip_checkpoint of a held note, parsed once for every stream that gossips it."""
        if note not in self._gossip_forms:
            if len(self._gossip_forms) >= GOSSIP_FORMS_MAX:
                self._gossip_forms.clear()
            self._gossip_forms[note] = gossip_checkpoint(note)
        return self._gossip_forms[note]

    async def _read_held(
        self,
    ) -> tuple[dict[str, log_pb2.EquivocationEvidence], list[OriginState]]:
        evidence, states = await self._db.read(held_now, self._db.store)
        first: dict[str, log_pb2.EquivocationEvidence] = {}  # one record per origin
        for e in evidence:
            if e.origin not in first:
                first[e.origin] = evidence_pb(e)
        return first, states

    # ---------------------------------------------------------------- Hello

    async def Hello(
        self, request: federation_pb2.HelloRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.HelloResponse:
        caller = await self._auth.require(context, NODE, "Hello")
        if request.node_id != caller.identity.name:
            await self._auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                "Hello",
                "claims_other_identity",
                zh="所称节点与证书载明的节点不符",
            )
        if check_peer_calendar(CALENDAR_VERSION, request.calendar_version) is not None:
            await self._auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                "Hello",
                "calendar_mismatch",
                grpc.StatusCode.FAILED_PRECONDITION,
                zh="双方的工作日历版本不同，期限的计算会不一致：请先升级至同一日历",
            )
        await self._exchange.learn_keys(request.keys, caller.identity.uri)
        return await self._exchange.hello_response()

    # ---------------------------------------------------------------- Subscribe, Sync

    async def Subscribe(
        self, request: federation_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        caller = await self._auth.require(context, NODE, "Subscribe")
        selection = _Selection.of(request)
        if isinstance(selection, str):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, selection)
            raise AssertionError("unreachable")
        async for msg in self._stream(caller.identity.name, request, selection, context):
            yield msg

    async def Sync(
        self,
        request_iterator: AsyncIterator[federation_pb2.SyncRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        """Subscribe, with the selection of origins kept current by the subscriber: each new
        Take replaces it (newly taken origins resume from the size the subscriber holds)."""
        caller = await self._auth.require(context, NODE, "Sync")
        first = None
        async for message in request_iterator:
            first = message
            break
        if first is None or first.WhichOneof("body") != "subscribe":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "subscribe: must be the first message of a Sync stream",
            )
            raise AssertionError("unreachable")
        selection = _Selection.of(first.subscribe)
        if isinstance(selection, str):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, selection)
            raise AssertionError("unreachable")
        reader = asyncio.create_task(
            _read_takes(request_iterator, selection), name="ccnode-sync-takes"
        )
        try:
            async for msg in self._stream(
                caller.identity.name, first.subscribe, selection, context
            ):
                yield msg
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _stream(
        self,
        peer_id: str,
        request: federation_pb2.SubscribeRequest,
        selection: _Selection,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        """The evidence held, then per origin the subscriber takes (every origin without a
        selection) the entries it lacks in batches, then CaughtUp, then the live tail. With
        a selection, the other origins' latest checkpoints go as gossip, at most every
        GOSSIP_INTERVAL_S, and this node's routes whenever they change."""
        limits = self._limits
        entries_max = min(
            request.batch_entries_max or limits.batch_entries_max, limits.batch_entries_max
        )
        bytes_max = min(request.batch_bytes_max or limits.batch_bytes_max, limits.batch_bytes_max)
        sent = selection.sent
        keys_sent: set[str] = set()
        blocked: dict[str, int] = {}  # origin -> position this node cannot serve past
        sizes_cache: dict[str, list[int]] = {}
        evidence_sent: set[str] = set()
        gossiped: dict[str, int] = {}  # origin -> size of the last checkpoint gossiped
        gossip_due_s = 0.0
        routes_sent: dict[str, int] | None = None
        caught_up_sizes: dict[str, int] | None = None  # the taken origins' sizes last told
        seen = self._changes.version
        while True:
            seen = self._changes.version
            if selection.error:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, selection.error)
            selection.woken.clear()
            held_evidence, states = await self._held(seen)
            # Evidence first, so the subscriber freezes an origin before any batch of it.
            for origin, evidence in sorted(held_evidence.items()):
                if origin not in evidence_sent and len(evidence_sent) < EVIDENCE_PER_STREAM_MAX:
                    evidence_sent.add(origin)
                    yield federation_pb2.SyncMessage(evidence=evidence)
            if selection.take is not None and self._routing is not None:
                routes = self._routing.advertised(peer_id)
                if routes != routes_sent:
                    routes_sent = routes
                    yield federation_pb2.SyncMessage(routes=federation_pb2.Routes(hops=routes))
            sent_any = False
            gossip: list[str] = []
            for st in sorted(states, key=lambda s: s.origin):
                if st.origin == peer_id:
                    continue  # a node never learns its own log from others
                if st.frozen:
                    continue  # equivocated: never relayed, not even what was held before
                have = sent.get(st.origin, 0)
                if selection.take is not None and st.origin not in selection.take:
                    if st.size > max(have, gossiped.get(st.origin, 0)) and st.checkpoint_note:
                        gossip.append(st.checkpoint_note)
                    continue  # taken from another peer: its checkpoint only, as gossip
                if have >= st.size or blocked.get(st.origin) == have:
                    continue
                if st.origin not in keys_sent and have == 0:
                    cert = self._keys.certificates().get(st.origin)
                    if cert is not None:
                        yield federation_pb2.SyncMessage(
                            key=federation_pb2.OriginKey(origin=st.origin, certificate_der=cert)
                        )
                    keys_sent.add(st.origin)
                while have < st.size:
                    if selection.take is not None and st.origin not in selection.take:
                        break  # the subscriber now takes it from another peer
                    batch = await self._cut_for(
                        peer_id, st.origin, have, st.size, entries_max, bytes_max, sizes_cache
                    )
                    if batch is None:
                        # Nothing this node can serve here (no checkpoint, or a payload the
                        # reader needs is not held): leave the origin to other peers.
                        blocked[st.origin] = have
                        await self._log_purged(st.origin, have, st.size, peer_id, entries_max)
                        break
                    yield federation_pb2.SyncMessage(batch=batch)
                    sent_any = True
                    have = batch.first_index + len(batch.entries)
                    sent[st.origin] = max(sent.get(st.origin, 0), have)
            now_s = self._clock.monotonic_s()
            if gossip and now_s >= gossip_due_s:
                gossip_due_s = now_s + GOSSIP_INTERVAL_S
                for note in gossip:
                    cp = self._gossip_form(note)
                    if cp is not None:
                        gossiped[cp[0]] = cp[1]
                        yield federation_pb2.SyncMessage(
                            gossip=log_pb2.SignedCheckpoint(note=cp[2])
                        )
                gossip = []
            vector = federation_pb2.Vector(sizes={s.origin: s.size for s in states})
            # With a selection, a pass that changed nothing the subscriber takes from this
            # node (another origin's commit woke it) ends without CaughtUp: the gossip tells
            # of the others, the heartbeat of the rest. The subscriber's own log counts as
            # taken: how much of it this node holds is what the subscriber's payload retention
            # waits for (node/businesses/retention.py), and it never takes that log here.
            taken_sizes = {
                o: n
                for o, n in vector.sizes.items()
                if selection.take is None or o in selection.take or o == peer_id
            }
            if sent_any or taken_sizes != caught_up_sizes:
                caught_up_sizes = taken_sizes
                yield federation_pb2.SyncMessage(
                    caught_up=federation_pb2.CaughtUp(
                        vector=vector, server_time_unix_ms=self._clock.now_ms()
                    )
                )
            if not request.follow:
                return
            while self._changes.version == seen and not self._changes.closed:
                if selection.woken.is_set():
                    break
                timeout_s = HEARTBEAT_S
                if gossip:  # held back by the interval: wake when it is due
                    timeout_s = max(0.0, min(timeout_s, gossip_due_s - self._clock.monotonic_s()))
                await _wait_either(self._changes.wait(seen, timeout_s), selection.woken)
                if gossip and self._clock.monotonic_s() >= gossip_due_s:
                    break
                if self._changes.version == seen and not selection.woken.is_set():
                    yield federation_pb2.SyncMessage(
                        caught_up=federation_pb2.CaughtUp(
                            vector=vector, server_time_unix_ms=self._clock.now_ms()
                        )
                    )
            if self._changes.closed:
                return

    async def _cut_for(
        self,
        reader: str,
        origin: str,
        start: int,
        size: int,
        entries_max: int,
        bytes_max: int,
        sizes_cache: dict[str, list[int]],
    ) -> federation_pb2.Batch | None:
        """The batch of ``origin`` from ``start`` for ``reader``. The streams that ask for the
        same range with the same limits while it is being cut (a commit wakes every stream,
        and the subscribers of a live tail all hold the same size) share that cut, if it is
        the same for every reader (cutting.for_every_reader); else each cuts its own."""
        args = (origin, start, size, entries_max, bytes_max)
        if self._cut is not cut_batch:  # a cutter of its own (a test relay) cuts per reader
            return await self._db.read(self._cut, self._db.store, *args, reader, sizes_cache)
        shared = self._cuts.get(args)
        if shared is not None:
            batch = await asyncio.shield(shared)
            if batch is not None:
                return batch
            return await self._db.read(cut_batch, self._db.store, *args, reader, sizes_cache)
        future: asyncio.Future[federation_pb2.Batch | None]
        future = self._cuts[args] = asyncio.get_running_loop().create_future()
        try:
            batch = await self._db.read(cut_batch, self._db.store, *args, reader, sizes_cache)
        except BaseException:
            future.set_result(None)  # the others cut their own
            raise
        finally:
            del self._cuts[args]  # only a cut under way is shared: nothing is kept
        future.set_result(batch if batch is not None and for_every_reader(batch) else None)
        return batch

    # ---------------------------------------------------------------- Fetch

    async def Fetch(
        self, request: federation_pb2.FetchRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.FetchResponse:
        caller = await self._auth.require(context, NODE, "Fetch")
        st = await self._db.read(self._db.store.origin_state, request.origin)
        if st is None or request.start >= st.size or request.end <= request.start:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "no entries in that range")
            raise AssertionError("unreachable")
        limits = self._limits
        # A node recovering its own log (node.replication.recovery) fetches it back from its
        # peers, and takes headers whose payloads this node does not hold.
        cut = self._cut
        if request.origin == caller.identity.name:
            cut = functools.partial(cut_batch, headers_suffice=True)
        batch = await self._db.read(
            cut,
            self._db.store,
            request.origin,
            request.start,
            st.size,
            min(limits.batch_entries_max, request.end - request.start),
            limits.batch_bytes_max,
            caller.identity.name,
            {},
        )
        if batch is None:
            purge = await self._db.read(
                purged_blocker,
                self._db.store,
                request.origin,
                request.start,
                min(st.size, request.end, request.start + limits.batch_entries_max),
                caller.identity.name,
            )
            if purge is not None:
                await context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"payload of entry {purge.origin}/{purge.index} "
                    f"{purge_note(purged_on(purge), purge.rule)}: this node cannot serve it",
                )
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "no checkpoint ends that range"
            )
            raise AssertionError("unreachable")
        return federation_pb2.FetchResponse(batch=batch)

    async def _log_purged(
        self, origin: str, start: int, size: int, peer_id: str, entries_max: int
    ) -> None:
        """Say (once per stream and origin) when a retention purge is why this node stops
        serving ``origin`` to a peer: the peer must take that part from another node."""
        end = min(size, start + entries_max)
        purge = await self._db.read(purged_blocker, self._db.store, origin, start, end, peer_id)
        if purge is not None:
            log.info(
                "not serving %s from %d to %s: payload of entry %d %s",
                origin,
                start,
                peer_id,
                purge.index,
                purge_note(purged_on(purge), purge.rule),
            )

    # ---------------------------------------------------------------- Witness

    async def Witness(
        self, request: federation_pb2.WitnessRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.WitnessResponse:
        caller = await self._auth.require(context, NODE, "Witness")
        origin = caller.identity.name
        verifier = self._keys.verifier(origin)
        if verifier is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "origin key unknown: Hello first"
            )
            raise AssertionError("unreachable")
        try:
            checkpoint, _ = open_checkpoint(request.checkpoint.note, verifier)
        except (NoteError, ValueError):
            await self._auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                "Witness",
                "checkpoint_not_signed_by_caller",
                zh="检查点不是由调用方的日志签名密钥签署的",
            )
            raise AssertionError("unreachable") from None
        line = await self._witnessing.witness(origin, checkpoint, request.checkpoint.note)
        if line is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "checkpoint not yet held or not consistent with what this witness verified",
            )
            raise AssertionError("unreachable")
        return federation_pb2.WitnessResponse(cosignature_line=line, witnessed_size=checkpoint.size)

    # ---------------------------------------------------------------- Checkpoints, proofs

    async def Checkpoints(
        self, request: federation_pb2.CheckpointsRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.CheckpointsResponse:
        await self._auth.require(context, (*NODE, "auditor"), "Checkpoints")
        return await self._exchange.checkpoints_response(list(request.origins))

    async def ProveConsistency(
        self, request: federation_pb2.ProveConsistencyRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.ProveConsistencyResponse:
        await self._auth.require(context, (*NODE, "auditor"), "ProveConsistency")
        st = await self._db.read(self._db.store.origin_state, request.origin)
        if st is None or not 0 < request.old_size <= request.new_size <= st.size:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "sizes outside the held log")
            raise AssertionError("unreachable")
        found = await self._db.read(
            proofs.consistency, self._db.store, request.origin, request.old_size, request.new_size
        )
        return federation_pb2.ProveConsistencyResponse(
            proof=found.proof, old_root=found.old_root, new_root=found.new_root
        )
