"""C2SP signed notes with Ed25519 signatures: parse, format, sign, verify. Pure, no I/O.

Implements https://c2sp.org/signed-note (v1.0.0) with signature type 0x01 (Ed25519), byte for
byte compatible with golang.org/x/mod/sumdb/note (the reference implementation; its test
vectors are in tests/unit/test_note.py). Verifier keys ("vkeys") use the Go encoding
``<name>+<8 lowercase hex key ID>+<base64(type byte || public key)>``.

A signed note is::

    <text: one or more non-empty lines, each ending in "\\n">
    <blank line>
    — <key name> <base64(4-byte key ID || signature)>\\n    (one or more)

Ed25519 key ID = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4].

Profile choices, stricter than the spec where the spec leaves room:

* the text may not contain blank lines (the spec allows them and splits at the *last* blank
  line; every note ccnode signs is a checkpoint, whose lines are all non-empty), so a note with
  an interior blank line is rejected rather than silently reinterpreted;
* base64 must be canonical (padded, zero trailing bits), so ``format_note(parse_note(x)) == x``;
* a note is at most ``MAX_NOTE_BYTES`` of UTF-8 and carries at most ``MAX_SIGNATURES``
  signature lines (the spec requires accepting at least 16; Go rejects more than 100);
* when opening, *every* signature from a known key is verified (Go checks only the first one
  per key), and any failure rejects the whole note (the spec's SHOULD);
* texts starting with the ``cosignature/v1`` header are neither signed nor accepted as Ed25519
  (type 0x01) notes, so a key used for both type 0x01 and type 0x04 cannot be tricked into
  making a cosignature, nor a cosignature passed off as a plain note signature.

Timestamps and keys are passed in by the caller: this module never reads the clock or
generates randomness.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALG_ED25519",
    "COSIGNATURE_V1_HEADER",
    "KEY_ID_SIZE",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteError",
    "NoteSignature",
    "Signer",
    "Verifier",
    "add_signatures",
    "check_key_name",
    "check_note_text",
    "decode_base64",
    "format_note",
    "format_vkey",
    "key_id",
    "open_note",
    "parse_note",
    "parse_signature_line",
    "parse_vkey",
    "sign_note",
]

ALG_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures (c2sp.org/signed-note)."""

KEY_ID_SIZE = 4
ED25519_PUBLIC_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64

MAX_NOTE_BYTES = 1 << 20
"""Largest signed note accepted or produced, in UTF-8 bytes (1 MiB)."""

MAX_SIGNATURES = 100
"""Most signature lines accepted or produced in one note (same bound as Go's note.Open)."""

COSIGNATURE_V1_HEADER = "cosignature/v1\n"
"""First line of every message signed by a cosignature/v1 key (c2sp.org/tlog-cosignature)."""

_MAX_VKEY_CHARS = 1024
_SIG_PREFIX = "— "  # em dash U+2014, then a space
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")
_BASE64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?", re.ASCII)
_KEY_ID_HEX_RE = re.compile(r"[0-9a-f]{8}", re.ASCII)


class NoteError(ValueError):
    """A note, signature or verifier key is malformed or does not verify.

    ``reason`` is a short human-readable statement of the rule that was broken; it names the
    part of the note, never echoes the note text.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- small helpers


def decode_base64(value: str) -> bytes | None:
    """Decode canonical RFC 4648 §4 base64 (padded, zero trailing bits); None if not canonical.

    Canonical-only keeps encodings unique: one byte string, one text.
    """
    if not _BASE64_RE.fullmatch(value):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        return None
    if base64.b64encode(raw).decode("ascii") != value:
        return None  # non-zero bits in the last character
    return raw


def _encode_base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_key_name(name: object, field: str = "key name") -> str:
    """Return ``name`` if it is a valid signed-note key name, else raise NoteError.

    Rule (signed-note §Format): non-empty, no Unicode whitespace, no "+"; ours also forbids
    ASCII control characters (they are illegal anywhere in a note anyway).
    """
    if isinstance(name, str) and name in _VALID_KEY_NAMES:
        return name
    if not isinstance(name, str) or not name:
        raise NoteError(f"{field} must be a non-empty string")
    if any(ch.isspace() for ch in name):
        raise NoteError(f"{field} must not contain whitespace")
    if "+" in name:
        raise NoteError(f"{field} must not contain '+'")
    if _CONTROL_RE.search(name):
        raise NoteError(f"{field} must not contain control characters")
    _check_utf8(name, field)
    if len(_VALID_KEY_NAMES) < _VALID_KEY_NAMES_MAX:
        _VALID_KEY_NAMES.add(name)
    return name


# Names that passed check_key_name: every note parsed (a checkpoint in every batch, with its
# cosignatures) names the same few origins and witnesses, and the check walks each character.
_VALID_KEY_NAMES: set[str] = set()
_VALID_KEY_NAMES_MAX = 4096


def _check_utf8(text: str, field: str) -> int:
    """Return the UTF-8 size of ``text``; lone surrogates cannot be encoded and are rejected."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise NoteError(f"{field} is not valid UTF-8") from None


