"""The seams between the node's parts: small Protocols, each naming one capability.

A part (a gRPC service, a business's background job, a replication link) is handed the ports it
uses, never the whole node; only ``node.runtime`` knows every part and wires them together.
Storage is reached through ``node.store.runner.Db`` typed by the narrow store protocols of
``node.store.base`` (``Db[RowStore]``, ``Db[LogReader]``, ...), so a part's constructor says
exactly what it may read and write.

| port              | implemented by                                   | used by                  |
|-------------------|--------------------------------------------------|--------------------------|
| Appender          | node.ownlog.writer.LocalLog                      | services, businesses     |
| ChangeFeed        | node.store.watch.Watch                           | Subscribe, tails, links  |
| AppliedFeed       | node.replication.apply.AppliedFeed               | lookup responder, links  |
| PeerLinks         | node.replication.links.PeerLinkSet               | admin, audit, lookups    |
| Keys              | node.identity.origin_keys.OriginKeys             | federation, admin, audit |
| CallerAuth        | node.identity.auth.Authenticator                 | mTLS services            |
| Witnessing        | node.replication.witnessing.Witness              | federation, links        |
| EquivocationWatch | node.replication.equivocation.EquivocationWatch  | federation, links        |
| Clock             | node.clock.SystemClock (tests: a fake clock)     | everything with time     |
| AssetSource       | node.businesses.lookups.sources.StoreAssetSource | lookup responder         |
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from node.clock import Clock

if TYPE_CHECKING:
    import grpc

    from ccnode.v1 import federation_pb2_grpc, log_pb2, payloads_pb2
    from node.identity.auth import Caller
    from node.ownlog.writer import Draft, SubmitResult
    from node.replication.apply import Applied
    from node.store.base import PeerRecord
    from sync.checkpoint import Checkpoint
    from sync.equivocation import Evidence
    from sync.note import Ed25519Verifier

__all__ = [
    "Appender",
    "AppliedFeed",
    "AssetSource",
    "CallerAuth",
    "ChangeFeed",
    "Clock",
    "EquivocationWatch",
    "Keys",
    "LinkStatus",
    "PeerLinks",
    "Witnessing",
]


class Appender(Protocol):
    """Append to this node's own log: validated, signed and committed before it returns."""

    async def submit(
        self,
        drafts: Sequence[Draft],
        actor: str,
        *,
        skip_done: bool = False,
        check_only: bool = False,
    ) -> SubmitResult: ...


class ChangeFeed(Protocol):
    """ "The store changed": a version that moves on every commit, and a wait for it.

    ``closed`` turns true when the node stops, so live streams end cleanly."""

    @property
    def version(self) -> int: ...

    @property
    def closed(self) -> bool: ...

    async def wait(self, seen_version: int, timeout_s: float) -> int: ...


class Routing(Protocol):
    """This node's routes to every origin (sync.routing), as told to one subscriber; a change
    wakes the ChangeFeed, so live Sync streams send the new routes."""

    def advertised(self, subscriber: str) -> dict[str, int]: ...


class AppliedFeed(Protocol):
    """Called on the event loop after a peer's batch was verified and committed."""

    def subscribe(self, callback: Callable[[Applied], None]) -> None: ...

    def unsubscribe(self, callback: Callable[[Applied], None]) -> None: ...


@dataclass
class LinkStatus:
    """What a replication link last saw of its peer (shown by `ccnode peers list`)."""

    connected: bool = False
    last_error: str = ""
    last_contact_unix_ms: int = 0
    peer_sizes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PeerCheck:
    """What dialling a peer's address showed before the peer is stored: the peer itself (both
    fields empty), another node (``served_by``: the node its certificate names), or no
    handshake at all (``unreachable``: why)."""

    served_by: str = ""
    unreachable: str = ""


class PeerLinks(Protocol):
    """The outbound replication links, one per configured peer."""

    async def check_peer(self, peer: PeerRecord, timeout_s: float) -> PeerCheck:
        """Whether ``peer.node_id`` serves ``peer.address``, asked within ``timeout_s``."""
        ...

    async def add_peer(self, peer: PeerRecord) -> None:
        """Store the peer and (re)start its link."""
        ...

    async def remove_peer(self, node_id: str) -> bool: ...

    def status(self, node_id: str) -> LinkStatus | None:
        """The live status of the link to ``node_id`` (None if no link runs)."""
        ...


class Keys(Protocol):
    """Which Ed25519 key signs each origin's checkpoints (learned from log certificates)."""

    def verifier(self, origin: str) -> Ed25519Verifier | None: ...

    def courts(self, origin: str) -> tuple[str, ...]: ...

    def certificates(self) -> dict[str, bytes]: ...


class CallerAuth(Protocol):
    """Per-call authentication of mTLS callers; every refusal is recorded and counted."""

    async def require(
        self, context: grpc.aio.ServicerContext, roles: Collection[str], method: str
    ) -> Caller: ...

    async def refuse(
        self,
        context: grpc.aio.ServicerContext,
        peer: str,
        identity: str,
        method: str,
        reason: str,
        code: grpc.StatusCode = ...,
        *,
        zh: str,
    ) -> None:
        """Record the refusal, then abort the call (never returns); ``zh`` says it in Chinese
        (node/identity/auth.py ``reason_zh``), the message gives ``reason`` after it."""
        ...

    async def record(
        self, peer: str, identity: str, method: str, reason: str, *, count: int = 1
    ) -> None:
        """Record ``count`` refusals of one kind as one row (folded per day by the store)."""
        ...


@dataclass(frozen=True, slots=True)
class OwnCheckpoint:
    """This node's latest checkpoint: its size, its stored note (with the cosignatures kept
    so far) and the peers whose cosignature of it is kept."""

    size: int
    note: str
    cosigned_by: frozenset[str] = frozenset()


class Witnessing(Protocol):
    """Cosigning peers' checkpoints that match what this node verified, and keeping the
    cosignatures peers make of this node's own checkpoints."""

    async def witness(self, origin: str, checkpoint: Checkpoint, note: str) -> str | None: ...

    async def latest_own(self) -> OwnCheckpoint | None:
        """This node's latest checkpoint (None while its log is empty)."""
        ...

    async def add_cosignature(self, witness: str, size: int, line: str) -> None: ...


class EquivocationWatch(Protocol):
    """Turning inconsistent, validly signed checkpoints into evidence, and freezing origins."""

    async def check_gossip(self, checkpoints: Iterable[log_pb2.SignedCheckpoint]) -> None: ...

    async def check_held(self, origin: str, note: str) -> None: ...

    async def adopt(self, wire: log_pb2.EquivocationEvidence) -> str | None:
        """Evidence a peer sent: verified here before it is stored; None or why refused."""
        ...

    async def investigate(
        self, origin: str, note: str, stub: federation_pb2_grpc.FederationStub
    ) -> None: ...

    async def record_conflict(self, origin: str, note: str) -> None: ...

    async def store_evidence(self, evidence: Evidence) -> None: ...


class AssetSource(Protocol):
    """Where the lookup responder finds a region's assets (node.businesses.lookups.sources)."""

    async def find(
        self, owner_id: str, categories: Sequence[int]
    ) -> list[payloads_pb2.AssetRecord]:
        """The owner's assets of these categories (owner_id normalised: trimmed, upper-case).
        Must not log or raise with the owner id in the message."""
        ...
