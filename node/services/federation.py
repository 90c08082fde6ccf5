"""The Federation service: what a region node offers its peers over mutual TLS."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc
from node.clock import Clock
from node.config import Limits
from node.ports import CallerAuth, ChangeFeed, Keys, Witnessing
from node.replication.cutting import BatchCutter, cut_batch
from node.replication.equivocation import EVIDENCE_PER_STREAM_MAX
from node.replication.exchange import Exchange
from node.services.purges import purged_on
from node.store import proofs
from node.store.base import LogReader, PayloadPurge, RetentionStore
from node.store.runner import Db
from sync.checkpoint import open_checkpoint
from sync.domain.calendar import CALENDAR_VERSION, check_peer_calendar
from sync.entry import decode_header
from sync.note import NoteError
from sync.retention import purge_note

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
NODE = ("node",)


class FederationStore(LogReader, RetentionStore, Protocol):
    """The logs this node serves, and which payloads it purged (to say so to a reader)."""


def purged_blocker(
    store: FederationStore, origin: str, start: int, end: int, reader: str
) -> PayloadPurge | None:
    """The first entry of [start, end) whose payload ``reader`` is entitled to but this node
    purged by retention (blocking), if that is what stops serving the range."""
    for entry in store.entries(origin, start, end):
        if entry.payload is None and decode_header(entry.header).visible_to(reader):
            return store.payload_purges([(origin, entry.index)]).get((origin, entry.index))
    return None


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
    ) -> None:
        self._cut = cutter
        self._db = db
        self._auth = auth
        self._keys = keys
        self._exchange = exchange
        self._witnessing = witnessing
        self._changes = changes
        self._limits = limits
        self._clock = clock

    # ---------------------------------------------------------------- Hello

    async def Hello(
        self, request: federation_pb2.HelloRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.HelloResponse:
        caller = await self._auth.require(context, NODE, "Hello")
        if request.node_id != caller.identity.name:
            await self._auth.refuse(
                context, caller.peer, caller.identity.uri, "Hello", "claims_other_identity"
            )
        if check_peer_calendar(CALENDAR_VERSION, request.calendar_version) is not None:
            await self._auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                "Hello",
                "calendar_mismatch",
                grpc.StatusCode.FAILED_PRECONDITION,
            )
        await self._exchange.learn_keys(request.keys, caller.identity.uri)
        return await self._exchange.hello_response()

    # ---------------------------------------------------------------- Subscribe

    async def Subscribe(
        self, request: federation_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        caller = await self._auth.require(context, NODE, "Subscribe")
        peer_id = caller.identity.name
        limits = self._limits
        entries_max = min(
            request.batch_entries_max or limits.batch_entries_max, limits.batch_entries_max
        )
        bytes_max = min(request.batch_bytes_max or limits.batch_bytes_max, limits.batch_bytes_max)
        sent = dict(request.vector.sizes)
        keys_sent: set[str] = set()
        blocked: dict[str, int] = {}  # origin -> position this node cannot serve past
        sizes_cache: dict[str, list[int]] = {}
        evidence_sent: set[str] = set()
        seen = self._changes.version
        while True:
            seen = self._changes.version
            # Evidence first, so the subscriber freezes an origin before any batch of it.
            for origin, evidence in sorted((await self._exchange.evidence_by_origin()).items()):
                if origin not in evidence_sent and len(evidence_sent) < EVIDENCE_PER_STREAM_MAX:
                    evidence_sent.add(origin)
                    yield federation_pb2.SyncMessage(evidence=evidence)
            states = await self._db.read(self._db.store.origin_states)
            for st in sorted(states, key=lambda s: s.origin):
                if st.origin == peer_id:
                    continue  # a node never learns its own log from others
                if st.frozen:
                    continue  # equivocated: never relayed, not even what was held before
                have = sent.get(st.origin, 0)
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
                    batch = await self._db.read(
                        self._cut,
                        self._db.store,
                        st.origin,
                        have,
                        st.size,
                        entries_max,
                        bytes_max,
                        peer_id,
                        sizes_cache,
                    )
                    if batch is None:
                        # Nothing this node can serve here (no checkpoint, or a payload the
                        # reader needs is not held): leave the origin to other peers.
                        blocked[st.origin] = have
                        await self._log_purged(st.origin, have, st.size, peer_id, entries_max)
                        break
                    yield federation_pb2.SyncMessage(batch=batch)
                    have = batch.first_index + len(batch.entries)
                    sent[st.origin] = have
            vector = federation_pb2.Vector(sizes={s.origin: s.size for s in states})
            yield federation_pb2.SyncMessage(
                caught_up=federation_pb2.CaughtUp(
                    vector=vector, server_time_unix_ms=self._clock.now_ms()
                )
            )
            if not request.follow:
                return
            while self._changes.version == seen and not self._changes.closed:
                await self._changes.wait(seen, HEARTBEAT_S)
                if self._changes.version == seen:
                    yield federation_pb2.SyncMessage(
                        caught_up=federation_pb2.CaughtUp(
                            vector=vector, server_time_unix_ms=self._clock.now_ms()
                        )
                    )
            if self._changes.closed:
                return

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