def check_note_text(text: object, field: str = "note text") -> str:
    """Return ``text`` if it is a valid note text for our profile, else raise NoteError.

    Rules: one or more non-empty lines each ending in "\\n", valid UTF-8, no control characters
    other than newline, at most ``MAX_NOTE_BYTES``.
    """
    if not isinstance(text, str) or not text:
        raise NoteError(f"{field} must be a non-empty string")
    if len(text) > MAX_NOTE_BYTES or _check_utf8(text, field) > MAX_NOTE_BYTES:
        raise NoteError(f"{field} is larger than {MAX_NOTE_BYTES} bytes")
    if not text.endswith("\n"):
        raise NoteError(f"{field} must end in a newline")
    if text.startswith("\n") or "\n\n" in text:
        raise NoteError(f"{field} must not contain blank lines")
    if _CONTROL_RE.search(text):
        raise NoteError(f"{field} must not contain control characters other than newline")
    return text


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """Key ID = SHA-256(name || 0x0A || alg || public key)[:4] (signed-note §Signatures)."""
    check_key_name(name)
    if not 0 <= alg <= 0xFF:
        raise NoteError("signature type must be one byte")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return digest[:KEY_ID_SIZE]


def format_vkey(name: str, alg: int, public_key: bytes) -> str:
    """Verifier key text ``name+hex(key ID)+base64(alg || public key)`` (Go note encoding)."""
    kid = key_id(name, alg, public_key)
    return f"{name}+{kid.hex()}+{_encode_base64(bytes([alg]) + public_key)}"


def parse_vkey(vkey: object, alg: int, public_key_size: int) -> tuple[str, bytes]:
    """Parse a verifier key of signature type ``alg``; return (name, raw public key).

    Raises NoteError if the text is malformed, the key ID does not match the name and key, the
    type byte is not ``alg`` or the key has the wrong length.
    """
    if not isinstance(vkey, str) or not 0 < len(vkey) <= _MAX_VKEY_CHARS:
        raise NoteError("verifier key must be a non-empty string of at most 1024 characters")
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key must have the form <name>+<key id>+<key>")
    name, kid_hex, key_b64 = parts
    check_key_name(name, "verifier key name")
    if not _KEY_ID_HEX_RE.fullmatch(kid_hex):
        raise NoteError("verifier key ID must be 8 lowercase hex digits")
    raw = decode_base64(key_b64)
    if not raw:
        raise NoteError("verifier key material must be non-empty canonical base64")
    if key_id(name, raw[0], raw[1:]).hex() != kid_hex:
        raise NoteError("verifier key ID does not match its name and key")
    if raw[0] != alg:
        raise NoteError(f"verifier key has signature type 0x{raw[0]:02x}, want 0x{alg:02x}")
    if len(raw) - 1 != public_key_size:
        raise NoteError(f"verifier public key must be {public_key_size} bytes")
    return name, raw[1:]


