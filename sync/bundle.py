"""Audit bundles: one origin's log as a file that anyone can verify offline. Pure, no I/O.

The format (``ccnode-audit-bundle/v1``, documented in docs/audit.md) is JSON Lines, UTF-8,
one record per line, each line ending in "\\n", keys sorted, in this order:

1. ``{"type": "bundle", ...}``: format, trust domain, origin, size and where it came from;
2. ``{"type": "certificate", "node": ID, "pem": ...}``: the origin's log-signing certificate
   (required), then those of witnesses whose cosignatures the bundle carries (optional);
3. ``{"type": "entry", "index": i, "leaf_hash", "header", "salt", "payload"}`` for i = 0, 1,
   ... in log order, with ``{"type": "checkpoint", "size": s, "note": ...}`` placed right
   after entry s - 1 (every checkpoint the source holds, the latest one last);
4. ``{"type": "end", "lines": K, "sha256": HEX}``: K lines precede it, and HEX is the SHA-256
   of their exact bytes.

What is proved, and by what. The origin's Ed25519 signature on each checkpoint and the
RFC 6962 root recomputed from the header bytes prove the entries are exactly what the origin
logged, in that order, with none missing: a changed, dropped or reordered entry fails a root
or an index check. A payload is proved by the header's digest. ``leaf_hash`` is the hash the
exporter's store recorded and only locates a changed header to the exact entry; the end
record's digest catches a change anywhere, even in unsigned fields (who exported the file,
when). Whoever recomputes that digest can still change those unsigned fields, and nothing
else.

Certificates are checked by the caller (``CertificateCheck``): this module never touches
X.509 and so stays pure. Reasons name the rule that failed and never quote entry contents.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignatureVerifier,
    origin_line,
)
from sync.entry import Entry, EntryError, check_entry, decode_header
from sync.merkle import HASH_SIZE, Frontier, leaf_hash
from sync.note import Ed25519Verifier, NoteError, NoteSignature, decode_base64, parse_note
from sync.payload import PayloadError, decode_payload

FORMAT = "ccnode-audit-bundle/v1"
PAYLOAD_MODES = ("none", "within-rights")

# After the first checkpoint whose root fails, later ones cover the same broken entries:
# one line says so instead of one problem per checkpoint.
_ROOT_FAILURES_LISTED = 1

# (node id, certificate PEM) -> the raw 32-byte Ed25519 key it certifies for that node.
# Raises ValueError naming the rule when the certificate is not acceptable.
CertificateCheck = Callable[[str, str], bytes]

_KEYS: dict[str, frozenset[str]] = {
    "bundle": frozenset(
        {
            "type",
            "format",
            "trust_domain",
            "origin",
            "size",
            "source",
            "exported_by",
            "exported_at_unix_ms",
            "payloads",
        }
    ),
    "certificate": frozenset({"type", "node", "pem"}),
    "entry": frozenset({"type", "index", "leaf_hash", "header", "salt", "payload"}),
    "checkpoint": frozenset({"type", "size", "note"}),
    "end": frozenset({"type", "lines", "sha256"}),
}


class BundleError(ValueError):
    """A record is malformed; ``reason`` names the field and the rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _line(record: Mapping[str, Any]) -> bytes:
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True)
class BundleInfo:
    trust_domain: str
    origin: str  # node id
    size: int
    source: str  # node id of the node the log was read from
    exported_by: str  # SPIFFE URI of the reader, or "home:<node-id>" for a local export
    exported_at_unix_ms: int
    payloads: str  # one of PAYLOAD_MODES


