"""A simulated ccnode: the pure core (sync/) wired to an in-memory store and the sim network.

One ``SimNode`` plays every role a real node plays in replication (DESIGN.md section 2):

* **origin**: drafts blacklist entries for its own log and, at commit, signs a checkpoint
  (at least every ``CHECKPOINT_INTERVAL_ENTRIES`` entries, like node/ownlog/writer.py) so that any
  responder can cut batches of at most 500 entries that each end at a signed checkpoint;
* **subscriber**: sends its vector to every peer, re-sends it periodically (with exponential
  backoff while a peer stays silent, and jitter), verifies every batch with ``verify_batch``
  and commits entries, checkpoint and folded rows together; with ``selective`` (as the node
  does) it takes each origin from one peer, chosen by ``sync.routing`` from the routes and
  vectors peers gossip (a peer counts as connected while heard in the last
  ``connected_ticks``), and subscribes again whenever that selection changes;
* **responder**: streams to each subscriber, per origin it holds (and the subscriber takes),
  the missing entries, relaying third-party logs verbatim, a few batches per tick (flow
  control);
* **witness**: keeps every validly signed checkpoint it sees, compares each with its own copy
  of that origin's log, and on a conflict builds equivocation evidence with
  ``find_equivocation`` -- from its own leaves when it holds the larger history, otherwise
  from a consistency proof it asks a peer for -- then freezes the origin at the size it holds
  and keeps syncing every other origin.

Every random choice comes from the run's single RNG. The node never reads a clock: the world
passes the tick, and physical time for the HLC is derived from it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sync import hlc
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import Entry, decode_header, entry_size_bytes
from sync.equivocation import Evidence, EvidenceError, find_equivocation, verify_evidence
from sync.folds import fold_batch
from sync.merkle import consistency_proof, leaf_hash, subtree_root
from sync.note import Ed25519Signer, Ed25519Verifier
from sync.plan import lag
from sync.routing import PeerView, Plan, Stalls, plan
from sync.verify import (
    BATCH_BYTES_MAX,
    BATCH_ENTRIES_MAX,
    AcceptedBatch,
    BatchRejected,
    LogState,
    RejectReason,
    open_origin_checkpoint,
    verify_batch,
)
from tests.sim.messages import (
    Batch,
    Gossip,
    Message,
    ProofRequest,
    ProofResponse,
    Reject,
    Subscribe,
)
from tests.sim.network import SimNetwork, Trace
from tests.sim.store import OriginLog, PeerLink, Session, Store, Volatile
from tests.sim.workload import draft_entry

# Like node/ownlog/writer.py: the origin signs a checkpoint at least every 250 entries and 128
# KiB, so that a batch within BATCH_ENTRIES_MAX (500) and BATCH_BYTES_MAX (256 KiB) can always
# end at a signed checkpoint.
CHECKPOINT_INTERVAL_ENTRIES = 250
CHECKPOINT_INTERVAL_BYTES = 128 * 1024
EPOCH_MS = 1_700_000_000_000


class Publisher:
    """Where an origin reports what it signed: the world records it as ground truth."""

    def commit(self, origin: str, history: int, entries: Sequence[Entry], note: str) -> None:
        raise NotImplementedError

    def fork(self, origin: str, parent: int, size: int) -> int:
        raise NotImplementedError


@dataclass(frozen=True)
class NodeParams:
    trust_domain: str
    # The court prefixes each origin's certificate names: every node folds an origin's
    # entries with the same ones, so listings outside them are ignored on every node alike.
    courts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    batches_per_tick: int = 2  # per subscriber stream
    resubscribe_ticks: int = 8
    resubscribe_backoff_max_ticks: int = 32
    gossip_ticks: int = 5
    proof_retry_ticks: int = 6
    stuck_ticks: int = 12  # no progress on an origin for this long: chase undecided notes
    overlap_p: float = 0.1  # chance a batch re-sends a few entries the receiver holds
    commit_p: float = 0.5  # chance per tick that drafted entries are committed
    tick_ms: int = 1000
    selective: bool = True  # take each origin from one peer (sync.routing), as the node does
    connected_ticks: int = 12  # a peer heard within this many ticks counts as connected
    stall_ticks: int = 8  # Stalls' grace: behind a peer this long without progress
    entries_max: int = BATCH_ENTRIES_MAX
    bytes_max: int = BATCH_BYTES_MAX


class SimNode:
    honest = True

    def __init__(
        self,
        node_id: str,
        *,
        origins: Sequence[str],
        signer: Ed25519Signer,
        verifiers: Mapping[str, Ed25519Verifier],
        rng: random.Random,
        net: SimNetwork,
        trace: Trace,
        params: NodeParams,
        publisher: Publisher,
    ) -> None:
        self.id = node_id
        self.origins = tuple(sorted(origins))
        self.peers = tuple(o for o in self.origins if o != node_id)
        self.origin_line = origin_line(params.trust_domain, node_id)
        assert signer.name == self.origin_line
        self.signer = signer
        self.verifiers = dict(verifiers)
        self.rng = rng
        self.net = net
        self.trace = trace
        self.params = params
        self.publisher = publisher
        self.clock_skew_ms = rng.randint(-2000, 2000)
        self.store = Store.empty(self.origins)
        self.vol = Volatile()
        self.up = True
        self.now = 0
        self.stats: Counter[str] = Counter()
        self.large_payload_p = 0.0  # chance a drafted entry carries a few KiB of text
        self._start_links(0)

    # ------------------------------------------------------------------ lifecycle

    def crash(self, now: int) -> None:
        """Lose everything not committed: inbox, drafts, sessions, timers."""
        lost = sum(len(d) for d in self.vol.drafts.values())
        self.trace.add(now, f"{self.id} CRASH (lost {len(self.vol.inbox)} msgs, {lost} drafts)")
        self.stats["crashes"] += 1
        self.up = False
        self.vol = Volatile()
        self.net.down.add(self.id)

    def restart(self, now: int) -> None:
        self.trace.add(now, f"{self.id} restart at vector {self._vector_text()}")
        self.up = True
        self.vol = Volatile(next_gossip_tick=now)
        self.net.down.discard(self.id)
        self._start_links(now)

    def _start_links(self, now: int) -> None:
        base = self.params.resubscribe_ticks
        self.vol.links = {peer: PeerLink(now, base) for peer in self.peers}

    # ------------------------------------------------------------------ origin role

    def own_histories(self) -> list[tuple[int, OriginLog]]:
        """The histories of its own log this node is extending (an honest node has one)."""
        return [(0, self.store.logs[self.id])]

    def draft(self, now: int, count: int) -> None:
        """Draft ``count`` new entries for each history of the own log (uncommitted)."""
        self.now = now
        others = tuple(o for o in self.origins if o != self.id)
        for history, log in self.own_histories():
            drafts = self.vol.drafts.setdefault(history, [])
            for _ in range(count):
                self.store.hlc = hlc.tick(self.store.hlc, self._now_ms())
                drafts.append(
                    draft_entry(
                        self.rng,
                        origin=self.id,
                        index=log.size + len(drafts),
                        hlc=self.store.hlc,
                        rows=self.store.rows,
                        other_origins=others,
                        large_p=self.large_payload_p,
                    )
                )

    def drafted(self) -> int:
        return sum(len(d) for d in self.vol.drafts.values())

    def commit(self, now: int) -> None:
        """Append the drafts to the own log, signing checkpoints, in one store commit."""
        self.now = now
        for history, log in self.own_histories():
            for chunk in checkpoint_intervals(self.vol.drafts.pop(history, [])):
                self._commit_own(history, log, chunk)

    def _commit_own(self, history: int, log: OriginLog, entries: list[Entry]) -> None:
        leaves = [leaf_hash(e.header) for e in entries]
        frontier = log.state.frontier.copy()
        frontier.extend(leaves)
        root = frontier.root()
        checkpoint = Checkpoint(self.origin_line, frontier.size, root)
        note = sign_checkpoint(checkpoint, self.signer)
        # --- one transaction: entries, checkpoint, log state and (for the history this node
        # itself folds) the rows. Only then is anything published.
        log.append(entries, leaves, LogState(self.id, frontier.size, frontier, note), note, root)
        if log is self.store.logs[self.id]:
            self._fold(entries)
            self.store.seen[self.id][note] = checkpoint
        # ---
        self.publisher.commit(self.id, history, entries, note)
        self.stats["committed"] += len(entries)
        self.trace.add(self.now, f"{self.id} commit own h{history} -> {frontier.size}")

    def _fold(self, entries: Sequence[Entry]) -> None:
        items = [(decode_header(e.header), e.payload) for e in entries]
        courts = self.params.courts.get(self.id, ())
        self.store.rows.update(fold_batch(items, self.store.rows, courts=courts).changes)

    # ------------------------------------------------------------------ steps

    def deliver(self, src: str, msg: Message) -> None:
        self.vol.inbox.append((src, msg))

    def start_tick(self, now: int) -> None:
        """Commit drafted entries now and then (an origin batches its own writes)."""
        self.now = now
        if self.drafted() and self.rng.random() < self.params.commit_p:
            self.commit(now)

    def process_next(self, now: int) -> None:
        """Handle the oldest received message."""
        self.now = now
        src, msg = self.vol.inbox.popleft()
        link = self.vol.links.get(src)
        if link is not None:
            link.heard = True
        self.vol.heard_tick[src] = now
        if isinstance(msg, Batch):
            self._on_batch(src, msg)
        elif isinstance(msg, Subscribe):
            self._on_subscribe(src, msg)
        elif isinstance(msg, Reject):
            self._on_reject(src, msg)
        elif isinstance(msg, Gossip):
            self._on_gossip(src, msg)
        elif isinstance(msg, ProofRequest):
            self._on_proof_request(src, msg)
        else:
            self._on_proof_response(src, msg)

    def end_tick(self, now: int) -> None:
        """Timers: (re)subscribe, gossip, chase undecided checkpoints, stream the live tail."""
        self.now = now
        routed = self._route() if self.params.selective else None
        for peer in self.peers:
            changed = routed is not None and routed.takes(peer) != self.vol.taken.get(peer)
            if changed or now >= self.vol.links[peer].next_subscribe_tick:
                self._subscribe(peer)
        if now >= self.vol.next_gossip_tick:
            self._gossip()
            self.vol.next_gossip_tick = now + self.params.gossip_ticks + self.rng.randint(0, 2)
        self._chase_undecided()
        for peer in sorted(self.vol.sessions):
            self._push(peer)

    # ------------------------------------------------------------------ subscriber side

    def _subscribe(self, peer: str) -> None:
        link = self.vol.links[peer]
        # Back off exponentially while the peer stays silent; wake periodically regardless.
        if link.heard:
            link.interval_ticks = self.params.resubscribe_ticks
        else:
            link.interval_ticks = min(
                2 * link.interval_ticks, self.params.resubscribe_backoff_max_ticks
            )
        link.heard = False
        link.last_subscribe_tick = self.now
        jitter = self.rng.randint(0, link.interval_ticks // 2)
        link.next_subscribe_tick = self.now + link.interval_ticks + jitter
        vector = tuple(sorted(self.store.vector().items()))
        take = None
        if self.params.selective:
            self.vol.taken[peer] = self._route().takes(peer)
            take = tuple(sorted(self.vol.taken[peer]))
        self._send(peer, Subscribe(vector, tuple(sorted(self.store.frozen)), take))

    def _route(self) -> Plan:
        """Which peer each origin is taken from now (sync.routing, as node.replication.routes)."""
        views = {
            p: PeerView(
                self.now - self.vol.heard_tick.get(p, -(10**9)) <= self.params.connected_ticks,
                self.vol.routes.get(p, {}),
                self.vol.sizes.get(p, {}),
            )
            for p in self.peers
        }
        if self.vol.stalls is None:
            self.vol.stalls = Stalls(self.id, self.params.stall_ticks)
        held = self.store.vector()
        # A frozen origin never progresses here: never a stall.
        extra = self.vol.stalls.update(
            self.now, {**held, **{o: 2**63 for o in self.store.frozen}}, views
        )
        routed = plan(self.id, views, held, current=self.vol.sources, extra=extra)
        self.vol.sources = dict(routed.sources)
        return routed

    def _subscribe_soon(self, peer: str) -> None:
        """A peer showed a checkpoint beyond what we hold: ask it for the entries now."""
        link = self.vol.links.get(peer)
        if link is not None and self.now - link.last_subscribe_tick >= 2:
            link.next_subscribe_tick = min(link.next_subscribe_tick, self.now)

    def _verify(self, state: LogState, batch: Batch) -> AcceptedBatch:
        """The verification step (a seam for the self-tests that sabotage it)."""
        return verify_batch(
            state,
            trust_domain=self.params.trust_domain,
            first_index=batch.first_index,
            entries=batch.entries,
            checkpoint_note=batch.note,
            verifier=self.verifiers.get(batch.origin),
            entries_max=self.params.entries_max,
            bytes_max=self.params.bytes_max,
            frozen=batch.origin in self.store.frozen,
            receiver=self.id,
        )

    def _on_batch(self, src: str, batch: Batch) -> None:
        origin = batch.origin
        if origin == self.id:
            self.stats["own_log_offered"] += 1  # only this node writes its own log
            return
        log = self.store.logs.get(origin)
        end = batch.first_index + len(batch.entries)
        if log is not None and end <= log.size and batch.note in self.store.seen[origin]:
            self.stats["duplicate_batches"] += 1  # nothing new, not even the checkpoint
            return
        state = log.state if log is not None else LogState.empty(origin)
        try:
            accepted = self._verify(state, batch)
        except BatchRejected as exc:
            self._on_rejected(src, batch, exc.reason, log.size if log is not None else 0)
            return
        self._apply(accepted)
        self.trace.add(
            self.now,
            f"{self.id} accept {origin} [{accepted.first_index},{accepted.state.size}) from {src}",
        )

    def _apply(self, accepted: AcceptedBatch) -> None:
        origin = accepted.origin
        log = self.store.logs[origin]
        items = list(zip(accepted.headers, (e.payload for e in accepted.entries), strict=True))
        folded = fold_batch(items, self.store.rows, courts=self.params.courts.get(origin, ()))
        # --- one transaction: entries, checkpoint, log state and folded rows together.
        log.append(
            accepted.entries,
            accepted.leaf_hashes,
            accepted.state,
            accepted.checkpoint_note,
            accepted.checkpoint.root,
        )
        self.store.rows.update(folded.changes)
        self.store.seen[origin][accepted.checkpoint_note] = accepted.checkpoint
        if accepted.headers:
            newest = max(h.hlc for h in accepted.headers)
            self.store.hlc = hlc.observe(self.store.hlc, newest, self._now_ms())
        # ---
        self.vol.last_progress_tick[origin] = self.now
        self.stats["batches_accepted"] += 1
        self.stats["entries_accepted"] += len(accepted.entries)
        self.stats["batch_entries_max"] = max(self.stats["batch_entries_max"], len(items))
        self._decide_undecided(origin)

    def _on_rejected(self, src: str, batch: Batch, reason: RejectReason, held: int) -> None:
        origin = batch.origin
        self.stats[f"reject_{reason.value}"] += 1
        self.trace.add(self.now, f"{self.id} reject {origin} from {src}: {reason.value}")
        if reason in (RejectReason.STALE, RejectReason.ROOT_MISMATCH):
            # verify_batch checked the signature before deciding either of these: the
            # checkpoint is genuine and may contradict what we hold.
            self._see_note(origin, batch.note, src)
        if reason is RejectReason.ROOT_MISMATCH and held and origin not in self.store.evidence:
            # Either the entries were tampered with (the checkpoint is consistent) or the
            # origin signed another history: only a consistency proof can tell.
            self._ask_proof(src, origin, held, batch.note, "root_mismatch")
        if reason is not RejectReason.STALE:
            self._send(src, Reject(origin, reason.value, held))

    # ------------------------------------------------------------------ responder side

    def my_vector_for(self, peer: str) -> dict[str, int]:
        """The sizes this node offers ``peer`` (a Byzantine node may show peers different logs)."""
        return self.store.vector()

    def log_for(self, origin: str, peer: str) -> OriginLog:
        return self.store.logs[origin]

    def log_holding(self, origin: str, note: str) -> OriginLog | None:
        """The held history in which ``note`` is a checkpoint, if any."""
        log = self.store.logs.get(origin)
        return log if log is not None and note in log.size_of_note else None

    def _on_subscribe(self, src: str, msg: Subscribe) -> None:
        take = None if msg.take is None else set(msg.take)
        self.vol.sessions[src] = Session(dict(msg.vector), set(msg.frozen), take)
        self._push(src)

    def _on_reject(self, src: str, msg: Reject) -> None:
        session = self.vol.sessions.get(src)
        if session is None:
            return
        if msg.reason == RejectReason.FROZEN.value:
            session.frozen.add(msg.origin)
        session.vector[msg.origin] = msg.held_size  # resume from what the subscriber holds

    def _push(self, peer: str) -> None:
        """Send the subscriber up to ``batches_per_tick`` batches of what it lacks."""
        session = self.vol.sessions.get(peer)
        if session is None:
            return
        budget = self.params.batches_per_tick
        for origin in lag(session.vector, self.my_vector_for(peer)):
            if origin == peer or origin in session.frozen:
                continue  # a peer is the only author of its log; frozen origins are refused
            if session.take is not None and origin not in session.take:
                continue  # the subscriber takes it from another peer
            while budget:
                have = session.vector.get(origin, 0)
                batch = self._make_batch(origin, have, peer)
                if batch is None:
                    break
                self.send_batch(peer, batch)
                budget -= 1
                session.vector[origin] = batch.first_index + len(batch.entries)
                if session.vector[origin] >= self.log_for(origin, peer).size:
                    break
            if not budget:
                return

    def _make_batch(self, origin: str, start: int, peer: str) -> Batch | None:
        log = self.log_for(origin, peer)
        first = start
        if start and self.rng.random() < self.params.overlap_p:
            first = max(0, start - self.rng.randint(1, 3))
        end, limit = log.batch_end(first, start, self.params.entries_max, self.params.bytes_max)
        if end is None and first < start:  # the overlap pushed it over a limit: drop it
            first = start
            end, limit = log.batch_end(first, start, self.params.entries_max, self.params.bytes_max)
        self.stats[f"batches_cut_by_{limit}"] += 1
        if end is None:
            self.stats["cannot_batch"] += 1
            self.trace.add(self.now, f"{self.id} cannot cut a batch of {origin} after {start}")
            return None
        return Batch(origin, first, tuple(log.entries[first:end]), log.notes[end])

    def send_batch(self, peer: str, batch: Batch) -> None:
        self._send(peer, batch)

    # ------------------------------------------------------------------ witness side

    def _see_note(self, origin: str, note: str, src: str) -> Checkpoint | None:
        """Record a checkpoint if validly signed by ``origin`` and compare it with our log."""
        seen = self.store.seen.get(origin)
        if seen is None or origin == self.id:
            return None
        checkpoint = seen.get(note)
        if checkpoint is not None:
            return checkpoint
        try:
            checkpoint, _ = open_origin_checkpoint(
                note, self.verifiers[origin], self.params.trust_domain, origin
            )
        except BatchRejected:
            self.stats["bad_notes"] += 1
            return None
        seen[note] = checkpoint  # committed: it may become half of an evidence pair
        self.vol.undecided_since.setdefault((origin, note), (self.now, src))
        self.decide(origin, note, checkpoint)
        return checkpoint

    def decide(self, origin: str, note: str, checkpoint: Checkpoint) -> None:
        """Compare a seen checkpoint with our copy of the log, if it is within what we hold.

        A checkpoint beyond our size waits in ``undecided``; only another checkpoint of the
        same size can contradict it before we catch up (or a peer sends a proof).
        """
        if origin in self.store.evidence or checkpoint.size == 0:
            return
        log = self.store.logs[origin]
        if checkpoint.size > log.size:
            undecided = self.store.undecided[origin]
            for other_note, other in list(undecided.items()):
                if other.size == checkpoint.size and other.root != checkpoint.root:
                    evidence = find_equivocation(note, other_note, self.verifiers[origin])
                    assert evidence is not None  # equal sizes, different roots
                    self._found(evidence, "same_size")
                    return
            undecided[note] = checkpoint
            return
        self.store.undecided[origin].pop(note, None)
        if note in log.size_of_note:
            return
        ours = log.roots.get(checkpoint.size)
        if ours is None:
            ours = subtree_root(log.leaves, 0, checkpoint.size)
        if ours == checkpoint.root:
            return
        held_note = log.state.checkpoint_note
        assert held_note is not None
        evidence = find_equivocation(
            note,
            held_note,
            self.verifiers[origin],
            larger_leaf_hashes=log.leaves,
            detected_by=self.id,
            detected_at_unix_ms=self._now_ms(),
        )
        if evidence is None:
            self.stats["conflict_without_evidence"] += 1
            self.trace.add(self.now, f"{self.id} conflict on {origin} but no evidence?")
            return
        self._found(evidence, "own_leaves")

    def _decide_undecided(self, origin: str) -> None:
        for note, checkpoint in list(self.store.undecided[origin].items()):
            if checkpoint.size <= self.store.logs[origin].size:
                self.decide(origin, note, checkpoint)

    def _found(self, evidence: Evidence, how: str) -> None:
        """Store evidence and freeze the origin at the size we hold (one commit), then tell."""
        origin = evidence.origin
        if origin in self.store.evidence:
            return
        self.stats[f"evidence_by_{how}"] += 1
        size = self.store.logs[origin].size
        self.store.evidence[origin] = evidence
        self.store.frozen[origin] = size
        self.store.undecided[origin].clear()
        self.stats["evidence"] += 1
        self.trace.add(self.now, f"{self.id} EVIDENCE against {origin}: frozen at {size}")
        for peer in self.peers:
            self._send(peer, Gossip((), (evidence,)))

    def _on_gossip(self, src: str, msg: Gossip) -> None:
        if msg.hops is not None:
            self.vol.routes[src] = dict(msg.hops)
        if msg.vector is not None:
            self.vol.sizes[src] = dict(msg.vector)
        for origin, note in msg.notes:
            checkpoint = self._see_note(origin, note, src)
            if (
                checkpoint is not None
                and origin not in self.store.frozen
                and checkpoint.size > self.store.logs[origin].size
            ):
                self._subscribe_soon(src)  # checkpoint gossip exposes lag and withholding
        for evidence in msg.evidence:
            self._on_evidence(evidence)

    def _on_evidence(self, evidence: Evidence) -> None:
        verifier = self.verifiers.get(evidence.origin)
        if verifier is None or evidence.origin in self.store.evidence:
            return
        try:
            verify_evidence(evidence, verifier)
        except EvidenceError:
            self.stats["bad_evidence"] += 1
            self.trace.add(self.now, f"{self.id} refuses bogus evidence against {evidence.origin}")
            return
        self._found(evidence, "gossip")

    def gossip_notes_for(self, peer: str) -> tuple[tuple[str, str], ...]:
        """Per origin, the latest checkpoint we hold, and those seen beyond it (witnessing)."""
        notes = []
        for origin in self.origins:
            note = self.log_for(origin, peer).state.checkpoint_note
            if note is not None:
                notes.append((origin, note))
            notes.extend((origin, n) for n in self.store.undecided.get(origin, {}))
        return tuple(notes)

    def _gossip(self) -> None:
        evidence = tuple(self.store.evidence[o] for o in sorted(self.store.evidence))
        for peer in self.peers:
            self._send(peer, self.gossip_for(peer, evidence))

    def gossip_for(self, peer: str, evidence: tuple[Evidence, ...]) -> Gossip:
        """Checkpoints, evidence, and (selective) this node's routes and vector."""
        hops = vector = None
        if self.params.selective:
            hops = tuple(sorted(self._route().advertised(peer).items()))
            vector = tuple(sorted(self.my_vector_for(peer).items()))
        return Gossip(self.gossip_notes_for(peer), evidence, hops, vector)

    def _ask_proof(self, peer: str, origin: str, old_size: int, note: str, why: str) -> None:
        key = (peer, origin, old_size, note)
        asked = self.vol.proofs_asked.get(key)
        if asked is not None and self.now - asked < self.params.proof_retry_ticks:
            return
        self.vol.proofs_asked[key] = self.now
        self.stats[f"proofs_asked_{why}"] += 1
        self._send(peer, ProofRequest(origin, old_size, note))

    def _chase_undecided(self) -> None:
        """Ask for proofs about checkpoints beyond our size when we stopped making progress.

        Normally such a checkpoint is just ahead of us and becomes decidable once we catch up.
        If we are stuck, it may belong to another history that no batch will ever deliver.
        """
        for origin in self.origins:
            undecided = self.store.undecided.get(origin)
            if not undecided or origin in self.store.evidence:
                continue
            held = self.store.logs[origin].size
            last = self.vol.last_progress_tick.setdefault(origin, self.now)
            if not held or self.now - last < self.params.stuck_ticks:
                continue
            for note in list(undecided):
                since, src = self.vol.undecided_since.setdefault((origin, note), (self.now, ""))
                if self.now - since < self.params.stuck_ticks:
                    continue
                peer = src if src in self.peers else self.rng.choice(self.peers)
                self._ask_proof(peer, origin, held, note, "stuck")

    def _on_proof_request(self, src: str, msg: ProofRequest) -> None:
        log = self.log_holding(msg.origin, msg.note)
        if log is None:
            return
        size = log.size_of_note[msg.note]
        if not 0 < msg.old_size < size:
            return
        leaves = log.leaves[:size]
        self._send(
            src,
            ProofResponse(
                msg.origin,
                msg.old_size,
                msg.note,
                subtree_root(leaves, 0, msg.old_size),
                tuple(consistency_proof(leaves, msg.old_size)),
            ),
        )

    def _on_proof_response(self, src: str, msg: ProofResponse) -> None:
        origin = msg.origin
        if origin not in self.verifiers or origin == self.id or origin in self.store.evidence:
            return
        own_note = self.store.logs[origin].notes.get(msg.old_size)
        if own_note is None or self._see_note(origin, msg.note, src) is None:
            return
        if origin in self.store.evidence:
            return  # seeing the note was enough
        try:
            evidence = find_equivocation(
                own_note,
                msg.note,
                self.verifiers[origin],
                prefix_root=msg.prefix_root,
                proof=msg.proof,
                detected_by=self.id,
                detected_at_unix_ms=self._now_ms(),
            )
        except EvidenceError:
            evidence = None
        if evidence is None:
            self.stats["proofs_consistent_or_bogus"] += 1
            return
        self._found(evidence, "peer_proof")

    # ------------------------------------------------------------------ helpers

    def _send(self, peer: str, msg: Message) -> None:
        self.net.send(self.id, peer, msg, self.now)

    def _now_ms(self) -> int:
        return EPOCH_MS + self.now * self.params.tick_ms + self.clock_skew_ms

    def _vector_text(self) -> str:
        return ",".join(f"{o}:{n}" for o, n in sorted(self.store.vector().items()))


def checkpoint_intervals(entries: Sequence[Entry]) -> list[list[Entry]]:
    """Split a commit where the origin signs checkpoints (as node/ownlog/writer.py does)."""
    chunks: list[list[Entry]] = []
    chunk: list[Entry] = []
    chunk_bytes = 0
    for entry in entries:
        size = entry_size_bytes(entry)
        if chunk and chunk_bytes + size > CHECKPOINT_INTERVAL_BYTES:
            chunks.append(chunk)
            chunk, chunk_bytes = [], 0
        chunk.append(entry)
        chunk_bytes += size
        if len(chunk) >= CHECKPOINT_INTERVAL_ENTRIES:
            chunks.append(chunk)
            chunk, chunk_bytes = [], 0
    if chunk:
        chunks.append(chunk)
    return chunks
