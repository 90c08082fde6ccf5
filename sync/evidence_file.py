"""Equivocation evidence as a file that anyone can check with the CA certificate alone.

Pure, no I/O. The file (``ccnode-equivocation-evidence/v1``, documented in docs/audit.md) is
one JSON object: the two checkpoints the origin signed, the prefix root and consistency proof
that make them provably inconsistent when their sizes differ (see ``sync.equivocation``), the
origin's log-signing certificate (PEM), and who saw which checkpoint. The certificate is
checked by the caller (``CertificateCheck``, as for bundles); the rest is checked here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sync.bundle import CertificateCheck
from sync.checkpoint import Checkpoint, CheckpointError, origin_line
from sync.equivocation import Evidence, EvidenceError, verify_evidence
from sync.note import Ed25519Verifier, NoteError, decode_base64, parse_note

FORMAT = "ccnode-equivocation-evidence/v1"
_KEYS = frozenset(
    {
        "format",
        "trust_domain",
        "origin",
        "certificate",
        "smaller_note",
        "larger_note",
        "prefix_root",
        "consistency_proof",
        "detected_by",
        "detected_at_unix_ms",
        "observed",
    }
)


class EvidenceFileError(ValueError):
    """The file is malformed or does not prove equivocation; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Observation:
    """Which node served which of the two checkpoints (unsigned context for readers)."""

    node: str
    note: str  # "smaller" | "larger"


def evidence_document(
    *,
    trust_domain: str,
    evidence: Evidence,
    certificate_pem: str,
    observed: Sequence[Observation] = (),
) -> dict[str, Any]:
    origin_line(trust_domain, evidence.origin)  # validates both
    return {
        "format": FORMAT,
        "trust_domain": trust_domain,
        "origin": evidence.origin,
        "certificate": certificate_pem,
        "smaller_note": evidence.smaller_note,
        "larger_note": evidence.larger_note,
        "prefix_root": base64.b64encode(evidence.prefix_root).decode("ascii"),
        "consistency_proof": [
            base64.b64encode(h).decode("ascii") for h in evidence.consistency_proof
        ],
        "detected_by": evidence.detected_by,
        "detected_at_unix_ms": evidence.detected_at_unix_ms,
        "observed": [{"node": o.node, "note": o.note} for o in observed],
    }


def format_evidence_file(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    trust_domain: str
    origin: str
    smaller: Checkpoint
    larger: Checkpoint
    detected_by: str
    detected_at_unix_ms: int


def _field(doc: Mapping[str, Any], key: str, kind: type) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EvidenceFileError(f"{key}: must be a {kind.__name__}")
    return value


def _hash(value: object, key: str) -> bytes:
    raw = decode_base64(value) if isinstance(value, str) else None
    if raw is None:
        raise EvidenceFileError(f"{key}: must be canonical base64")
    return raw


def verify_evidence_file(text: str, check_certificate: CertificateCheck) -> EvidenceSummary:
    """Parse and verify an evidence file; raise EvidenceFileError saying what failed."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise EvidenceFileError("the file is not JSON") from None
    if not isinstance(doc, dict) or set(doc) != _KEYS:
        raise EvidenceFileError(f"the file must be an object with exactly {sorted(_KEYS)}")
    if doc["format"] != FORMAT:
        raise EvidenceFileError(f"format: must be {FORMAT}")
    trust_domain = _field(doc, "trust_domain", str)
    origin = _field(doc, "origin", str)
    try:
        name = origin_line(trust_domain, origin)
    except CheckpointError as e:
        raise EvidenceFileError(f"trust_domain, origin: {e.reason}") from None
    try:
        raw_key = check_certificate(origin, _field(doc, "certificate", str))
    except ValueError as e:
        raise EvidenceFileError(f"certificate: {e}") from None
    proof = _field(doc, "consistency_proof", list)
    for seen in _field(doc, "observed", list):
        if (
            not isinstance(seen, dict)
            or set(seen) != {"node", "note"}
            or not isinstance(seen["node"], str)
            or seen["note"] not in ("smaller", "larger")
        ):
            raise EvidenceFileError("observed: each must be {node, note: smaller|larger}")
    evidence = Evidence(
        origin=origin,
        smaller_note=_field(doc, "smaller_note", str),
        larger_note=_field(doc, "larger_note", str),
        prefix_root=_hash(doc["prefix_root"], "prefix_root") if doc["prefix_root"] else b"",
        consistency_proof=tuple(_hash(h, "consistency_proof") for h in proof),
        detected_by=_field(doc, "detected_by", str),
        detected_at_unix_ms=_field(doc, "detected_at_unix_ms", int),
    )
    try:
        verify_evidence(evidence, Ed25519Verifier(name, raw_key))
    except EvidenceError as e:
        raise EvidenceFileError(f"not equivocation: {e}") from None
    try:
        notes = (evidence.smaller_note, evidence.larger_note)
        cps = sorted((Checkpoint.parse(parse_note(n).text) for n in notes), key=lambda c: c.size)
    except (NoteError, CheckpointError) as e:  # verify_evidence parsed them: unreachable
        raise EvidenceFileError(f"checkpoint: {e}") from None
    return EvidenceSummary(
        trust_domain=trust_domain,
        origin=origin,
        smaller=cps[0],
        larger=cps[1],
        detected_by=evidence.detected_by,
        detected_at_unix_ms=evidence.detected_at_unix_ms,
    )
