"""Single-entry inclusion proofs in the C2SP ``tlog-proof`` format. Pure, no I/O.

Implements https://c2sp.org/tlog-proof (v1), byte compatible with
github.com/transparency-dev/formats/proof::

    c2sp.org/tlog-proof@v1
    extra <base64>            (optional)
    index <decimal>
    <base64 hash>             (zero or more: the RFC 6962 inclusion proof, sibling first)
                              (an empty line)
    <signed checkpoint note, verbatim, with any cosignatures>

ccnode profile: ``extra`` carries the entry's header bytes exactly as the origin wrote them.
The leaf hash is SHA-256(0x00 ‖ header), so the proof file alone shows what the origin logged
at that index (kind, subject, actor, time, payload digest) and proves it under the origin's
signed checkpoint. The salt and payload are not in the file: a proof can be handed to anyone
without revealing personal data. The spec calls ``extra`` unauthenticated; here it is
authenticated by the inclusion proof, which is computed over its hash.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sync.checkpoint import Checkpoint, CheckpointError, CosignatureVerifier
from sync.entry import EntryError, Header, decode_header
from sync.ids import INDEX_RE
from sync.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion
from sync.note import NoteError, Verifier, decode_base64, parse_note

HEADER_LINE = "c2sp.org/tlog-proof@v1"
FILE_EXTENSION = ".tlog-proof"
_MAX_INDEX = 2**63 - 1


class TlogProofError(ValueError):
    """The proof is malformed or does not prove the entry; ``reason`` names the rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _MAX_INDEX:
            raise TlogProofError("index: must be 0..2^63-1")
        if any(len(h) != HASH_SIZE for h in self.hashes):
            raise TlogProofError(f"proof hashes must be {HASH_SIZE} bytes each")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def format_proof(proof: TlogProof) -> str:
    lines = [HEADER_LINE]
    if proof.extra is not None:
        lines.append(f"extra {_b64(proof.extra)}")
    lines.append(f"index {proof.index}")
    lines.extend(_b64(h) for h in proof.hashes)
    return "\n".join(lines) + "\n\n" + proof.checkpoint


def parse_proof(text: str) -> TlogProof:
    """Parse a tlog-proof; TlogProofError names the line that breaks the format."""
    lines = text.split("\n")
    if not lines or lines[0] != HEADER_LINE:
        raise TlogProofError(f"line 1: must be {HEADER_LINE}")
    at = 1
    extra: bytes | None = None
    if at < len(lines) and lines[at].startswith("extra "):
        extra = decode_base64(lines[at][len("extra ") :])
        if extra is None:
            raise TlogProofError(f"line {at + 1}: extra data must be canonical base64")
        at += 1
    if at >= len(lines) or not lines[at].startswith("index "):
        raise TlogProofError(f"line {at + 1}: must be 'index <decimal>'")
    digits = lines[at][len("index ") :]
    if not INDEX_RE.fullmatch(digits) or int(digits) > _MAX_INDEX:
        raise TlogProofError(f"line {at + 1}: index must be a decimal without leading zeros")
    index = int(digits)
    at += 1
    hashes: list[bytes] = []
    while at < len(lines) and lines[at] != "":
        raw = decode_base64(lines[at])
        if raw is None or len(raw) != HASH_SIZE:
            raise TlogProofError(f"line {at + 1}: must be a base64 SHA-256 hash")
        hashes.append(raw)
        at += 1
    if at >= len(lines):
        raise TlogProofError("the empty line before the checkpoint is missing")
    checkpoint = "\n".join(lines[at + 1 :])
    if not checkpoint:
        raise TlogProofError("the checkpoint is missing")
    return TlogProof(index=index, hashes=tuple(hashes), checkpoint=checkpoint, extra=extra)


@dataclass
class ProofReport:
    header: Header
    checkpoint: Checkpoint
    cosignatures: list[str] = field(default_factory=list)  # witnesses whose cosignature verified
    unchecked_signers: list[str] = field(default_factory=list)


def verify_proof(
    proof: TlogProof,
    origin_verifier: Verifier,
    cosigners: Mapping[str, CosignatureVerifier] | Sequence[CosignatureVerifier] = (),
) -> ProofReport:
    """Check that the header in ``extra`` is leaf ``index`` of the checkpointed tree, signed
    by the origin; cosignatures by ``cosigners`` must verify too. Raises TlogProofError."""
    if proof.extra is None:
        raise TlogProofError("extra: the entry header is missing (nothing to prove)")
    try:
        header = decode_header(proof.extra)
    except EntryError as e:
        raise TlogProofError(f"extra: {e}") from None
    if header.index != proof.index:
        raise TlogProofError("the header's index differs from the proof's index")
    try:
        note = parse_note(proof.checkpoint)
        checkpoint = Checkpoint.parse(note.text)
    except (NoteError, CheckpointError) as e:
        raise TlogProofError(f"checkpoint: malformed ({e})") from None
    if checkpoint.origin != origin_verifier.name:
        raise TlogProofError("checkpoint: names another origin than the verifier key")
    if checkpoint.origin.rsplit("/", 1)[-1] != header.origin:
        raise TlogProofError("the header's origin differs from the checkpoint's origin")
    witnesses = list(cosigners.values()) if isinstance(cosigners, Mapping) else list(cosigners)
    report = ProofReport(header=header, checkpoint=checkpoint)
    signed = False
    for sig in note.signatures:
        if (sig.name, sig.key_id) == (origin_verifier.name, origin_verifier.key_id):
            if not origin_verifier.verify(note.text, sig):
                raise TlogProofError("checkpoint: the origin's signature does not verify")
            signed = True
            continue
        witness = next((w for w in witnesses if (sig.name, sig.key_id) == (w.name, w.key_id)), None)
        if witness is None and sig.name in {w.name for w in witnesses}:
            # Named like a certified witness but made with another key: a forgery, not an
            # outside witness to ignore.
            raise TlogProofError(f"checkpoint: {sig.name} signed with an uncertified key")
        if witness is None:
            report.unchecked_signers.append(sig.name)
        elif not witness.verify(note.text, sig):
            raise TlogProofError(f"checkpoint: the cosignature of {sig.name} does not verify")
        else:
            report.cosignatures.append(sig.name)
    if not signed:
        raise TlogProofError("checkpoint: not signed by the origin's key")
    try:
        verify_inclusion(
            leaf_hash(proof.extra), proof.index, checkpoint.size, proof.hashes, checkpoint.root
        )
    except ProofError as e:
        raise TlogProofError(f"inclusion: {e}") from None
    return report
