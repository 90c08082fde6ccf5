"""Transparency-log checkpoints and witness cosignatures. Pure, no I/O.

Implements

* https://c2sp.org/tlog-checkpoint (v1.0.0): the note text is the origin line, the tree size in
  decimal (no leading zeros unless "0"), the base64 RFC 6962 root hash (32 bytes), then optional
  non-empty extension lines, each line ending in "\\n". It is signed as a C2SP signed note
  (see ``sync.note``) by the log's key, whose name equals the origin line.
* https://c2sp.org/tlog-cosignature, the Ed25519 ``cosignature/v1`` type (signature type 0x04):
  the witness signs ``"cosignature/v1\\ntime <unix seconds>\\n" + checkpoint body`` and the
  signature line carries key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64);
  key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4]. Compatible with
  github.com/transparency-dev/formats/note.

ccnode profile: the origin line is ``<trust-domain>/<node-id>`` (e.g. ``chengyu.court/chengdu``);
witnesses use their own origin-style name as cosigner key name. Tree sizes and timestamps are
capped at 2^63 - 1 so they fit a signed 64-bit database column. The caller passes timestamps
and keys: this module never reads the clock.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.ids import DNS_LABEL_RE, INDEX_RE, NODE_ID, NODE_ID_RE
from sync.note import (
    COSIGNATURE_V1_HEADER,
    ED25519_PUBLIC_KEY_SIZE,
    ED25519_SIGNATURE_SIZE,
    MAX_NOTE_BYTES,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
    add_signatures,
    check_key_name,
    check_note_text,
    decode_base64,
    ed25519_verify,
    format_vkey,
    key_id,
    load_ed25519_public_key,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "MAX_TIMESTAMP_S",
    "MAX_TREE_SIZE",
    "ROOT_HASH_SIZE",
    "Checkpoint",
    "CheckpointError",
    "CosignatureSigner",
    "CosignatureVerifier",
    "add_signatures",
    "cosignature_message",
    "cosignature_timestamp",
    "open_checkpoint",
    "origin_line",
    "sign_checkpoint",
    "split_origin",
]

ALG_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/signed-note)."""

ROOT_HASH_SIZE = 32
MAX_TREE_SIZE = 2**63 - 1
MAX_TIMESTAMP_S = 2**63 - 1  # tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1
TIMESTAMP_SIZE = 8
COSIGNATURE_SIZE = TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE

_MAX_TRUST_DOMAIN_CHARS = 253
_CONTROL_RE = re.compile(r"[\x00-\x1f]")


