"""Helpers of the audit tests: auditor certificates, mTLS channels to a node as any identity,
and the CLI run in a worker thread (the nodes under test serve on this test's event loop)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
from click.testing import Result

from ccnode.v1 import admin_pb2, audit_pb2_grpc, log_pb2, payloads_pb2
from node.config import NodeConfig
from node.identity import ca
from node.identity.spiffe import peer_dns_name
from node.runtime.node import Node
from tests.cli.support import run
from tests.integration.harness import CERTS_FROM, TRUST_DOMAIN, Federation, admin, listing

AUDITOR = "npc"  # 全国人大 / 人大常委会 auditor, by name in its certificate
AUDITOR_URI = f"spiffe://{TRUST_DOMAIN}/auditor/{AUDITOR}"


def issue_auditor(federation: Federation, name: str = AUDITOR) -> Path:
    out = federation.root / "certs" / f"auditor-{name}"
    if not (out / "tls.pem").exists():
        ca.issue_auditor(federation.ca, name, out, days=3650, now=CERTS_FROM)
    return out


def channel(certs: Path, node: Node) -> grpc.aio.Channel:
    """A mutual-TLS channel to ``node`` as whoever ``certs`` (tls.pem, tls.key, ca.pem) names."""
    creds = grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.pem").read_bytes(),
        private_key=(certs / "tls.key").read_bytes(),
        certificate_chain=(certs / "tls.pem").read_bytes(),
    )
    target = peer_dns_name(TRUST_DOMAIN, node.config.node_id)
    options = [("grpc.ssl_target_name_override", target)]
    return grpc.aio.secure_channel(f"127.0.0.1:{node.port}", creds, options=options)


def audit_stub(ch: grpc.aio.Channel) -> audit_pb2_grpc.AuditStub:
    return audit_pb2_grpc.AuditStub(ch)


def grant_payloads(federation: Federation, node_id: str, *auditors: str) -> None:
    """Write ``payload_auditors`` into a node's node.json (before it starts)."""
    config = federation.home(node_id)
    config.payload_auditors = list(auditors)
    config.save()
    assert NodeConfig.load(config.home).payload_auditors == list(auditors)


async def submit_listings(node: Node, count: int, *, start: int = 0) -> list[str]:
    """``count`` listings, one commit (and so one checkpoint) each."""
    from tests.integration.harness import valid_ids

    ids = valid_ids(start + count)[start:]
    out = []
    for id_number in ids:
        reply = await admin(node).Submit(
            admin_pb2.SubmitRequest(drafts=[listing(id_number=id_number)], actor="法官王五")
        )
        out.extend(reply.entry_ids)
    return out


async def own_entries(node: Node) -> list[Any]:
    state = await node.parts.db.read(node.parts.db.store.origin_state, node.config.node_id)
    size = state.size if state else 0
    return await node.parts.db.read(node.parts.db.store.entries, node.config.node_id, 0, size)


async def access_records(node: Node) -> list[tuple[str, payloads_pb2.AccessRecorded]]:
    """(actor, AccessRecorded) of every ACCESS_RECORDED entry in the node's own log."""
    out = []
    for e in await own_entries(node):
        if e.kind == log_pb2.ACCESS_RECORDED and e.payload is not None:
            body = payloads_pb2.Payload.FromString(e.payload).access_recorded
            out.append((e.actor, body))
    return out


async def cli(*args: str | Path) -> Result:
    """The ccnode CLI, in a worker thread so the nodes on this loop keep serving."""
    return await asyncio.to_thread(run, *args)


async def cli_ok(*args: str | Path) -> Result:
    result = await cli(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


async def cli_fails(exit_code: int, *args: str | Path) -> Result:
    result = await cli(*args)
    assert result.exit_code == exit_code, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def json_of(result: Result) -> Any:
    return json.loads(result.stdout)


def address(node: Node) -> str:
    return f"127.0.0.1:{node.port}"
