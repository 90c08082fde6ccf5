"""Chaos run of real node processes: a mesh of `python -m node` processes on 127.0.0.1, each
writing listings, with random kill -9 and restarts, and TCP proxies between some pairs that
delay, black-hole and cut streams. Bounded in time; then everything heals and the run checks:

* every node holds the same vector and the same root of every origin (convergence);
* every acknowledged write is present on every node exactly once, and no write of unknown
  outcome is present twice;
* `Admin.Verify` (the same check as `ccnode audit verify`) passes on every node.

`tests/integration/test_chaos.py` runs a short version in `make test`; `python -m bench.chaos
--seconds 300` runs a long one and prints its figures. Every random choice comes from one
`random.Random(seed)`; the processes' own timing still varies from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from ccnode.v1 import admin_pb2, admin_pb2_grpc
from tests.integration.harness import Federation, listing, valid_ids
from tests.integration.procs import NodeProcess

# node id -> (court prefix, a court under it)
NODES = {
    "chengdu": ("川01", "川0104"),
    "chongqing": ("渝01", "渝0101"),
    "mianyang": ("川07", "川0703"),
    "deyang": ("川06", "川0603"),
    "zigong": ("川03", "川0302"),
}
CALL_TIMEOUT_S = 10.0


@dataclass
class Report:
    seconds: float = 0.0
    nodes: int = 0
    links: int = 0
    proxied_links: int = 0
    kills: int = 0
    writes_acknowledged: int = 0
    writes_unknown: int = 0
    writes_refused: int = 0
    cuts: int = 0
    delays: int = 0
    blackholes: int = 0
    convergence_s: float = 0.0
    lost: int = 0
    duplicated: int = 0
    converged: bool = False
    verified: bool = False
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"chaos: {self.nodes} nodes, {self.links} links ({self.proxied_links} through proxies),"
            f" {self.seconds:.0f} s of faults",
            f"  kill -9 + restart: {self.kills}; proxy cuts {self.cuts}, delays {self.delays},"
            f" black holes {self.blackholes}",
            f"  writes: {self.writes_acknowledged} acknowledged, {self.writes_unknown} of unknown"
            f" outcome, {self.writes_refused} refused (node down)",
            f"  converged: {self.converged} in {self.convergence_s:.1f} s after healing;"
            f" verify on every node: {self.verified}",
            f"  lost: {self.lost}, duplicated: {self.duplicated}",
            *(f"  problem: {p}" for p in self.problems),
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of one node's port, with a fault mode."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._mode = "pass"  # pass | delay | blackhole
        self._flowing = asyncio.Event()  # clear while black-holing
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._mode = mode
        if mode == "blackhole":
            self._flowing.clear()
        else:
            self._flowing.set()

    async def start(self, port: int = 0) -> None:
        """Listen on ``port`` (0: a free one; a stopped proxy restarts on its old port)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_w), (up_r, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self._flowing.wait()  # held, not dropped, while black-holing
                if self.mode == "delay":
                    await asyncio.sleep(0.2)
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            dst.close()

    def cut(self) -> None:
        """Cut every stream through this proxy (a broken connection, mid-stream)."""
        for task in list(self._pipes):
            task.cancel()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Chaos:
    def __init__(self, root: Path, *, seed: int, proxied_share: float = 0.4) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.federation = Federation(root)
        self.procs: dict[str, NodeProcess] = {}
        self.ports: dict[str, int] = {}
        self.proxies: dict[tuple[str, str], Proxy] = {}
        self.proxied_share = proxied_share
        self.acknowledged: dict[str, set[str]] = {n: set() for n in NODES}  # origin -> cases
        self.unknown: dict[str, set[str]] = {n: set() for n in NODES}
        self.report = Report(nodes=len(NODES))
        self._ids = valid_ids(5000)
        self._serial = 0
        self._down: set[str] = set()

    # ---------------------------------------------------------------- setup

    def _admin(self, node_id: str) -> tuple[grpc.aio.Channel, admin_pb2_grpc.AdminStub]:
        sock = self.procs[node_id].home / "admin.sock"
        channel = grpc.aio.insecure_channel(f"unix://{sock}")
        return channel, admin_pb2_grpc.AdminStub(channel)

    async def setup(self) -> None:
        for node_id, (prefix, _court) in NODES.items():
            config = self.federation.home(node_id)
            config.court_prefixes = [prefix]
            self.ports[node_id] = free_port()
            config.listen = f"127.0.0.1:{self.ports[node_id]}"
            # Reconnect quickly after a kill: the run is short.
            config.limits.backoff_max_s = 1.0
            config.limits.own_log_recovery_timeout_s = 3.0
            config.save()
            self.procs[node_id] = NodeProcess(config.home)
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in self.procs.values()))
        for a in NODES:
            for b in NODES:
                if a == b:
                    continue
                port = self.ports[b]
                if self.rng.random() < self.proxied_share:
                    proxy = Proxy(port)
                    await proxy.start()
                    self.proxies[(a, b)] = proxy
                    port = proxy.port
                channel, stub = self._admin(a)
                async with channel:
                    await stub.AddPeer(
                        admin_pb2.AddPeerRequest(
                            peer=admin_pb2.Peer(
                                node_id=b, address=f"127.0.0.1:{port}", court_prefixes=[NODES[b][0]]
                            )
                        ),
                        timeout=CALL_TIMEOUT_S,
                    )
                self.report.links += 1
        self.report.proxied_links = len(self.proxies)

    # ---------------------------------------------------------------- faults and writes

    async def _writer(self, node_id: str, until: float) -> None:
        court = NODES[node_id][1]
        while time.monotonic() < until:
            await asyncio.sleep(self.rng.uniform(0.02, 0.15))
            if node_id in self._down:
                self.report.writes_refused += 1
                continue
            self._serial += 1
            case = f"（2024）{court}执{self._serial}号"
            draft = listing(case=case, court=court, id_number=self._ids[self._serial % 5000])
            channel, stub = self._admin(node_id)
            try:
                async with channel:
                    await stub.Submit(
                        admin_pb2.SubmitRequest(drafts=[draft], actor="法官王五"),
                        timeout=CALL_TIMEOUT_S,
                    )
                self.acknowledged[node_id].add(case)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    self.report.problems.append(f"{node_id}: refused {exc.details()[:80]}")
                else:  # the node died or the socket went away mid-call: outcome unknown
                    self.unknown[node_id].add(case)

    async def _killer(self, until: float, every_s: float) -> None:
        while time.monotonic() < until:
            await asyncio.sleep(self.rng.uniform(every_s / 2, every_s))
            node_id = self.rng.choice(sorted(NODES))
            self._down.add(node_id)
            proc = self.procs[node_id]
            await asyncio.to_thread(proc.kill9)
            self.report.kills += 1
            await asyncio.sleep(self.rng.uniform(0.3, 2.0))
            await asyncio.to_thread(proc.start)
            self._down.discard(node_id)

    async def _network(self, until: float) -> None:
        if not self.proxies:
            return
        pairs = sorted(self.proxies)
        while time.monotonic() < until:
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))
            proxy = self.proxies[self.rng.choice(pairs)]
            action = self.rng.choice(("cut", "delay", "blackhole", "pass"))
            if action == "cut":
                proxy.cut()
                self.report.cuts += 1
            elif action == "delay":
                proxy.mode = "delay"
                self.report.delays += 1
            elif action == "blackhole":
                proxy.mode = "blackhole"
                self.report.blackholes += 1
            else:
                proxy.mode = "pass"

    async def run(self, seconds: float, kill_every_s: float) -> None:
        start = time.monotonic()
        until = start + seconds
        await asyncio.gather(
            *(self._writer(n, until) for n in NODES),
            self._killer(until, kill_every_s),
            self._network(until),
        )
        self.report.seconds = time.monotonic() - start

    # ---------------------------------------------------------------- healing and checks

    async def heal_and_check(self, timeout_s: float) -> Report:
        for proxy in self.proxies.values():
            proxy.mode = "pass"
        healed = time.monotonic()
        statuses: dict[str, admin_pb2.SyncStatusResponse] = {}
        while time.monotonic() - healed < timeout_s:
            statuses = {n: await self._status(n) for n in NODES}
            if self._converged(statuses):
                self.report.converged = True
                break
            await asyncio.sleep(0.25)
        self.report.convergence_s = time.monotonic() - healed
        if not self.report.converged:
            sizes = {n: {o.origin: o.size for o in s.origins} for n, s in statuses.items()}
            self.report.problems.append(f"not converged: {sizes}")
        await self._check_writes()
        self.report.verified = all([await self._verified(n) for n in NODES])
        return self.report

    async def _status(self, node_id: str) -> admin_pb2.SyncStatusResponse:
        channel, stub = self._admin(node_id)
        async with channel:
            return await stub.SyncStatus(admin_pb2.SyncStatusRequest(), timeout=CALL_TIMEOUT_S)

    @staticmethod
    def _converged(statuses: dict[str, admin_pb2.SyncStatusResponse]) -> bool:
        views = {n: {o.origin: (o.size, o.root) for o in s.origins} for n, s in statuses.items()}
        first = next(iter(views.values()))
        return len(first) == len(NODES) and all(v == first for v in views.values())

    async def _check_writes(self) -> None:
        for node_id in NODES:
            channel, stub = self._admin(node_id)
            held: Counter[str] = Counter()
            async with channel:
                offset = 0
                while True:
                    page = await stub.BlacklistSearch(
                        admin_pb2.BlacklistSearchRequest(limit=1000, offset=offset),
                        timeout=CALL_TIMEOUT_S,
                    )
                    held.update(i.record.case_number for i in page.items)
                    offset += len(page.items)
                    if not page.items or offset >= page.total:
                        break
            acknowledged = set().union(*self.acknowledged.values())
            lost = acknowledged - set(held)
            duplicated = [c for c, k in held.items() if k > 1]
            unexpected = set(held) - acknowledged - set().union(*self.unknown.values())
            self.report.lost += len(lost)
            self.report.duplicated += len(duplicated)
            if unexpected:
                self.report.problems.append(f"{node_id}: {len(unexpected)} rows never written")
        self.report.writes_acknowledged = sum(len(v) for v in self.acknowledged.values())
        self.report.writes_unknown = sum(len(v) for v in self.unknown.values())

    async def _verified(self, node_id: str) -> bool:
        channel, stub = self._admin(node_id)
        async with channel:
            reply = await stub.Verify(admin_pb2.VerifyRequest(), timeout=60)
        if not reply.ok:
            self.report.problems.append(f"{node_id}: verify: {list(reply.problems)[:3]}")
        return reply.ok

    async def close(self) -> None:
        for proxy in self.proxies.values():
            await proxy.stop()
        for proc in self.procs.values():
            await asyncio.to_thread(proc.stop)


async def run_chaos(
    root: Path, *, seconds: float, seed: int, kill_every_s: float = 4.0, heal_timeout_s: float = 90
) -> Report:
    chaos = Chaos(root, seed=seed)
    try:
        await chaos.setup()
        await chaos.run(seconds, kill_every_s)
        return await chaos.heal_and_check(heal_timeout_s)
    finally:
        await chaos.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="duration of the faults")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-every-s", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ccnode-chaos-") as tmp:
        report = asyncio.run(
            run_chaos(
                Path(tmp), seconds=args.seconds, seed=args.seed, kill_every_s=args.kill_every_s
            )
        )
    print("\n".join(report.lines()))
    ok = report.converged and report.verified and not report.lost and not report.duplicated
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
