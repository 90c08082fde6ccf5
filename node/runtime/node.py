"""The running node: builds every part in ``start`` and stops them in reverse in ``stop``.

This is the only module that knows every part. It holds no business logic: each part gets the
ports it uses (node.ports), and which services and background parts run is the registry's
(node.runtime.registry).

Start order, and why:
1. the store and its runner; the trust store and origin keys (own log key learned first);
2. authentication, the replica (receiving side), equivocation watch, witnessing, exchange;
3. stored delisting deadlines counted again if the holiday calendar changed since the store
   last saw it (node.businesses.blacklist.calendar_upgrade), before anything folds; then the
   local log, so its last index and clock are loaded before anyone can submit; it starts
   gated: submissions wait until step 6;
4. the servers (peers, auditors, the CLI can now call);
5. background parts (expiry, lookup responder, payload retention), then the peer links, so
   nothing is applied before the parts that react to applied batches are listening;
6. own-log recovery (node.replication.recovery), in a task: it asks the peers how much of
   this node's log they hold, fetches what the store lacks, then opens the local log's gate.
   Never signing before it ends is what keeps a node restored from an older copy from
   equivocating; serving and replicating other logs need not wait for it.
Stop runs the same list backwards, after telling live streams to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from node.businesses.agency import AgencyGate
from node.businesses.blacklist.calendar_upgrade import refresh_on_start
from node.clock import Clock, SystemClock, today
from node.config import NodeConfig
from node.identity.auth import Authenticator
from node.identity.keyfiles import load_log_signing_key
from node.identity.origin_keys import OriginKeys
from node.identity.truststore import TrustStore
from node.metrics import METRICS
from node.ownlog import preparers
from node.ownlog.writer import LocalLog
from node.replication.apply import AppliedFeed, Replica
from node.replication.equivocation import EquivocationWatch
from node.replication.exchange import Exchange
from node.replication.links import LinkParts, PeerLinkSet
from node.replication.recovery import GrpcPeerCalls, OwnLogRecovery
from node.replication.supervisor import CatchupWorkers
from node.replication.wire import PeerChannels
from node.replication.witnessing import Witness
from node.runtime.home_lock import HomeLock
from node.runtime.registry import DEFAULT, Background, Parts, Registry
from node.runtime.servers import Servers
from node.store import open_store
from node.store.base import LogReader
from node.store.runner import Db
from node.store.sql import SqlStore
from node.store.watch import Watch
from sync import hlc
from sync.checkpoint import CosignatureSigner, origin_line
from sync.domain.calendar import CALENDAR_VERSION, DEFAULT_CALENDAR
from sync.note import Ed25519Signer
from sync.verify import BATCH_BYTES_MAX, BATCH_ENTRIES_MAX

log = logging.getLogger(__name__)
_P = TypeVar("_P")


class Node:
    def __init__(
        self, config: NodeConfig, *, clock: Clock | None = None, registry: Registry = DEFAULT
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.registry = registry
        self.servers = Servers(config)
        self._lock = HomeLock(config.home)
        self._parts: Parts | None = None
        self._background: list[Background] = []
        self._recovery: asyncio.Task[None] | None = None

    @property
    def parts(self) -> Parts:
        """The running node's parts (tests and the runtime only); after ``start``."""
        if self._parts is None:
            raise RuntimeError("the node is not started")
        return self._parts

    @property
    def background(self) -> tuple[Background, ...]:
        """The running background parts (tests and tools drive a run of one directly)."""
        return tuple(self._background)

    @property
    def port(self) -> int:
        return self.servers.port

    @property
    def metrics_port(self) -> int:
        return self.servers.metrics_port

    def background_part(self, kind: type[_P]) -> _P | None:
        """The running background part of type ``kind`` (e.g. the public page), if any."""
        return next((part for part in self._background if isinstance(part, kind)), None)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._lock.acquire()  # before anything touches the home's store or socket
        try:
            parts = await self._build()
        except BaseException:
            self._lock.release()
            raise
        self._parts = parts
        try:
            # Before anything folds or serves: stored deadlines in this release's calendar.
            await refresh_on_start(parts.db, CALENDAR_VERSION)
            await parts.local_log.start(recovering=True)
            await self.servers.start(parts, self.registry.public, self.registry.admin)
            for factory in self.registry.background:
                part = factory(parts)
                await part.start()
                self._background.append(part)
            await parts.links.start()
        except BaseException:
            await self.stop()  # what started stops again; the home is unlocked
            raise
        await self._initial_metrics(parts)
        c = self.config
        log.info(
            "node %s started: federation %s (port %d), admin socket %s, metrics %s, store %s",
            c.node_id,
            c.listen,
            self.port,
            c.admin_socket,
            self.servers.metrics_address or "off",
            "sqlite" if not c.db else c.db.split(":", 1)[0],
        )
        self._recovery = asyncio.create_task(self._recover(parts), name="ccnode-own-log-recovery")
        day = today(self.clock)
        if not DEFAULT_CALENDAR.covers(day, day):
            log.warning(
                "no statutory holiday data for %d in calendar %s: working days are counted "
                "Monday to Friday; upgrade to a release with that year's data",
                day.year,
                CALENDAR_VERSION,
            )

    async def _initial_metrics(self, parts: Parts) -> None:
        """What the metrics say before anything happens: every log's size and checkpoint
        time as stored (the own log's too, after a restart)."""
        states = await parts.db.read(parts.db.store.origin_states)
        for state in states:
            METRICS.log_held(state.origin, state.size)
        sizes = [(state.origin, state.size) for state in states]
        last = await parts.db.read(_last_entries, parts.db.store, sizes)
        for origin, entry_hlc in last.items():
            METRICS.checkpoint_time.labels(origin=origin).set(hlc.physical_ms(entry_hlc) / 1000)

    async def _recover(self, parts: Parts) -> None:
        """Own-log recovery, then the local log's gate opens (start step 6)."""
        c = self.config
        recovery = OwnLogRecovery(
            db=parts.db,
            replica=parts.replica,
            keys=parts.keys,
            auth=parts.auth,
            calls=GrpcPeerCalls(parts.channels, parts.exchange),
            node_id=c.node_id,
            trust_domain=c.trust_domain,
            timeout_s=c.limits.own_log_recovery_timeout_s,
            retry_s=c.limits.own_log_recovery_retry_s,
        )
        try:
            await recovery.run()
        except Exception:  # the gate stays closed: appending now could equivocate
            log.exception("own-log recovery failed; this node does not append until restarted")
            return
        parts.watch.notify()  # recovered entries: live Subscribe streams may relay them now
        await self._initial_metrics(parts)  # the own log's size and time, as recovered
        await parts.local_log.recovered()

    async def recovered(self) -> None:
        """Wait until own-log recovery has ended and appends are taken (tests, tools)."""
        if self._recovery is not None:
            await asyncio.shield(self._recovery)

    async def _build(self) -> Parts:
        c = self.config
        store = await asyncio.to_thread(open_store, c.db_url)
        db = Db(store)
        crls = sorted(c.crl_dir.glob("*.pem")) if c.crl_dir.exists() else []
        trust = TrustStore(
            c.certs_dir / "ca.pem",
            crls,
            trust_domain=c.trust_domain,
            monotonic=self.clock.monotonic_s,
        )
        _certificate_metrics(c.certs_dir, trust)
        keys = OriginKeys(trust=trust, trust_domain=c.trust_domain, store=store, clock=self.clock)
        await db.read(keys.load)
        own_cert = x509.load_pem_x509_certificate((c.certs_dir / "log.pem").read_bytes())
        await db.write(keys.learn, c.node_id, own_cert.public_bytes(Encoding.DER))
        key = load_log_signing_key(c.certs_dir / "log.key", c.certs_dir / "log.pem")
        origin = origin_line(c.trust_domain, c.node_id)
        signer = Ed25519Signer(origin, key)
        auth = Authenticator(trust=trust, db=db, clock=self.clock)
        replica = Replica(
            db=db,
            keys=keys,
            node_id=c.node_id,
            trust_domain=c.trust_domain,
            # A receiver enforces the protocol's limits; its configured batch size is only
            # what it asks senders for.
            batch_entries_max=BATCH_ENTRIES_MAX,
            batch_bytes_max=BATCH_BYTES_MAX,
            clock=self.clock,
        )
        watch = Watch()
        equivocation = EquivocationWatch(
            db=db,
            keys=keys,
            freezer=replica,
            node_id=c.node_id,
            clock=self.clock,
            notify=watch.notify,  # Subscribe streams pass new evidence on
        )
        witnessing = Witness(
            db=db,
            keys=keys,
            cosigner=CosignatureSigner(origin, key),
            equivocation=equivocation,
            node_id=c.node_id,
            clock=self.clock,
            changes=watch,  # the latest own checkpoint is read once per commit
        )
        exchange = Exchange(db=db, keys=keys, auth=auth, node_id=c.node_id)
        applied = AppliedFeed()
        workers = CatchupWorkers(
            rules=replica.rules,
            enabled=c.limits.catchup_worker_backlog > 0 and isinstance(store, SqlStore),
            clock=self.clock,
        )
        channels = PeerChannels(certs_dir=c.certs_dir, trust_domain=c.trust_domain, limits=c.limits)
        links = PeerLinkSet(
            LinkParts(
                node_id=c.node_id,
                limits=c.limits,
                db=db,
                replica=replica,
                keys=keys,
                exchange=exchange,
                equivocation=equivocation,
                witnessing=witnessing,
                workers=workers,
                channels=channels,
                auth=auth,
                clock=self.clock,
                watch=watch,
                applied=applied,
            ),
            db,
        )
        local_log = LocalLog(
            db=db,
            node_id=c.node_id,
            trust_domain=c.trust_domain,
            signer=signer,
            clock=self.clock,
            prepare=preparers.dispatch(self.registry.preparers),
            watch=watch,
            court_prefixes=_own_courts(keys.courts(c.node_id), c.court_prefixes),
            checkpoint_entries_max=c.limits.checkpoint_entries_max,
            courts_of=keys.courts,
        )
        local_log.on_commit.append(links.wake_witnesses)
        return Parts(
            config=c,
            clock=self.clock,
            db=db,
            watch=watch,
            applied=applied,
            local_log=local_log,
            keys=keys,
            auth=auth,
            signer=signer,
            exchange=exchange,
            witnessing=witnessing,
            equivocation=equivocation,
            links=links,
            channels=channels,
            replica=replica,
            workers=workers,
            asset_source=self.registry.asset_source,
            agency_gate=AgencyGate(db=db, config=c.agencies, clock=self.clock),
        )

    async def stop(self) -> None:
        parts = self._parts
        if parts is not None:
            parts.watch.close()  # live Subscribe streams see it and end cleanly
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
            self._recovery = None
        await self.servers.enter_graceful_shutdown()
        if parts is not None:
            await parts.links.stop()
            await parts.workers.close()
        for part in reversed(self._background):
            await part.stop()
        self._background.clear()
        await self.servers.stop()
        if parts is not None:
            await parts.local_log.stop()
            await asyncio.to_thread(parts.db.close)
            self._parts = None
        self._lock.release()


