"""Outbound replication: one long-lived Subscribe stream per configured peer.

Each link says Hello (exchanging origin keys and checkpoint gossip), subscribes with the
vector read from the store (the store is the resume point), verifies and applies every
batch before reading the next, and reconnects with exponential backoff and jitter. It also
asks the peer to witness (cosign) this node's latest checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

from ccnode.v1 import federation_pb2, federation_pb2_grpc, log_pb2
from node.metrics import METRICS
from node.store.base import PeerRecord
from sync.entry import Entry
from sync.verify import BatchRejected, RejectReason

if TYPE_CHECKING:
    from node.app import Node

log = logging.getLogger(__name__)


@dataclass
class LinkStatus:
    connected: bool = False
    last_error: str = ""
    last_contact_unix_ms: int = 0
    peer_sizes: dict[str, int] = field(default_factory=dict)


class PeerLink:
    def __init__(self, node: Node, peer: PeerRecord) -> None:
        self.node = node
        self.peer = peer
        self.status = LinkStatus()
        self._task: asyncio.Task[None] | None = None
        self._witness_task: asyncio.Task[None] | None = None
        self._witness_wake = asyncio.Event()
        self._channel: grpc.aio.Channel | None = None
        self._rng = random.Random()  # jitter only; never affects state  # noqa: S311

    def start(self) -> None:
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
        METRICS.peer_connected.labels(peer=self.peer.node_id).set(0)

    def wake_witness(self) -> None:
        self._witness_wake.set()

    # ---------------------------------------------------------------- replication

    async def _run(self) -> None:
        limits = self.node.config.limits
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
            except Exception as exc:  # keep the link alive whatever happens; say why
                log.exception("peer %s: session failed", self.peer.node_id)
                self.status.last_error = f"{type(exc).__name__}: {exc}"
            self.status.connected = False
            METRICS.peer_connected.labels(peer=self.peer.node_id).set(0)
            # Exponential backoff with full jitter, capped; a periodic wake-up is implied by
            # the cap, so a link never sleeps longer than backoff_max_s.
            await asyncio.sleep(self._rng.uniform(0, delay_s))
            delay_s = min(limits.backoff_max_s, delay_s * 2)

    def _ensure_channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = self.node.peer_channel(self.peer.address, self.peer.node_id)
        return self._channel

    async def _session(self) -> bool:
        n = self.node
        stub = federation_pb2_grpc.FederationStub(self._ensure_channel())
        vector = await n.vector_pb()
        hello = await stub.Hello(
            federation_pb2.HelloRequest(
                node_id=n.config.node_id, protocol_version=1, vector=vector, keys=n.origin_keys_pb()
            ),
            timeout=10,
        )
        if hello.node_id != self.peer.node_id:
            raise RuntimeError(f"peer at {self.peer.address} says it is {hello.node_id}")
        await n.learn_keys(hello.keys, f"peer:{self.peer.node_id}")
        await n.check_gossip(hello.checkpoints, stub, self.peer.node_id)
        self.status.connected = True
        self.status.peer_sizes = dict(hello.vector.sizes)
        METRICS.peer_connected.labels(peer=self.peer.node_id).set(1)
        self.wake_witness()
        call = stub.Subscribe(
            federation_pb2.SubscribeRequest(
                vector=await n.vector_pb(),
                batch_entries_max=n.config.limits.batch_entries_max,
                batch_bytes_max=n.config.limits.batch_bytes_max,
                follow=True,
            )
        )
        streamed = False
        try:
            async for msg in call:
                streamed = True
                self.status.last_contact_unix_ms = n.clock.now_ms()
                body = msg.WhichOneof("body")
                if body == "batch":
                    await self._apply(msg.batch, stub)
                elif body == "key":
                    await n.learn_keys([msg.key], f"peer:{self.peer.node_id}")
                elif body == "caught_up":
                    self.status.peer_sizes = dict(msg.caught_up.vector.sizes)
        finally:
            call.cancel()
        return streamed

    async def _apply(
        self, batch: federation_pb2.Batch, stub: federation_pb2_grpc.FederationStub
    ) -> None:
        n = self.node
        entries = [
            Entry(e.header, e.salt, e.payload if e.HasField("payload") else None)
            for e in batch.entries
        ]
        try:
            applied = await n.db.write(
                n.replica.apply, batch.origin, batch.first_index, entries, batch.checkpoint.note
            )
        except BatchRejected as exc:
            METRICS.rejected.labels(reason=exc.reason.value).inc()
            if exc.reason == RejectReason.STALE:
                return
            if exc.reason == RejectReason.ROOT_MISMATCH:
                await n.investigate(batch.origin, batch.checkpoint.note, stub, self.peer.node_id)
            await n.auth.record(
                self.peer.address,
                f"node/{self.peer.node_id}",
                "Subscribe",
                f"batch_{exc.reason.value}",
            )
            raise
        for callback in n.on_applied:
            callback(applied)
        METRICS.applied.labels(origin=batch.origin).inc(applied.count)
        METRICS.log_size.labels(origin=batch.origin).set(applied.size)
        n.watch.notify()

    # ---------------------------------------------------------------- witnessing

    async def _witness_loop(self) -> None:
        while True:
            await self._witness_wake.wait()
            self._witness_wake.clear()
            await asyncio.sleep(0.2)  # let the peer's stream deliver the new entries first
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
        n = self.node
        if not self.status.connected or self._channel is None:
            return False
        state = await n.db.read(n.db.store.origin_state, n.config.node_id)
        if state is None or state.size == 0:
            return True
        cosigned = await n.db.read(n.db.store.cosignatures, n.config.node_id, state.size)
        if any(w == self.peer.node_id for w, _ in cosigned):
            return True
        stub = federation_pb2_grpc.FederationStub(self._channel)
        try:
            reply = await stub.Witness(
                federation_pb2.WitnessRequest(
                    checkpoint=log_pb2.SignedCheckpoint(note=state.checkpoint_note)
                ),
                timeout=10,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return False  # not yet delivered there: try again shortly
            raise
        await n.add_cosignature(self.peer.node_id, state.size, reply.cosignature_line)
        return True
