"""Single-entry proofs in the C2SP tlog-proof format (sync.tlog_proof)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from sync.checkpoint import CosignatureSigner
from sync.merkle import inclusion_proof
from sync.note import add_signatures, parse_note
from sync.tlog_proof import TlogProof, TlogProofError, format_proof, parse_proof, verify_proof
from tests.unit.bundlefixtures import cosigned, witness_verifier
from tests.unit.corefixtures import build_log, log_signer, private_key, signed_checkpoint


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _proof(n: int = 11, index: int = 6, *, witnesses: tuple[str, ...] = ()) -> TlogProof:
    log = build_log(n)
    note = log.checkpoint()
    return TlogProof(
        index=index,
        hashes=tuple(inclusion_proof(log.leaf_hashes, index)),
        checkpoint=cosigned(note, *witnesses) if witnesses else note,
        extra=log.entries[index].header,
    )


def test_layout_matches_the_spec() -> None:
    h1, h2 = hashlib.sha256(b"1").digest(), hashlib.sha256(b"2").digest()
    plain = TlogProof(index=5, hashes=(h1, h2), checkpoint="cp\n")
    assert format_proof(plain) == f"c2sp.org/tlog-proof@v1\nindex 5\n{_b64(h1)}\n{_b64(h2)}\n\ncp\n"
    extra = TlogProof(index=0, hashes=(), checkpoint="cp\n", extra=b"hdr")
    assert format_proof(extra) == f"c2sp.org/tlog-proof@v1\nextra {_b64(b'hdr')}\nindex 0\n\ncp\n"
    for proof in (plain, extra):
        assert parse_proof(format_proof(proof)) == proof


def test_a_proof_verifies_with_its_cosignatures() -> None:
    proof = _proof(witnesses=("chongqing",))
    parsed = parse_proof(format_proof(proof))
    report = verify_proof(parsed, build_log(1).verifier, [witness_verifier("chongqing")])
    assert (report.header.origin, report.header.index) == ("chengdu", 6)
    assert report.checkpoint.size == 11
    assert report.cosignatures == ["chengyu.court/chongqing"]
    assert verify_proof(parsed, build_log(1).verifier).unchecked_signers == [
        "chengyu.court/chongqing"
    ]


@pytest.mark.parametrize(("n", "index"), [(1, 0), (2, 1), (8, 7), (9, 8), (13, 0)])
def test_every_position_verifies(n: int, index: int) -> None:
    verify_proof(parse_proof(format_proof(_proof(n, index))), build_log(1).verifier)


def test_every_single_byte_flip_fails_or_loses_the_cosignature() -> None:
    text = format_proof(_proof(witnesses=("chongqing",))).encode()
    cosigners = [witness_verifier("chongqing")]
    survived = []
    for position in range(len(text)):
        damaged = bytearray(text)
        damaged[position] ^= 0x01
        try:
            report = verify_proof(
                parse_proof(damaged.decode("utf-8")), build_log(1).verifier, cosigners
            )
        except (TlogProofError, UnicodeDecodeError):
            continue
        # Signed notes ignore signature lines of unknown keys (C2SP signed-note): a flip in
        # a witness's name leaves a line from nobody we know, and the witness is gone.
        if report.cosignatures or not report.unchecked_signers:
            survived.append(position)
    assert survived == []


def test_a_known_witness_name_with_another_key_is_a_forgery() -> None:
    proof = _proof()
    impostor = CosignatureSigner("chengyu.court/chongqing", private_key(b"impostor"))
    note = proof.checkpoint
    forged = add_signatures(note, [impostor.cosign(parse_note(note).text, 1)])
    with pytest.raises(TlogProofError, match="signed with an uncertified key"):
        verify_proof(
            TlogProof(6, proof.hashes, forged, proof.extra),
            build_log(1).verifier,
            [witness_verifier("chongqing")],
        )


def test_a_header_of_another_index_is_refused() -> None:
    proof = _proof()
    other = TlogProof(proof.index, proof.hashes, proof.checkpoint, build_log(11).entries[5].header)
    with pytest.raises(TlogProofError, match="index differs"):
        verify_proof(other, build_log(1).verifier)


def test_a_checkpoint_by_another_key_is_refused() -> None:
    log = build_log(11)
    proof = _proof()
    forged = signed_checkpoint("chengdu", 11, log.root(), log_signer("chengdu", seed=b"x"))
    with pytest.raises(TlogProofError, match="not signed by the origin"):
        verify_proof(TlogProof(6, proof.hashes, forged, proof.extra), log.verifier)


def test_a_proof_without_the_header_proves_nothing() -> None:
    proof = _proof()
    with pytest.raises(TlogProofError, match="extra: the entry header is missing"):
        verify_proof(TlogProof(6, proof.hashes, proof.checkpoint), build_log(1).verifier)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("wrong\nindex 0\n\ncp\n", "line 1: must be c2sp.org/tlog-proof@v1"),
        ("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\ncp\n", "line 2: extra data"),
        ("c2sp.org/tlog-proof@v1\n\n\ncp\n", "line 2: must be 'index <decimal>'"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n", "line 2: index must be a decimal"),
        ("c2sp.org/tlog-proof@v1\nindex -5\n\ncp\n", "line 2: index must be a decimal"),
        ("c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\ncp\n", "line 3: must be a base64 SHA-256"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n", "the checkpoint is missing"),
        ("c2sp.org/tlog-proof@v1\nindex 0", "the empty line before the checkpoint is missing"),
    ],
)
def test_malformed_proofs_name_the_line(text: str, reason: str) -> None:
    with pytest.raises(TlogProofError, match=reason.replace("(", r"\(")):
        parse_proof(text)
