"""A node restored from an older copy of its store recovers its own log from its peers before
it signs again, so its peers never see two inconsistent checkpoints of its log."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import admin_pb2, log_pb2
from node.runtime.node import Node
from node.store import Store
from node.store.base import OriginState, PeerRecord, StoredEntry
from sync import hlc
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import SALT_BYTES, decode_header, make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from tests.integration.harness import (
    TRUST_DOMAIN,
    Federation,
    admin,
    eventually,
    listing,
    valid_ids,
)

pytestmark = pytest.mark.integration

A, B = "chengdu", "chongqing"
SQLITE_FILES = ("ccnode.db", "ccnode.db-wal", "ccnode.db-shm")


def _copy_store(home: Path, to: Path) -> None:
    """The SQLite database as a file copy, WAL files included (the node is stopped)."""
    to.mkdir()
    for name in SQLITE_FILES:
        if (home / name).exists():
            shutil.copy2(home / name, to / name)


def _restore_store(copy: Path, home: Path) -> None:
    for name in SQLITE_FILES:
        (home / name).unlink(missing_ok=True)
        if (copy / name).exists():
            shutil.copy2(copy / name, home / name)


async def _submit(node: Node, id_number: str) -> admin_pb2.SubmitResponse:
    request = admin_pb2.SubmitRequest(drafts=[listing(id_number=id_number)], actor="法官王五")
    reply: admin_pb2.SubmitResponse = await admin(node).Submit(request, timeout=30)
    return reply


async def _size_of(node: Node, origin: str) -> int:
    return (await node.parts.db.read(node.parts.db.store.vector)).get(origin, 0)


async def _holds(node: Node, origin: str, size: int) -> bool:
    return await _size_of(node, origin) == size


async def test_restored_node_recovers_its_log_from_a_peer_then_appends(
    federation: Federation, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="node.replication.recovery")
    ids = valid_ids(6)
    a = await federation.start(A)
    b = await federation.start(B)
    await federation.link(A, B)
    for id_number in ids[:2]:
        await _submit(a, id_number)
    home = a.config.home
    await federation.stop(A)
    backup = tmp_path / "backup"
    _copy_store(home, backup)  # the older copy: two listings

    a = await federation.start(A)
    await federation.peer(B, A)  # A listens on a new port
    for id_number in ids[2:5]:
        await _submit(a, id_number)

    await eventually(lambda: _holds(b, A, 5))
    await federation.stop(A)
    _restore_store(backup, home)

    a = await federation.start(A)
    assert await _size_of(a, A) == 2  # the restored copy
    assert a.parts.local_log.recovering  # appends wait until recovery ends
    # Submitted while recovering: it waits, and gets the index after what B holds.
    early = asyncio.create_task(_submit(a, ids[5]))
    await asyncio.wait_for(a.recovered(), timeout=15)
    assert not a.parts.local_log.recovering
    reply = await asyncio.wait_for(early, timeout=15)
    assert reply.entry_ids == [f"{A}/5"]
    assert reply.size == 6
    assert "recovering own log: peer chongqing holds 5 entries, local store 2" in caplog.text
    assert "own log recovered: 5 entries (3 fetched from peers)" in caplog.text

    await federation.peer(B, A)
    await eventually(lambda: _holds(b, A, 6))
    assert await b.parts.db.read(b.parts.db.store.evidence) == []
    state = await b.parts.db.read(b.parts.db.store.origin_state, A)
    assert state is not None and not state.frozen
    found = await admin(a).BlacklistSearch(admin_pb2.BlacklistSearchRequest(id_number=ids[3]))
    assert len(found.items) == 1  # a recovered entry is folded like any other


async def test_no_peer_answering_lets_the_node_append_after_the_timeout(
    federation: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    timeout_s = 0.5
    config = federation.home(A)
    config.limits.own_log_recovery_timeout_s = timeout_s
    config.save()

    # A peer that accepts connections and never answers: Hello can only time out.
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        a = await federation.start(A)
        await a.parts.links.add_peer(PeerRecord(B, f"127.0.0.1:{port}"))
        await federation.stop(A)
        loop = asyncio.get_running_loop()
        a = await federation.start(A)
        started_s = loop.time()
        assert a.parts.local_log.recovering
        await asyncio.wait_for(a.recovered(), timeout=10)
        assert loop.time() - started_s >= timeout_s * 0.9
        assert "no peer of 1 answered within 0.5 s" in caplog.text
        reply = await _submit(a, valid_ids(1)[0])
        assert reply.entry_ids == [f"{A}/0"]
    finally:
        silent.close()


def _forge(store: Store, origin: str, count: int) -> None:
    """Extend ``origin``'s log in a peer's store by ``count`` entries under a checkpoint signed
    with another key of the same name (written past verification: a lying or broken peer)."""
    state = store.origin_state(origin)
    assert state is not None
    frontier = Frontier.from_bytes(state.frontier)
    entries = []
    for index in range(state.size, state.size + count):
        entry = make_entry(
            origin=origin,
            index=index,
            kind=log_pb2.BLACKLIST_LISTED,
            subject=f"{origin}/bl/{index}",
            actor="伪造者",
            hlc=hlc.pack(1_800_000_000_000, 0),
            payload=b"",
            salt=bytes(SALT_BYTES),
        )
        frontier.append(entry.leaf_hash())
        header = decode_header(entry.header)
        entries.append(
            StoredEntry(
                origin, index, header.kind, header.subject, header.actor, header.hlc,
                entry.leaf_hash(), entry.header, entry.salt, entry.payload,
            )
        )  # fmt: skip
    line = origin_line(TRUST_DOMAIN, origin)
    forger = Ed25519Signer(line, Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(line, frontier.size, frontier.root()), forger)
    store.append(
        origin=origin,
        expected_size=state.size,
        entries=entries,
        state=OriginState(origin, frontier.size, frontier.root(), frontier.to_bytes(), note),
    )


async def test_a_peer_claiming_a_longer_log_under_another_key_is_refused(
    federation: Federation,
) -> None:
    ids = valid_ids(3)
    a = await federation.start(A)
    b = await federation.start(B)
    await federation.link(A, B)
    for id_number in ids[:2]:
        await _submit(a, id_number)
    await eventually(lambda: _holds(b, A, 2))
    await federation.stop(A)
    await b.parts.db.write(_forge, b.parts.db.store, A, 3)

    a = await federation.start(A)
    await asyncio.wait_for(a.recovered(), timeout=15)
    assert await _size_of(a, A) == 2  # nothing of the forged log applied
    refusals = await a.parts.db.read(a.parts.db.store.refusals)
    assert [(r.identity, r.method, r.reason) for r in refusals] == [
        (f"node/{B}", "Hello", "forged_own_checkpoint")
    ]
    reply = await _submit(a, ids[2])
    assert reply.entry_ids == [f"{A}/2"]