class CheckpointError(ValueError):
    """A checkpoint or origin is malformed, or not signed by its origin.

    ``reason`` names the line or field and the rule it breaks.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- origin


def _check_trust_domain(trust_domain: object) -> str:
    if not isinstance(trust_domain, str) or not 0 < len(trust_domain) <= _MAX_TRUST_DOMAIN_CHARS:
        raise CheckpointError("trust domain must be 1 to 253 characters")
    if not all(DNS_LABEL_RE.fullmatch(label) for label in trust_domain.split(".")):
        raise CheckpointError(
            "trust domain must be dot-separated lowercase DNS labels "
            "(a-z, 0-9, inner '-', at most 63 characters each)"
        )
    return trust_domain


def _check_node_id(node_id: object) -> str:
    if not isinstance(node_id, str) or not NODE_ID_RE.fullmatch(node_id):
        raise CheckpointError(f"node id must match {NODE_ID}")
    return node_id


def origin_line(trust_domain: str, node_id: str) -> str:
    """The checkpoint origin (and log key name) of a node: ``<trust-domain>/<node-id>``."""
    return f"{_check_trust_domain(trust_domain)}/{_check_node_id(node_id)}"


def split_origin(origin: str) -> tuple[str, str]:
    """Split and validate an origin line into (trust domain, node id)."""
    if not isinstance(origin, str) or origin.count("/") != 1:
        raise CheckpointError("origin must have the form <trust-domain>/<node-id>")
    trust_domain, _, node_id = origin.partition("/")
    return _check_trust_domain(trust_domain), _check_node_id(node_id)


# ---------------------------------------------------------------- checkpoint


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed tree head: origin, tree size, RFC 6962 root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        split_origin(self.origin)
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointError("tree size must be an int")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError("tree size must be between 0 and 2^63 - 1")
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_HASH_SIZE:
            raise CheckpointError(f"root hash must be {ROOT_HASH_SIZE} bytes")
        extensions = tuple(self.extensions)
        for number, ext in enumerate(extensions, start=1):
            if not isinstance(ext, str) or not ext:
                raise CheckpointError(f"extension line {number} must be a non-empty string")
            if _CONTROL_RE.search(ext):
                raise CheckpointError(
                    f"extension line {number} must not contain newlines or control characters"
                )
        object.__setattr__(self, "extensions", extensions)  # accept any sequence, store a tuple
        try:
            check_note_text(self.body(), "checkpoint body")
        except NoteError as err:  # e.g. oversized or not encodable as UTF-8
            raise CheckpointError(err.reason) from None

    def body(self) -> str:
        """The note text: origin, size, base64 root and extension lines, each ending in "\\n"."""
        root_b64 = base64.b64encode(self.root).decode("ascii")
        head = f"{self.origin}\n{self.size}\n{root_b64}\n"
        return head + "".join(f"{ext}\n" for ext in self.extensions)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text (no signatures). Raises CheckpointError."""
        if not isinstance(body, str):
            raise CheckpointError("checkpoint body must be a string")
        if len(body) > MAX_NOTE_BYTES:
            raise CheckpointError(f"checkpoint body is larger than {MAX_NOTE_BYTES} bytes")
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end in a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint must have origin, tree size and root hash lines")
        for number, line in enumerate(lines, start=1):
            if not line:
                raise CheckpointError(f"checkpoint line {number} is empty")
        origin, size_text, root_text, *extensions = lines
        if not INDEX_RE.fullmatch(size_text):
            raise CheckpointError(
                "tree size line must be a decimal number without leading zeros, below 2^63"
            )
        root = decode_base64(root_text)
        if root is None:
            raise CheckpointError("root hash line must be canonical standard base64")
        if len(root) != ROOT_HASH_SIZE:
            raise CheckpointError(f"root hash must be {ROOT_HASH_SIZE} bytes")
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """Sign a checkpoint as its origin: the signer's key name must equal the origin line."""
    if signer.name != cp.origin:
        raise CheckpointError("signer key name must equal the checkpoint origin")
    return sign_note(cp.body(), signer)


def open_checkpoint(
    note_text: str | bytes,
    origin_verifier: Verifier,
    cosigners: Iterable[Verifier] = (),
) -> tuple[Checkpoint, Note]:
    """Parse a signed checkpoint and verify it was signed by its origin's key.

    The origin verifier's key name must equal the checkpoint's origin line, and the note must
    carry a valid signature by that key. Signatures by ``cosigners`` are verified too (any that
    fails rejects the note); others are ignored. The returned note carries only the verified
    signatures: the origin's and any valid cosignatures.
    """
    cp = Checkpoint.parse(parse_note(note_text).text)
    if origin_verifier.name != cp.origin:
        raise CheckpointError("origin verifier key name must equal the checkpoint origin")
    note = open_note(note_text, [origin_verifier, *cosigners])
    if not any(
        s.name == origin_verifier.name and s.key_id == origin_verifier.key_id
        for s in note.signatures
    ):
        raise CheckpointError("checkpoint is not signed by its origin key")
    return cp, note


# ---------------------------------------------------------------- cosignature/v1 (type 0x04)


def cosignature_message(checkpoint_body: str, timestamp_s: int) -> bytes:
    """The bytes a cosignature/v1 signs: header line, ``time <seconds>`` line, checkpoint body."""
    _check_timestamp(timestamp_s)
    return f"{COSIGNATURE_V1_HEADER}time {timestamp_s}\n{checkpoint_body}".encode()


def _check_timestamp(timestamp_s: object) -> int:
    if not isinstance(timestamp_s, int) or isinstance(timestamp_s, bool):
        raise CheckpointError("cosignature timestamp must be an int (unix seconds)")
    if not 0 <= timestamp_s <= MAX_TIMESTAMP_S:
        raise CheckpointError("cosignature timestamp must be between 0 and 2^63 - 1")
    return timestamp_s