def _certificate_metrics(certs: Path, trust: TrustStore) -> None:
    """The certificates' expiry (read at start, as the certificates are) and the CRLs' next
    update (read when scraped: CRLs are reloaded while the node runs)."""
    for name, path in (("tls", "tls.pem"), ("log", "log.pem"), ("ca", "ca.pem")):
        bundle = x509.load_pem_x509_certificates((certs / path).read_bytes())
        expiry = min(cert.not_valid_after_utc for cert in bundle)  # a CA bundle: the earliest
        METRICS.cert_expiry.labels(cert=name).set(expiry.timestamp())

    def next_update() -> float | None:
        when = trust.next_update()
        return None if when is None else when.timestamp()

    METRICS.crl_next_update.set_function(next_update)


def _last_entries(store: LogReader, sizes: list[tuple[str, int]]) -> dict[str, int]:
    """The HLC of each log's last entry (in the reader thread)."""
    out: dict[str, int] = {}
    for origin, size in sizes:
        if size > 0:
            entries = store.entries(origin, size - 1, size, with_payload=False)
            if entries:
                out[origin] = entries[0].hlc
    return out


def _own_courts(certified: tuple[str, ...], configured: list[str]) -> tuple[str, ...]:
    """The courts this node appends facts for: those its log certificate names, which every
    receiver checks (node/identity/court_authority.py); node.toml's ``court_prefixes`` only
    says what the operator expected, and a difference is logged."""
    if set(certified) != set(configured):
        log.warning(
            "court_prefixes in node.toml (%s) differ from the log certificate's (%s); the "
            "certificate's apply: reissue it with `ccnode certs issue --court-prefix`",
            ", ".join(configured) or "none",
            ", ".join(certified) or "none",
        )
    return certified
