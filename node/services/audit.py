"""The Audit service: read-only access to logs, checkpoints and proofs over mutual TLS.

Auditors (role ``auditor``) and peer nodes may read. Payloads are returned only where the
caller may hold them: public entries (empty audience), or entries whose audience names the
calling node. Nothing here appends or changes anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from ccnode.v1 import audit_pb2, audit_pb2_grpc, log_pb2
from node.store.base import StoredEntry
from sync import merkle
from sync.entry import decode_header

if TYPE_CHECKING:
    from node.app import Node

READERS = ("auditor", "node")
CHUNK_ENTRIES = 500


def _entry_for(e: StoredEntry, reader: str, with_payload: bool) -> log_pb2.Entry:
    visible = with_payload and e.payload is not None and decode_header(e.header).visible_to(reader)
    if visible:
        return log_pb2.Entry(header=e.header, salt=e.salt, payload=e.payload)
    return log_pb2.Entry(header=e.header, salt=e.salt)


class AuditService(audit_pb2_grpc.AuditServicer):
    def __init__(self, node: Node) -> None:
        self.n = node

    async def LatestCheckpoints(
        self, request: audit_pb2.LatestCheckpointsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.LatestCheckpointsResponse:
        await self.n.auth.require(context, READERS, "Audit.LatestCheckpoints")
        return audit_pb2.LatestCheckpointsResponse(
            checkpoints=await self.n.latest_checkpoints(list(request.origins))
        )

    async def Entries(
        self, request: audit_pb2.EntriesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.EntriesChunk]:
        caller = await self.n.auth.require(context, READERS, "Audit.Entries")
        # An auditor reads payloads of public entries only; a node those addressed to it.
        reader = caller.identity.name if caller.identity.role == "node" else ""
        state = await self.n.db.read(self.n.db.store.origin_state, request.origin)
        if state is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown origin")
            raise AssertionError("unreachable")
        end = min(request.end or state.size, state.size)
        start = request.start
        while start < end:
            stop = min(end, start + CHUNK_ENTRIES)
            rows = await self.n.db.read(self.n.db.store.entries, request.origin, start, stop)
            yield audit_pb2.EntriesChunk(
                origin=request.origin,
                first_index=start,
                entries=[_entry_for(e, reader, request.with_payloads) for e in rows],
            )
            start = stop

    async def InclusionProof(
        self, request: audit_pb2.InclusionProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.InclusionProofResponse:
        caller = await self.n.auth.require(context, READERS, "Audit.InclusionProof")
        reader = caller.identity.name if caller.identity.role == "node" else ""
        state = await self.n.db.read(self.n.db.store.origin_state, request.origin)
        if state is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown origin")
            raise AssertionError("unreachable")
        size = request.size or state.size
        note = await self.n.db.read(self.n.db.store.checkpoint_at, request.origin, size)
        if note is None or request.index >= size:
            await context.abort(
                grpc.StatusCode.OUT_OF_RANGE, "no checkpoint at that size, or index >= size"
            )
            raise AssertionError("unreachable")
        leaves = await self.n.db.read(self.n.db.store.leaf_hashes, request.origin, 0, size)
        entry = (
            await self.n.db.read(
                self.n.db.store.entries, request.origin, request.index, request.index + 1
            )
        )[0]
        return audit_pb2.InclusionProofResponse(
            index=request.index,
            size=size,
            proof=merkle.inclusion_proof(leaves, request.index),
            checkpoint=log_pb2.SignedCheckpoint(note=note),
            entry=_entry_for(entry, reader, True),
        )

    async def ConsistencyProof(
        self, request: audit_pb2.ConsistencyProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ConsistencyProofResponse:
        await self.n.auth.require(context, READERS, "Audit.ConsistencyProof")
        state = await self.n.db.read(self.n.db.store.origin_state, request.origin)
        if state is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown origin")
            raise AssertionError("unreachable")
        new_size = request.new_size or state.size
        old_note = await self.n.db.read(
            self.n.db.store.checkpoint_at, request.origin, request.old_size
        )
        new_note = await self.n.db.read(self.n.db.store.checkpoint_at, request.origin, new_size)
        if old_note is None or new_note is None or not 0 < request.old_size <= new_size:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "no checkpoints at those sizes")
            raise AssertionError("unreachable")
        leaves = await self.n.db.read(self.n.db.store.leaf_hashes, request.origin, 0, new_size)
        return audit_pb2.ConsistencyProofResponse(
            proof=merkle.consistency_proof(leaves, request.old_size),
            old_checkpoint=log_pb2.SignedCheckpoint(note=old_note),
            new_checkpoint=log_pb2.SignedCheckpoint(note=new_note),
        )

    async def Evidence(
        self, request: audit_pb2.EvidenceListRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.EvidenceListResponse:
        from node.app import evidence_pb

        await self.n.auth.require(context, READERS, "Audit.Evidence")
        records = await self.n.db.read(self.n.db.store.evidence)
        return audit_pb2.EvidenceListResponse(evidence=[evidence_pb(e) for e in records])