class BundleWriter:
    """Produces the lines of a bundle in order and keeps the end record's digest.

    Call ``header()``, then ``certificate()`` for the origin and any witnesses, then
    ``entry()`` in log order with ``checkpoint()`` right after the entry each one ends at,
    then ``end()``; write every returned line, in order.
    """

    def __init__(self, info: BundleInfo) -> None:
        assert info.payloads in PAYLOAD_MODES, info.payloads
        origin_line(info.trust_domain, info.origin)  # validates both
        self._info = info
        self._digest = hashlib.sha256()
        self._lines = 0
        self._body_started = False
        self._closed = False

    def _emit(self, record: Mapping[str, Any]) -> bytes:
        assert not self._closed, "bundle already ended"
        data = _line(record)
        self._digest.update(data)
        self._lines += 1
        return data

    def header(self) -> bytes:
        assert self._lines == 0, "the header is the first line"
        i = self._info
        return self._emit(
            {
                "type": "bundle",
                "format": FORMAT,
                "trust_domain": i.trust_domain,
                "origin": i.origin,
                "size": i.size,
                "source": i.source,
                "exported_by": i.exported_by,
                "exported_at_unix_ms": i.exported_at_unix_ms,
                "payloads": i.payloads,
            }
        )

    def certificate(self, node_id: str, pem: str) -> bytes:
        assert self._lines > 0 and not self._body_started, "certificates follow the header"
        return self._emit({"type": "certificate", "node": node_id, "pem": pem})

    def entry(self, index: int, stored_leaf_hash: bytes, entry: Entry) -> bytes:
        """An entry as the source labelled it. Not checked here: a bundle is a faithful copy
        of what the source holds, damage included, so that verifying it shows the damage."""
        assert self._lines > 0, "the header comes first"
        self._body_started = True
        return self._emit(
            {
                "type": "entry",
                "index": index,
                "leaf_hash": _b64(stored_leaf_hash),
                "header": _b64(entry.header),
                "salt": _b64(entry.salt),
                "payload": None if entry.payload is None else _b64(entry.payload),
            }
        )

    def checkpoint(self, size: int, note: str) -> bytes:
        """A checkpoint, written right after the entry it ends at (index size - 1)."""
        assert self._lines > 0, "the header comes first"
        self._body_started = True
        return self._emit({"type": "checkpoint", "size": size, "note": note})

    def end(self) -> bytes:
        assert not self._closed, "bundle already ended"
        self._closed = True
        # Not fed to the digest: the end record states the digest of the lines before it.
        return _line({"type": "end", "lines": self._lines, "sha256": self._digest.hexdigest()})


# ---------------------------------------------------------------- reading records


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BundleError(f"key {key!r} appears twice")
        out[key] = value
    return out


def parse_record(line: bytes) -> dict[str, Any]:
    """One line as a record of a known type with exactly its keys; BundleError otherwise."""
    if not line.endswith(b"\n"):
        raise BundleError("line does not end in a newline (file truncated?)")
    try:
        text = line[:-1].decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError("line is not UTF-8") from None
    try:
        record = json.loads(text, object_pairs_hook=_reject_duplicates)
    except BundleError:
        raise
    except ValueError:
        raise BundleError("line is not a JSON object") from None
    if not isinstance(record, dict):
        raise BundleError("line is not a JSON object")
    kind = record.get("type")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise BundleError("type: must be bundle, certificate, entry, checkpoint or end")
    if set(record) != _KEYS[kind]:
        raise BundleError(f"{kind} record: must have exactly the keys {sorted(_KEYS[kind])}")
    return record


