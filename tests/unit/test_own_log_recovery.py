"""Own-log recovery (node.replication.recovery) against fake peers, on the memory store.

The node is chengdu; its store holds the first entries of its log (as after a restore from an
older copy) and its peers answer Hello and Fetch from a longer copy, honestly or not. What a
forged answer may never do is land in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

import pytest

from ccnode.v1 import federation_pb2, log_pb2
from node.identity.origin_keys import OriginKeys
from node.replication.apply import Replica
from node.replication.cutting import cut_batch
from node.replication.recovery import OwnLogRecovery
from node.store import MEMORY_URL, open_store
from node.store.base import PeerRecord
from node.store.runner import Db
from sync.entry import Entry
from sync.note import Ed25519Verifier
from sync.verify import BATCH_BYTES_MAX, BATCH_ENTRIES_MAX
from tests.unit.corefixtures import TRUST_DOMAIN, Log, blacklist_entry, build_log, log_signer

NODE = "chengdu"
TIMEOUT_S = 0.2


@dataclass
class _Keys:
    verifiers: dict[str, Ed25519Verifier] = field(default_factory=dict)

    def verifier(self, origin: str) -> Ed25519Verifier | None:
        return self.verifiers.get(origin)

    def certificates(self) -> dict[str, bytes]:
        return {}


@dataclass
class _Auth:
    """Records refusals (the one CallerAuth method recovery uses)."""

    refusals: list[tuple[str, str, str]] = field(default_factory=list)

    async def record(self, peer: str, identity: str, method: str, reason: str) -> None:
        self.refusals.append((identity, method, reason))


@dataclass
class _Peer:
    """A peer holding ``log`` up to ``size``: its Hello carries the checkpoint ``note``
    (default: the log's own at ``size``), its Fetch answers batches of ``step`` entries."""

    log: Log
    size: int
    note: str | None = None
    step: int = 2
    silent: bool = False
    strip_payloads: bool = False
    fetched: list[tuple[int, int]] = field(default_factory=list)


class _Calls:
    def __init__(self, peers: dict[str, _Peer]) -> None:
        self.peers = peers

    async def hello(self, peer: PeerRecord, timeout_s: float) -> federation_pb2.HelloResponse:
        p = self.peers[peer.node_id]
        if p.silent:
            await asyncio.sleep(3600)
        note = p.note if p.note is not None else p.log.checkpoint(p.size)
        return federation_pb2.HelloResponse(
            node_id=peer.node_id,
            vector=federation_pb2.Vector(sizes={NODE: p.size}),
            checkpoints=[log_pb2.SignedCheckpoint(note=note)],
        )

    async def fetch(
        self, peer: PeerRecord, origin: str, start: int, end: int
    ) -> federation_pb2.Batch:
        p = self.peers[peer.node_id]
        p.fetched.append((start, end))
        stop = min(end, start + p.step, p.size)
        batch = federation_pb2.Batch(
            origin=origin,
            first_index=start,
            checkpoint=log_pb2.SignedCheckpoint(note=p.log.checkpoint(stop)),
        )
        for e in p.log.entries[start:stop]:
            if e.payload is None or p.strip_payloads:
                batch.entries.add(header=e.header, salt=e.salt)
            else:
                batch.entries.add(header=e.header, salt=e.salt, payload=e.payload)
        return batch


@pytest.fixture
def db() -> Iterator[Db]:
    opened = Db(open_store(MEMORY_URL), readers=1)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def own_log() -> Log:
    return build_log(5, NODE)


def _keys() -> OriginKeys:
    return cast(OriginKeys, _Keys({NODE: log_signer(NODE).verifier()}))


def _replica(db: Db, node_id: str = NODE) -> Replica:
    return Replica(
        db=db,
        keys=_keys(),
        node_id=node_id,
        trust_domain=TRUST_DOMAIN,
        batch_entries_max=BATCH_ENTRIES_MAX,
        batch_bytes_max=BATCH_BYTES_MAX,
    )


async def _restored(db: Db, log: Log, size: int, peers: Sequence[str]) -> None:
    """The store as a copy taken when the log had ``size`` entries, with its peers."""
    seed = _replica(db, "seed")  # any receiver lays the entries out as they are stored
    await db.write(seed.apply, NODE, 0, log.entries[:size], log.checkpoint(size))
    for peer in peers:
        await db.write(db.store.put_peer, PeerRecord(peer, f"127.0.0.1:{len(peer)}"))


def _recovery(db: Db, calls: _Calls, auth: _Auth) -> OwnLogRecovery:
    return OwnLogRecovery(
        db=db,
        replica=_replica(db),
        keys=_keys(),
        auth=auth,
        calls=calls,
        node_id=NODE,
        trust_domain=TRUST_DOMAIN,
        timeout_s=TIMEOUT_S,
        retry_s=0.01,
    )


async def _size_and_root(db: Db) -> tuple[int, bytes]:
    state = await db.read(db.store.origin_state, NODE)
    assert state is not None
    return state.size, state.root


async def test_recovers_the_entries_a_peer_holds_beyond_the_store(db: Db, own_log: Log) -> None:
    await _restored(db, own_log, 2, ["chongqing"])
    peer = _Peer(own_log, 5)
    auth = _Auth()
    outcome = await _recovery(db, _Calls({"chongqing": peer}), auth).run()
    assert (outcome.local_size, outcome.size, outcome.answered) == (2, 5, 1)
    assert peer.fetched == [(2, 5), (4, 5)]  # batches of two, then the rest
    assert await _size_and_root(db) == (5, own_log.root(5))
    assert auth.refusals == []


async def test_nothing_fetched_when_no_peer_holds_more(db: Db, own_log: Log) -> None:
    await _restored(db, own_log, 5, ["chongqing", "mianyang"])
    peers = {"chongqing": _Peer(own_log, 5), "mianyang": _Peer(own_log, 3)}
    outcome = await _recovery(db, _Calls(peers), _Auth()).run()
    assert (outcome.size, outcome.answered, outcome.peers) == (5, 2, 2)
    assert all(not p.fetched for p in peers.values())


async def test_a_longer_checkpoint_not_signed_by_the_own_key_is_refused(
    db: Db, own_log: Log
) -> None:
    await _restored(db, own_log, 2, ["chongqing"])
    forger = log_signer(NODE, seed=b"not chengdu's key")
    forged = Log(NODE, forger, [*own_log.entries, blacklist_entry(NODE, 5)])
    peer = _Peer(forged, 6)
    auth = _Auth()
    outcome = await _recovery(db, _Calls({"chongqing": peer}), auth).run()
    assert outcome.size == 2
    assert peer.fetched == []
    assert auth.refusals == [("node/chongqing", "Hello", "forged_own_checkpoint")]
    assert await _size_and_root(db) == (2, own_log.root(2))


async def test_a_batch_that_does_not_verify_is_refused_and_another_peer_serves(
    db: Db, own_log: Log
) -> None:
    await _restored(db, own_log, 2, ["chongqing", "mianyang"])
    # chongqing's Hello shows a genuine checkpoint at 5, but its Fetch serves other entries
    # under checkpoints signed with another key of the same name.
    other = Log(NODE, log_signer(NODE, seed=b"other"), [*own_log.entries[:2]])
    other.entries += [blacklist_entry(NODE, i, subject=f"{NODE}/bl/x{i}") for i in range(2, 5)]
    liar = _Peer(other, 5, note=own_log.checkpoint(5), step=5)
    honest = _Peer(own_log, 5, step=5)
    auth = _Auth()
    calls = _Calls({"chongqing": liar, "mianyang": honest})
    outcome = await _recovery(db, calls, auth).run()
    assert outcome.size == 5
    assert auth.refusals == [("node/chongqing", "Fetch", "own_log_bad_signature")]
    assert await _size_and_root(db) == (5, own_log.root(5))


async def test_no_answer_within_the_timeout_lets_the_node_append(
    db: Db, own_log: Log, caplog: pytest.LogCaptureFixture
) -> None:
    await _restored(db, own_log, 2, ["chongqing"])
    peer = _Peer(own_log, 5, silent=True)
    loop = asyncio.get_running_loop()
    started_s = loop.time()
    outcome = await _recovery(db, _Calls({"chongqing": peer}), _Auth()).run()
    assert loop.time() - started_s >= TIMEOUT_S
    assert (outcome.size, outcome.answered) == (2, 0)
    assert "no peer of 1 answered" in caplog.text


async def test_a_restricted_entry_no_peer_holds_the_payload_of_is_stored_as_header(
    db: Db,
) -> None:
    log = build_log(2, NODE)
    log.entries.append(blacklist_entry(NODE, 2, audience=(NODE, "mianyang")))
    await _restored(db, log, 2, ["chongqing"])
    peer = _Peer(log, 3, strip_payloads=True)  # chongqing is outside the audience
    outcome = await _recovery(db, _Calls({"chongqing": peer}), _Auth()).run()
    assert outcome.size == 3
    [stored] = await db.read(db.store.entries, NODE, 2, 3)
    assert stored.payload is None and stored.header == log.entries[2].header


async def test_the_own_log_is_cut_for_its_origin_without_payloads_the_relay_lacks(
    db: Db,
) -> None:
    """A relay outside an entry's audience holds its header only: a batch for the origin
    recovering its log carries it; a batch for any other reader in the audience stops."""
    log = build_log(2, NODE)
    log.entries.append(blacklist_entry(NODE, 2, audience=(NODE, "mianyang")))
    relay = _replica(db, "chongqing")
    await db.write(relay.apply, NODE, 0, log.entries, log.checkpoint(3))
    store = db.store
    assert cut_batch(store, NODE, 2, 3, 500, BATCH_BYTES_MAX, "mianyang", {}) is None
    batch = cut_batch(store, NODE, 2, 3, 500, BATCH_BYTES_MAX, NODE, {}, headers_suffice=True)
    assert batch is not None
    assert [Entry(e.header, e.salt, None) for e in batch.entries] == [
        Entry(log.entries[2].header, log.entries[2].salt, None)
    ]
    assert not batch.entries[0].HasField("payload")
