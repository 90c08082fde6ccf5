"""Equivocation evidence spreads over real mTLS: the first node to find it passes it on its
Subscribe streams, every honest node verifies it itself and freezes the origin; evidence that
does not verify is refused and recorded; a fork delivered as a stale batch is evidence too."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import federation_pb2, log_pb2, payloads_pb2
from node.identity.keyfiles import load_log_signing_key
from node.metrics import METRICS
from node.replication.cutting import cut_batch
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, Parts, ServiceSpec
from node.services.federation import FederationService
from node.store import open_store
from node.store.base import OriginState, StoredEntry
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from sync.payload import encode_payload
from tests.integration.auditkit import submit_listings
from tests.integration.harness import TRUST_DOMAIN, Federation, eventually

pytestmark = pytest.mark.integration

ORIGIN = "chengdu"
HONEST = ("chongqing", "mianyang", "deyang", "leshan")


async def _size(node: Node, origin: str = ORIGIN) -> int:
    state = await node.parts.db.read(node.parts.db.store.origin_state, origin)
    return state.size if state else 0


async def _frozen(node: Node, origin: str = ORIGIN) -> bool:
    state = await node.parts.db.read(node.parts.db.store.origin_state, origin)
    return state is not None and state.frozen


async def _evidence(node: Node, origin: str = ORIGIN) -> list[str]:
    """Who detected each evidence record the node holds against ``origin``."""
    records = await node.parts.db.read(node.parts.db.store.evidence)
    return [e.detected_by for e in records if e.origin == origin]


def _origin_signer(federation: Federation) -> Ed25519Signer:
    """chengdu's own log key: what it takes to sign a second history."""
    key = load_log_signing_key(federation.root / "homes" / ORIGIN / "certs" / "log.key")
    return Ed25519Signer(origin_line(TRUST_DOMAIN, ORIGIN), key)


def _forged_entry(index: int) -> StoredEntry:
    record = payloads_pb2.BlacklistRecord(case_number=f"（2024）川0104执{9000 + index}号")
    payload = encode_payload(
        log_pb2.BLACKLIST_LISTED,
        payloads_pb2.Payload(blacklist_listed=payloads_pb2.BlacklistListed(record=record)),
    )
    subject, hlc = f"{ORIGIN}/bl/{index}", (1_735_689_600_000 + index) << 16
    entry = make_entry(
        origin=ORIGIN,
        index=index,
        kind=log_pb2.BLACKLIST_LISTED,
        subject=subject,
        actor="另一段历史",
        hlc=hlc,
        payload=payload,
        salt=hashlib.sha256(b"forked%d" % index).digest()[:16],
    )
    return StoredEntry(
        ORIGIN,
        index,
        log_pb2.BLACKLIST_LISTED,
        subject,
        "另一段历史",
        hlc,
        entry.leaf_hash(),
        entry.header,
        entry.salt,
        entry.payload,
    )


def _forked_checkpoint(signer: Ed25519Signer, held: list[bytes], forged: list[StoredEntry]) -> str:
    frontier = Frontier()
    frontier.extend([*held, *(e.leaf_hash for e in forged)])
    size = len(held) + len(forged)
    return sign_checkpoint(Checkpoint(signer.name, size, frontier.root()), signer)


def _hold_another_history(federation: Federation, db_url: str, held: int, size: int) -> None:
    """A stopped node's store gets chengdu's entries [held, size) of a second history, signed
    with chengdu's key: the node was shown a fork."""
    store = open_store(db_url)
    try:
        state = store.origin_state(ORIGIN)
        assert state is not None and state.size == held
        forged = [_forged_entry(i) for i in range(held, size)]
        frontier = Frontier.from_bytes(state.frontier)
        frontier.extend(e.leaf_hash for e in forged)
        note = _forked_checkpoint(
            _origin_signer(federation), store.leaf_hashes(ORIGIN, 0, held), forged
        )
        store.append(
            origin=ORIGIN,
            expected_size=held,
            entries=forged,
            state=OriginState(ORIGIN, size, frontier.root(), frontier.to_bytes(), note),
        )
    finally:
        store.close()


