"""Hand-built, signed logs for the verification tests (a store as the node would leave it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ccnode.v1 import log_pb2, payloads_pb2
from node.store.base import OriginState, Store, StoredEntry
from sync.checkpoint import Checkpoint, sign_checkpoint, split_origin
from sync.entry import make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from sync.payload import encode_payload

KIND = log_pb2.ACCESS_RECORDED

Tamper = Callable[[StoredEntry], StoredEntry]


def stored_entry(origin: str, index: int) -> StoredEntry:
    body = payloads_pb2.Payload(
        access_recorded=payloads_pb2.AccessRecorded(purpose=f"（2024）川0104执{index}号")
    )
    payload = encode_payload(KIND, body)
    subject, actor, hlc = (
        f"{origin}/access/{index}",
        "officer-wang",
        (1_700_000_000_000 + index) << 16,
    )
    entry = make_entry(
        origin=origin,
        index=index,
        kind=KIND,
        subject=subject,
        actor=actor,
        hlc=hlc,
        payload=payload,
        salt=bytes([index + 1]) * 16,
    )
    return StoredEntry(
        origin=origin,
        index=index,
        kind=KIND,
        subject=subject,
        actor=actor,
        hlc=hlc,
        leaf_hash=entry.leaf_hash(),
        header=entry.header,
        salt=entry.salt,
        payload=entry.payload,
    )


def append_log(
    store: Store,
    signer: Ed25519Signer,
    checkpoint_sizes: Sequence[int] = (3, 5),
    tamper: Mapping[int, Tamper] | None = None,
) -> None:
    """Append the log of the signer's origin, one commit per checkpoint. Checkpoints and leaf
    hashes are computed from the intact entries; ``tamper`` then alters what is stored, as
    disk corruption or an edit behind the node's back would."""
    _, origin = split_origin(signer.name)
    tamper = tamper or {}
    frontier = Frontier()
    size = 0
    for cp_size in checkpoint_sizes:
        intact = [stored_entry(origin, i) for i in range(size, cp_size)]
        frontier.extend(e.leaf_hash for e in intact)
        note = sign_checkpoint(Checkpoint(signer.name, cp_size, frontier.root()), signer)
        store.append(
            origin=origin,
            expected_size=size,
            entries=[tamper[e.index](e) if e.index in tamper else e for e in intact],
            state=OriginState(origin, cp_size, frontier.root(), frontier.to_bytes(), note),
        )
        size = cp_size
