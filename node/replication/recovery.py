"""Own-log recovery: before this node signs again, learn how much of its own log its peers hold.

A node whose store was restored from an older copy (or lost its last commits to a power cut
under SQLite's ``synchronous=NORMAL``) holds less of its own log than it once signed. Were it
to append, it would sign new entries at indexes its peers already hold from it: two
inconsistent checkpoints of one log, which its peers rightly freeze as equivocation. So the
local log starts gated (node.ownlog.writer), and this part runs first:

1. ask every configured peer, in parallel, for Hello; a peer's claim is the checkpoint of this
   node's origin in its answer, counted only if it is signed by this node's own log key (a
   peer's vector alone is unsigned: a false size in it must not stall appends for ever); a
   checkpoint of this origin that the key does not verify is recorded as a refusal and never
   used;
2. if no peer answers within ``own_log_recovery_timeout_s``, open the gate with a warning (a
   lone node must still start; a peer that was down cannot be asked);
3. if a valid claim is longer than the store, fetch the missing entries (Federation.Fetch,
   from the peers with the longest claims first) and apply them through the replica, verified
   like any origin's batch: against the stored frontier and this node's key
   (``Replica.recover_own``); a batch that fails is recorded and the next peer is tried, and
   while the claim is not reached the attempt is repeated every ``own_log_recovery_retry_s``
   (the gate stays closed: a claim signed by this node's own key proves the log is that long);
4. open the gate: the local log reloads its clock from the longer log and signs from there.

Entries of restricted audience whose payload no answering peer holds are stored header only
(the fold and the checks handle headers without payloads, as on a relay).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc
from node.ports import CallerAuth, Keys
from node.replication.apply import Replica
from node.replication.exchange import Exchange
from node.replication.wire import PeerChannels
from node.store.base import LogReader, PeerRecord, PeerStore
from node.store.runner import Db
from sync.checkpoint import Checkpoint, CheckpointError, origin_line
from sync.entry import Entry
from sync.note import NoteError, parse_note
from sync.verify import BatchRejected, open_origin_checkpoint

log = logging.getLogger(__name__)

# A Fetch answers one batch (<= 500 entries, 256 KiB) read from the peer's store.
FETCH_TIMEOUT_S = 30.0


class PeerCalls(Protocol):
    """The two calls recovery makes to a peer (gRPC in the node; fakes in tests)."""

    async def hello(self, peer: PeerRecord, timeout_s: float) -> federation_pb2.HelloResponse: ...

    async def fetch(
        self, peer: PeerRecord, origin: str, start: int, end: int
    ) -> federation_pb2.Batch: ...


class GrpcPeerCalls:
    """PeerCalls over one short-lived mutual-TLS channel per call."""

    def __init__(self, channels: PeerChannels, exchange: Exchange) -> None:
        self._channels = channels
        self._exchange = exchange

    async def hello(self, peer: PeerRecord, timeout_s: float) -> federation_pb2.HelloResponse:
        request = await self._exchange.hello_request()
        async with self._channels.open(peer.address, peer.node_id) as channel:
            stub = federation_pb2_grpc.FederationStub(channel)
            response: federation_pb2.HelloResponse = await stub.Hello(request, timeout=timeout_s)
            return response

    async def fetch(
        self, peer: PeerRecord, origin: str, start: int, end: int
    ) -> federation_pb2.Batch:
        async with self._channels.open(peer.address, peer.node_id) as channel:
            stub = federation_pb2_grpc.FederationStub(channel)
            request = federation_pb2.FetchRequest(origin=origin, start=start, end=end)
            response: federation_pb2.FetchResponse = await stub.Fetch(
                request, timeout=FETCH_TIMEOUT_S
            )
            return response.batch


class _RecoveryStore(LogReader, PeerStore, Protocol):
    """Reads the own log's size and the configured peers."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A peer holds this node's log up to ``size``, under a checkpoint this node signed."""

    peer: PeerRecord
    size: int


@dataclass(frozen=True, slots=True)
class Outcome:
    local_size: int  # what the store held at start
    size: int  # what it holds now
    answered: int  # peers that answered Hello in time
    peers: int  # peers configured


class OwnLogRecovery:
    """Runs once at start, before the local log's gate opens (node.runtime.node)."""

    def __init__(
        self,
        *,
        db: Db[_RecoveryStore],
        replica: Replica,
        keys: Keys,
        auth: CallerAuth,
        calls: PeerCalls,
        node_id: str,
        trust_domain: str,
        timeout_s: float,
        retry_s: float,
    ) -> None:
        self._db = db
        self._replica = replica
        self._keys = keys
        self._auth = auth
        self._calls = calls
        self.node_id = node_id
        self._origin_line = origin_line(trust_domain, node_id)
        self._trust_domain = trust_domain
        self._timeout_s = timeout_s
        self._retry_s = retry_s

    async def run(self) -> Outcome:
        """Recover what the peers hold beyond the store; return once appending is safe (or
        no peer could say). The caller then opens the local log's gate."""
        peers = await self._db.read(self._db.store.peers)
        local = await self._size()
        if not peers:
            return Outcome(local, local, 0, 0)
        answers = await self._ask(peers)
        if not answers:
            log.warning(
                "own log: no peer of %d answered within %.1f s; appending from the local "
                "store's %d entries (a peer holding more would freeze this node)",
                len(peers),
                self._timeout_s,
                local,
            )
            return Outcome(local, local, 0, len(peers))
        claims = []
        for peer, hello in answers:
            claim = await self._claim(peer, hello)
            if claim is not None:
                claims.append(claim)
        target = max((c.size for c in claims), default=0)
        if target <= local:
            log.info(
                "own log: %d of %d peers answered, none holds more than the local store's "
                "%d entries",
                len(answers),
                len(peers),
                local,
            )
            return Outcome(local, local, len(answers), len(peers))
        best = max(claims, key=lambda c: c.size)
        log.warning(
            "recovering own log: peer %s holds %d entries, local store %d; fetching %d "
            "before appending",
            best.peer.node_id,
            target,
            local,
            target - local,
        )
        size = await self._recover(claims, local, target)
        log.info("own log recovered: %d entries (%d fetched from peers)", size, size - local)
        return Outcome(local, size, len(answers), len(peers))

    async def _size(self) -> int:
        state = await self._db.read(self._db.store.origin_state, self.node_id)
        return 0 if state is None else state.size

    async def _ask(
        self, peers: Sequence[PeerRecord]
    ) -> list[tuple[PeerRecord, federation_pb2.HelloResponse]]:
        """Hello to every peer at once; the answers that came within the timeout."""

        async def one(peer: PeerRecord) -> federation_pb2.HelloResponse | None:
            try:
                return await self._calls.hello(peer, self._timeout_s)
            except (grpc.aio.AioRpcError, OSError) as exc:
                log.info("own log: peer %s did not answer: %s", peer.node_id, _why(exc))
                return None
            except Exception:  # one peer's defect must not keep the others from being asked
                log.exception("own log: asking peer %s failed", peer.node_id)
                return None

        tasks = [asyncio.create_task(one(p)) for p in peers]
        done, pending = await asyncio.wait(tasks, timeout=self._timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # their channels are closed
        return [
            (peer, answer)
            for peer, task in zip(peers, tasks, strict=True)
            if task in done and (answer := task.result()) is not None
        ]

    async def _claim(self, peer: PeerRecord, hello: federation_pb2.HelloResponse) -> Claim | None:
        """The size of this node's log ``peer`` holds, if a checkpoint this node signed says so."""
        verifier = self._keys.verifier(self.node_id)
        assert verifier is not None  # the own log key is learned before anything starts
        for cp in hello.checkpoints:
            try:
                claimed = Checkpoint.parse(parse_note(cp.note).text)
            except (NoteError, CheckpointError):
                continue
            if claimed.origin != self._origin_line:
                continue
            try:
                checkpoint, _ = open_origin_checkpoint(
                    cp.note, verifier, self._trust_domain, self.node_id
                )
            except BatchRejected:
                await self._auth.record(
                    peer.address, f"node/{peer.node_id}", "Hello", "forged_own_checkpoint"
                )
                return None
            return Claim(peer, checkpoint.size)
        return None

    async def _recover(self, claims: Sequence[Claim], local: int, target: int) -> int:
        """Fetch and apply until the store holds ``target`` entries, trying the longest claims
        first and every claim again after a pause while it does not."""
        size = local
        ordered = sorted(claims, key=lambda c: -c.size)
        while True:
            for claim in ordered:
                if claim.size <= size:
                    continue
                size = await self._fetch_from(claim, size)
                if size >= target:
                    return size
            log.warning(
                "own log: holds %d of the %d entries peers hold; appends wait, retrying in %.1f s",
                size,
                target,
                self._retry_s,
            )
            await asyncio.sleep(self._retry_s)

    async def _fetch_from(self, claim: Claim, size: int) -> int:
        """Fetch and apply batches from one peer up to its claim; the size reached."""
        peer = claim.peer
        while size < claim.size:
            try:
                batch = await self._calls.fetch(peer, self.node_id, size, claim.size)
                entries = [
                    Entry(e.header, e.salt, e.payload if e.HasField("payload") else None)
                    for e in batch.entries
                ]
                applied = await self._db.write(
                    self._replica.recover_own, batch.first_index, entries, batch.checkpoint.note
                )
            except (grpc.aio.AioRpcError, OSError) as exc:
                log.warning("own log: fetching from peer %s failed: %s", peer.node_id, _why(exc))
                return size
            except BatchRejected as exc:
                await self._auth.record(
                    peer.address, f"node/{peer.node_id}", "Fetch", f"own_log_{exc.reason.value}"
                )
                return size
            except Exception:  # e.g. a store conflict: the next peer or attempt reads again
                log.exception("own log: applying entries from peer %s failed", peer.node_id)
                return size
            log.info(
                "own log: applied entries %d..%d from peer %s",
                applied.first_index,
                applied.size - 1,
                peer.node_id,
            )
            size = applied.size
        return size


def _why(exc: Exception) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
