"""Outbound replication: one long-lived Subscribe stream per configured peer.

Each link says Hello (exchanging origin keys and checkpoint gossip), subscribes with the
vector read from the store (the store is the resume point), verifies and commits every batch
in stream order (verifying batch N+1 while batch N is written: Replica.prepare / commit), and
reconnects with exponential backoff and jitter. It also asks the peer to witness (cosign)
this node's latest checkpoint.

In a mesh a link takes only the origins the router (node.replication.routes) routes through
its peer, on a Sync stream whose selection it keeps current (a Take whenever it changes); a
peer without Sync (an older version) gets a plain Subscribe and streams every origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
from collections.abc import AsyncIterable
from dataclasses import dataclass, field

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc, log_pb2
from node.clock import Clock
from node.config import Limits
from node.identity.errors import IdentityError
from node.metrics import METRICS
from node.ports import CallerAuth, EquivocationWatch, Keys, LinkStatus, PeerCheck, Witnessing
from node.replication.apply import AppliedFeed, Prepared, Replica
from node.replication.equivocation import EVIDENCE_PER_STREAM_MAX
from node.replication.exchange import Exchange
from node.replication.progress import CatchupProgress
from node.replication.routes import Router
from node.replication.supervisor import CatchupWorkers
from node.replication.wire import PeerChannels
from node.replication.worker import PrepareWorker
from node.store.base import LogReader, PeerRecord, PeerStore, StoreFull
from node.store.runner import Db
from node.store.watch import Watch
from sync import hlc
from sync.domain.calendar import CALENDAR_VERSION, check_peer_calendar
from sync.entry import Entry, decode_header
from sync.verify import BatchRejected, RejectReason

log = logging.getLogger(__name__)
STORE_FULL = "store full"


class PeerRefused(Exception):
    """The peer cannot be replicated with (e.g. another holiday calendar); said in the status
    and retried with backoff, since the peer may be upgraded."""


@dataclass(frozen=True)
class LinkParts:
    """What a link uses of the node's other parts (node.runtime wires them)."""

    node_id: str
    limits: Limits
    db: Db[LogReader]  # reads; commits go through the replica in the writer thread
    replica: Replica
    keys: Keys
    exchange: Exchange
    equivocation: EquivocationWatch
    witnessing: Witnessing
    workers: CatchupWorkers
    channels: PeerChannels
    auth: CallerAuth
    clock: Clock
    watch: Watch  # notified after each commit, for live tails of this node's streams
    applied: AppliedFeed


