"""The running node: wires storage, keys, the local log, replication and the gRPC servers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import grpc
import prometheus_client
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ccnode.v1 import (
    federation_pb2,
    federation_pb2_grpc,
    log_pb2,
)
from node.clock import Clock, SystemClock
from node.config import NodeConfig
from node.identity.auth import Authenticator
from node.identity.keyfiles import load_log_signing_key
from node.identity.origin_keys import OriginKeyError, OriginKeys
from node.identity.spiffe import peer_dns_name
from node.identity.truststore import TrustStore
from node.metrics import METRICS
from node.ownlog import preparers
from node.ownlog.writer import LocalLog
from node.replication.apply import Applied, Replica
from node.replication.links import PeerLink
from node.replication.worker import PrepareWorker
from node.runtime.extensions import EXTENSIONS, Extension
from node.store import open_store
from node.store.base import EvidenceRecord, PeerRecord
from node.store.runner import Db
from node.store.sql import SqlStore
from node.store.watch import Watch
from sync import merkle
from sync.checkpoint import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    open_checkpoint,
    origin_line,
)
from sync.equivocation import Evidence, find_equivocation
from sync.note import Ed25519Signer, NoteError, Verifier, add_signatures, parse_note
from sync.verify import BATCH_BYTES_MAX, BATCH_ENTRIES_MAX

log = logging.getLogger(__name__)

# After the prepare worker failed, catch-ups run in threads for this long before a retry.
WORKER_RETRY_S = 300.0


class Node:
    def __init__(self, config: NodeConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.watch = Watch()
        self.stopping = False
        self.links: dict[str, PeerLink] = {}
        self._server: grpc.aio.Server | None = None
        self._admin_server: grpc.aio.Server | None = None
        self.port = 0
        self.extensions: list[Extension] = []
        self.metrics_port = 0
        self._metrics_server: tuple[Any, Any] | None = None
        # Called on the event loop after a peer's batch was verified and committed.
        self.on_applied: list[Callable[[Applied], None]] = []
        self._worker: PrepareWorker | None = None
        self._worker_starting: asyncio.Task[None] | None = None
        self._worker_failed_at_s: float | None = None

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        c = self.config
        self.origin = origin_line(c.trust_domain, c.node_id)
        store = await asyncio.to_thread(open_store, c.db_url)
        self.db = Db(store)
        crls = sorted(c.crl_dir.glob("*.pem")) if c.crl_dir.exists() else []
        self.trust = TrustStore(
            c.certs_dir / "ca.pem",
            crls,
            trust_domain=c.trust_domain,
            monotonic=self.clock.monotonic_s,
        )
        self.keys = OriginKeys(
            trust=self.trust, trust_domain=c.trust_domain, store=store, clock=self.clock
        )
        await self.db.read(self.keys.load)
        own_cert = x509.load_pem_x509_certificate((c.certs_dir / "log.pem").read_bytes())
        await self.db.write(self.keys.learn, c.node_id, own_cert.public_bytes(Encoding.DER))
        key = load_log_signing_key(c.certs_dir / "log.key", c.certs_dir / "log.pem")
        self.signer = Ed25519Signer(self.origin, key)
        self.cosigner = CosignatureSigner(self.origin, key)
        self.auth = Authenticator(trust=self.trust, db=self.db, clock=self.clock)
        self.replica = Replica(
            db=self.db,
            keys=self.keys,
            node_id=c.node_id,
            trust_domain=c.trust_domain,
            # A receiver enforces the protocol's limits; its configured batch size is only
            # what it asks senders for.
            batch_entries_max=BATCH_ENTRIES_MAX,
            batch_bytes_max=BATCH_BYTES_MAX,
        )
        self.local_log = LocalLog(
            db=self.db,
            node_id=c.node_id,
            trust_domain=c.trust_domain,
            signer=self.signer,
            clock=self.clock,
            prepare=preparers.prepare,
            watch=self.watch,
            court_prefixes=c.court_prefixes,
            checkpoint_entries_max=c.limits.checkpoint_entries_max,
        )
        self.local_log.on_commit.append(self._wake_witnesses)
        await self.local_log.start()
        await self._start_servers()
        if c.metrics_listen:
            self._start_metrics(c.metrics_listen)
        for factory in EXTENSIONS:
            extension = factory(self)
            await extension.start()
            self.extensions.append(extension)
        for peer in await self.db.read(store.peers):
            self._start_link(peer)
        log.info("node %s serving on %s", c.node_id, c.listen)

    def _server_options(self) -> list[tuple[str, int]]:
        lim = self.config.limits
        return [
            ("grpc.max_receive_message_length", lim.grpc_message_bytes_max),
            ("grpc.max_send_message_length", lim.grpc_message_bytes_max),
            ("grpc.keepalive_time_ms", lim.keepalive_time_s * 1000),
            ("grpc.keepalive_timeout_ms", lim.keepalive_timeout_s * 1000),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
        ]

    async def _start_servers(self) -> None:
        from node.services import ADMIN, PUBLIC

        c = self.config
        key = (c.certs_dir / "tls.key").read_bytes()
        cert = (c.certs_dir / "tls.pem").read_bytes()
        ca = (c.certs_dir / "ca.pem").read_bytes()
        creds = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=True
        )
        server = grpc.aio.server(options=self._server_options())
        for spec in PUBLIC:
            spec.add_to_server(spec.factory(self), server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (*(spec.full_name for spec in PUBLIC), health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        self.port = server.add_secure_port(c.listen, creds)
        if self.port == 0:
            raise OSError(f"cannot listen on {c.listen}")
        await server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._server = server

        admin = grpc.aio.server(options=self._server_options())
        for spec in ADMIN:
            spec.add_to_server(spec.factory(self), admin)
        sock = c.admin_socket
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        old = os.umask(0o177)  # the socket is created 0600: only the node's user may administer
        try:
            admin.add_insecure_port(f"unix://{sock}")
            await admin.start()
        finally:
            os.umask(old)
        os.chmod(sock, 0o600)
        self._admin_server = admin

    def _start_metrics(self, listen: str) -> None:
        """Serve Prometheus metrics over plain HTTP (labels never carry personal data)."""
        host, _, port = listen.rpartition(":")
        server, thread = prometheus_client.start_http_server(
            int(port), addr=host or "127.0.0.1", registry=METRICS.registry
        )
        self.metrics_port = server.server_port
        self._metrics_server = (server, thread)

    async def stop(self) -> None:
        self.stopping = True
        self.watch.notify()  # live Subscribe streams see `stopping` and end cleanly
        if getattr(self, "health", None) is not None:
            await self.health.enter_graceful_shutdown()
        for link in list(self.links.values()):
            await link.stop()
        self.links.clear()
        if self._worker_starting is not None:
            await self._worker_starting
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
        for extension in reversed(self.extensions):
            await extension.stop()
        self.extensions.clear()
        grace = self.config.limits.shutdown_grace_s
        if self._server is not None:
            await self._server.stop(grace)
        if self._admin_server is not None:
            await self._admin_server.stop(grace)
            with contextlib.suppress(FileNotFoundError):
                self.config.admin_socket.unlink()
        if self._metrics_server is not None:
            server, thread = self._metrics_server
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._metrics_server = None
        if getattr(self, "local_log", None) is not None:
            await self.local_log.stop()
        if getattr(self, "db", None) is not None:
            await asyncio.to_thread(self.db.close)

    # ---------------------------------------------------------------- peers

    def peer_channel(self, address: str, peer_id: str) -> grpc.aio.Channel:
        c = self.config
        creds = grpc.ssl_channel_credentials(
            root_certificates=(c.certs_dir / "ca.pem").read_bytes(),
            private_key=(c.certs_dir / "tls.key").read_bytes(),
            certificate_chain=(c.certs_dir / "tls.pem").read_bytes(),
        )
        # The server must present a certificate for <peer>.node.<trust-domain>: a process at
        # the peer's address holding another node's certificate fails the handshake.
        options = [
            *self._server_options(),
            ("grpc.ssl_target_name_override", peer_dns_name(c.trust_domain, peer_id)),
        ]
        return grpc.aio.secure_channel(address, creds, options=options)

    def catchup_worker(self) -> PrepareWorker | None:
        """The helper process for large catch-ups (node.replication.worker) if it is running.

        Otherwise None, and it is started in the background, unless this node does not use
        one (memory store, turned off in the limits) or one failed in the last
        WORKER_RETRY_S; a stream meanwhile prepares its batches in threads.
        """
        if self.config.limits.catchup_worker_backlog <= 0 or self.stopping:
            return None
        worker = self._worker
        if worker is not None and worker.alive:
            return worker
        if self._worker_starting is None and isinstance(self.db.store, SqlStore):
            failed = self._worker_failed_at_s
            if failed is None or self.clock.monotonic_s() - failed >= WORKER_RETRY_S:
                self._worker_starting = asyncio.create_task(
                    self._start_worker(), name="ccnode-start-prepare-worker"
                )
        return None

    async def _start_worker(self) -> None:
        try:
            if self._worker is not None:  # it died: catch up in threads for a while
                log.warning("prepare worker exited; catching up in threads for a while")
                await self._worker.close()
                self._worker = None
                self._worker_failed_at_s = self.clock.monotonic_s()
                return
            worker = PrepareWorker(self.replica.rules)
            try:
                await worker.start()
            except OSError:
                log.exception("prepare worker did not start; catching up in threads")
                self._worker_failed_at_s = self.clock.monotonic_s()
                return
            self._worker = worker
        finally:
            self._worker_starting = None

    def _start_link(self, peer: PeerRecord) -> None:
        link = PeerLink(self, peer)
        self.links[peer.node_id] = link
        link.start()

    async def add_peer(self, peer: PeerRecord) -> None:
        await self.db.write(self.db.store.put_peer, peer)
        old = self.links.pop(peer.node_id, None)
        if old is not None:
            await old.stop()
        self._start_link(peer)

    async def remove_peer(self, node_id: str) -> bool:
        removed = await self.db.write(self.db.store.remove_peer, node_id)
        link = self.links.pop(node_id, None)
        if link is not None:
            await link.stop()
        return removed

    def _wake_witnesses(self) -> None:
        METRICS.appended.inc()
        for link in self.links.values():
            link.wake_witness()

    # ---------------------------------------------------------------- federation helpers

    async def vector_pb(self) -> federation_pb2.Vector:
        return federation_pb2.Vector(sizes=await self.db.read(self.db.store.vector))

    def origin_keys_pb(self) -> list[federation_pb2.OriginKey]:
        return [
            federation_pb2.OriginKey(origin=o, certificate_der=der)
            for o, der in sorted(self.keys.certificates().items())
        ]

    async def learn_keys(self, keys: Iterable[federation_pb2.OriginKey], source: str) -> None:
        for k in keys:
            try:
                await self.db.write(self.keys.learn, k.origin, k.certificate_der)
            except OriginKeyError as exc:
                await self.auth.record("", source, "OriginKey", f"bad_origin_key:{k.origin}")
                log.warning("refused origin key from %s: %s", source, exc)

    async def latest_checkpoints(
        self, origins: Sequence[str] = ()
    ) -> list[log_pb2.SignedCheckpoint]:
        states = await self.db.read(self.db.store.origin_states)
        return [
            log_pb2.SignedCheckpoint(note=s.checkpoint_note)
            for s in sorted(states, key=lambda s: s.origin)
            if s.checkpoint_note and (not origins or s.origin in origins)
        ]

    async def hello_response(self) -> federation_pb2.HelloResponse:
        return federation_pb2.HelloResponse(
            node_id=self.config.node_id,
            protocol_version=1,
            vector=await self.vector_pb(),
            keys=self.origin_keys_pb(),
            checkpoints=await self.latest_checkpoints(),
        )

    async def checkpoints_response(
        self, origins: Sequence[str]
    ) -> federation_pb2.CheckpointsResponse:
        evidence = await self.db.read(self.db.store.evidence)
        return federation_pb2.CheckpointsResponse(
            checkpoints=await self.latest_checkpoints(origins),
            evidence=[evidence_pb(e) for e in evidence if not origins or e.origin in origins],
        )

    async def witness(self, origin: str, checkpoint: Checkpoint, note: str) -> str | None:
        """Cosign ``origin``'s checkpoint if it matches what this node verified (else None)."""
        state = await self.db.read(self.db.store.origin_state, origin)
        if state is None or checkpoint.size > state.size or checkpoint.size == 0:
            return None
        if checkpoint.size == state.size:
            root = state.root
        else:
            leaves = await self.db.read(self.db.store.leaf_hashes, origin, 0, checkpoint.size)
            root = merkle.root(leaves)
        if root != checkpoint.root:
            await self.record_conflict(origin, note)
            return None
        sig = self.cosigner.cosign(checkpoint.body(), self.clock.now_ms() // 1000)
        return sig.line()

    async def add_cosignature(self, witness: str, size: int, line: str) -> None:
        """Keep a witness's cosignature of this node's checkpoint at ``size``, after checking it."""
        verifier = self.keys.verifier(witness)
        note = await self.db.read(self.db.store.checkpoint_at, self.config.node_id, size)
        if verifier is None or note is None:
            return
        body = parse_note(note).text
        cos_verifier = CosignatureVerifier(verifier.name, verifier.public_key_bytes)
        try:
            sig = parse_note(body + "\n" + line).signatures[0]
        except NoteError:
            return
        if not cos_verifier.verify(body, sig):
            log.warning("invalid cosignature from %s", witness)
            return
        await self.db.write(self.db.store.add_cosignature, self.config.node_id, size, witness, line)
        await self.db.write(
            self.db.store.update_checkpoint_note,
            self.config.node_id,
            size,
            add_signatures(note, [sig]),
        )

    async def check_gossip(self, checkpoints: Iterable[log_pb2.SignedCheckpoint]) -> None:
        """Compare a peer's checkpoints with what this node holds; store evidence on conflict."""
        for cp_pb in checkpoints:
            try:
                cp = Checkpoint.parse(parse_note(cp_pb.note).text)
            except (NoteError, ValueError):
                continue
            origin = cp.origin.rsplit("/", 1)[-1]
            verifier = self.keys.verifier(origin)
            if verifier is None:
                continue
            try:
                open_checkpoint(cp_pb.note, verifier)
            except (NoteError, ValueError):
                continue  # not validly signed by the origin: proves nothing
            state = await self.db.read(self.db.store.origin_state, origin)
            if state is None or cp.size > state.size:
                continue  # the stream will bring it, verified, or reject it
            held = await self.db.read(self.db.store.checkpoint_at, origin, cp.size)
            if held is not None and parse_note(held).text == parse_note(cp_pb.note).text:
                continue
            leaves = await self.db.read(self.db.store.leaf_hashes, origin, 0, state.size)
            if merkle.subtree_root(leaves, 0, cp.size) == cp.root:
                continue
            await self._evidence_from_leaves(state.checkpoint_note, cp_pb.note, verifier, leaves)

    async def investigate(
        self, origin: str, note: str, stub: federation_pb2_grpc.FederationStub
    ) -> None:
        """A validly signed checkpoint whose root our frontier cannot reach: equivocation?"""
        verifier = self.keys.verifier(origin)
        state = await self.db.read(self.db.store.origin_state, origin)
        if verifier is None or state is None or state.size == 0:
            return
        try:
            cp, _ = open_checkpoint(note, verifier)
        except (NoteError, ValueError):
            return
        evidence: Evidence | None
        if cp.size == state.size:
            evidence = find_equivocation(state.checkpoint_note, note, verifier)
        elif cp.size > state.size:
            try:
                proof = await stub.ProveConsistency(
                    federation_pb2.ProveConsistencyRequest(
                        origin=origin, old_size=state.size, new_size=cp.size
                    ),
                    timeout=30,
                )
            except grpc.aio.AioRpcError:
                return
            evidence = find_equivocation(
                state.checkpoint_note,
                note,
                verifier,
                prefix_root=proof.old_root,
                proof=list(proof.proof),
            )
        else:
            leaves = await self.db.read(self.db.store.leaf_hashes, origin, 0, state.size)
            await self._evidence_from_leaves(state.checkpoint_note, note, verifier, leaves)
            return
        if evidence is not None:
            await self.store_evidence(evidence)  # stamps detector and time

    async def record_conflict(self, origin: str, note: str) -> None:
        """``note`` (of at most the held size) disagrees with the held log: prove it from the
        held leaf hashes and store the evidence."""
        verifier = self.keys.verifier(origin)
        state = await self.db.read(self.db.store.origin_state, origin)
        if verifier is None or state is None:
            return
        leaves = await self.db.read(self.db.store.leaf_hashes, origin, 0, state.size)
        await self._evidence_from_leaves(state.checkpoint_note, note, verifier, leaves)

    async def _evidence_from_leaves(
        self, held_note: str, note: str, verifier: Verifier, leaves: list[bytes]
    ) -> None:
        evidence = find_equivocation(held_note, note, verifier, larger_leaf_hashes=leaves)
        if evidence is not None:
            await self.store_evidence(evidence)  # stamps detector and time

    async def store_evidence(self, evidence: Evidence) -> None:
        record = EvidenceRecord(
            origin=evidence.origin,
            smaller_note=evidence.smaller_note,
            larger_note=evidence.larger_note,
            prefix_root=evidence.prefix_root,
            consistency_proof=tuple(evidence.consistency_proof),
            detected_by=evidence.detected_by or self.config.node_id,
            detected_at_unix_ms=evidence.detected_at_unix_ms or self.clock.now_ms(),
        )
        new = await self.db.write(self.db.store.add_evidence, record)
        await self.db.write(self.replica.freeze, evidence.origin, "equivocation")
        if new:
            METRICS.equivocations.inc()
            log.error("EQUIVOCATION by origin %s: evidence stored, origin frozen", evidence.origin)


def evidence_pb(e: EvidenceRecord) -> log_pb2.EquivocationEvidence:
    return log_pb2.EquivocationEvidence(
        origin=e.origin,
        smaller_note=e.smaller_note,
        larger_note=e.larger_note,
        prefix_root=e.prefix_root,
        consistency_proof=list(e.consistency_proof),
        detected_by=e.detected_by,
        detected_at_unix_ms=e.detected_at_unix_ms,
    )


async def _serve(home: Path) -> None:
    config = NodeConfig.load(home)
    node = Node(config)
    await node.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    print(f"ccnode {config.node_id} listening on {config.listen} (port {node.port})", flush=True)
    await done.wait()
    await node.stop()


def run_node(home: Path) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully."""
    logging.basicConfig(
        level=os.environ.get("CCNODE_LOG", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_serve(home))