async def test_the_first_detection_floods_a_chain_of_five_within_five_seconds(
    federation: Federation,
) -> None:
    origin = await federation.start(ORIGIN)
    nodes = {n: await federation.start(n) for n in HONEST}
    chain = [ORIGIN, *HONEST]
    for a, b in itertools.pairwise(chain):
        await federation.link(a, b)
    await submit_listings(origin, 3)

    async def all_hold(size: int, names: tuple[str, ...]) -> bool:
        return all([await _size(nodes[n]) == size for n in names])

    await eventually(lambda: all_hold(3, HONEST))
    # leshan, at the far end, is away while chengdu shows it another history; meanwhile
    # chengdu's real entry 3 reaches the rest.
    leshan_db = nodes["leshan"].config.db_url
    await federation.stop("leshan")
    _hold_another_history(federation, leshan_db, 3, 4)
    await submit_listings(origin, 1, start=3)
    await eventually(lambda: all_hold(4, HONEST[:3]))

    nodes["leshan"] = await federation.start("leshan")
    await federation.peer("deyang", "leshan")  # its new port

    async def found_anywhere() -> bool:
        return any([await _evidence(n) for n in nodes.values()])

    await eventually(found_anywhere)

    async def everyone_froze_it() -> bool:
        return all([await _evidence(n) and await _frozen(n) for n in nodes.values()])

    # The bound: every honest node holds the evidence and has frozen the origin
    # within 5 s of the first detection.
    await eventually(everyone_froze_it, timeout_s=5)
    # chongqing, three hops from the fork, adopted what the detector found, as it found it.
    assert set(await _evidence(nodes["chongqing"])) <= {"deyang", "leshan"}
    assert len(await _evidence(nodes["chongqing"])) == 1
    # The origin is told, through chongqing's stream, and keeps its own log unfrozen.
    await eventually(lambda: _has_evidence(origin))
    assert not await _frozen(origin)
    # A frozen origin's next entry is refused by chongqing without ending the session that
    # brought it (chengdu's server has not frozen itself): the link stays up for the rest.
    frozen_before = _rejected("frozen")
    await submit_listings(origin, 1, start=4)
    await eventually(_async(lambda: _rejected("frozen") > frozen_before))
    refusals = await nodes["chongqing"].parts.db.read(nodes["chongqing"].parts.db.store.refusals)
    assert not [r for r in refusals if r.reason.startswith("batch_")]
    link = nodes["chongqing"].parts.links.status(ORIGIN)
    assert link is not None and link.connected and link.last_error == ""
    assert all([await _size(nodes[n]) == 4 for n in HONEST])


def _rejected(reason: str) -> float:
    value = METRICS.registry.get_sample_value("ccnode_rejected_batches_total", {"reason": reason})
    return value or 0.0


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()

    return run


async def _has_evidence(node: Node) -> bool:
    return bool(await _evidence(node))


# ---------------------------------------------------------------- a peer that sends its own


@dataclasses.dataclass
class _Rogue:
    """What the rogue relay sends at the start of every Subscribe stream."""

    messages: list[federation_pb2.SyncMessage] = dataclasses.field(default_factory=list)


ROGUE = _Rogue()