class PeerLink:
    def __init__(self, parts: LinkParts, peer: PeerRecord, router: Router) -> None:
        self._parts = parts
        self.peer = peer
        self._router = router
        # The selection changes of the running Sync stream, to send (None: no Sync stream).
        self._takes: asyncio.Queue[federation_pb2.SyncRequest] | None = None
        self.status = LinkStatus()
        self._task: asyncio.Task[None] | None = None
        self._witness_task: asyncio.Task[None] | None = None
        self._witness_wake = asyncio.Event()
        self._channel: grpc.aio.Channel | None = None
        self._rng = random.Random()  # jitter only; never affects state  # noqa: S311
        self._progress: CatchupProgress | None = None  # the current session's catch-up
        self._uncommitted = 0  # batches the stream received that are not committed yet
        self._said = ""  # the last connection failure logged (each change is logged once)

    def start(self) -> None:
        self._router.attach(self.peer.node_id, self.retake)
        self._task = asyncio.create_task(self._run(), name=f"ccnode-peer-{self.peer.node_id}")
        self._witness_task = asyncio.create_task(
            self._witness_loop(), name=f"ccnode-witness-{self.peer.node_id}"
        )

    async def stop(self) -> None:
        for task in (self._task, self._witness_task):
            if task is not None:
                task.cancel()
        for task in (self._task, self._witness_task):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        if self._channel is not None:
            await self._channel.close(grace=None)
        self._router.detach(self.peer.node_id)
        METRICS.peer_connected.labels(peer=self.peer.node_id).set(0)
        self._session_ended("link stopped")

    def retake(self, origins: frozenset[str]) -> None:
        """The router's new selection for this peer: sent on the running Sync stream (a
        stream that starts later takes the router's selection of that moment)."""
        if self._takes is not None:
            held = self._router.held(origins)
            self._takes.put_nowait(
                federation_pb2.SyncRequest(
                    take=federation_pb2.Take(held=federation_pb2.Vector(sizes=held))
                )
            )

    def wake_witness(self) -> None:
        self._witness_wake.set()

    # ---------------------------------------------------------------- replication

    async def _run(self) -> None:
        limits = self._parts.limits
        delay_s = limits.backoff_initial_s
        while True:
            try:
                streamed = await self._session()
                self.status.last_error = ""
                if streamed:
                    delay_s = limits.backoff_initial_s
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as exc:
                self.status.last_error = f"{exc.code().name}: {exc.details()}"
            except BatchRejected as exc:
                self.status.last_error = f"rejected batch: {exc}"
            except PeerRefused as exc:
                self.status.last_error = f"refused peer: {exc}"
            except StoreFull as exc:  # one line, no traceback, until a session succeeds again
                if not self.status.last_error.startswith(STORE_FULL):
                    log.error("peer %s: %s; retrying with backoff", self.peer.node_id, exc)
                self.status.last_error = f"{STORE_FULL}: {exc}"
            except Exception as exc:  # keep the link alive whatever happens; say why
                log.exception("peer %s: session failed", self.peer.node_id)
                self.status.last_error = f"{type(exc).__name__}: {exc}"
            self._session_ended(self.status.last_error or "stream ended")
            self._takes = None
            self._router.disconnected(self.peer.node_id)
            METRICS.peer_connected.labels(peer=self.peer.node_id).set(0)
            # Exponential backoff with full jitter, capped; a periodic wake-up is implied by
            # the cap, so a link never sleeps longer than backoff_max_s.
            await asyncio.sleep(self._rng.uniform(0, delay_s))
            delay_s = min(limits.backoff_max_s, delay_s * 2)

    def _session_ended(self, why: str) -> None:
        """Say why a session ended: a disconnection once, a failure to connect once for
        each change of its reason (a peer down for a day is not a line per retry)."""
        if self._progress is not None:
            self._progress.end(why)
            self._progress = None
        if self.status.connected:
            log.info("peer %s disconnected: %s", self.peer.node_id, why)
        elif why != self._said:
            log.info("peer %s: not connected: %s; retrying with backoff", self.peer.node_id, why)
        self._said = why
        self.status.connected = False

    def _ensure_channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = self._parts.channels.open(self.peer.address, self.peer.node_id)
        return self._channel

    async def _session(self) -> bool:
        p = self._parts
        stub = federation_pb2_grpc.FederationStub(self._ensure_channel())
        request = await p.exchange.hello_request()
        hello = await stub.Hello(request, timeout=10)
        if hello.node_id != self.peer.node_id:
            raise RuntimeError(f"peer at {self.peer.address} says it is {hello.node_id}")
        mismatch = check_peer_calendar(CALENDAR_VERSION, hello.calendar_version)
        if mismatch is not None:
            await p.auth.record(
                self.peer.address, f"node/{self.peer.node_id}", "Hello", "calendar_mismatch"
            )
            raise PeerRefused(mismatch)
        await p.exchange.learn_keys(hello.keys, f"peer:{self.peer.node_id}")
        await p.equivocation.check_gossip(hello.checkpoints)
        self.status.connected = True
        # A failure before this session stays shown only until the peer answers again: a
        # link that reconnected and streams is not in error, however long the stream lasts.
        self.status.last_error = ""
        self.status.peer_sizes = dict(hello.vector.sizes)
        METRICS.peer_connected.labels(peer=self.peer.node_id).set(1)
        METRICS.lag.peer_says(self.peer.node_id, dict(hello.vector.sizes))
        self.wake_witness()
        held = dict(request.vector.sizes)
        selective = p.limits.subscribe_selectively
        if selective:
            try:
                return await self._subscribe(stub, hello, held, selective=True)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                log.info("peer %s has no Sync: it streams every origin", self.peer.node_id)
        return await self._subscribe(stub, hello, held, selective=False)

    async def _subscribe(
        self,
        stub: federation_pb2_grpc.FederationStub,
        hello: federation_pb2.HelloResponse,
        held: dict[str, int],
        *,
        selective: bool,
    ) -> bool:
        """One stream: a Sync stream taking the router's selection (``selective``), else a
        Subscribe to every origin the peer holds."""
        p = self._parts
        peer_id = self.peer.node_id
        takes: asyncio.Queue[federation_pb2.SyncRequest] = asyncio.Queue()
        self._takes = takes if selective else None
        self._router.connected(peer_id, selective=selective, sizes=hello.vector.sizes)
        taken = self._router.takes(peer_id) if selective else None
        while not takes.empty():
            takes.get_nowait()  # superseded by the selection the stream starts with
        backlog = sum(
            max(0, size - held.get(o, 0))
            for o, size in hello.vector.sizes.items()
            if taken is None or o in taken
        )
        log.info("peer %s connected at %s", self.peer.node_id, self.peer.address)
        self._said = ""
        self._progress = CatchupProgress(self.peer.node_id, backlog, p.clock.monotonic_s)
        self._uncommitted = 0
        threshold = p.limits.catchup_worker_backlog
        catching_up = threshold > 0 and backlog >= threshold
        subscribe = federation_pb2.SubscribeRequest(
            vector=await p.exchange.vector_pb(),
            batch_entries_max=p.limits.batch_entries_max,
            batch_bytes_max=p.limits.batch_bytes_max,
            follow=True,
        )
        call: grpc.aio.Call
        writer: asyncio.Task[None] | None = None
        if taken is None:
            call = self._ensure_channel().unary_stream(
                SUBSCRIBE_METHOD,
                request_serializer=federation_pb2.SubscribeRequest.SerializeToString,
                response_deserializer=_received,
            )(subscribe)
        else:
            subscribe.take.held.sizes.update(self._router.held(taken))
            sync = self._ensure_channel().stream_stream(
                SYNC_METHOD,
                request_serializer=federation_pb2.SyncRequest.SerializeToString,
                response_deserializer=_received,
            )()
            await sync.write(federation_pb2.SyncRequest(subscribe=subscribe))
            writer = asyncio.create_task(
                _write_takes(sync, takes), name=f"ccnode-takes-{self.peer.node_id}"
            )
            call = sync
        try:
            return await self._stream(call, stub, catching_up)
        finally:
            call.cancel()
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

    async def _stream(
        self,
        call: AsyncIterable[tuple[bytes, federation_pb2.SyncMessage]],
        stub: federation_pb2_grpc.FederationStub,
        catching_up: bool,
    ) -> bool:
        """Receive, prepare and commit the stream's batches as a pipeline.

        The receiving task submits each batch for preparation (verify, fold, lay out: to
        the helper process while a large catch-up lasts, once it runs, else to a reader
        thread) and queues it (at most PIPELINE_DEPTH batches). This task commits the queued
        batches in stream order, those already prepared in one trip to the writer thread
        (and in one transaction, a savepoint each: Replica.commit_all). So batch N is written
        while batches N+1.. are verified. A rejection or an error ends the session exactly
        where applying the batches one by one would have.
        """
        p = self._parts
        queue: asyncio.Queue[_Queued | None] = asyncio.Queue(PIPELINE_DEPTH)
        streamed = False

        async def receive() -> None:
            nonlocal streamed, catching_up
            chain = _Chain(next(_CHAINS))
            offered: set[str] = set()  # origins the peer sent evidence against, this stream
            try:
                peer_id = self.peer.node_id
                async for raw, msg in call:
                    streamed = True
                    self.status.last_contact_unix_ms = p.clock.now_ms()
                    METRICS.received_bytes.labels(peer=peer_id).inc(len(raw))
                    body = msg.WhichOneof("body")
                    if body == "key":
                        await p.exchange.learn_keys([msg.key], f"peer:{peer_id}")
                    elif body == "evidence":
                        await self._evidence(msg.evidence, offered)
                    elif body == "caught_up":
                        self.status.peer_sizes = dict(msg.caught_up.vector.sizes)
                        self._router.peer_sizes(peer_id, self.status.peer_sizes)
                        catching_up = False  # the live tail: small batches, in threads
                        METRICS.lag.peer_says(peer_id, self.status.peer_sizes)
                        if self._progress is not None:
                            self._progress.on_caught_up(self._uncommitted)
                    elif body == "routes":
                        self._router.peer_routes(peer_id, msg.routes.hops)
                    elif body == "gossip":
                        self._router.gossip(peer_id, msg.gossip.note)
                    elif body == "batch":
                        METRICS.received_entries.labels(peer=peer_id).inc(len(msg.batch.entries))
                        end = msg.batch.first_index + len(msg.batch.entries)
                        METRICS.lag.peer_holds(peer_id, {msg.batch.origin: end})
                        worker = p.workers.current() if catching_up else None
                        future = await self._submit(msg.batch, raw, worker, chain)
                        self._uncommitted += 1
                        await queue.put(_Queued(future, msg.batch))
            finally:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)

        receiver = asyncio.create_task(receive(), name=f"ccnode-receive-{self.peer.node_id}")
        try:
            ended = False
            carry: _Queued | None = None
            while not ended:
                first = carry if carry is not None else await queue.get()
                carry = None
                if first is None:
                    ended = receiver.done()
                    continue  # else the receiver could not queue its end yet
                # With it, the batches queued behind it that are prepared already: the writer
                # thread commits them in one trip.
                group = [first]
                while len(group) < COMMIT_GROUP_MAX and not queue.empty():
                    queued = queue.get_nowait()
                    if queued is None:
                        ended = receiver.done()
                        break
                    if not queued.future.done():
                        carry = queued
                        break
                    group.append(queued)
                await self._commit(group, stub)
                self._uncommitted -= len(group)
                if self._progress is not None:
                    self._progress.settled(self._uncommitted)
                if receiver.done() and queue.empty() and carry is None:
                    ended = True
            receiver.result()  # the stream's error, if any, ends the session
            return streamed
        finally:
            receiver.cancel()
            # Its outcome was taken above, or the session ends on an error of its own.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver

    async def _evidence(self, evidence: log_pb2.EquivocationEvidence, offered: set[str]) -> None:
        """Evidence the peer holds, checked here before it freezes anything: one record per
        origin and EVIDENCE_PER_STREAM_MAX per stream are taken, the rest ignored."""
        if evidence.origin in offered or len(offered) >= EVIDENCE_PER_STREAM_MAX:
            return
        offered.add(evidence.origin)
        p = self._parts
        refusal = await p.equivocation.adopt(evidence)
        if refusal is not None:
            await p.auth.record(
                self.peer.address, f"node/{self.peer.node_id}", "Subscribe", refusal
            )

    async def _submit(
        self,
        batch: federation_pb2.Batch,
        raw: bytes,
        worker: PrepareWorker | None,
        chain: _Chain,
    ) -> asyncio.Future[Prepared]:
        """Start preparing a batch: in the helper process if ``worker``, else in a reader
        thread; either way after the same stream's previous batch of its origin."""
        p = self._parts
        origin = batch.origin
        previous = chain.last.get(origin)
        if worker is None:
            chain.in_worker.discard(origin)
            after = None if previous is None else await _result_or_none(previous)
            future: asyncio.Future[Prepared] = asyncio.ensure_future(
                p.db.read(
                    p.replica.prepare,
                    origin,
                    batch.first_index,
                    _entries(batch),
                    batch.checkpoint.note,
                    after=after,
                )
            )
        else:
            base, frozen = None, False  # None: the helper goes on from the chain's last state
            if origin not in chain.in_worker:
                state, frozen = await p.db.read(p.replica.log_state, origin)
                before = None if previous is None else await _result_or_none(previous)
                if before is not None:  # prepared in a thread, maybe not committed yet
                    state = before.state
                base = (state.size, state.frontier.to_bytes(), state.checkpoint_note)
                chain.in_worker.add(origin)
            verifier = p.keys.verifier(origin)
            key = None if verifier is None else (verifier.name, verifier.public_key_bytes)
            courts = p.keys.courts(origin)
            future = await worker.prepare(chain.number, base, frozen, key, raw, courts)
        # Retrieved even if the session ends before its commit looks at it.
        future.add_done_callback(_collect)
        chain.last[origin] = future
        return future

    async def _commit(self, group: list[_Queued], stub: federation_pb2_grpc.FederationStub) -> None:
        """Commit queued batches in stream order; a rejection is handled where it occurs."""
        ready: list[tuple[Prepared, federation_pb2.Batch]] = []
        for item in group:
            try:
                prepared = await item.future
            except BatchRejected as exc:
                await self._commit_ready(ready, stub)
                ready = []
                await self._rejected(exc, item.batch, stub)  # returns for a stale or frozen batch
                continue
            if prepared.received is None:  # from the helper process
                prepared.received = functools.partial(_entries, item.batch)
            ready.append((prepared, item.batch))
        await self._commit_ready(ready, stub)

    async def _commit_ready(
        self,
        ready: list[tuple[Prepared, federation_pb2.Batch]],
        stub: federation_pb2_grpc.FederationStub,
    ) -> None:
        p = self._parts
        while ready:
            applied, failure = await p.db.write(p.replica.commit_all, [p for p, _ in ready])
            for one, (_, batch) in zip(applied, ready, strict=False):
                self._router.applied(one.origin, one.size)
                p.applied.publish(one)
                METRICS.applied.labels(origin=one.origin).inc(one.count)
                METRICS.log_held(one.origin, one.size)
                if batch.entries and one.size == batch.first_index + len(batch.entries):
                    when_ms = hlc.physical_ms(decode_header(batch.entries[-1].header).hlc)
                    METRICS.checkpoint_time.labels(origin=one.origin).set(when_ms / 1000)
            if applied:
                p.watch.notify()
                if self._progress is not None:
                    self._progress.on_commit(sum(one.count for one in applied))
            if failure is None:
                return
            position, exc = failure
            if not isinstance(exc, BatchRejected):
                raise exc
            await self._rejected(exc, ready[position][1], stub)  # returns: stale or frozen batch
            ready = ready[position + 1 :]

    async def _rejected(
        self,
        exc: BatchRejected,
        batch: federation_pb2.Batch,
        stub: federation_pb2_grpc.FederationStub,
    ) -> None:
        """A stale batch is skipped (unless its checkpoint disagrees with the log held at its
        size: evidence), and so is a batch of a frozen origin (the sender has not learnt the
        evidence yet; its other origins keep flowing); any other rejection is recorded and
        ends the session."""
        p = self._parts
        METRICS.rejected.labels(reason=exc.reason.value).inc()
        if exc.reason == RejectReason.STALE:
            await p.equivocation.check_held(batch.origin, batch.checkpoint.note)
            return
        if exc.reason == RejectReason.FROZEN:
            return
        if exc.reason == RejectReason.ROOT_MISMATCH:
            await p.equivocation.investigate(batch.origin, batch.checkpoint.note, stub)
        await p.auth.record(
            self.peer.address,
            f"node/{self.peer.node_id}",
            "Subscribe",
            f"batch_{exc.reason.value}",
        )
        raise exc

    # ---------------------------------------------------------------- witnessing

    async def _witness_loop(self) -> None:
        """After each commit of this node's log (and each connection), ask the peer to cosign
        the latest checkpoint: at most one round every WITNESS_INTERVAL_S, so commits that
        come faster are witnessed by the cosignature of the newest, which covers them (the
        witness checks it against the whole log it holds)."""
        loop = asyncio.get_running_loop()  # its clock is the one the sleeps run on
        last_round_s = loop.time() - WITNESS_INTERVAL_S
        while True:
            await self._witness_wake.wait()
            # Let the peer's stream deliver the new entries first.
            await asyncio.sleep(
                max(WITNESS_DELAY_S, last_round_s + WITNESS_INTERVAL_S - loop.time())
            )
            self._witness_wake.clear()  # whatever committed until now is in this round
            last_round_s = loop.time()
            for _attempt in range(20):
                try:
                    if await self._witness_once():
                        break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # retried on the next commit or wake-up
                    log.debug("witness by %s failed: %s", self.peer.node_id, exc)
                await asyncio.sleep(0.5)

    async def _witness_once(self) -> bool:
        p = self._parts
        if not self.status.connected or self._channel is None:
            return False
        own = await p.witnessing.latest_own()
        if own is None or self.peer.node_id in own.cosigned_by:
            return True
        stub = federation_pb2_grpc.FederationStub(self._channel)
        try:
            reply = await stub.Witness(
                federation_pb2.WitnessRequest(checkpoint=log_pb2.SignedCheckpoint(note=own.note)),
                timeout=10,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return False  # not yet delivered there: try again shortly
            raise
        await p.witnessing.add_cosignature(self.peer.node_id, own.size, reply.cosignature_line)
        return True


SUBSCRIBE_METHOD = "/ccnode.v1.Federation/Subscribe"
SYNC_METHOD = "/ccnode.v1.Federation/Sync"
# Batches a stream may have received and submitted for preparation but not yet committed.
PIPELINE_DEPTH = 8
# Prepared batches committed in one trip to the writer thread (Replica.commit_all).
COMMIT_GROUP_MAX = 8
# A link asks its peer to cosign this node's latest checkpoint this long after a commit (the
# peer's stream delivers the entries meanwhile), and at most once in WITNESS_INTERVAL_S.
WITNESS_DELAY_S = 0.2
WITNESS_INTERVAL_S = 1.0
_CHAINS = itertools.count(1)  # names a stream's chain of states in the prepare worker


@dataclass(slots=True)
class _Chain:
    """One stream's batches in preparation: per origin, the latest one submitted (the next
    is verified against the state it leads to), and the origins the helper carries on."""

    number: int  # names the chain in the helper process
    last: dict[str, asyncio.Future[Prepared]] = field(default_factory=dict)
    in_worker: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Queued:
    """A received batch, being prepared (or prepared), waiting for its commit."""

    future: asyncio.Future[Prepared]
    batch: federation_pb2.Batch


async def _write_takes(
    call: grpc.aio.StreamStreamCall[federation_pb2.SyncRequest, object],
    takes: asyncio.Queue[federation_pb2.SyncRequest],
) -> None:
    """Send each new selection on the Sync stream, in order (the subscription went first)."""
    while True:
        await call.write(await takes.get())


def _received(data: bytes) -> tuple[bytes, federation_pb2.SyncMessage]:
    """A Subscribe message as received, with its bytes (the prepare worker parses those)."""
    return data, federation_pb2.SyncMessage.FromString(data)


def _entries(batch: federation_pb2.Batch) -> list[Entry]:
    return [
        Entry(e.header, e.salt, e.payload if e.HasField("payload") else None) for e in batch.entries
    ]


async def _result_or_none(future: asyncio.Future[Prepared]) -> Prepared | None:
    """The batch prepared before this one, if it was (a rejection is handled at commit)."""
    try:
        return await asyncio.shield(future)
    except Exception:
        return None


def _collect(future: asyncio.Future[Prepared]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: the session already ended on an earlier batch


class PeerLinkSet:
    """The links of this node, one per configured peer; the PeerLinks port."""

    def __init__(self, parts: LinkParts, db: Db[PeerStore]) -> None:
        self._parts = parts
        self._db = db
        self._links: dict[str, PeerLink] = {}
        self._router = Router(
            node_id=parts.node_id,
            db=parts.db,
            equivocation=parts.equivocation,
            notify=parts.watch.notify,
            clock=parts.clock,
            stall_grace_s=parts.limits.relay_stall_s,
            changes=parts.watch,
        )

    async def start(self) -> None:
        """Start the router, then a link for every peer in the store."""
        await self._router.start()
        for peer in await self._db.read(self._db.store.peers):
            self._start(peer)

    def advertised(self, subscriber: str) -> dict[str, int]:
        """The Routing port: this node's routes as told to ``subscriber``."""
        return self._router.advertised(subscriber)

    def sources(self) -> dict[str, str]:
        """Per origin, the peer this node takes it from now (sync.routing)."""
        return self._router.sources()

    def _start(self, peer: PeerRecord) -> None:
        link = PeerLink(self._parts, peer, self._router)
        self._links[peer.node_id] = link
        link.start()

    async def check_peer(self, peer: PeerRecord, timeout_s: float) -> PeerCheck:
        """Dial ``peer`` as its link would and say Hello. The channel expects the peer's name
        in the server's certificate, so any answer (even a refusal) shows the right node is
        there. A failed handshake is told apart from no server by a second, plain TLS
        handshake that reads whose certificate the address presents."""
        channel = self._parts.channels.open(peer.address, peer.node_id)
        try:
            stub = federation_pb2_grpc.FederationStub(channel)
            hello = await stub.Hello(await self._parts.exchange.hello_request(), timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return PeerCheck()  # the handshake passed: the peer answered, and refused
            failed = f"{exc.code().name}: {exc.details()}"
        else:
            return PeerCheck() if hello.node_id == peer.node_id else PeerCheck(hello.node_id)
        finally:
            await channel.close()
        try:
            served = await asyncio.to_thread(
                self._parts.channels.served_node, peer.address, timeout_s
            )
        except OSError as exc:  # refused, timed out, not TLS: nobody (or nothing) to ask
            return PeerCheck(unreachable=exc.strerror or str(exc) or type(exc).__name__)
        except IdentityError as exc:
            return PeerCheck(unreachable=f"{exc.reason}: {exc.detail}")
        if served != peer.node_id:
            return PeerCheck(served_by=served)
        return PeerCheck(unreachable=failed)

    async def add_peer(self, peer: PeerRecord) -> None:
        await self._db.write(self._db.store.put_peer, peer)
        old = self._links.pop(peer.node_id, None)
        if old is not None:
            await old.stop()
        self._start(peer)

    async def remove_peer(self, node_id: str) -> bool:
        removed = await self._db.write(self._db.store.remove_peer, node_id)
        link = self._links.pop(node_id, None)
        if link is not None:
            await link.stop()
        METRICS.lag.forget(node_id)
        return removed

    def status(self, node_id: str) -> LinkStatus | None:
        link = self._links.get(node_id)
        return None if link is None else link.status

    def wake_witnesses(self) -> None:
        """This node appended: ask every peer to cosign the new checkpoint."""
        for link in self._links.values():
            link.wake_witness()

    async def stop(self) -> None:
        for link in list(self._links.values()):
            await link.stop()
        self._links.clear()
        await self._router.stop()
