"""Seeded deterministic simulation of the pure core (STYLE.md item 5).

* ``test_seed``: the sweep -- 300 seeds (``--sim-seeds``) of 5 nodes with small logs, one of
  them Byzantine in about 40 % of the seeds.
* ``test_large_logs``: a few seeds with more than 1,000 entries per origin and one node that
  is down for most of the chaos, so that catching up cuts batches at the 500-entry and the
  256 KiB limits, stitching together checkpoints signed every 250 entries / 128 KiB.
* ``test_sweep_exercises_every_fault``: the fault and attack mix really happens.
* ``test_selective_subscription_takes_each_entry_about_once``: nodes that take each origin
  from one peer (sync.routing) receive far fewer copies than links streaming every origin.
* ``test_replay_*``: a seed replays exactly (same event fingerprint), even in another
  process with another string-hash seed.
* ``test_checker_catches_*``: sabotaged nodes make the run fail, so the simulation provably
  can fail -- and reports the failing seed.
* ``test_payload_stripping_*``: a relay stripping payloads cannot make state diverge
  (a defect the simulation found, since fixed).

Replay a failing seed with ``pytest tests/sim --seed <n>``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sync.entry import decode_header
from sync.merkle import leaf_hash
from sync.verify import (
    AcceptedBatch,
    BatchRejected,
    LogState,
    RejectReason,
    open_origin_checkpoint,
)
from tests.sim.byzantine import STRIP_PAYLOADS, ByzantineOptions
from tests.sim.messages import Batch, ProofResponse
from tests.sim.node import SimNode
from tests.sim.simulation import SimConfig, SimResult, SimulationFailure, run_simulation

SWEEP = SimConfig()
LARGE = SimConfig(
    chaos_ticks=30,
    quiet_ticks_max=400,
    entries_per_origin=(1200, 1400),
    byzantine_p=0.5,
    down_ticks_max=4,  # an origin down at the end of chaos misses few of its appends
    outage_ticks=(4, 22),  # one node misses 18 ticks of every log, then catches up
    large_payload_p=0.6,  # batches of every second log hit 256 KiB before 500 entries
)
REPO = Path(__file__).resolve().parents[2]


def run_or_fail(seed: int, config: SimConfig) -> SimResult:
    """Run a seed; on failure show the simulation's report (seed, reason, trace) only."""
    try:
        return run_simulation(seed, config)
    except SimulationFailure as failure:
        report = str(failure)
    pytest.fail(report, pytrace=False)  # outside the except: no chained traceback


# ---------------------------------------------------------------------- the sweep


def test_seed(sweep_seed: int) -> None:
    run_or_fail(sweep_seed, SWEEP)


def test_large_logs(large_seed: int) -> None:
    result = run_or_fail(large_seed, LARGE)
    assert min(result.sizes.values()) > 1000, result.sizes
    stats = result.stats
    # Responders stitch checkpoints (at most 250 entries / 128 KiB apart) into batches up to
    # the limits -- 500 entries or 256 KiB, whichever comes first -- and never get stuck.
    assert 250 < stats["batch_entries_max"] <= 500, stats["batch_entries_max"]
    assert stats["batches_cut_by_entries"] > 0
    assert stats["batches_cut_by_bytes"] > 0
    assert stats["cannot_batch"] == 0


def test_sweep_exercises_every_fault() -> None:
    """Over a few seeds every kind of fault and attack happens (else the sweep proves less)."""
    totals: Counter[str] = Counter()
    byzantine_seeds = 0
    for seed in range(20):
        result = run_or_fail(seed, SWEEP)
        totals.update(result.stats)
        byzantine_seeds += result.scenario.byzantine is not None
    for key in ("dropped", "duplicated", "delayed", "cut", "lost", "partitions", "crashes"):
        assert totals[key] > 0, key
    for key in ("withheld", "framed_evidence", "bad_evidence", "evidence"):
        assert totals[key] > 0, key
    rejected = {key for key in totals if key.startswith("reject_")}
    for reason in ("payload_mismatch", "root_mismatch", "wrong_origin", "bad_signature", "gap"):
        assert f"reject_{reason}" in rejected, reason
    assert 3 <= byzantine_seeds <= 17


def test_selective_subscription_takes_each_entry_about_once() -> None:
    """Without faults, the routed mesh receives far fewer copies than every-origin links."""
    calm = SimConfig(
        byzantine_p=0.0,
        drop_p=(0.0, 0.0),
        duplicate_p=(0.0, 0.0),
        reorder_p=(0.0, 0.0),
        partition_p=(0.0, 0.0),
        crash_p=(0.0, 0.0),
        entries_per_origin=(60, 80),
    )
    copies: dict[bool, float] = {}
    for selective in (True, False):
        config = dataclasses.replace(calm, selective=selective)
        stats: Counter[str] = Counter()
        for seed in range(3):
            stats.update(run_or_fail(seed, config).stats)
        extra = stats["duplicate_batches"] + stats["reject_stale"]
        copies[selective] = extra / stats["batches_accepted"]
    assert copies[False] > 1.0  # every peer relays every origin: several copies of each
    assert copies[True] < 0.2 * copies[False]


