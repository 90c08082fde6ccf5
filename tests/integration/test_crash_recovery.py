"""kill -9 in the middle of a catch-up: after a restart every node reaches the same logs,
with no entry lost or duplicated (the store is the resume point)."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from ccnode.v1 import admin_pb2, admin_pb2_grpc
from node.config import NodeConfig
from tests.integration.harness import Federation, listing, valid_ids
from tests.integration.procs import NodeProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENTRIES = 20_000


_CHANNELS: dict[Path, grpc.Channel] = {}


def stub(home: Path) -> admin_pb2_grpc.AdminStub:
    if home not in _CHANNELS:
        _CHANNELS[home] = grpc.insecure_channel(f"unix://{home / 'admin.sock'}")
    return admin_pb2_grpc.AdminStub(_CHANNELS[home])


def origin_view(home: Path) -> dict[str, tuple[int, bytes]]:
    st = stub(home).SyncStatus(admin_pb2.SyncStatusRequest(), timeout=10)
    return {o.origin: (o.size, o.root) for o in st.origins}


def wait_for(check, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_kill9_during_catch_up_then_restart_converges(tmp_path: Path) -> None:
    fed = Federation(tmp_path)
    homes = {n: fed.home(n).home for n in ("chengdu", "chongqing", "mianyang")}
    # Small batches make chongqing's catch-up long enough to be interrupted mid-way.
    cfg = NodeConfig.load(homes["chongqing"])
    cfg.limits.batch_entries_max = 50
    cfg.save()
    procs = {n: NodeProcess(h) for n, h in homes.items()}
    try:
        procs["chengdu"].start()
        ids = valid_ids(ENTRIES)
        a = stub(homes["chengdu"])
        # 100 entries per commit: a checkpoint every 100 entries, so the catch-up is cut into
        # many batches and can be interrupted between them.
        for start in range(0, ENTRIES, 100):
            chunk = ids[start : start + 100]
            drafts = [listing(id_number=i, name=f"债务人{n}") for n, i in enumerate(chunk, start)]
            a.Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="import"), timeout=120)
        assert origin_view(homes["chengdu"])["chengdu"][0] == ENTRIES

        procs["mianyang"].start()
        b_port = procs["chongqing"].start()
        stub(homes["chongqing"]).AddPeer(
            admin_pb2.AddPeerRequest(
                peer=admin_pb2.Peer(node_id="chengdu", address=f"127.0.0.1:{procs['chengdu'].port}")
            ),
            timeout=10,
        )
        stub(homes["mianyang"]).AddPeer(
            admin_pb2.AddPeerRequest(
                peer=admin_pb2.Peer(node_id="chongqing", address=f"127.0.0.1:{b_port}")
            ),
            timeout=10,
        )
        killed_at = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            size = origin_view(homes["chongqing"]).get("chengdu", (0, b""))[0]
            if size > 0:
                killed_at = size
                procs["chongqing"].kill9()
                break
            time.sleep(0.005)
        assert 0 < killed_at < ENTRIES, f"catch-up not interrupted mid-way (size {killed_at})"

        b_port = procs["chongqing"].start()
        stub(homes["mianyang"]).AddPeer(
            admin_pb2.AddPeerRequest(
                peer=admin_pb2.Peer(node_id="chongqing", address=f"127.0.0.1:{b_port}")
            ),
            timeout=10,
        )

        def converged() -> bool:
            views = [origin_view(h).get("chengdu") for h in homes.values()]
            return (
                all(v is not None and v[0] == ENTRIES for v in views)
                and len({v[1] for v in views if v}) == 1
            )

        wait_for(converged, timeout_s=120)
        for home in homes.values():
            report = stub(home).Verify(admin_pb2.VerifyRequest(), timeout=120)
            assert report.ok, list(report.problems)
            assert report.verified_sizes["chengdu"] == ENTRIES
            hits = stub(home).BlacklistSearch(
                admin_pb2.BlacklistSearchRequest(origin="chengdu", limit=1), timeout=30
            )
            assert hits.total == ENTRIES  # every listing folded exactly once
    finally:
        for p in procs.values():
            p.stop()
        for channel in _CHANNELS.values():
            channel.close()
        _CHANNELS.clear()
