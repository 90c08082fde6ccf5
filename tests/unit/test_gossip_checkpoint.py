"""The checkpoints a Sync stream gossips carry the origin's signature only."""

from __future__ import annotations

from node.replication.exchange import gossip_checkpoint
from sync.checkpoint import (
    Checkpoint,
    CosignatureSigner,
    open_checkpoint,
    origin_line,
    sign_checkpoint,
)
from sync.note import add_signatures, parse_note
from tests.unit.corefixtures import TRUST_DOMAIN, log_signer, log_verifier, private_key


def test_gossip_keeps_the_origins_signature_and_drops_cosignatures() -> None:
    signer = log_signer("chengdu")
    note = sign_checkpoint(Checkpoint(signer.name, 42, b"\x07" * 32), signer)
    witnesses = [
        CosignatureSigner(origin_line(TRUST_DOMAIN, w), private_key(w.encode()))
        for w in ("chongqing", "mianyang")
    ]
    body = parse_note(note).text
    cosigned = add_signatures(note, [w.cosign(body, 1_700_000_000) for w in witnesses])
    assert len(parse_note(cosigned).signatures) == 3
    origin, size, gossip = gossip_checkpoint(cosigned) or ("", 0, "")
    assert (origin, size) == ("chengdu", 42)
    assert gossip == note
    checkpoint, _ = open_checkpoint(gossip, log_verifier("chengdu"))
    assert checkpoint.size == 42


def test_a_note_that_does_not_parse_is_not_gossiped() -> None:
    assert gossip_checkpoint("not a note") is None
