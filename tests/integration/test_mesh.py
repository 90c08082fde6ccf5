"""A mesh of real nodes over mutual TLS: each entry crosses into each node about once (an
origin is taken from the origin while that link is up, from one relay otherwise), with
failover to a relay when the origin's link drops and back when it returns, and resume after
a restart."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc

from bench.chaos import Proxy
from ccnode.v1 import admin_pb2, federation_pb2, federation_pb2_grpc, log_pb2
from node.metrics import METRICS
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, Parts, ServiceSpec
from node.services.federation import FederationService
from node.store.base import PeerRecord
from tests.integration.harness import Federation, admin, eventually, listing, valid_ids
from tests.integration.test_evidence import (
    _chengdu_and_chongqing,
    _evidence,
    _forged_entry,
    _forked_checkpoint,
    _frozen,
    _origin_signer,
    _start_rogue,
)

COURTS = {"chengdu": "川0104", "chongqing": "渝0101", "mianyang": "川0703", "deyang": "川0603"}
MESH = tuple(COURTS)


def received() -> float:
    """Entries received in batches by every in-process node so far (METRICS is shared)."""
    return _total("ccnode_received_entries_total")


def applied() -> float:
    return _total("ccnode_applied_entries_total")


def stale() -> float:
    value = METRICS.registry.get_sample_value("ccnode_rejected_batches_total", {"reason": "stale"})
    return value or 0.0


def _total(name: str) -> float:
    return sum(
        s.value for metric in METRICS.registry.collect() for s in metric.samples if s.name == name
    )


async def write(node: Node, count: int, *, start: int, per_call: int = 1) -> None:
    court = COURTS[node.config.node_id]
    ids = valid_ids(start + count)[start:]
    for i in range(0, count, per_call):
        drafts = [
            listing(case=f"（2024）{court}执{start + j + 1}号", court=court, id_number=ids[j])
            for j in range(i, min(count, i + per_call))
        ]
        await admin(node).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="法官王五"))


async def sizes(node: Node) -> dict[str, int]:
    return dict(await node.parts.db.read(node.parts.db.store.vector))


def converged(nodes: list[Node], expected: dict[str, int]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        for node in nodes:
            held = await sizes(node)
            if any(held.get(o, 0) < n for o, n in expected.items()):
                return False
        return True

    return check


def direct(nodes: list[Node]) -> Callable[[], Awaitable[bool]]:
    """Every node takes every origin from the origin itself (all links up and routed)."""

    async def check() -> bool:
        for node in nodes:
            want = {n.config.node_id for n in nodes} - {node.config.node_id}
            sources = node.parts.links.sources()
            if any(sources.get(o) != o for o in want):
                return False
        return True

    return check


async def start(federation: Federation, node_id: str) -> Node:
    """A node that retries a dropped link within a second (the tests take links down)."""
    config = federation.home(node_id)
    config.limits.backoff_max_s = 1.0
    config.save()
    return await federation.start(node_id)


async def full_mesh(federation: Federation, names: tuple[str, ...]) -> list[Node]:
    nodes = [await start(federation, n) for n in names]
    for a in names:
        for b in names:
            if a != b:
                await federation.peer(a, b)
    await eventually(direct(nodes))
    return nodes


async def test_a_full_mesh_takes_each_entry_once(federation: Federation) -> None:
    nodes = await full_mesh(federation, MESH)
    before = (received(), applied(), stale())
    await write(nodes[0], 600, start=0, per_call=200)  # a bulk import on one node
    for i, node in enumerate(nodes[1:], start=1):
        await write(node, 5, start=1000 * i)
    expected = {"chengdu": 600, "chongqing": 5, "mianyang": 5, "deyang": 5}
    await eventually(converged(nodes, expected), timeout_s=60)
    got, stored, skipped = (
        x - y for x, y in zip((received(), applied(), stale()), before, strict=True)
    )
    # Three copies of each entry before (one per peer); now one.
    assert stored == 3 * sum(expected.values())
    assert got == stored
    assert skipped == 0


async def test_failover_to_a_relay_when_the_origins_link_drops_and_back(
    federation: Federation,
) -> None:
    a, b, c = [await start(federation, n) for n in ("chengdu", "chongqing", "mianyang")]
    proxy = Proxy(a.port)
    await proxy.start()
    port = proxy.port
    await federation.link("chengdu", "chongqing")
    await federation.link("chongqing", "mianyang")
    await federation.peer("chengdu", "mianyang")
    # mianyang reaches chengdu through a proxy that the test can take down.
    await c.parts.links.add_peer(PeerRecord("chengdu", f"127.0.0.1:{port}"))
    await eventually(direct([a, b, c]))
    await write(a, 3, start=0)
    await eventually(converged([c], {"chengdu": 3}))

    await proxy.stop()  # the origin's link drops
    await eventually(lambda: _source(c, "chengdu", "chongqing"))
    from_b = (
        METRICS.registry.get_sample_value("ccnode_received_entries_total", {"peer": "chongqing"})
        or 0.0
    )
    await write(a, 4, start=10)
    await eventually(converged([c], {"chengdu": 7}))
    relayed = (
        METRICS.registry.get_sample_value("ccnode_received_entries_total", {"peer": "chongqing"})
        or 0.0
    )
    assert relayed - from_b >= 4  # mianyang's copy came through chongqing (and b's from a)

    await proxy.start(port)  # and comes back: taken from the origin again
    await eventually(lambda: _source(c, "chengdu", "chengdu"), timeout_s=30)
    before = (received(), stale())
    await write(a, 3, start=20)
    await eventually(converged([b, c], {"chengdu": 10}))
    assert received() - before[0] == 6  # one copy on each of b and c
    assert stale() == before[1]
    await proxy.stop()


async def _source(node: Node, origin: str, peer: str) -> bool:
    return node.parts.links.sources().get(origin) == peer


async def test_a_restarted_node_resumes_from_its_store(federation: Federation) -> None:
    names = ("chengdu", "chongqing", "mianyang")
    nodes = await full_mesh(federation, names)
    await write(nodes[0], 20, start=0, per_call=10)
    await eventually(converged(nodes, {"chengdu": 20}))
    await federation.stop("mianyang")
    await write(nodes[0], 30, start=100, per_call=10)
    await write(nodes[1], 5, start=200)
    c = await start(federation, "mianyang")  # its peers are in its store
    for name in names[:2]:  # on another port now
        await federation.peer(name, "mianyang")
    before = applied()
    await eventually(converged([c], {"chengdu": 50, "chongqing": 5}), timeout_s=30)
    await eventually(direct([nodes[0], nodes[1], c]))
    # Resumed from the vector in its store: only the 35 entries it lacked were applied.
    assert applied() - before == 35
    await write(nodes[0], 2, start=300)
    await eventually(converged([c], {"chengdu": 52}))


# ---------------------------------------------------------------- an older peer


class _OlderFederation(FederationService):
    """A peer of the version before Sync: it answers Sync UNIMPLEMENTED, as grpc does for a
    method a server does not have."""

    async def Sync(
        self,
        request_iterator: AsyncIterator[federation_pb2.SyncRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        yield federation_pb2.SyncMessage()  # pragma: no cover (an async generator)


def _older(p: Parts) -> FederationService:
    return _OlderFederation(
        db=p.db,
        auth=p.auth,
        keys=p.keys,
        exchange=p.exchange,
        witnessing=p.witnessing,
        changes=p.watch,
        limits=p.config.limits,
        clock=p.clock,
    )


async def test_an_older_peer_streams_every_origin_and_still_relays(
    federation: Federation,
) -> None:
    name = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name
    public = tuple(
        ServiceSpec(s.full_name, s.add_to_server, _older) if s.full_name == name else s
        for s in DEFAULT.public
    )
    a = await federation.start("chengdu")
    await federation.start("chongqing", registry=dataclasses.replace(DEFAULT, public=public))
    c = await federation.start("mianyang")
    await federation.link("chengdu", "chongqing")
    await federation.peer("mianyang", "chongqing")  # chengdu only through the older node
    await write(a, 3, start=0)
    await eventually(converged([c], {"chengdu": 3}))
    status = c.parts.links.status("chongqing")
    assert status is not None and status.connected and status.last_error == ""


async def test_a_take_naming_no_node_is_refused(federation: Federation) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.peer("chongqing", "chengdu")  # so chengdu knows chongqing's key
    channel = b.parts.channels.open(f"127.0.0.1:{a.port}", "chengdu")
    try:
        stub = federation_pb2_grpc.FederationStub(channel)
        request = federation_pb2.SubscribeRequest(follow=False)
        request.take.held.sizes["Not A Node"] = 0
        call = stub.Sync(iter([federation_pb2.SyncRequest(subscribe=request)]))
        try:
            async for _ in call:
                pass
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "take.held" in (exc.details() or "")
        else:
            raise AssertionError("a bad take was served")
    finally:
        await channel.close()


async def test_a_fork_a_relay_only_gossips_is_evidence(federation: Federation) -> None:
    """chongqing takes chengdu's log from chengdu; a relay that holds (or shows) another
    history sends only its checkpoint, as gossip: that is enough to prove equivocation."""
    a, b = await _chengdu_and_chongqing(federation, 4)
    held_leaves = await a.parts.db.read(a.parts.db.store.leaf_hashes, "chengdu", 0, 3)
    forked_note = _forked_checkpoint(_origin_signer(federation), held_leaves, [_forged_entry(3)])
    gossip = federation_pb2.SyncMessage(gossip=log_pb2.SignedCheckpoint(note=forked_note))
    await _start_rogue(federation, [gossip])
    await federation.peer("chongqing", "mianyang")

    async def frozen_on_evidence() -> bool:
        return bool(await _evidence(b)) and await _frozen(b)

    await eventually(frozen_on_evidence)
    (record,) = await b.parts.db.read(b.parts.db.store.evidence)
    assert forked_note in (record.smaller_note, record.larger_note)
    assert record.detected_by == "chongqing"
    assert b.parts.links.sources().get("chengdu") == "chengdu"  # no entry came from the relay
