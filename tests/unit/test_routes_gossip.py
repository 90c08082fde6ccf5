"""Router: gossiped checkpoints of origins taken elsewhere are checked against the held log
once held; a note whose body is that of a checkpoint the node holds (same size and root)
agrees without a check against the store, anything else goes to EquivocationWatch.check_held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.clock import FakeClock
from node.replication.routes import Router
from node.store.memory import MemoryStore
from node.store.runner import Db
from sync.checkpoint import Checkpoint, CosignatureSigner, origin_line, sign_checkpoint
from sync.note import Ed25519Signer, add_signatures, parse_note
from tests.cli.logs import append_log

ORIGIN = "leshan"
SIGNER = Ed25519Signer(
    origin_line("chengyu.court", ORIGIN), Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
)


@dataclass
class _Watch:
    checked: list[tuple[str, str]] = field(default_factory=list)

    async def check_held(self, origin: str, note: str) -> None:
        self.checked.append((origin, note))


@dataclass
class _Node:
    router: Router
    store: MemoryStore
    watch: _Watch


@pytest.fixture
async def node() -> AsyncIterator[_Node]:
    store = MemoryStore()
    append_log(store, SIGNER, (2, 4, 6))
    db = Db(store)
    watch = _Watch()
    router = Router(
        node_id="chengdu",
        db=db,
        equivocation=watch,  # type: ignore[arg-type]
        notify=lambda: None,
        clock=FakeClock(),
        stall_grace_s=5.0,
    )
    yield _Node(router, store, watch)
    db.close()


def _note(store: MemoryStore, size: int) -> str:
    note = store.checkpoint_at(ORIGIN, size)
    assert note is not None
    return note


async def test_gossip_of_the_held_checkpoint_needs_no_store_check(node: _Node) -> None:
    await node.router._tick()  # the node holds size 6
    held = _note(node.store, 6)
    witness = CosignatureSigner(
        origin_line("chengyu.court", "yibin"), Ed25519PrivateKey.from_private_bytes(b"\x03" * 32)
    )
    cosigned = add_signatures(held, [witness.cosign(parse_note(held).text, 1_709_600_000)])
    for peer, note in (("chongqing", held), ("mianyang", cosigned)):
        node.router.gossip(peer, note)
    await node.router._tick()
    assert node.watch.checked == []


async def test_other_gossip_is_checked_against_the_store(node: _Node) -> None:
    await node.router._tick()
    older = _note(node.store, 4)  # held, but the tick saw only the latest size
    fork = sign_checkpoint(Checkpoint(SIGNER.name, 6, bytes(32)), SIGNER)  # another root
    node.router.gossip("chongqing", older)
    node.router.gossip("mianyang", fork)
    await node.router._tick()
    assert sorted(node.watch.checked) == sorted([(ORIGIN, older), (ORIGIN, fork)])