class _RogueFederation(FederationService):
    async def Subscribe(
        self, request: federation_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        for message in ROGUE.messages:
            yield message
        async for message in super().Subscribe(request, context):
            yield message

    async def Sync(
        self,
        request_iterator: AsyncIterator[federation_pb2.SyncRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[federation_pb2.SyncMessage]:
        for message in ROGUE.messages:
            yield message
        async for message in super().Sync(request_iterator, context):
            yield message


def _rogue_federation(p: Parts) -> FederationService:
    return _RogueFederation(
        db=p.db,
        auth=p.auth,
        keys=p.keys,
        exchange=p.exchange,
        witnessing=p.witnessing,
        changes=p.watch,
        limits=p.config.limits,
        clock=p.clock,
    )


async def _start_rogue(federation: Federation, messages: list[federation_pb2.SyncMessage]) -> Node:
    ROGUE.messages = messages
    name = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name
    public = tuple(
        ServiceSpec(s.full_name, s.add_to_server, _rogue_federation) if s.full_name == name else s
        for s in DEFAULT.public
    )
    return await federation.start("mianyang", registry=dataclasses.replace(DEFAULT, public=public))


async def _chengdu_and_chongqing(federation: Federation, listings: int) -> tuple[Node, Node]:
    a = await federation.start(ORIGIN)
    b = await federation.start("chongqing")
    await federation.link(ORIGIN, "chongqing")
    await submit_listings(a, listings)

    async def delivered() -> bool:
        return await _size(b) == listings

    await eventually(delivered)
    return a, b


def _signed_by(name: str, size: int, root: bytes) -> str:
    signer = Ed25519Signer(origin_line(TRUST_DOMAIN, name), Ed25519PrivateKey.generate())
    return sign_checkpoint(Checkpoint(signer.name, size, root), signer)


async def test_evidence_that_does_not_verify_is_refused_and_freezes_nothing(
    federation: Federation,
) -> None:
    a, b = await _chengdu_and_chongqing(federation, 2)
    held = await b.parts.db.read(b.parts.db.store.checkpoint_at, ORIGIN, 2)
    assert held is not None
    consistent = log_pb2.EquivocationEvidence(
        origin=ORIGIN, smaller_note=held, larger_note=held, detected_by="mianyang"
    )
    # Two inconsistent checkpoints, but signed by a key that is not mianyang's log key.
    impostor = log_pb2.EquivocationEvidence(
        origin="mianyang",
        smaller_note=_signed_by("mianyang", 1, bytes(32)),
        larger_note=_signed_by("mianyang", 1, bytes(range(32))),
    )
    unknown = log_pb2.EquivocationEvidence(
        origin="kunming",
        smaller_note=_signed_by("kunming", 1, bytes(32)),
        larger_note=_signed_by("kunming", 1, bytes(range(32))),
    )
    messages = [federation_pb2.SyncMessage(evidence=e) for e in (consistent, impostor, unknown)]
    c = await _start_rogue(federation, messages)
    await federation.link("chongqing", "mianyang")

    async def refused_all() -> bool:
        refusals = await b.parts.db.read(b.parts.db.store.refusals)
        mine = [r for r in refusals if r.reason == "bad_evidence"]
        # Refusals of one caller, method and reason fold into one row with a count.
        return sum(r.count for r in mine) >= 3 and {r.identity for r in mine} == {"node/mianyang"}

    await eventually(refused_all)
    assert await b.parts.db.read(b.parts.db.store.evidence) == []
    assert not await _frozen(b) and not await _frozen(b, "mianyang")
    # Replication goes on: chengdu's next listing reaches chongqing, and through it the rogue.
    await submit_listings(a, 1, start=2)

    async def still_syncing() -> bool:
        return await _size(b) == 3 and await _size(c) == 3

    await eventually(still_syncing)


async def test_a_fork_sent_as_a_stale_batch_is_evidence(federation: Federation) -> None:
    a, b = await _chengdu_and_chongqing(federation, 4)
    # A stale batch that agrees with what chongqing holds: a harmless skip.
    agreeing = await a.parts.db.read(
        cut_batch, a.parts.db.store, ORIGIN, 0, 4, 500, 262_144, "chongqing", {}
    )
    assert agreeing is not None and len(agreeing.entries) == 4
    # The same size in another history: entries 0..2 as held, entry 3 forked.
    held_leaves = await a.parts.db.read(a.parts.db.store.leaf_hashes, ORIGIN, 0, 3)
    fork = _forged_entry(3)
    forked_note = _forked_checkpoint(_origin_signer(federation), held_leaves, [fork])
    forked = federation_pb2.Batch(
        origin=ORIGIN,
        first_index=3,
        entries=[log_pb2.Entry(header=fork.header, salt=fork.salt, payload=fork.payload)],
        checkpoint=log_pb2.SignedCheckpoint(note=forked_note),
    )
    await _start_rogue(
        federation,
        [federation_pb2.SyncMessage(batch=agreeing), federation_pb2.SyncMessage(batch=forked)],
    )
    await federation.peer("chongqing", "mianyang")

    async def frozen_on_evidence() -> bool:
        return bool(await _evidence(b)) and await _frozen(b)

    await eventually(frozen_on_evidence)
    (record,) = await b.parts.db.read(b.parts.db.store.evidence)
    held_note = await b.parts.db.read(b.parts.db.store.checkpoint_at, ORIGIN, 4)
    assert {record.smaller_note, record.larger_note} == {held_note, forked_note}
    assert record.detected_by == "chongqing"
    assert await _size(b) == 4  # nothing of the fork applied
    # The agreeing note proves nothing, however it arrives.
    await b.parts.equivocation.check_held(ORIGIN, agreeing.checkpoint.note)
    assert len(await b.parts.db.read(b.parts.db.store.evidence)) == 1
