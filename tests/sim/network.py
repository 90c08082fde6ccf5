"""A simulated packet network: latency, drops, duplicates, reordering and partitions.

Modelled on TigerBeetle's ``packet_simulator.zig``: every fault is drawn from the one seeded
RNG of the run, so a seed replays byte for byte. Time is in ticks. A message is lost if it is
dropped when sent, if its endpoints are on different sides of a partition when it is sent or
when it arrives, or if its destination is down when it arrives. Duplicates and extra delays
(which reorder messages) are independent draws.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.sim.messages import Message, describe

TRACE_EVENTS_KEPT = 30


class Trace:
    """The last events of a run, for the failure report, and a fingerprint of all of them.

    The fingerprint (SHA-256 over every event) lets a test prove that a seed replays exactly.
    """

    def __init__(self, kept: int = TRACE_EVENTS_KEPT) -> None:
        self.recent: deque[str] = deque(maxlen=kept)
        self.events = 0
        self._digest = hashlib.sha256()

    def add(self, tick: int, text: str) -> None:
        line = f"t={tick:<4} {text}"
        self.recent.append(line)
        self.events += 1
        self._digest.update(line.encode())
        self._digest.update(b"\n")

    def fingerprint(self) -> str:
        return self._digest.hexdigest()


@dataclass
class LinkFaults:
    """Per-message fault probabilities; all zero (and latency 1) in a quiet period."""

    drop_p: float = 0.0
    duplicate_p: float = 0.0
    reorder_p: float = 0.0  # chance of an extra delay that lets later messages overtake
    latency_ticks_max: int = 1
    reorder_delay_ticks_max: int = 0


@dataclass(order=True)
class InFlight:
    deliver_tick: int
    seq: int  # tie-break in send order, so delivery order never depends on hashing
    src: str = field(compare=False)
    dst: str = field(compare=False)
    msg: Message = field(compare=False)


class SimNetwork:
    def __init__(self, rng: random.Random, trace: Trace) -> None:
        self._rng = rng
        self._trace = trace
        self.faults = LinkFaults()
        self.down: set[str] = set()  # crashed nodes: messages to them are lost on arrival
        self._side: dict[str, int] = {}  # partition side of each node; empty = healed
        self._queue: list[InFlight] = []
        self._seq = 0
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------------ partitions

    def partition(self, sides: Sequence[Sequence[str]], now: int) -> None:
        self._side = {node: number for number, side in enumerate(sides) for node in side}
        text = " | ".join(",".join(side) for side in sides)
        self._trace.add(now, f"partition {text}")
        self.stats["partitions"] += 1

    def heal(self, now: int) -> None:
        if self._side:
            self._trace.add(now, "heal")
        self._side = {}

    @property
    def partitioned(self) -> bool:
        return bool(self._side)

    def connected(self, a: str, b: str) -> bool:
        return self._side.get(a, 0) == self._side.get(b, 0)

    # ------------------------------------------------------------------ traffic

    def send(self, src: str, dst: str, msg: Message, now: int) -> None:
        self.stats["sent"] += 1
        if not self.connected(src, dst):
            self.stats["cut"] += 1
            self._trace.add(now, f"cut  {src}->{dst} {describe(msg)}")
            return
        faults = self.faults
        if faults.drop_p and self._rng.random() < faults.drop_p:
            self.stats["dropped"] += 1
            self._trace.add(now, f"drop {src}->{dst} {describe(msg)}")
            return
        copies = 1
        if faults.duplicate_p and self._rng.random() < faults.duplicate_p:
            copies = 2
            self.stats["duplicated"] += 1
        for _ in range(copies):
            delay = self._rng.randint(1, faults.latency_ticks_max)
            if faults.reorder_p and self._rng.random() < faults.reorder_p:
                delay += self._rng.randint(1, max(1, faults.reorder_delay_ticks_max))
                self.stats["delayed"] += 1
            self._seq += 1
            heapq.heappush(self._queue, InFlight(now + delay, self._seq, src, dst, msg))

    def due(self, now: int) -> list[InFlight]:
        """Messages arriving at ``now``, in a deterministic order; lost ones are traced."""
        arrived: list[InFlight] = []
        while self._queue and self._queue[0].deliver_tick <= now:
            item = heapq.heappop(self._queue)
            if item.dst in self.down or not self.connected(item.src, item.dst):
                self.stats["lost"] += 1
                self._trace.add(now, f"lost {item.src}->{item.dst} {describe(item.msg)}")
                continue
            arrived.append(item)
        return arrived
