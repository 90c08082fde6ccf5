"""Cross-checking many nodes' checkpoints (sync.crosscheck) and evidence files
(sync.evidence_file): split views become evidence anyone can check, lags are measured."""

from __future__ import annotations

import json

import pytest

from sync.crosscheck import ProofRequest, Sighting, Unproven, judge, plan
from sync.equivocation import Evidence
from sync.evidence_file import (
    EvidenceFileError,
    Observation,
    evidence_document,
    format_evidence_file,
    verify_evidence_file,
)
from sync.merkle import consistency_proof, subtree_root
from tests.unit.bundlefixtures import fake_check, fake_pem
from tests.unit.corefixtures import (
    TRUST_DOMAIN,
    blacklist_entry,
    build_log,
    log_signer,
    signed_checkpoint,
)


def _forked(n: int = 6, fork_at: int = 4) -> tuple[list[bytes], list[bytes]]:
    """Leaf hashes of chengdu's real log and of a second history signed with the same key
    that differs from entry ``fork_at`` on."""
    real = build_log(n)
    other = [e.leaf_hash() for e in real.entries[:fork_at]]
    other += [
        blacklist_entry("chengdu", i, subject=f"chengdu/bl/forged{i}").leaf_hash()
        for i in range(fork_at, n)
    ]
    return real.leaf_hashes, other


def _note(leaves: list[bytes], size: int) -> str:
    signer = log_signer("chengdu")
    return signed_checkpoint("chengdu", size, subtree_root(leaves, 0, size), signer)


VERIFIERS = {"chengdu": log_signer("chengdu").verifier()}


def test_agreeing_nodes_need_one_proof_and_lag_is_measured() -> None:
    real, _ = _forked()
    sightings = [
        Sighting("chengdu", "chengdu", _note(real, 6)),
        Sighting("chongqing", "chengdu", _note(real, 6)),
        Sighting("mianyang", "chengdu", _note(real, 4)),
    ]
    p = plan(sightings, VERIFIERS, nodes=["chengdu", "chongqing", "mianyang", "leshan"])
    assert (p.forged, p.unknown, p.equivocations) == ([], [], [])
    assert [(h.size, h.nodes) for h in p.heads["chengdu"]] == [
        (6, ("chengdu", "chongqing")),
        (4, ("mianyang",)),
    ]
    assert [(r.old.size, r.new.size, r.ask) for r in p.proofs_needed] == [(4, 6, "chengdu")]
    assert [(lag.node, lag.size, lag.behind, lag.holders) for lag in p.lags] == [
        ("leshan", 0, 6, ("chengdu", "chongqing")),
        ("mianyang", 4, 2, ("chengdu", "chongqing")),
    ]
    request = p.proofs_needed[0]
    verdict = judge(
        request, consistency_proof(real, 4), subtree_root(real, 0, 4), VERIFIERS["chengdu"]
    )
    assert verdict is None


def test_two_roots_at_one_size_are_equivocation() -> None:
    real, other = _forked()
    p = plan(
        [
            Sighting("chongqing", "chengdu", _note(real, 6)),
            Sighting("mianyang", "chengdu", _note(other, 6)),
        ],
        VERIFIERS,
    )
    assert len(p.equivocations) == 1 and p.proofs_needed == []
    evidence = p.equivocations[0]
    doc = evidence_document(
        trust_domain=TRUST_DOMAIN,
        evidence=evidence,
        certificate_pem=fake_pem("chengdu"),
        observed=[Observation("chongqing", "smaller"), Observation("mianyang", "larger")],
    )
    summary = verify_evidence_file(format_evidence_file(doc), fake_check)
    assert (summary.origin, summary.smaller.size, summary.larger.size) == ("chengdu", 6, 6)


