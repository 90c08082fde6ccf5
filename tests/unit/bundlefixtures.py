"""Audit bundles built from the deterministic core fixtures (no PKI: a fake certificate check)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sync.bundle import BundleInfo, BundleWriter
from sync.checkpoint import CosignatureSigner, CosignatureVerifier, origin_line
from sync.entry import Entry
from sync.note import add_signatures, parse_note
from tests.unit.corefixtures import TRUST_DOMAIN, Log, build_log, private_key

EXPORTED_AT_MS = 1_709_600_000_000
COSIGNED_AT_S = 1_709_600_000


def fake_pem(node: str) -> str:
    return f"-----FAKE CERTIFICATE of {node}-----"


def witness_signer(node: str) -> CosignatureSigner:
    return CosignatureSigner(
        origin_line(TRUST_DOMAIN, node), private_key(b"log-key:" + node.encode())
    )


def witness_verifier(node: str) -> CosignatureVerifier:
    return witness_signer(node).verifier()


def raw_key(node: str) -> bytes:
    return private_key(b"log-key:" + node.encode()).public_key().public_bytes_raw()


def fake_check(node: str, pem: str) -> bytes:
    """Stands in for the CA check: only the fake certificate of ``node`` certifies its key."""
    if pem != fake_pem(node):
        raise ValueError("not issued by the CA")
    return raw_key(node)


def cosigned(note: str, *witnesses: str) -> str:
    body = parse_note(note).text
    sigs = [witness_signer(w).cosign(body, COSIGNED_AT_S) for w in witnesses]
    return add_signatures(note, sigs)


def bundle_lines(
    log: Log,
    checkpoint_sizes: Sequence[int],
    *,
    witnesses: Sequence[str] = ("chongqing",),
    cosigned_sizes: Iterable[int] = (),
    certificates: Sequence[str] | None = None,
    entries: Sequence[Entry] | None = None,
    redacted: Iterable[int] = (),
) -> list[bytes]:
    """The lines of a bundle of ``log`` with checkpoints at ``checkpoint_sizes`` (the last is
    the size); ``entries`` replaces what is written (tampering) but not what is signed."""
    size = checkpoint_sizes[-1]
    written = list(entries if entries is not None else log.entries[:size])
    hidden = set(redacted)
    cos = set(cosigned_sizes)
    writer = BundleWriter(
        BundleInfo(
            trust_domain=TRUST_DOMAIN,
            origin=log.origin,
            size=size,
            source="chongqing",
            exported_by="spiffe://chengyu.court/auditor/npc",
            exported_at_unix_ms=EXPORTED_AT_MS,
            payloads="within-rights",
        )
    )
    lines = [writer.header()]
    for node in certificates if certificates is not None else (log.origin, *witnesses):
        lines.append(writer.certificate(node, fake_pem(node)))
    for i, entry in enumerate(written):
        shown = replace(entry, payload=None) if i in hidden else entry
        lines.append(writer.entry(i, log.entries[i].leaf_hash(), shown))
        if i + 1 in checkpoint_sizes:
            note = log.checkpoint(i + 1)
            lines.append(
                writer.checkpoint(i + 1, cosigned(note, *witnesses) if i + 1 in cos else note)
            )
    lines.append(writer.end())
    return lines


def small_log(n: int = 7) -> Log:
    return build_log(n)