def cosignature_timestamp(sig: NoteSignature) -> int:
    """The timestamp (unix seconds) carried by a cosignature/v1 signature. Does not verify."""
    if len(sig.signature) != COSIGNATURE_SIZE:
        raise NoteError(
            f"cosignature must be an {TIMESTAMP_SIZE}-byte timestamp "
            f"and a {ED25519_SIGNATURE_SIZE}-byte signature"
        )
    timestamp_s = int.from_bytes(sig.signature[:TIMESTAMP_SIZE], "big")
    if timestamp_s > MAX_TIMESTAMP_S:
        raise NoteError("cosignature timestamp exceeds 2^63 - 1")
    return timestamp_s


def _check_cosigner_name(name: str) -> str:
    """Our witnesses cosign under their own origin line (``<trust-domain>/<node-id>``)."""
    check_key_name(name, "cosigner name")
    split_origin(name)
    return name


class CosignatureVerifier:
    """Verifies Ed25519 cosignature/v1 signatures (type 0x04) of one witness key.

    Fits the ``sync.note.Verifier`` protocol, so ``open_note`` / ``open_checkpoint`` check
    cosignatures next to the origin's signature.
    """

    def __init__(self, name: str, public_key_bytes: bytes) -> None:
        # Any valid key name: verifying is harmless, and it lets us check outside witnesses.
        self._name = check_key_name(name, "cosigner name")
        self._public_key = load_ed25519_public_key(public_key_bytes)
        self._public_key_bytes = public_key_bytes
        self._key_id = key_id(name, ALG_COSIGNATURE_V1, public_key_bytes)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """Build from a verifier key ``name+keyid+base64(0x04 || key)``."""
        name, public_key = parse_vkey(vkey, ALG_COSIGNATURE_V1, ED25519_PUBLIC_KEY_SIZE)
        return cls(name, public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key_bytes(self) -> bytes:
        return self._public_key_bytes

    def vkey(self) -> str:
        return format_vkey(self._name, ALG_COSIGNATURE_V1, self._public_key_bytes)

    def verify(self, text: str, sig: NoteSignature) -> bool:
        """True iff ``sig`` is this witness's valid cosignature of checkpoint body ``text``."""
        if sig.name != self._name or sig.key_id != self._key_id:
            return False
        try:
            timestamp_s = cosignature_timestamp(sig)
            Checkpoint.parse(text)  # a cosignature only ever covers a checkpoint
        except (NoteError, CheckpointError):
            return False
        message = cosignature_message(text, timestamp_s)
        return ed25519_verify(self._public_key, message, sig.signature[TIMESTAMP_SIZE:])

    def timestamp(self, sig: NoteSignature) -> int:
        """The timestamp of this witness's cosignature. Does not verify: call ``verify`` first."""
        if sig.name != self._name or sig.key_id != self._key_id:
            raise NoteError("signature is not from this cosigner's key")
        return cosignature_timestamp(sig)

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.vkey()!r})"


class CosignatureSigner:
    """A witness's Ed25519 cosignature/v1 key; ``name`` is the witness's own origin line."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("private_key must be an Ed25519PrivateKey")
        self._name = _check_cosigner_name(name)
        self._private_key = private_key
        self._public_key_bytes = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(name, ALG_COSIGNATURE_V1, self._public_key_bytes)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key_bytes(self) -> bytes:
        return self._public_key_bytes

    def vkey(self) -> str:
        return format_vkey(self._name, ALG_COSIGNATURE_V1, self._public_key_bytes)

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self._name, self._public_key_bytes)

    def cosign(self, checkpoint_body: str, timestamp_s: int) -> NoteSignature:
        """Cosign a checkpoint body at ``timestamp_s`` (unix seconds, from the caller's clock).

        The caller must already have checked the checkpoint is consistent with the last one it
        cosigned for that origin: the cosignature states exactly that.
        """
        Checkpoint.parse(checkpoint_body)
        message = cosignature_message(checkpoint_body, timestamp_s)
        signature = self._private_key.sign(message)
        payload = timestamp_s.to_bytes(TIMESTAMP_SIZE, "big") + signature
        return NoteSignature(self._name, self._key_id, payload)

    def __repr__(self) -> str:  # never show key material
        return f"CosignatureSigner({self._name!r}, key_id={self._key_id.hex()})"