def test_a_forked_larger_history_is_proved_by_its_prover() -> None:
    real, other = _forked()
    p = plan(
        [
            Sighting("chongqing", "chengdu", _note(real, 5)),
            Sighting("mianyang", "chengdu", _note(other, 6)),
        ],
        VERIFIERS,
    )
    (request,) = p.proofs_needed
    assert (request.old.size, request.new.size, request.ask) == (5, 6, "mianyang")
    verdict = judge(
        request, consistency_proof(other, 5), subtree_root(other, 0, 5), VERIFIERS["chengdu"]
    )
    assert isinstance(verdict, Evidence)
    doc = evidence_document(
        trust_domain=TRUST_DOMAIN, evidence=verdict, certificate_pem=fake_pem("chengdu")
    )
    text = format_evidence_file(doc)
    assert verify_evidence_file(text, fake_check).larger.size == 6
    # Any change to what proves it breaks the file.
    for key, value in (
        ("prefix_root", doc["consistency_proof"][0]),
        ("consistency_proof", doc["consistency_proof"][1:]),
        ("larger_note", doc["smaller_note"]),
        ("certificate", fake_pem("chongqing")),
        ("origin", "chongqing"),
    ):
        with pytest.raises(EvidenceFileError):
            verify_evidence_file(format_evidence_file({**doc, key: value}), fake_check)


def test_a_prover_that_cannot_prove_is_blamed_not_the_origin() -> None:
    real, other = _forked()
    p = plan(
        [
            Sighting("chongqing", "chengdu", _note(real, 5)),
            Sighting("mianyang", "chengdu", _note(real, 6)),
        ],
        VERIFIERS,
    )
    (request,) = p.proofs_needed
    verdict = judge(
        request, consistency_proof(other, 5), subtree_root(other, 0, 5), VERIFIERS["chengdu"]
    )
    assert isinstance(verdict, Unproven)
    assert (verdict.origin, verdict.node) == ("chengdu", "mianyang")


def test_unsigned_and_misattributed_sightings_are_forged() -> None:
    real, _ = _forked()
    forger = log_signer("chengdu", seed=b"forger")
    forged = signed_checkpoint("chengdu", 6, subtree_root(real, 0, 6), forger)
    p = plan(
        [
            Sighting("mianyang", "chengdu", forged),
            Sighting("leshan", "chongqing", _note(real, 6)),  # chengdu's note served as chongqing's
            Sighting("chongqing", "yibin", "not a note"),
        ],
        VERIFIERS,
    )
    assert sorted((f.node, f.origin) for f in p.forged) == [
        ("chongqing", "yibin"),
        ("leshan", "chongqing"),
        ("mianyang", "chengdu"),
    ]
    assert p.heads == {}


def test_origins_without_a_certified_key_are_listed_as_unchecked() -> None:
    real, _ = _forked()
    other = build_log(3, "chongqing")
    p = plan(
        [
            Sighting("chengdu", "chongqing", other.checkpoint()),
            Sighting("x", "chengdu", _note(real, 2)),
        ],
        VERIFIERS,
    )
    assert [s.origin for s in p.unknown] == ["chongqing"]
    assert list(p.heads) == ["chengdu"]


def test_evidence_files_refuse_malformed_documents() -> None:
    real, other = _forked()
    evidence = Evidence("chengdu", _note(real, 6), _note(other, 6))
    doc = evidence_document(
        trust_domain=TRUST_DOMAIN, evidence=evidence, certificate_pem=fake_pem("chengdu")
    )
    for broken, reason in (
        ("not json", "the file is not JSON"),
        (json.dumps({**doc, "extra": 1}), "exactly"),
        (json.dumps({**doc, "format": "v0"}), "format"),
        (json.dumps({**doc, "observed": [{"node": 1}]}), "observed"),
        (json.dumps({**doc, "larger_note": evidence.smaller_note}), "not equivocation"),
    ):
        with pytest.raises(EvidenceFileError, match=reason):
            verify_evidence_file(broken, fake_check)


def test_proof_request_is_a_plain_value() -> None:
    real, _ = _forked()
    p = plan(
        [Sighting("a", "chengdu", _note(real, 6)), Sighting("b", "chengdu", _note(real, 3))],
        VERIFIERS,
    )
    assert p.proofs_needed == [
        ProofRequest("chengdu", p.heads["chengdu"][1], p.heads["chengdu"][0], "a")
    ]