def load_ed25519_public_key(public_key_bytes: object) -> Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key, raising NoteError on bad input."""
    if not isinstance(public_key_bytes, bytes) or len(public_key_bytes) != ED25519_PUBLIC_KEY_SIZE:
        raise NoteError(f"Ed25519 public key must be {ED25519_PUBLIC_KEY_SIZE} bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(public_key_bytes)
    except ValueError:
        raise NoteError("Ed25519 public key is invalid") from None


def ed25519_verify(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """Plain RFC 8032 verification that answers a bool instead of raising."""
    if len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID and the signature bytes after the key ID."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name, "signature key name")
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise NoteError(f"signature key ID must be {KEY_ID_SIZE} bytes")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise NoteError("signature must be non-empty bytes")

    def line(self) -> str:
        """The signature line, including the final newline."""
        return f"{_SIG_PREFIX}{self.name} {_encode_base64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A note text and its signatures (verified or not: see ``parse_note`` / ``open_note``)."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        check_note_text(self.text)
        sigs = tuple(self.signatures)
        if not all(isinstance(s, NoteSignature) for s in sigs):
            raise NoteError("note signatures must be NoteSignature values")
        if len(sigs) > MAX_SIGNATURES:
            raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
        object.__setattr__(self, "signatures", sigs)  # accept any sequence, store a tuple


class Signer(Protocol):
    """Anything that signs a note text under a (name, key ID)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: str) -> NoteSignature: ...


class Verifier(Protocol):
    """Anything that checks signatures of one key, identified by (name, key ID).

    ``verify`` must answer False (never raise) for a signature that does not verify, including
    one whose name or key ID is not this verifier's.
    """

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: str, sig: NoteSignature) -> bool: ...


# ---------------------------------------------------------------- parse / format


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    where = f"signature line {number}"
    if not line.startswith(_SIG_PREFIX):
        raise NoteError(f"{where} must start with an em dash and a space")
    name, space, sig_b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not space:
        raise NoteError(f"{where} must have a key name, a space and a signature")
    check_key_name(name, f"{where} key name")
    raw = decode_base64(sig_b64)
    if raw is None:
        raise NoteError(f"{where} signature is not canonical base64")
    if len(raw) <= KEY_ID_SIZE:
        raise NoteError(f"{where} signature is shorter than a key ID plus one byte")
    return NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def parse_signature_line(line: str) -> NoteSignature:
    """Parse one signature line (e.g. a witness's reply), with or without its final newline."""
    if not isinstance(line, str):
        raise NoteError("signature line must be a string")
    if len(line) > MAX_NOTE_BYTES:
        raise NoteError(f"signature line is larger than {MAX_NOTE_BYTES} bytes")
    body = line.removesuffix("\n")
    if _CONTROL_RE.search(body) or "\n" in body:
        raise NoteError("signature line must not contain newlines or control characters")
    return _parse_signature_line(body, 1)


