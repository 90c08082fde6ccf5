"""Which gRPC services the node serves, and where.

PUBLIC services listen on the node's mutual-TLS port (peers, auditors); each servicer does its
own per-call authentication with ``node.identity.auth``. ADMIN services listen on the 0600 Unix
socket in the node's home (the local CLI). Add a business's servicer with one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ccnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    federation_pb2,
    federation_pb2_grpc,
    lookups_pb2,
    lookups_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)

if TYPE_CHECKING:
    from node.runtime.node import Node


@dataclass(frozen=True)
class ServiceSpec:
    full_name: str  # for server reflection
    add_to_server: Callable[[Any, Any], None]
    factory: Callable[[Node], Any]  # the servicer for a node


def _federation(node: Node) -> Any:
    from node.services.federation import FederationService

    return FederationService(node)


def _audit(node: Node) -> Any:
    from node.services.audit import AuditService

    return AuditService(node)


def _lookups(node: Node) -> Any:
    from node.services.lookups import LookupsService

    return LookupsService(node)


def _tasks(node: Node) -> Any:
    from node.services.tasks import TasksService

    return TasksService(node)


def _admin(node: Node) -> Any:
    from node.services.admin import AdminService

    return AdminService(node)


PUBLIC: list[ServiceSpec] = [
    ServiceSpec(
        federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name,
        federation_pb2_grpc.add_FederationServicer_to_server,
        _federation,
    ),
    ServiceSpec(
        audit_pb2.DESCRIPTOR.services_by_name["Audit"].full_name,
        audit_pb2_grpc.add_AuditServicer_to_server,
        _audit,
    ),
]

ADMIN: list[ServiceSpec] = [
    ServiceSpec(
        admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
        admin_pb2_grpc.add_AdminServicer_to_server,
        _admin,
    ),
    ServiceSpec(
        lookups_pb2.DESCRIPTOR.services_by_name["Lookups"].full_name,
        lookups_pb2_grpc.add_LookupsServicer_to_server,
        _lookups,
    ),
    ServiceSpec(
        tasks_pb2.DESCRIPTOR.services_by_name["Tasks"].full_name,
        tasks_pb2_grpc.add_TasksServicer_to_server,
        _tasks,
    ),
]
