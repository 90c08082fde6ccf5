"""The Federation service: what a region node offers its peers over mutual TLS."""

from __future__ import annotations

import bisect
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc, log_pb2
from node.store.base import StoredEntry
from sync import merkle
from sync.checkpoint import open_checkpoint
from sync.entry import decode_header, header_audience
from sync.note import NoteError
from sync.verify import BATCH_ENTRIES_MAX

if TYPE_CHECKING:
    from node.runtime.node import Node

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
HEARTBEAT_S = 10.0
NODE = ("node",)


class FederationService(federation_pb2_grpc.FederationServicer):
    def __init__(self, node: Node) -> None:
        self.n = node

    # ---------------------------------------------------------------- Hello

    async def Hello(
        self, request: federation_pb2.HelloRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.HelloResponse:
        caller = await self.n.auth.require(context, NODE, "Hello")
        if request.node_id != caller.identity.name:
            await self.n.auth.refuse(
                context, caller.peer, caller.identity.uri, "Hello", "claims_other_identity"
            )
        await self.n.learn_keys(request.keys, caller.identity.uri)
        return await self.n.hello_response()

    # ---------------------------------------------------------------- Subscribe

    async def Subscribe(
        self, request: federation_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        caller = await self.n.auth.require(context, NODE, "Subscribe")
        peer_id = caller.identity.name
        limits = self.n.config.limits
        entries_max = min(
            request.batch_entries_max or limits.batch_entries_max, limits.batch_entries_max
        )
        bytes_max = min(request.batch_bytes_max or limits.batch_bytes_max, limits.batch_bytes_max)
        sent = dict(request.vector.sizes)
        keys_sent: set[str] = set()
        blocked: dict[str, int] = {}  # origin -> position this node cannot serve past
        sizes_cache: dict[str, list[int]] = {}
        seen = self.n.watch.version
        while True:
            seen = self.n.watch.version
            states = await self.n.db.read(self.n.db.store.origin_states)
            for st in sorted(states, key=lambda s: s.origin):
                if st.origin == peer_id:
                    continue  # a node never learns its own log from others
                have = sent.get(st.origin, 0)
                if have >= st.size or blocked.get(st.origin) == have:
                    continue
                if st.origin not in keys_sent and have == 0:
                    cert = self.n.keys.certificates().get(st.origin)
                    if cert is not None:
                        yield federation_pb2.SyncMessage(
                            key=federation_pb2.OriginKey(origin=st.origin, certificate_der=cert)
                        )
                    keys_sent.add(st.origin)
                while have < st.size:
                    batch = await self.n.db.read(
                        self._cut_batch,
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
                        break
                    yield federation_pb2.SyncMessage(batch=batch)
                    have = batch.first_index + len(batch.entries)
                    sent[st.origin] = have
            vector = federation_pb2.Vector(sizes={s.origin: s.size for s in states})
            yield federation_pb2.SyncMessage(
                caught_up=federation_pb2.CaughtUp(
                    vector=vector, server_time_unix_ms=self.n.clock.now_ms()
                )
            )
            if not request.follow:
                return
            while self.n.watch.version == seen and not self.n.stopping:
                await self.n.watch.wait(seen, HEARTBEAT_S)
                if self.n.watch.version == seen:
                    yield federation_pb2.SyncMessage(
                        caught_up=federation_pb2.CaughtUp(
                            vector=vector, server_time_unix_ms=self.n.clock.now_ms()
                        )
                    )
            if self.n.stopping:
                return

    def _cut_batch(
        self,
        origin: str,
        start: int,
        size: int,
        entries_max: int,
        bytes_max: int,
        reader: str,
        sizes_cache: dict[str, list[int]],
    ) -> federation_pb2.Batch | None:
        """Entries [start, end) ending at a checkpoint this node holds (blocking)."""
        store = self.n.db.store
        sizes = sizes_cache.get(origin)
        if sizes is None or sizes[-1] < min(size, start + entries_max):
            sizes = sizes_cache[origin] = store.checkpoint_sizes(origin)
        lo = bisect.bisect_right(sizes, start)
        hi = bisect.bisect_right(sizes, min(size, start + entries_max))
        candidates = sizes[lo:hi]
        if not candidates and lo < len(sizes) and sizes[lo] <= min(size, start + BATCH_ENTRIES_MAX):
            # The reader asked for smaller batches than the origin's checkpoint interval: the
            # next checkpoint still fits the protocol's limit, so send up to it.
            candidates = [sizes[lo]]
        if not candidates:
            return None
        rows = store.entries(origin, start, candidates[-1])
        # An entry whose payload the reader is entitled to but this node does not hold (this
        # node is outside its audience): the reader rightly refuses it without the payload, so
        # the batch stops before it and the reader gets that part of the log from the origin
        # or another member of the audience.
        for i, row in enumerate(rows):
            if row.payload is None and decode_header(row.header).visible_to(reader):
                candidates = [c for c in candidates if c <= start + i]
                if not candidates:
                    return None
                rows = rows[: candidates[-1] - start]
                break
        payloads: list[bytes | None] = []  # as the reader receives them
        end = candidates[0]
        total = 0
        ends = set(candidates)
        for i, e in enumerate(rows):
            payload = self._for_reader(e, reader)
            total += len(e.header) + len(e.salt) + (len(payload) if payload is not None else 0)
            if total > bytes_max and start + i + 1 > candidates[0]:
                break
            payloads.append(payload)
            if start + i + 1 in ends:
                end = start + i + 1
        note = store.checkpoint_at(origin, end)
        assert note is not None
        batch = federation_pb2.Batch(
            origin=origin, first_index=start, checkpoint=log_pb2.SignedCheckpoint(note=note)
        )
        add = batch.entries.add  # built in place: no Entry message copied into the batch
        for e, payload in zip(rows[: end - start], payloads, strict=False):
            if payload is None:
                add(header=e.header, salt=e.salt)
            else:
                add(header=e.header, salt=e.salt, payload=payload)
        return batch

    @staticmethod
    def _for_reader(e: StoredEntry, reader: str) -> bytes | None:
        """The entry's payload as ``reader`` may receive it: only within the audience."""
        if e.payload is None:
            return None
        audience = header_audience(e.header)  # a stored header: verified when it came in
        return e.payload if not audience or reader in audience else None

    # ---------------------------------------------------------------- Fetch

    async def Fetch(
        self, request: federation_pb2.FetchRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.FetchResponse:
        caller = await self.n.auth.require(context, NODE, "Fetch")
        st = await self.n.db.read(self.n.db.store.origin_state, request.origin)
        if st is None or request.start >= st.size or request.end <= request.start:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "no entries in that range")
            raise AssertionError("unreachable")
        limits = self.n.config.limits
        batch = await self.n.db.read(
            self._cut_batch,
            request.origin,
            request.start,
            st.size,
            min(limits.batch_entries_max, request.end - request.start),
            limits.batch_bytes_max,
            caller.identity.name,
            {},
        )
        if batch is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "no checkpoint ends that range"
            )
            raise AssertionError("unreachable")
        return federation_pb2.FetchResponse(batch=batch)

    # ---------------------------------------------------------------- Witness

    async def Witness(
        self, request: federation_pb2.WitnessRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.WitnessResponse:
        caller = await self.n.auth.require(context, NODE, "Witness")
        origin = caller.identity.name
        verifier = self.n.keys.verifier(origin)
        if verifier is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "origin key unknown: Hello first"
            )
            raise AssertionError("unreachable")
        try:
            checkpoint, _ = open_checkpoint(request.checkpoint.note, verifier)
        except (NoteError, ValueError):
            await self.n.auth.refuse(
                context,
                caller.peer,
                caller.identity.uri,
                "Witness",
                "checkpoint_not_signed_by_caller",
            )
            raise AssertionError("unreachable") from None
        line = await self.n.witness(origin, checkpoint, request.checkpoint.note)
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
        await self.n.auth.require(context, (*NODE, "auditor"), "Checkpoints")
        return await self.n.checkpoints_response(list(request.origins))

    async def ProveConsistency(
        self, request: federation_pb2.ProveConsistencyRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.ProveConsistencyResponse:
        await self.n.auth.require(context, (*NODE, "auditor"), "ProveConsistency")
        st = await self.n.db.read(self.n.db.store.origin_state, request.origin)
        if st is None or not 0 < request.old_size <= request.new_size <= st.size:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "sizes outside the held log")
            raise AssertionError("unreachable")
        leaves = await self.n.db.read(
            self.n.db.store.leaf_hashes, request.origin, 0, request.new_size
        )
        return federation_pb2.ProveConsistencyResponse(
            proof=merkle.consistency_proof(leaves, request.old_size),
            old_root=merkle.subtree_root(leaves, 0, request.old_size),
            new_root=merkle.root(leaves),
        )
