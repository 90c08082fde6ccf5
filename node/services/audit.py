"""The Audit service: read-only access to logs, checkpoints and proofs over mutual TLS.

Auditors (role ``auditor``) and peer nodes may read; nothing here appends or changes anything
on the caller's behalf. Rights (docs/audit.md):

* a node reads the payloads of entries whose audience names it (or is empty);
* an auditor reads the payloads of public entries through Entries and InclusionProof, and of
  restricted entries through Payloads only if ``payload_auditors`` in node.toml names it;
* Payloads and Refusals are auditor only: a node certificate is refused (and recorded).

Ordering rule: every payload an auditor receives is recorded as an ACCESS_RECORDED entry in
this node's own log (actor = the auditor's URI) and that entry is committed BEFORE the payload
is sent, so no read is ever unrecorded; if recording fails, the payload is not sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import NoReturn, Protocol

import grpc

from ccnode.v1 import audit_pb2, audit_pb2_grpc, federation_pb2, log_pb2, payloads_pb2
from node.clock import Clock
from node.identity.auth import Caller
from node.ownlog.writer import Draft, DraftRejected
from node.ports import Appender, CallerAuth, Keys, PeerLinks
from node.replication.equivocation import evidence_pb
from node.replication.exchange import Exchange
from node.services.errors import refuse, refuse_draft
from node.services.purges import purges_of
from node.services.refusals import refusal_fields, refusals_page
from node.store import proofs
from node.store.base import (
    EvidenceStore,
    LogReader,
    OriginState,
    PeerStore,
    RefusalStore,
    RetentionStore,
    StoredEntry,
    StoreFull,
)
from node.store.runner import Db
from sync.domain.wording import PIPL
from sync.entry import Header, decode_header, entry_id

READERS = ("auditor", "node")
AUDITOR = ("auditor",)
CHUNK_ENTRIES = 500
PAYLOADS_MAX = 500
# Entry ids per access record: keeps each ACCESS_RECORDED payload far below the entry limit.
ACCESS_IDS_MAX = 500
ACCESS_WHAT = "audit: entry payloads"
# A read's purpose is recorded in the access entry: bounded like a lookup's purpose.
PURPOSE_CHARS_MAX = 500


def _entry(e: StoredEntry, with_payload: bool) -> log_pb2.Entry:
    if with_payload and e.payload is not None:
        return log_pb2.Entry(header=e.header, salt=e.salt, payload=e.payload)
    return log_pb2.Entry(header=e.header, salt=e.salt)


def _is_public(header: Header) -> bool:
    return not header.audience


class AuditStore(LogReader, PeerStore, RefusalStore, EvidenceStore, RetentionStore, Protocol):
    """What auditors may read: logs, peers, refusals, evidence and the purge records (never
    folded rows)."""


class AuditService(audit_pb2_grpc.AuditServicer):
    def __init__(
        self,
        *,
        db: Db[AuditStore],
        auth: CallerAuth,
        appender: Appender,
        keys: Keys,
        exchange: Exchange,
        links: PeerLinks,
        node_id: str,
        trust_domain: str,
        payload_auditors: Sequence[str],
        clock: Clock,
    ) -> None:
        self._db = db
        self._auth = auth
        self._appender = appender
        self._keys = keys
        self._exchange = exchange
        self._links = links
        self._node_id = node_id
        self._trust_domain = trust_domain
        self._payload_auditors = frozenset(payload_auditors)
        self._clock = clock

    # ---------------------------------------------------------------- helpers

    async def _abort(
        self, context: grpc.aio.ServicerContext, code: grpc.StatusCode, details: str
    ) -> NoReturn:
        await context.abort(code, details)
        raise AssertionError("unreachable")

    async def _state(self, context: grpc.aio.ServicerContext, origin: str) -> OriginState:
        state = await self._db.read(self._db.store.origin_state, origin)
        if state is None:
            await self._abort(context, grpc.StatusCode.NOT_FOUND, "unknown origin")
        return state

    def _may_read(self, caller: Caller, header: Header) -> bool:
        """Entries and InclusionProof: public payloads for auditors, the audience's for nodes."""
        if caller.identity.role == "node":
            return header.visible_to(caller.identity.name)
        return _is_public(header)

    def _granted(self, caller: Caller) -> bool:
        return caller.identity.name in self._payload_auditors

    async def _require_purpose(
        self, context: grpc.aio.ServicerContext, caller: Caller, wants: bool, purpose: str
    ) -> None:
        if wants and caller.identity.role == "auditor" and not purpose.strip():
            await refuse(
                context,
                "purpose",
                "required",
                "required to read payloads (every read is recorded)",
                zh=f"查阅条目内容须写明事由，每次查阅均予记录（{PIPL}第六条）",
            )
        if len(purpose) > PURPOSE_CHARS_MAX:
            await refuse(
                context,
                "purpose",
                "length",
                f"at most {PURPOSE_CHARS_MAX} characters",
                zh=f"不得超过{PURPOSE_CHARS_MAX}个字符",
            )

    async def _record(
        self,
        context: grpc.aio.ServicerContext,
        caller: Caller,
        ids: Sequence[str],
        purpose: str,
    ) -> None:
        """Record an auditor's read of these entries' payloads in this node's own log."""
        if caller.identity.role != "auditor" or not ids:
            return
        drafts = [
            Draft(
                kind=log_pb2.ACCESS_RECORDED,
                payload=payloads_pb2.Payload(
                    access_recorded=payloads_pb2.AccessRecorded(
                        entries=list(ids[i : i + ACCESS_IDS_MAX]),
                        purpose=purpose.strip(),
                        what=ACCESS_WHAT,
                    )
                ),
            )
            for i in range(0, len(ids), ACCESS_IDS_MAX)
        ]
        try:
            await self._appender.submit(drafts, caller.identity.uri)
        except DraftRejected as exc:  # no record, no payload
            await refuse_draft(context, exc, numbered=False)
        except StoreFull:
            await self._abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "the read could not be recorded: this node's database is full",
            )
        except Exception:  # no record, no payload
            await self._abort(
                context, grpc.StatusCode.UNAVAILABLE, "the read could not be recorded: retry later"
            )

    # ---------------------------------------------------------------- checkpoints, keys

    async def LatestCheckpoints(
        self, request: audit_pb2.LatestCheckpointsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.LatestCheckpointsResponse:
        await self._auth.require(context, READERS, "Audit.LatestCheckpoints")
        return audit_pb2.LatestCheckpointsResponse(
            checkpoints=await self._exchange.latest_checkpoints(list(request.origins))
        )

    async def OriginKeys(
        self, request: audit_pb2.OriginKeysRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.OriginKeysResponse:
        await self._auth.require(context, READERS, "Audit.OriginKeys")
        wanted = set(request.origins)
        return audit_pb2.OriginKeysResponse(
            keys=[
                federation_pb2.OriginKey(origin=origin, certificate_der=der)
                for origin, der in sorted(self._keys.certificates().items())
                if not wanted or origin in wanted
            ]
        )

    async def CheckpointHistory(
        self, request: audit_pb2.CheckpointHistoryRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.CheckpointHistoryChunk]:
        await self._auth.require(context, READERS, "Audit.CheckpointHistory")
        state = await self._state(context, request.origin)
        to_size = min(request.to_size or state.size, state.size)
        store = self._db.store
        sizes = [
            s
            for s in await self._db.read(store.checkpoint_sizes, request.origin)
            if request.from_size <= s <= to_size
        ]
        for i in range(0, len(sizes), CHUNK_ENTRIES):
            part = sizes[i : i + CHUNK_ENTRIES]
            notes = await self._db.read(self._notes, request.origin, part)
            yield audit_pb2.CheckpointHistoryChunk(
                sizes=part, checkpoints=[log_pb2.SignedCheckpoint(note=n) for n in notes]
            )

    def _notes(self, origin: str, sizes: Sequence[int]) -> list[str]:
        """Notes at these sizes (blocking; one read transaction's worth of calls)."""
        out = []
        for size in sizes:
            note = self._db.store.checkpoint_at(origin, size)
            assert note is not None, "checkpoint_sizes lists only stored checkpoints"
            out.append(note)
        return out

    async def Evidence(
        self, request: audit_pb2.EvidenceListRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.EvidenceListResponse:
        await self._auth.require(context, READERS, "Audit.Evidence")
        records = await self._db.read(self._db.store.evidence)
        return audit_pb2.EvidenceListResponse(evidence=[evidence_pb(e) for e in records])

    async def Status(
        self, request: audit_pb2.AuditStatusRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.AuditStatusResponse:
        caller = await self._auth.require(context, READERS, "Audit.Status")
        store = self._db.store
        states = await self._db.read(store.origin_states)
        peers = []
        for peer in await self._db.read(store.peers):
            status = self._links.status(peer.node_id)
            peers.append(
                audit_pb2.AuditPeer(
                    node_id=peer.node_id,
                    connected=bool(status and status.connected),
                    last_contact_unix_ms=status.last_contact_unix_ms if status else 0,
                    peer_sizes=status.peer_sizes if status else {},
                )
            )
        return audit_pb2.AuditStatusResponse(
            node_id=self._node_id,
            trust_domain=self._trust_domain,
            origins=[
                audit_pb2.AuditOrigin(
                    origin=s.origin,
                    size=s.size,
                    root=s.root,
                    checkpoint=s.checkpoint_note,
                    frozen=s.frozen,
                    frozen_reason=s.frozen_reason,
                )
                for s in sorted(states, key=lambda s: s.origin)
            ],
            peers=peers,
            evidence_count=len(await self._db.read(store.evidence)),
            refusal_count=await self._db.read(store.refusal_count),
            server_time_unix_ms=self._clock.now_ms(),
            payload_access=caller.identity.role == "auditor" and self._granted(caller),
        )

    # ---------------------------------------------------------------- entries and payloads

    async def Entries(
        self, request: audit_pb2.EntriesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.EntriesChunk]:
        caller = await self._auth.require(context, READERS, "Audit.Entries")
        await self._require_purpose(context, caller, request.with_payloads, request.purpose)
        state = await self._state(context, request.origin)
        end = min(request.end or state.size, state.size)
        start = request.start
        while start < end:
            stop = min(end, start + CHUNK_ENTRIES)
            rows = await self._db.read(self._db.store.entries, request.origin, start, stop)
            shown = [
                request.with_payloads
                and e.payload is not None
                and self._may_read(caller, decode_header(e.header))
                for e in rows
            ]
            # Recorded BEFORE the chunk leaves this node (see the module docstring).
            ids = [entry_id(e.origin, e.index) for e, s in zip(rows, shown, strict=True) if s]
            await self._record(context, caller, ids, request.purpose)
            yield audit_pb2.EntriesChunk(
                origin=request.origin,
                first_index=start,
                entries=[_entry(e, s) for e, s in zip(rows, shown, strict=True)],
                stored_leaf_hashes=[e.leaf_hash for e in rows],
            )
            start = stop

    async def Payloads(
        self, request: audit_pb2.PayloadsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.PayloadsResponse:
        caller = await self._auth.require(context, AUDITOR, "Audit.Payloads")
        await self._require_purpose(context, caller, True, request.purpose)
        if len(request.indexes) > PAYLOADS_MAX:
            await refuse(
                context,
                "indexes",
                "too_many",
                f"at most {PAYLOADS_MAX} per call",
                zh=f"每次至多{PAYLOADS_MAX}条",
            )
        state = await self._state(context, request.origin)
        granted = self._granted(caller)
        shown: list[StoredEntry] = []
        withheld: list[int] = []
        for index in sorted(set(request.indexes)):
            if index >= state.size:  # not held (and past what a SQL integer takes)
                withheld.append(index)
                continue
            rows = await self._db.read(self._db.store.entries, request.origin, index, index + 1)
            entry = rows[0] if rows else None
            if (
                entry is None
                or entry.payload is None
                or not (granted or _is_public(decode_header(entry.header)))
            ):
                withheld.append(index)
            else:
                shown.append(entry)
        await self._record(
            context, caller, [entry_id(e.origin, e.index) for e in shown], request.purpose
        )
        held = [(request.origin, i) for i in withheld if i < state.size]
        purged = await purges_of(self._db, held)
        return audit_pb2.PayloadsResponse(
            indexes=[e.index for e in shown],
            entries=[_entry(e, True) for e in shown],
            withheld=withheld,
            purged=purged,
        )

    # ---------------------------------------------------------------- proofs

    async def InclusionProof(
        self, request: audit_pb2.InclusionProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.InclusionProofResponse:
        caller = await self._auth.require(context, READERS, "Audit.InclusionProof")
        await self._require_purpose(context, caller, request.with_payload, request.purpose)
        state = await self._state(context, request.origin)
        size = request.size or state.size
        if size > state.size or request.index >= size:
            await self._abort(
                context,
                grpc.StatusCode.OUT_OF_RANGE,
                "size: at most the size held; index: below size",
            )
        note = await self._db.read(self._db.store.checkpoint_at, request.origin, size)
        if note is None:
            await self._abort(
                context, grpc.StatusCode.OUT_OF_RANGE, "size: no checkpoint at that size"
            )
        rows = await self._db.read(
            self._db.store.entries, request.origin, request.index, request.index + 1
        )
        if not rows:
            await self._abort(context, grpc.StatusCode.DATA_LOSS, "the entry is not in the store")
        entry = rows[0]
        header = decode_header(entry.header)
        # Nodes keep what they always got (the audience's payload); auditors ask for it.
        wants = request.with_payload or caller.identity.role == "node"
        show = wants and entry.payload is not None and self._may_read(caller, header)
        proof = await self._db.read(
            proofs.inclusion_proof, self._db.store, request.origin, size, request.index
        )
        if show:
            await self._record(
                context, caller, [entry_id(entry.origin, entry.index)], request.purpose
            )
        return audit_pb2.InclusionProofResponse(
            index=request.index,
            size=size,
            proof=proof,
            checkpoint=log_pb2.SignedCheckpoint(note=note),
            entry=_entry(entry, show),
        )

    async def ConsistencyProof(
        self, request: audit_pb2.ConsistencyProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ConsistencyProofResponse:
        await self._auth.require(context, READERS, "Audit.ConsistencyProof")
        state = await self._state(context, request.origin)
        store = self._db.store
        new_size = request.new_size or state.size
        if not 0 < request.old_size <= new_size <= state.size:
            await self._abort(
                context, grpc.StatusCode.OUT_OF_RANGE, "sizes must be 0 < old <= new <= held size"
            )
        new_note = await self._db.read(store.checkpoint_at, request.origin, new_size)
        if new_note is None:
            await self._abort(context, grpc.StatusCode.OUT_OF_RANGE, "no checkpoint at new_size")
        old_note = await self._db.read(store.checkpoint_at, request.origin, request.old_size)
        found = await self._db.read(
            proofs.consistency, store, request.origin, request.old_size, new_size
        )
        return audit_pb2.ConsistencyProofResponse(
            proof=found.proof,
            old_checkpoint=log_pb2.SignedCheckpoint(note=old_note or ""),
            new_checkpoint=log_pb2.SignedCheckpoint(note=new_note),
            old_root=found.old_root,
            new_root=found.new_root,
        )

    # ---------------------------------------------------------------- refusals

    async def Refusals(
        self, request: audit_pb2.AuditRefusalsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.AuditRefusalsResponse:
        await self._auth.require(context, AUDITOR, "Audit.Refusals")
        rows, next_offset = await refusals_page(self._db, request.limit, request.offset)
        return audit_pb2.AuditRefusalsResponse(
            refusals=[audit_pb2.AuditRefusal(**refusal_fields(r)) for r in rows],
            total=await self._db.read(self._db.store.refusal_count),
            next_offset=next_offset,
        )