def _decode_note(data: object) -> str:
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    if isinstance(data, str):
        if len(data) > MAX_NOTE_BYTES or _check_utf8(data, "note") > MAX_NOTE_BYTES:
            raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
        return data
    raise NoteError("note must be str or bytes")


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note's syntax. Nothing is verified: use ``open_note`` for that."""
    msg = _decode_note(data)
    if _CONTROL_RE.search(msg):
        raise NoteError("note must not contain control characters other than newline")
    split = msg.rfind("\n\n")
    if split < 0:
        raise NoteError("note must have a blank line between text and signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block:
        raise NoteError("note has no signature lines")
    if not block.endswith("\n"):
        raise NoteError("last signature line must end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signature lines")
    check_note_text(text)
    sigs = tuple(_parse_signature_line(line, i) for i, line in enumerate(lines, start=1))
    return Note(text, sigs)


def format_note(note: Note) -> str:
    """Encode a note: text, blank line, one line per signature."""
    if not note.signatures:
        raise NoteError("note must have at least one signature")
    encoded = note.text + "\n" + "".join(sig.line() for sig in note.signatures)
    if len(encoded.encode("utf-8")) > MAX_NOTE_BYTES:
        raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    return encoded


def add_signatures(note_text: str | bytes, sigs: Iterable[NoteSignature]) -> str:
    """Append signature lines to an encoded note, dropping lines identical to one present.

    Syntax only: nothing is verified, so verify a signature before adding it. Existing lines
    keep their order; new ones follow in the order given.
    """
    note = parse_note(note_text)
    merged = tuple(dict.fromkeys((*note.signatures, *sigs)))
    return format_note(Note(note.text, merged))


# ---------------------------------------------------------------- Ed25519 (type 0x01)


class Ed25519Verifier:
    """Verifies plain Ed25519 note signatures (type 0x01) of one named key."""

    def __init__(self, name: str, public_key_bytes: bytes) -> None:
        self._name = check_key_name(name)
        self._public_key = load_ed25519_public_key(public_key_bytes)
        self._public_key_bytes = public_key_bytes
        self._key_id = key_id(name, ALG_ED25519, public_key_bytes)

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        """Build from a verifier key ``name+keyid+base64(0x01 || key)``."""
        name, public_key = parse_vkey(vkey, ALG_ED25519, ED25519_PUBLIC_KEY_SIZE)
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
        return format_vkey(self._name, ALG_ED25519, self._public_key_bytes)

    def verify(self, text: str, sig: NoteSignature) -> bool:
        if sig.name != self._name or sig.key_id != self._key_id:
            return False
        if text.startswith(COSIGNATURE_V1_HEADER):
            return False  # a cosignature/v1 message is never a plain note (see Ed25519Signer.sign)
        try:
            message = text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return ed25519_verify(self._public_key, message, sig.signature)

    def __repr__(self) -> str:
        return f"Ed25519Verifier({self.vkey()!r})"


class Ed25519Signer:
    """Signs note texts with an Ed25519 key under a key name (type 0x01)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("private_key must be an Ed25519PrivateKey")
        self._name = check_key_name(name)
        self._private_key = private_key
        self._public_key_bytes = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(name, ALG_ED25519, self._public_key_bytes)

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
        return format_vkey(self._name, ALG_ED25519, self._public_key_bytes)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._public_key_bytes)

    def sign(self, text: str) -> NoteSignature:
        check_note_text(text)
        if text.startswith(COSIGNATURE_V1_HEADER):
            # Domain separation: a type-0x01 signature over such a text would also be a valid
            # cosignature/v1 if the same key were ever used as a witness key.
            raise NoteError("note text must not start with the cosignature/v1 header")
        signature = self._private_key.sign(text.encode("utf-8"))
        return NoteSignature(self._name, self._key_id, signature)

    def __repr__(self) -> str:  # never show key material
        return f"Ed25519Signer({self._name!r}, key_id={self._key_id.hex()})"


# ---------------------------------------------------------------- sign / open


def sign_note(text: str, *signers: Signer) -> str:
    """Sign ``text`` with every signer; return the encoded note (signature lines in order)."""
    if not signers:
        raise NoteError("sign_note needs at least one signer")
    check_note_text(text)
    sigs = tuple(dict.fromkeys(signer.sign(text) for signer in signers))
    return format_note(Note(text, sigs))


def _index_verifiers(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], list[Verifier]]:
    known: dict[tuple[str, bytes], list[Verifier]] = {}
    for v in verifiers:
        same_key = known.setdefault((v.name, bytes(v.key_id)), [])
        if not any(v is other for other in same_key):
            same_key.append(v)
    return known


def open_note(data: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse a note and check its signatures against the known ``verifiers``.

    Returns the note carrying only the signatures that verified. Signatures whose (name, key ID)
    matches no verifier are ignored (signed-note §Signatures: MUST ignore unknown keys).
    A signature from a known key that fails is an error, as is a note without any valid
    signature from a known key. Identical signature lines are reported once.
    """
    note = parse_note(data)
    known = _index_verifiers(verifiers)
    verified: dict[NoteSignature, None] = {}
    for sig in note.signatures:
        candidates = known.get((sig.name, sig.key_id))
        if not candidates:
            continue
        if len(candidates) > 1:
            raise NoteError(f"ambiguous verifiers for key {sig.name}+{sig.key_id.hex()}")
        if not candidates[0].verify(note.text, sig):
            raise NoteError(f"invalid signature by {sig.name}")
        verified[sig] = None
    if not verified:
        raise NoteError("note has no valid signature from a known key")
    return Note(note.text, tuple(verified))
