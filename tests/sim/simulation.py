"""The simulated world: N nodes of the pure core, one thread, one seeded RNG.

In the spirit of TigerBeetle's VOPR: a seed determines everything -- the scenario (which node,
if any, is Byzantine and how it lies; how faulty the network is), every fault (drop,
duplicate, delay, partition, heal, crash, restart), every entry written and every timer's
jitter. A run has two phases:

* **chaos** (``chaos_ticks``): origins append and commit, the network misbehaves, nodes crash
  and restart (losing whatever they had not committed), partitions come and go;
* **quiet**: no more appends, partitions healed, crashed nodes restarted, messages delivered
  after one tick without loss. The Byzantine node keeps lying. The run ends as soon as the
  honest nodes have converged, or fails after ``quiet_ticks_max``.

The checkers run after every step of every honest node (each delivered message processed,
each tick's commit and timers); convergence is checked at the end. A failure raises
``SimulationFailure`` whose message starts with ``SIM FAILED seed=<n>`` and ends with the last
events of the run; ``pytest tests/sim --seed <n>`` replays exactly that run.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.checkpoint import origin_line
from sync.entry import Entry
from sync.note import Ed25519Signer
from tests.sim.byzantine import ByzantineNode, ByzantineOptions, ByzantinePlan
from tests.sim.checkers import Checker, CheckFailed
from tests.sim.messages import Batch, Gossip, describe
from tests.sim.network import LinkFaults, SimNetwork, Trace
from tests.sim.node import NodeParams, Publisher, SimNode
from tests.sim.truth import GroundTruth, TruthError

TRUST_DOMAIN = "chengyu.court"
NODE_NAMES = ("chengdu", "chongqing", "deyang", "mianyang", "wanzhou", "yibin", "zigong")
# What each node's log certificate entitles it to: the workload lists courts of both
# provinces, so about half of every origin's listings are ignored as court_not_served, by
# every node alike (the state checks then also check that rule's determinism).
COURTS: dict[str, tuple[str, ...]] = {
    name: ("渝",) if name in ("chongqing", "wanzhou") else ("川",) for name in NODE_NAMES
}


@dataclass(frozen=True)
class SimConfig:
    """A family of scenarios; each seed draws one member ("swarm testing")."""

    nodes: int = 5
    chaos_ticks: int = 40
    quiet_ticks_max: int = 300
    entries_per_origin: tuple[int, int] = (4, 20)  # target per honest origin, drawn per origin
    byzantine_p: float = 0.4  # chance that one node is Byzantine
    byzantine: ByzantineOptions = field(default_factory=ByzantineOptions)
    # Fault rates are drawn per seed from these ranges.
    drop_p: tuple[float, float] = (0.0, 0.15)
    duplicate_p: tuple[float, float] = (0.0, 0.1)
    reorder_p: tuple[float, float] = (0.0, 0.2)
    latency_ticks_max: tuple[int, int] = (1, 4)
    partition_p: tuple[float, float] = (0.0, 0.06)  # per tick, while healed
    heal_p: tuple[float, float] = (0.05, 0.3)  # per tick, while partitioned
    crash_p: tuple[float, float] = (0.0, 0.02)  # per node per tick
    down_ticks_max: int = 12
    # One honest node (drawn) is down for this window of ticks, as when a node restores from
    # an old backup or joins late: it must catch up on everything in full-size batches.
    outage_ticks: tuple[int, int] | None = None
    # Chance that an entry of every second origin carries a few KiB of text (the others write
    # short entries): batches of some logs are then cut at 256 KiB, of others at 500 entries.
    large_payload_p: float = 0.0
    node_class: type[SimNode] = SimNode  # the honest implementation (self-tests swap it)
    # Nodes take each origin from one peer (sync.routing); False: from every peer, as before.
    selective: bool = True


@dataclass(frozen=True)
class Scenario:
    """What the seed drew."""

    byzantine: str | None
    plan: ByzantinePlan | None
    faults: LinkFaults
    partition_p: float
    heal_p: float
    crash_p: float
    targets: dict[str, int]
    outage_node: str | None

    def summary(self) -> str:
        f = self.faults
        text = (
            f"drop={f.drop_p:.2f} dup={f.duplicate_p:.2f} reorder={f.reorder_p:.2f} "
            f"latency<={f.latency_ticks_max} partition={self.partition_p:.3f} "
            f"crash={self.crash_p:.3f}"
        )
        if self.byzantine is not None and self.plan is not None:
            text += f" byzantine={self.byzantine} ({self.plan.summary()})"
        return text


@dataclass(frozen=True)
class SimResult:
    seed: int
    scenario: Scenario
    ticks: int
    fingerprint: str  # SHA-256 over every traced event: equal iff the run replayed exactly
    stats: Counter[str]
    sizes: dict[str, int]  # committed size per honest origin


class SimulationFailure(AssertionError):
    pass


class _TruthPublisher(Publisher):
    def __init__(self, truth: GroundTruth) -> None:
        self.truth = truth

    def commit(self, origin: str, history: int, entries: Sequence[Entry], note: str) -> None:
        self.truth.record_commit(origin, history, entries, note)

    def fork(self, origin: str, parent: int, size: int) -> int:
        return self.truth.fork(origin, parent, size)


class World:
    def __init__(self, seed: int, config: SimConfig) -> None:
        self.seed = seed
        self.config = config
        self.rng = rng = random.Random(seed)
        assert 2 <= config.nodes <= len(NODE_NAMES)
        self.names = NODE_NAMES[: config.nodes]
        self.byzantine = rng.choice(self.names) if rng.random() < config.byzantine_p else None
        self.trace = Trace()
        self.net = SimNetwork(rng, self.trace)
        honest = [n for n in self.names if n != self.byzantine]
        self.truth = GroundTruth(self.names, honest)
        signers = {
            name: Ed25519Signer(
                origin_line(TRUST_DOMAIN, name),
                Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)),
            )
            for name in self.names
        }
        verifiers = {name: signer.verifier() for name, signer in signers.items()}
        self.scenario = self._draw_scenario(honest)
        self.net.faults = self.scenario.faults
        publisher = _TruthPublisher(self.truth)
        params = NodeParams(trust_domain=TRUST_DOMAIN, courts=COURTS, selective=config.selective)
        self.nodes: dict[str, SimNode] = {}
        for name in self.names:
            common: dict[str, Any] = dict(
                origins=self.names,
                signer=signers[name],
                verifiers=verifiers,
                rng=rng,
                net=self.net,
                trace=self.trace,
                params=params,
                publisher=publisher,
            )
            if name == self.byzantine:
                assert self.scenario.plan is not None
                self.nodes[name] = ByzantineNode(name, plan=self.scenario.plan, **common)
            else:
                self.nodes[name] = config.node_class(name, **common)
        for number, name in enumerate(self.names):
            if number % 2:
                self.nodes[name].large_payload_p = config.large_payload_p
        self.checker = Checker(self.truth, verifiers, list(self.nodes.values()))
        self.restart_at: dict[str, int] = {}
        self.tick = 0

    def _draw_scenario(self, honest: Sequence[str]) -> Scenario:
        c, rng = self.config, self.rng
        faults = LinkFaults(
            drop_p=rng.uniform(*c.drop_p),
            duplicate_p=rng.uniform(*c.duplicate_p),
            reorder_p=rng.uniform(*c.reorder_p),
            latency_ticks_max=rng.randint(*c.latency_ticks_max),
            reorder_delay_ticks_max=rng.randint(1, 6),
        )
        plan = None
        if self.byzantine is not None:
            plan = ByzantinePlan.draw(
                rng,
                c.byzantine,
                node_id=self.byzantine,
                origins=self.names,
                chaos_ticks=c.chaos_ticks,
            )
        return Scenario(
            byzantine=self.byzantine,
            plan=plan,
            faults=faults,
            partition_p=rng.uniform(*c.partition_p),
            heal_p=rng.uniform(*c.heal_p),
            crash_p=rng.uniform(*c.crash_p),
            targets={o: rng.randint(*c.entries_per_origin) for o in honest},
            outage_node=rng.choice(honest) if c.outage_ticks is not None else None,
        )

    # ------------------------------------------------------------------ running

    def run(self) -> SimResult:
        try:
            for _ in range(self.config.chaos_ticks):
                self._step(chaos=True)
            self._quiesce()
            for _ in range(self.config.quiet_ticks_max):
                self._step(chaos=False)
                if self.checker.converged(self.byzantine):
                    break
            self.checker.final_check(self.byzantine)
        except (CheckFailed, TruthError) as exc:
            raise SimulationFailure(self.report(str(exc))) from exc
        except Exception as exc:
            raise SimulationFailure(self.report(f"unexpected {exc!r}")) from exc
        return self.result()

    def _step(self, *, chaos: bool) -> None:
        now = self.tick
        if chaos:
            self._inject_faults(now)
        last_chaos_tick = chaos and now == self.config.chaos_ticks - 1
        for node in self._live():
            if chaos:
                self._append(node, now)
            node.start_tick(now)
            if last_chaos_tick:
                node.commit(now)  # no drafts are carried into the quiet period
            self.checker.after_step(node)
        for item in self.net.due(now):
            self.nodes[item.dst].deliver(item.src, item.msg)
        for node in self._live():
            while node.vol.inbox:
                src, msg = node.vol.inbox[0]
                if not isinstance(msg, Batch | Gossip) or (
                    isinstance(msg, Gossip) and msg.evidence
                ):  # batches are traced by their outcome; plain gossip is background noise
                    self.trace.add(now, f"recv {node.id}<-{src} {describe(msg)}")
                node.process_next(now)
                self.checker.after_step(node)
            node.end_tick(now)
            self.checker.after_step(node)
        self.tick += 1

    def _live(self) -> list[SimNode]:
        return [self.nodes[name] for name in self.names if self.nodes[name].up]

    def _append(self, node: SimNode, now: int) -> None:
        """Pace each origin's drafts so it reaches its target size on the last chaos tick.

        Drafts lost in a crash are drafted again later; an origin that is down at the very
        end falls a little short of its target.
        """
        if not node.honest:
            if self.rng.random() < 0.3:
                node.draft(now, self.rng.randint(1, 2))
            return
        remaining = self.scenario.targets[node.id] - self.truth.size(node.id) - node.drafted()
        if remaining <= 0:
            return
        ticks_left = max(1, self.config.chaos_ticks - 1 - now)
        per_tick = math.ceil(remaining / ticks_left)
        # Drafting a little slower than needed keeps appends going until the end of chaos.
        count = remaining if ticks_left == 1 else self.rng.randint(per_tick // 2, per_tick)
        if count:
            node.draft(now, min(count, remaining))

    def _inject_faults(self, now: int) -> None:
        rng, scenario = self.rng, self.scenario
        if not self.net.partitioned:
            if rng.random() < scenario.partition_p:
                names = list(self.names)
                rng.shuffle(names)
                cut = rng.randint(1, len(names) - 1)
                self.net.partition([sorted(names[:cut]), sorted(names[cut:])], now)
        elif rng.random() < scenario.heal_p:
            self.net.heal(now)
        outage = self.config.outage_ticks
        if outage is not None and now == outage[0]:
            name = self.scenario.outage_node
            assert name is not None
            if self.nodes[name].up:
                self.nodes[name].crash(now)
            self.restart_at[name] = max(outage[1], self.restart_at.get(name, 0))
        for name in self.names:
            node = self.nodes[name]
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    node.restart(now)
            elif rng.random() < scenario.crash_p:
                node.crash(now)
                self.restart_at[name] = now + rng.randint(1, self.config.down_ticks_max)

    def _quiesce(self) -> None:
        now = self.tick
        self.trace.add(now, "QUIET: heal, restart all, perfect links, no appends")
        self.net.heal(now)
        self.net.faults = LinkFaults()
        for name in sorted(self.restart_at):
            self.nodes[name].restart(now)
        self.restart_at.clear()

    # ------------------------------------------------------------------ reporting

    def result(self) -> SimResult:
        stats: Counter[str] = Counter(self.net.stats)
        for node in self.nodes.values():
            for key, value in node.stats.items():
                if key == "batch_entries_max":
                    stats[key] = max(stats[key], value)
                else:
                    stats[key] += value
        return SimResult(
            seed=self.seed,
            scenario=self.scenario,
            ticks=self.tick,
            fingerprint=self.trace.fingerprint(),
            stats=stats,
            sizes={o: self.truth.size(o) for o in sorted(self.truth.honest)},
        )

    def report(self, reason: str) -> str:
        lines = [
            f"SIM FAILED seed={self.seed} at tick {self.tick}: {reason}",
            f"scenario: {self.scenario.summary()}",
            f"last {len(self.trace.recent)} of {self.trace.events} events:",
            *(f"  {line}" for line in self.trace.recent),
            f"replay: pytest tests/sim --seed {self.seed}  (every seeded test runs this seed only)",
        ]
        return "\n".join(lines)


def run_simulation(seed: int, config: SimConfig | None = None) -> SimResult:
    """Run one seed; raise SimulationFailure (message starts ``SIM FAILED seed=``) on failure."""
    return World(seed, config or SimConfig()).run()