def _int(record: Mapping[str, Any], key: str) -> int:
    value = record[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{key}: must be a non-negative integer")
    return value


def _str(record: Mapping[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise BundleError(f"{key}: must be a string")
    return value


def _bytes(record: Mapping[str, Any], key: str) -> bytes:
    raw = decode_base64(_str(record, key))
    if raw is None:
        raise BundleError(f"{key}: must be canonical base64")
    return raw


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1-based line of the file; 0 = the file as a whole
    index: int | None  # the entry (or the last entry a checkpoint covers), when there is one
    reason: str


@dataclass
class BundleReport:
    origin: str = ""
    trust_domain: str = ""
    size: int = 0  # as the header claims
    entries: int = 0  # entry records read
    verified_size: int = 0  # largest checkpoint up to which everything verified
    checkpoints: int = 0  # checkpoints whose signature and root verified
    payloads: int = 0  # payloads checked against their digest
    cosignatures: dict[str, int] = field(default_factory=dict)  # witness -> valid cosignatures
    unchecked_signers: list[str] = field(default_factory=list)  # no certificate in the bundle
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.verified_size == self.size


@dataclass
class _Keys:
    origin: Ed25519Verifier | None = None
    cosigners: dict[str, CosignatureVerifier] = field(default_factory=dict)


class _Verifier:
    """State of one pass over the lines (a frontier, never the whole log)."""

    def __init__(self, check_certificate: CertificateCheck) -> None:
        self.check_certificate = check_certificate
        self.report = BundleReport()
        self.keys = _Keys()
        self.digest = hashlib.sha256()
        self.frontier = Frontier()
        self.line = 0
        self.phase = "header"  # header -> certificates -> body -> ended
        self.origin_line = ""
        self.last_checkpoint = 0
        self.first_bad: int | None = None  # first entry index with a problem
        self.root_failures = 0
        self.root_ok_size = 0  # the largest checkpoint whose root matched the entries
        self.broken = False  # the header is unusable: only structure is checked
        self.seen_certificates: set[str] = set()

    def problem(self, reason: str, index: int | None = None, *, line: int | None = None) -> None:
        self.report.problems.append(Problem(self.line if line is None else line, index, reason))
        if index is not None and (self.first_bad is None or index < self.first_bad):
            self.first_bad = index

    # -- driving

    def feed(self, raw: bytes) -> None:
        self.line += 1
        if self.phase == "ended":
            self.problem("data after the end record")
            return
        try:
            record = parse_record(raw)
        except BundleError as e:
            self.digest.update(raw)
            if self.phase == "body" and b'"type":"entry"' in raw:
                # Most likely a damaged entry: keep its place so later positions stay true.
                self._placeholder_entry()
                self.problem(f"entry {self.frontier.size - 1}: {e.reason}", self.frontier.size - 1)
            else:
                self.problem(e.reason)
            return
        kind = record["type"]
        if kind != "end":
            self.digest.update(raw)
        try:
            getattr(self, f"on_{kind}")(record)
        except BundleError as e:
            self.problem(e.reason, self._index_of(record))

    def _index_of(self, record: Mapping[str, Any]) -> int | None:
        if record["type"] == "entry":
            return self.frontier.size
        if record["type"] == "checkpoint":
            return max(self.frontier.size - 1, 0)
        return None

    def finish(self) -> BundleReport:
        r = self.report
        if self.phase == "header":
            self.problem("the file is empty or has no bundle header", line=0)
        elif self.phase != "ended":
            self.problem("the file ends without its end record (truncated?)", line=0)
        if self.phase != "header" and not self.broken and self.keys.origin is None:
            self.problem("no valid log certificate of the origin: no signature was checked", line=0)
        if not self.broken and r.entries != r.size:
            self.problem(
                f"the header says {r.size} entries but the file holds {r.entries}",
                min(r.entries, r.size),
                line=0,
            )
        if not self.broken and self.last_checkpoint != r.size:
            self.problem(
                f"the latest checkpoint covers {self.last_checkpoint} entries, not {r.size}",
                max(r.size - 1, 0),
                line=0,
            )
        if self.root_failures > _ROOT_FAILURES_LISTED:
            extra = self.root_failures - _ROOT_FAILURES_LISTED
            self.problem(
                f"{extra} later checkpoints do not match either (they cover the entries above)",
                line=0,
            )
        return r

    # -- records

    def on_bundle(self, record: Mapping[str, Any]) -> None:
        if self.phase != "header":
            raise BundleError("a second bundle header")
        self.phase = "certificates"
        if record["format"] != FORMAT:
            self.broken = True
            raise BundleError(f"format: must be {FORMAT}")
        r = self.report
        r.trust_domain = _str(record, "trust_domain")
        r.origin = _str(record, "origin")
        r.size = _int(record, "size")
        for key in ("source", "exported_by", "payloads"):
            _str(record, key)
        _int(record, "exported_at_unix_ms")
        try:
            self.origin_line = origin_line(r.trust_domain, r.origin)
        except CheckpointError as e:
            self.broken = True
            raise BundleError(f"trust_domain, origin: {e.reason}") from None

    def on_certificate(self, record: Mapping[str, Any]) -> None:
        if self.phase != "certificates":
            raise BundleError("certificates must follow the header, before any entry")
        node, pem = _str(record, "node"), _str(record, "pem")
        if node in self.seen_certificates:
            raise BundleError(f"certificate of {node} appears twice")
        self.seen_certificates.add(node)
        if self.broken:
            return
        try:
            raw = self.check_certificate(node, pem)
            name = origin_line(self.report.trust_domain, node)
        except ValueError as e:
            raise BundleError(f"certificate of {node}: {e}") from None
        if node == self.report.origin:
            self.keys.origin = Ed25519Verifier(name, raw)
        else:
            self.keys.cosigners[node] = CosignatureVerifier(name, raw)

    def _enter_body(self) -> None:
        if self.phase == "header":
            raise BundleError("the bundle header must come first")
        if self.phase == "certificates":
            self.phase = "body"

    def on_entry(self, record: Mapping[str, Any]) -> None:
        self._enter_body()
        if self.phase != "body":
            raise BundleError("entry after the end record")
        index = self.frontier.size
        self.report.entries += 1
        try:
            claimed = _int(record, "index")
            header_bytes = _bytes(record, "header")
            stored = _bytes(record, "leaf_hash")
            salt = _bytes(record, "salt")
            payload = None if record["payload"] is None else _bytes(record, "payload")
        except BundleError as e:
            self.frontier.append(b"\x00" * HASH_SIZE)  # keep later positions true
            self.problem(f"entry {index}: {e.reason}", index)
            return
        self.frontier.append(leaf_hash(header_bytes))
        if claimed != index:
            self.problem(
                f"entry {index} expected here, the file has entry {claimed} "
                "(an entry is missing, added or out of order)",
                index,
            )
        if len(stored) != HASH_SIZE or stored != leaf_hash(header_bytes):
            self.problem(
                f"entry {index}: header bytes differ from the leaf hash recorded at export",
                index,
            )
        self._check_entry(index, Entry(header_bytes, salt, payload))

    def _placeholder_entry(self) -> None:
        self.report.entries += 1
        self.frontier.append(b"\x00" * HASH_SIZE)

    def _check_entry(self, index: int, entry: Entry) -> None:
        try:
            header = decode_header(entry.header)
        except EntryError as e:
            self.problem(f"entry {index}: {e}", index)
            return
        if header.origin != self.report.origin or header.index != index:
            self.problem(
                f"entry {index}: the header names another origin or position "
                "(an entry is missing, added or out of order)",
                index,
            )
        try:
            check_entry(entry, header)
            if entry.payload is not None:
                decode_payload(header.kind, entry.payload)
                self.report.payloads += 1
        except (EntryError, PayloadError) as e:
            self.problem(f"entry {index}: {e}", index)

    def on_checkpoint(self, record: Mapping[str, Any]) -> None:
        self._enter_body()
        if self.phase != "body":
            raise BundleError("checkpoint after the end record")
        size = _int(record, "size")
        note = _str(record, "note")
        where = max(size - 1, 0)
        if size != self.frontier.size:
            raise BundleError(
                f"checkpoint at size {size} is out of place (it follows entry "
                f"{self.frontier.size - 1}; an entry is missing, added or out of order)"
            )
        if size <= self.last_checkpoint:
            raise BundleError(f"checkpoint at size {size} does not grow the log")
        self.last_checkpoint = size
        if self.broken:
            return
        ok = self._check_note(note, size, where)
        if ok and (self.first_bad is None or self.first_bad >= size):
            self.report.checkpoints += 1
            self.report.verified_size = size

    def _check_note(self, note: str, size: int, where: int) -> bool:
        prefix = f"checkpoint at size {size}"
        try:
            parsed = parse_note(note)
            checkpoint = Checkpoint.parse(parsed.text)
        except (NoteError, CheckpointError) as e:
            self.problem(f"{prefix}: malformed ({e})", where)
            return False
        if checkpoint.origin != self.origin_line:
            self.problem(f"{prefix}: names another origin", where)
            return False
        if checkpoint.size != size:
            self.problem(f"{prefix}: the note claims size {checkpoint.size}", where)
            return False
        ok = self._check_signatures(prefix, parsed.text, parsed.signatures, where)
        if checkpoint.root != self.frontier.root():
            self.root_failures += 1
            if self.root_failures <= _ROOT_FAILURES_LISTED:
                start = self.root_ok_size  # the change lies after the last matching root
                self.problem(
                    f"{prefix}: entries {start}..{size - 1} do not hash to the signed root "
                    "(an entry in that range was changed)",
                    start,
                )
            return False
        if ok:  # only a root the origin signed says the entries before it are intact
            self.root_ok_size = size
        return ok

    def _check_signatures(
        self, prefix: str, text: str, signatures: Iterable[NoteSignature], where: int
    ) -> bool:
        origin = self.keys.origin
        signed = False
        for sig in signatures:
            if origin is not None and (sig.name, sig.key_id) == (origin.name, origin.key_id):
                if not origin.verify(text, sig):
                    self.problem(f"{prefix}: the origin's signature does not verify", where)
                    return False
                signed = True
                continue
            witness = self._cosigner(sig)
            if witness is None:
                if sig.name not in self.report.unchecked_signers:
                    self.report.unchecked_signers.append(sig.name)
                continue
            node, verifier = witness
            if not verifier.verify(text, sig):
                self.problem(f"{prefix}: the cosignature of {node} does not verify", where)
                return False
            self.report.cosignatures[node] = self.report.cosignatures.get(node, 0) + 1
        if origin is not None and not signed:
            self.problem(f"{prefix}: not signed by the origin's certified key", where)
            return False
        return origin is not None

    def _cosigner(self, sig: NoteSignature) -> tuple[str, CosignatureVerifier] | None:
        for node, verifier in self.keys.cosigners.items():
            if (sig.name, sig.key_id) == (verifier.name, verifier.key_id):
                return node, verifier
        return None

    def on_end(self, record: Mapping[str, Any]) -> None:
        if self.phase == "header":
            raise BundleError("the bundle header must come first")
        self.phase = "ended"
        lines = _int(record, "lines")
        if lines != self.line - 1:
            raise BundleError(f"the end record counts {lines} lines, the file has {self.line - 1}")
        if _str(record, "sha256") != self.digest.hexdigest():
            raise BundleError("the file's digest differs from its end record (file altered)")


def verify_bundle(lines: Iterable[bytes], check_certificate: CertificateCheck) -> BundleReport:
    """Verify a bundle given as its lines (each ending in "\\n"), streaming.

    ``check_certificate`` turns a certificate record into a trusted Ed25519 key or raises
    ValueError: with it, the CA certificate alone is enough to verify the bundle.
    """
    verifier = _Verifier(check_certificate)
    for raw in lines:
        verifier.feed(raw)
    return verifier.finish()
