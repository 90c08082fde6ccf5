"""What the node serves and runs: its gRPC services and its background parts.

Each entry is a factory that takes the runtime's ``Parts`` and hands the part only the ports it
uses (node.ports); no service or business ever sees the whole node. PUBLIC services listen on
the node's mutual-TLS port (peers, auditors) and authenticate every call themselves
(node.identity.auth); ADMIN services listen on the 0600 Unix socket in the node's home (the
local CLI). Background parts start after the servers and the local log and stop before them.

A business adds its servicer or background part with one entry here; a region that plugs in
its own asset source passes a ``Registry`` with another ``asset_source`` to ``Node`` (and a
test a broken preparer, with other ``preparers``): no module-level state is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc

from ccnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    agency_pb2,
    agency_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    federation_pb2,
    federation_pb2_grpc,
    lookups_pb2,
    lookups_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from node.businesses.agency import AgencyGate
from node.businesses.blacklist.expiry import BlacklistExpiry
from node.businesses.lookups.responder import LookupResponder
from node.businesses.lookups.sources import SourceFactory, store_source
from node.businesses.retention import RetentionPurge
from node.clock import Clock
from node.config import NodeConfig
from node.identity.auth import Authenticator
from node.identity.origin_keys import OriginKeys
from node.ownlog.preparers import PREPARERS
from node.ownlog.writer import LocalLog, Prepare
from node.public.page import DisclosurePage
from node.replication.apply import AppliedFeed, Replica
from node.replication.cutting import BatchCutter, cut_batch
from node.replication.equivocation import EquivocationWatch
from node.replication.exchange import Exchange
from node.replication.links import PeerLinkSet
from node.replication.supervisor import CatchupWorkers
from node.replication.wire import PeerChannels
from node.replication.witnessing import Witness
from node.services.admin import AdminService
from node.services.agency import AgencyService
from node.services.audit import AuditService
from node.services.federation import FederationService
from node.services.lookups import LookupsService
from node.services.tasks import TasksService
from node.store.base import Store
from node.store.runner import Db
from node.store.watch import Watch
from sync.note import Ed25519Signer


@dataclass(frozen=True)
class Parts:
    """Everything the runtime built, for the factories below to take their ports from."""

    config: NodeConfig
    clock: Clock
    db: Db[Store]
    watch: Watch
    applied: AppliedFeed
    local_log: LocalLog
    keys: OriginKeys
    auth: Authenticator
    signer: Ed25519Signer
    exchange: Exchange
    witnessing: Witness
    equivocation: EquivocationWatch
    links: PeerLinkSet
    channels: PeerChannels  # mutual-TLS channels to peers (links, own-log recovery)
    replica: Replica
    workers: CatchupWorkers
    asset_source: SourceFactory
    agency_gate: AgencyGate  # admission, rates and quotas of the Agency service's callers


class Background(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceSpec:
    full_name: str  # for server reflection
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    factory: Callable[[Parts], object]  # the servicer, given the node's parts


def federation_service(p: Parts, *, cutter: BatchCutter = cut_batch) -> FederationService:
    """The Federation servicer (a test relay passes a cutter that withholds part of a log)."""
    return FederationService(
        db=p.db,
        auth=p.auth,
        keys=p.keys,
        exchange=p.exchange,
        witnessing=p.witnessing,
        changes=p.watch,
        limits=p.config.limits,
        clock=p.clock,
        cutter=cutter,
        routing=p.links,
    )


def _audit(p: Parts) -> AuditService:
    return AuditService(
        db=p.db,
        auth=p.auth,
        appender=p.local_log,
        keys=p.keys,
        exchange=p.exchange,
        links=p.links,
        node_id=p.config.node_id,
        trust_domain=p.config.trust_domain,
        payload_auditors=p.config.payload_auditors,
        clock=p.clock,
    )


def _admin(p: Parts) -> AdminService:
    return AdminService(
        db=p.db,
        config=p.config,
        appender=p.local_log,
        links=p.links,
        keys=p.keys,
        signer=p.signer,
        clock=p.clock,
        agency_gate=p.agency_gate,
    )


def _agency(p: Parts) -> AgencyService:
    return AgencyService(
        db=p.db,
        auth=p.auth,
        gate=p.agency_gate,
        appender=p.local_log,
        changes=p.watch,
        clock=p.clock,
        masks=p.config.masks.policies(),
    )


def _lookups(p: Parts) -> LookupsService:
    return LookupsService(
        db=p.db,
        appender=p.local_log,
        links=p.links,
        changes=p.watch,
        applied=p.applied,
        court_prefixes=tuple(p.config.court_prefixes),
        clock=p.clock,
    )


def _tasks(p: Parts) -> TasksService:
    return TasksService(
        db=p.db,
        appender=p.local_log,
        node_id=p.config.node_id,
        clock=p.clock,
        masks=p.config.masks.policies(),
        court_prefixes=tuple(p.config.court_prefixes),
    )


def _blacklist_expiry(p: Parts) -> Background:
    return BlacklistExpiry(db=p.db, appender=p.local_log, node_id=p.config.node_id, clock=p.clock)


def _retention(p: Parts) -> Background:
    return RetentionPurge(
        db=p.db,
        settings=p.config.retention,
        node_id=p.config.node_id,
        clock=p.clock,
        links=p.links,
    )


def _lookup_responder(p: Parts) -> Background:
    return LookupResponder(
        db=p.db,
        appender=p.local_log,
        applied=p.applied,
        source=p.asset_source(p.db),
        node_id=p.config.node_id,
        limits=p.config.limits,
        clock=p.clock,
        courts_of=p.keys.courts,
    )


class _Off:
    """A background part that is not configured: nothing to start or stop."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def _public_page(p: Parts) -> Background:
    """The public disclosure page, when ``public.listen`` is set (node/public/)."""
    c = p.config
    if not c.public.listen:
        return _Off()
    return DisclosurePage(db=p.db, config=c.public, home=c.home, clock=p.clock)


def _spec(
    module: Any,
    service: str,
    add: Callable[[Any, grpc.aio.Server], None],
    factory: Callable[[Parts], object],
) -> ServiceSpec:
    return ServiceSpec(module.DESCRIPTOR.services_by_name[service].full_name, add, factory)


@dataclass(frozen=True)
class Registry:
    public: tuple[ServiceSpec, ...]
    admin: tuple[ServiceSpec, ...]
    background: tuple[Callable[[Parts], Background], ...]
    asset_source: SourceFactory = store_source
    preparers: Mapping[int, Prepare] = field(default_factory=lambda: PREPARERS)


PUBLIC = (
    _spec(
        federation_pb2,
        "Federation",
        federation_pb2_grpc.add_FederationServicer_to_server,
        federation_service,
    ),
    _spec(audit_pb2, "Audit", audit_pb2_grpc.add_AuditServicer_to_server, _audit),
    _spec(agency_pb2, "Agency", agency_pb2_grpc.add_AgencyServicer_to_server, _agency),
)
ADMIN = (
    _spec(admin_pb2, "Admin", admin_pb2_grpc.add_AdminServicer_to_server, _admin),
    _spec(lookups_pb2, "Lookups", lookups_pb2_grpc.add_LookupsServicer_to_server, _lookups),
    _spec(tasks_pb2, "Tasks", tasks_pb2_grpc.add_TasksServicer_to_server, _tasks),
)
BACKGROUND = (_blacklist_expiry, _lookup_responder, _public_page, _retention)

DEFAULT = Registry(public=PUBLIC, admin=ADMIN, background=BACKGROUND)
