"""The Byzantine node: a peer with a valid identity and a valid log key that lies.

It runs the same code as an honest node for everything it receives (so it holds verified
copies it can relay or distort), and misbehaves in everything it sends:

* **forges**: relayed batches with tampered payload or header bytes, entries it wrote itself
  claiming another origin (with that origin's genuine checkpoint, or a checkpoint signed by a
  key it made up), entries of another origin slipped into its own log's batches, relabelled,
  shifted, truncated or reordered batches, and corrupted checkpoint signatures;
* **frames**: answers proof requests about honest origins with made-up roots and proofs, and
  gossips bogus "equivocation evidence" against honest origins;
* **rewrites history**: forks its own log below its published size, signs a checkpoint over
  the new history and from then on shows only that one;
* **equivocates**: extends two histories of its own log at once and shows each to a different
  set of peers (batches, gossip and proof answers all follow the peer's view);
* **withholds**: at some point stops relaying chosen origins to chosen peers.

What it cannot do is sign as another origin: the honest nodes' checks must turn every one of
these into a rejected batch, a refused piece of evidence, or evidence against it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import log_pb2
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import Entry
from sync.equivocation import Evidence
from sync.note import Ed25519Signer, parse_note
from tests.sim.messages import Batch, ProofRequest, ProofResponse
from tests.sim.node import SimNode
from tests.sim.store import OriginLog
from tests.sim.workload import draft_entry

TAMPERS = (
    "payload",  # flip a payload byte: PAYLOAD_MISMATCH
    "header",  # re-encode a header with another actor: ROOT_MISMATCH
    "forge_entries",  # own entries claiming the origin, genuine checkpoint: ROOT_MISMATCH
    "forge_note",  # own entries and a checkpoint signed by a made-up key: BAD_SIGNATURE
    "foreign_entry",  # one entry claiming a third origin: WRONG_ORIGIN
    "mislabel",  # the batch says it is another origin's: WRONG_ORIGIN / MALFORMED
    "shift",  # first_index off by one: SIZE_MISMATCH
    "drop_entry",  # one entry removed: SIZE_MISMATCH
    "reorder",  # two entries swapped: GAP
    "corrupt_note",  # a signature character changed: BAD_SIGNATURE / MALFORMED
)
# Not drawn by default: sync/verify.py accepts it (see test_payload_stripping_relay).
STRIP_PAYLOADS = "strip_payloads"  # payloads removed, as if the receiver were outside the audience


@dataclass(frozen=True)
class ByzantineOptions:
    """Knobs for scenarios that need a particular attack (the defaults draw everything)."""

    tampers: tuple[str, ...] = TAMPERS
    tamper_p: tuple[float, float] = (0.1, 0.6)
    frame_p: tuple[float, float] = (0.0, 0.3)
    equivocate_p: float = 0.5
    rewrite_p: float = 0.3
    withhold_p: float = 0.6


@dataclass(frozen=True)
class ByzantinePlan:
    tamper_p: float
    tampers: tuple[str, ...]
    frame_p: float
    equivocate_at: int | None
    rewrite_at: int | None
    withhold_from_tick: int
    withheld: frozenset[tuple[str, str]]  # (peer, origin) no longer relayed

    @classmethod
    def draw(
        cls,
        rng: random.Random,
        options: ByzantineOptions,
        *,
        node_id: str,
        origins: tuple[str, ...],
        chaos_ticks: int,
    ) -> ByzantinePlan:
        peers = [o for o in origins if o != node_id]
        withheld: set[tuple[str, str]] = set()
        if rng.random() < options.withhold_p:
            for origin in rng.sample(list(origins), rng.randint(1, 2)):
                for peer in rng.sample(peers, rng.randint(1, len(peers))):
                    if peer != origin:
                        withheld.add((peer, origin))
        last = max(2, chaos_ticks - 5)
        return cls(
            tamper_p=rng.uniform(*options.tamper_p),
            tampers=options.tampers,
            frame_p=rng.uniform(*options.frame_p),
            equivocate_at=rng.randint(1, last) if rng.random() < options.equivocate_p else None,
            rewrite_at=rng.randint(1, last) if rng.random() < options.rewrite_p else None,
            withhold_from_tick=rng.randint(0, last),
            withheld=frozenset(withheld),
        )

    def summary(self) -> str:
        parts = [f"tamper_p={self.tamper_p:.2f}", f"frame_p={self.frame_p:.2f}"]
        if self.equivocate_at is not None:
            parts.append(f"equivocate@{self.equivocate_at}")
        if self.rewrite_at is not None:
            parts.append(f"rewrite@{self.rewrite_at}")
        if self.withheld:
            parts.append(f"withhold {len(self.withheld)} links@{self.withhold_from_tick}")
        return " ".join(parts)


class ByzantineNode(SimNode):
    honest = False

    def __init__(self, node_id: str, *, plan: ByzantinePlan, **kwargs: Any) -> None:
        super().__init__(node_id, **kwargs)
        self.plan = plan
        self.histories: list[OriginLog] = [self.store.logs[node_id]]
        self.active: list[int] = [0]  # histories it keeps extending
        self.view: dict[str, int] = {}  # peer -> history shown to it (default 0)
        # A key of its own, named like any origin, for checkpoints it passes off as others'.
        self._fake_key = Ed25519PrivateKey.from_private_bytes(self.rng.randbytes(32))

    # ------------------------------------------------------------------ its own log

    def own_histories(self) -> list[tuple[int, OriginLog]]:
        return [(h, self.histories[h]) for h in self.active]

    def start_tick(self, now: int) -> None:
        super().start_tick(now)
        if now == self.plan.rewrite_at:
            self._fork(rewrite=True)
        if now == self.plan.equivocate_at:
            self._fork(rewrite=False)

    def _fork(self, *, rewrite: bool) -> None:
        """Sign a checkpoint over a history that diverges from what it has shown so far."""
        parent = self.active[-1]
        base = self.histories[parent]
        size = self.rng.randint(max(0, base.size - 3), base.size)
        history = self.publisher.fork(self.id, parent, size)
        assert history == len(self.histories)
        self.histories.append(base.prefix(size))
        drafts: list[Entry] = []
        for _ in range(self.rng.randint(1, 3)):
            drafts.append(
                draft_entry(
                    self.rng,
                    origin=self.id,
                    index=size + len(drafts),
                    hlc=self.store.hlc,
                    rows={},
                    other_origins=(),
                )
            )
        self._commit_own(history, self.histories[history], drafts)
        if rewrite:
            self.active = [history]
            self.vol.drafts = {history: []}  # drafts of the abandoned history go nowhere
            self.view = dict.fromkeys(self.peers, history)
            shown = "everyone"
        else:
            self.active.append(history)
            count = self.rng.randint(1, max(1, len(self.peers) - 1))
            chosen = self.rng.sample(list(self.peers), count)
            self.view.update(dict.fromkeys(chosen, history))
            shown = ",".join(sorted(chosen))
        kind = "REWRITE" if rewrite else "EQUIVOCATE"
        self.trace.add(self.now, f"{self.id} {kind}: h{history} forks h{parent}@{size} for {shown}")

    # ------------------------------------------------------------------ per-peer views

    def log_for(self, origin: str, peer: str) -> OriginLog:
        if origin == self.id:
            return self.histories[self.view.get(peer, 0)]
        return self.store.logs[origin]

    def my_vector_for(self, peer: str) -> dict[str, int]:
        vector = self.store.vector()
        vector[self.id] = self.log_for(self.id, peer).size
        return vector

    def log_holding(self, origin: str, note: str) -> OriginLog | None:
        if origin == self.id:
            for log in self.histories:
                if note in log.size_of_note:
                    return log
            return None
        return super().log_holding(origin, note)

    # ------------------------------------------------------------------ lies

    def send_batch(self, peer: str, batch: Batch) -> None:
        if self._withholds(peer, batch.origin):
            self.stats["withheld"] += 1
            return
        if self.rng.random() < self.plan.tamper_p:
            kind = self.rng.choice(self.plan.tampers)
            tampered = self._tamper(kind, batch)
            if tampered is not None:
                self.stats[f"tamper_{kind}"] += 1
                self.trace.add(self.now, f"{self.id} tampers ({kind}) {batch.origin} for {peer}")
                batch = tampered
        self._send(peer, batch)

    def _tamper(self, kind: str, batch: Batch) -> Batch | None:
        rng = self.rng
        entries = list(batch.entries)
        if not entries:
            return None
        i = rng.randrange(len(entries))
        if kind == "payload":
            payload = entries[i].payload
            if not payload:
                return None
            flipped = bytearray(payload)
            flipped[rng.randrange(len(flipped))] ^= rng.randint(1, 255)
            entries[i] = replace(entries[i], payload=bytes(flipped))
        elif kind == "header":
            header = log_pb2.EntryHeader.FromString(entries[i].header)
            header.actor = "forger"
            entries[i] = replace(entries[i], header=header.SerializeToString())
        elif kind in ("forge_entries", "forge_note"):
            entries = [
                self._forged(batch.origin, batch.first_index + k) for k in range(len(entries))
            ]
            if kind == "forge_note":
                return replace(batch, entries=tuple(entries), note=self._fake_note(batch))
        elif kind == "foreign_entry":
            others = [o for o in self.origins if o != batch.origin]
            entries[i] = self._forged(rng.choice(others), batch.first_index + i)
        elif kind == "mislabel":
            others = [o for o in self.origins if o != batch.origin]
            return replace(batch, origin=rng.choice(others))
        elif kind == "shift":
            return replace(batch, first_index=max(0, batch.first_index + rng.choice((-1, 1))))
        elif kind == "drop_entry":
            if len(entries) < 2:
                return None
            del entries[i]
        elif kind == "reorder":
            if len(entries) < 2:
                return None
            j = (i + 1) % len(entries)
            entries[i], entries[j] = entries[j], entries[i]
        elif kind == STRIP_PAYLOADS:
            entries = [e.redacted() for e in entries]
        else:  # corrupt_note
            body, sep, signatures = batch.note.rpartition("\n\n")
            position = len(signatures) - 8  # inside the base64 signature
            flipped_char = "A" if signatures[position] != "A" else "B"
            signatures = signatures[:position] + flipped_char + signatures[position + 1 :]
            return replace(batch, note=body + sep + signatures)
        return replace(batch, entries=tuple(entries))

    def _forged(self, origin: str, index: int) -> Entry:
        """An entry this node wrote, claiming to be entry ``index`` of ``origin``."""
        return draft_entry(
            self.rng, origin=origin, index=index, hlc=self.store.hlc, rows={}, other_origins=()
        )

    def _fake_note(self, batch: Batch) -> str:
        """The batch's checkpoint, re-signed by a key that merely carries the origin's name."""
        checkpoint = Checkpoint.parse(parse_note(batch.note).text)
        name = origin_line(self.params.trust_domain, batch.origin)
        return sign_checkpoint(checkpoint, Ed25519Signer(name, self._fake_key))

    def _withholds(self, peer: str, origin: str) -> bool:
        return self.now >= self.plan.withhold_from_tick and (peer, origin) in self.plan.withheld

    def _on_proof_request(self, src: str, msg: ProofRequest) -> None:
        if self._withholds(src, msg.origin):
            return  # it withholds the log, so it stonewalls proofs about it too
        if msg.origin != self.id and self.rng.random() < self.plan.frame_p:
            # Frame an honest origin: a made-up prefix root and proof.
            proof = tuple(self.rng.randbytes(32) for _ in range(self.rng.randint(1, 4)))
            self._send(
                src,
                ProofResponse(msg.origin, msg.old_size, msg.note, self.rng.randbytes(32), proof),
            )
            self.stats["framed_proofs"] += 1
            return
        super()._on_proof_request(src, msg)

    def _gossip(self) -> None:
        for peer in self.peers:
            evidence: tuple[Evidence, ...] = ()
            if self.rng.random() < self.plan.frame_p:
                bogus = self._bogus_evidence()
                evidence = (bogus,) if bogus is not None else ()
            self._send(peer, self.gossip_for(peer, evidence))

    def _bogus_evidence(self) -> Evidence | None:
        """Two genuine checkpoints of an honest origin plus a made-up proof "linking" them."""
        candidates = [
            log
            for o, log in sorted(self.store.logs.items())
            if o != self.id and len(log.notes) >= 2
        ]
        if not candidates:
            return None
        log = self.rng.choice(candidates)
        small, large = sorted(self.rng.sample(log.note_sizes, 2))
        self.stats["framed_evidence"] += 1
        return Evidence(
            origin=log.origin,
            smaller_note=log.notes[small],
            larger_note=log.notes[large],
            prefix_root=self.rng.randbytes(32),
            consistency_proof=(self.rng.randbytes(32),),
            detected_by=self.id,
        )
