"""A throwaway federation for integration tests: a CA, node homes and in-process nodes on
127.0.0.1, all in tmp_path. Real gRPC servers, real mutual TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from ccnode.v1 import admin_pb2, admin_pb2_grpc, log_pb2, payloads_pb2
from node.clock import Clock
from node.config import NodeConfig, init_home
from node.identity.ca import init_ca, issue_node
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, Registry
from node.store import open_store
from node.store.base import OfficerRecord, PeerRecord

TRUST_DOMAIN = "chengyu.court"
CERTS_FROM = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
# The court prefixes each node's log certificate names (and its node.json repeats); "evil"
# is a node with a valid certificate that names no court.
PREFIXES: dict[str, list[str]] = {
    "chengdu": ["川01"],
    "chongqing": ["渝01"],
    "mianyang": ["川07"],
    "deyang": ["川06"],
    "zigong": ["川03"],
    "evil": [],
}
# The officers every test node registers at its first court prefix (its intermediate
# court), so that the actors the tests name are registered officers of a court it serves
# (node/services/registers.py). "evil" serves no court and registers none: a test that has it
# submit anyway stands in for software that skips the check (``without_officer_check``).
TEST_OFFICERS: tuple[tuple[str, str, str], ...] = (
    ("法官王五", "王五", "judge"),
    ("法官刘七", "刘七", "judge"),
    ("王五", "王五", "judge"),
    ("王", "王", "judge"),
    ("法官", "法官", "judge"),
    ("法官赵六", "赵六", "judge"),
    ("李四", "李四", "assistant"),
    ("书记员赵六", "赵六", "clerk"),
    ("审计员", "审计员", "clerk"),
    ("clerk-1", "clerk one", "clerk"),
    ("clerk-7", "clerk seven", "clerk"),
    ("officer", "officer", "enforcement_officer"),
    ("officer-wang", "王", "enforcement_officer"),
    ("officer-li", "李", "enforcement_officer"),
    ("a", "a", "clerk"),
    ("x", "x", "clerk"),
    ("import", "import", "clerk"),
)


class Federation:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca = root / "ca"
        # Valid from mid-2024 for ten years: tests may run nodes on a fake clock set in 2025.
        init_ca(self.ca, trust_domain=TRUST_DOMAIN, now=CERTS_FROM)
        self.nodes: dict[str, Node] = {}

    def issue(self, node_id: str, court_prefixes: list[str] | None = None) -> Path:
        """A node's certificates; its log certificate names ``court_prefixes`` (default:
        the node's PREFIXES), the courts every receiver lets it state facts for."""
        out = self.root / "certs" / node_id
        courts = PREFIXES.get(node_id, ["川01"]) if court_prefixes is None else court_prefixes
        issue_node(self.ca, node_id, out, court_prefixes=courts, days=3650, now=CERTS_FROM)
        return out

    def home(self, node_id: str, db: str = "") -> NodeConfig:
        home = self.root / "homes" / node_id
        if (home / "node.toml").exists():
            return NodeConfig.load(home)
        config = init_home(
            home,
            node_id=node_id,
            listen="127.0.0.1:0",
            certs=self.issue(node_id),
            trust_domain=TRUST_DOMAIN,
            db=db,
            court_prefixes=PREFIXES.get(node_id, ["川01"]),
        )
        register_officers(config)
        config.metrics_listen = ""  # off: many nodes on one host; metrics tests set port 0
        config.save()
        return config

    async def start(
        self,
        node_id: str,
        *,
        clock: Clock | None = None,
        db: str = "",
        registry: Registry = DEFAULT,
    ) -> Node:
        node = Node(self.home(node_id, db), clock=clock, registry=registry)
        await node.start()
        self.nodes[node_id] = node
        return node

    async def peer(self, a: str, b: str) -> None:
        """a subscribes to b (one direction)."""
        node_b = self.nodes[b]
        await self.nodes[a].parts.links.add_peer(PeerRecord(b, f"127.0.0.1:{node_b.port}"))

    async def link(self, a: str, b: str) -> None:
        await self.peer(a, b)
        await self.peer(b, a)

    async def stop(self, node_id: str) -> None:
        node = self.nodes.pop(node_id)
        await node.stop()

    async def stop_all(self) -> None:
        for node_id in list(self.nodes):
            await self.stop(node_id)


def register_officers(config: NodeConfig) -> None:
    """Register TEST_OFFICERS at the node's first court prefix, in its new (stopped) store, so
    in-process and subprocess nodes alike start with them."""
    if not config.court_prefixes:
        return
    store = open_store(config.db_url)
    try:
        for officer_id, name, role in TEST_OFFICERS:
            store.put_officer(OfficerRecord(officer_id, config.court_prefixes[0], name, role))
    finally:
        store.close()


def without_officer_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every in-process node of the test lets any actor through (a node whose software skips
    the officer register, like "evil" whose certificate names no court)."""
    import node.services.admin as admin_service

    async def lax(*args: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr(admin_service, "require_officer", lax)


async def register_party(
    node: Node, case_number: str, *, id_number: str = "", credit_code: str = ""
) -> None:
    """Register a debtor of ``case_number`` at ``node`` (through the admin API, checked)."""
    debtor = payloads_pb2.Debtor(
        type=payloads_pb2.PERSON if id_number else payloads_pb2.ORG,
        id_number=id_number,
        credit_code=credit_code,
    )
    party = admin_pb2.CaseParty(case_number=case_number, debtor=debtor)
    await admin(node).AddCaseParty(admin_pb2.AddCasePartyRequest(party=party))


def admin(node: Node) -> admin_pb2_grpc.AdminStub:
    channel = grpc.aio.insecure_channel(f"unix://{node.config.admin_socket}")
    return admin_pb2_grpc.AdminStub(channel)


def listing(
    *,
    case: str = "（2024）川0104执1234号",
    court: str = "川0104",
    name: str = "张三",
    id_number: str = "510104199003071237",
    ground: int = payloads_pb2.G1,
    term_years: int = 0,
) -> admin_pb2.Draft:
    record = payloads_pb2.BlacklistRecord(
        case_number=case,
        court=court,
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, name=name, id_number=id_number),
        obligation="支付货款人民币100000元",
        performance="未履行",
        ground=ground,
        term_years=term_years,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初5678号",
        filed_on="2024-01-15",
    )
    return admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_LISTED,
        payload=payloads_pb2.Payload(blacklist_listed=payloads_pb2.BlacklistListed(record=record)),
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, interval_s: float = 0.02
) -> float:
    """Poll until check() is true; return the seconds it took, or fail at the timeout."""
    start = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)


def valid_ids(n: int, *, birth: str = "19900307") -> list[str]:
    """n distinct valid resident IDs (GB 11643 check characters) for area 510104."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    out = []
    for seq in range(n):
        body = f"510104{birth}{seq % 1000:03d}"
        if seq >= 1000:  # another area per thousand, never 510104 again (Guizhou's 52xxxx)
            body = f"52{(seq // 1000) % 10_000:04d}{birth}{seq % 1000:03d}"
        s = sum(int(c) * w for c, w in zip(body, weights, strict=True))
        out.append(body + "10X98765432"[s % 11])
    return out