# ---------------------------------------------------------------------- replay


def test_replay_is_exact() -> None:
    first = run_simulation(7, SWEEP)
    again = run_simulation(7, SWEEP)
    assert first.fingerprint == again.fingerprint
    assert first.stats == again.stats
    assert run_simulation(8, SWEEP).fingerprint != first.fingerprint


def test_replay_does_not_depend_on_string_hashing() -> None:
    """Set iteration order changes with PYTHONHASHSEED; the run must not."""
    code = "from tests.sim.simulation import run_simulation;print(run_simulation(11).fingerprint)"
    prints = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        prints.add(done.stdout.strip())
    assert prints == {run_simulation(11).fingerprint}


# ---------------------------------------------------------------------- the checkers bite


class AcceptAnyRootNode(SimNode):
    """Sabotaged: accepts a batch whose recomputed root differs from the signed one."""

    def _verify(self, state: LogState, batch: Batch) -> AcceptedBatch:
        try:
            return super()._verify(state, batch)
        except BatchRejected as exc:
            if exc.reason is not RejectReason.ROOT_MISMATCH:
                raise
        fresh = batch.entries[state.size - batch.first_index :]
        headers = tuple(decode_header(e.header) for e in fresh)
        leaves = tuple(leaf_hash(e.header) for e in fresh)
        frontier = state.frontier.copy()
        frontier.extend(leaves)
        checkpoint, note = open_origin_checkpoint(
            batch.note, self.verifiers[batch.origin], self.params.trust_domain, batch.origin
        )
        return AcceptedBatch(
            origin=batch.origin,
            first_index=state.size,
            entries=tuple(fresh),
            headers=headers,
            leaf_hashes=leaves,
            checkpoint=checkpoint,
            note=note,
            checkpoint_note=batch.note,
            state=LogState(batch.origin, frontier.size, frontier, batch.note),
        )


class BlindWitnessNode(SimNode):
    """Sabotaged: never compares checkpoints with its log nor accepts evidence."""

    def decide(self, origin: str, note: str, checkpoint: object) -> None:
        pass

    def _on_proof_response(self, src: str, msg: ProofResponse) -> None:
        pass

    def _on_evidence(self, evidence: object) -> None:
        pass


class RowsOutsideTransactionNode(SimNode):
    """Sabotaged: the folded rows are not committed with the entries, so a crash loses them."""

    def crash(self, now: int) -> None:
        super().crash(now)
        self.store.rows.clear()


def expect_failure(config: SimConfig, seeds: range) -> str:
    """The report of the first seed in ``seeds`` that fails (and there must be one)."""
    for seed in seeds:
        try:
            run_simulation(seed, config)
        except SimulationFailure as failure:
            return str(failure)
    raise AssertionError(f"no seed in {seeds} failed")


def test_checker_catches_forged_entry_when_verifier_accepts_any_root() -> None:
    forger = ByzantineOptions(tampers=("header", "forge_entries"), tamper_p=(0.9, 0.9))
    config = SimConfig(byzantine_p=1.0, byzantine=forger, node_class=AcceptAnyRootNode)
    report = expect_failure(config, range(5))
    assert report.startswith("SIM FAILED seed=")
    assert "never wrote (a forged or tampered entry was accepted)" in report
    assert "tampers (" in report  # the trace shows the attack
    assert "replay: pytest tests/sim --seed " in report


def test_checker_catches_undetected_equivocation() -> None:
    equivocator = ByzantineOptions(
        equivocate_p=1.0, rewrite_p=0.0, tamper_p=(0.0, 0.0), frame_p=(0.0, 0.0)
    )
    config = SimConfig(byzantine_p=1.0, byzantine=equivocator, node_class=BlindWitnessNode)
    report = expect_failure(config, range(10))
    assert "holds no evidence" in report or "did not freeze" in report, report


def test_payload_stripping_relay_cannot_make_state_diverge() -> None:
    # verify_batch(receiver=...) rejects an entry stripped of a payload its receiver may hold.
    stripper = ByzantineOptions(tampers=(STRIP_PAYLOADS,), tamper_p=(0.5, 0.5))
    run_simulation(0, SimConfig(byzantine_p=1.0, byzantine=stripper))


def test_checker_catches_state_not_committed_with_entries() -> None:
    config = SimConfig(crash_p=(0.05, 0.05), node_class=RowsOutsideTransactionNode)
    report = expect_failure(config, range(10))
    assert "folded state differs from a fresh fold" in report, report
