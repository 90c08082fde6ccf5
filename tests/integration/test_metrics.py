"""Prometheus metrics are served and never carry personal data; neither do process logs."""

from __future__ import annotations

import asyncio
import logging
import urllib.request

import grpc
import pytest

from ccnode.v1 import admin_pb2
from tests.integration.harness import Federation, admin, eventually, listing

pytestmark = pytest.mark.integration

ID = "510104199003071237"


def _scrape(port: int) -> str:
    assert port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


BAD_ID = "510104199003071238"


async def test_metrics_and_logs_hold_no_personal_data(
    federation: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for node_id in ("chengdu", "chongqing"):
        config = federation.home(node_id)
        config.metrics_listen = "127.0.0.1:0"
        config.save()
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing(id_number=ID)], actor="王五"))
    with pytest.raises(grpc.aio.AioRpcError):
        await admin(a).Submit(
            admin_pb2.SubmitRequest(drafts=[listing(id_number=BAD_ID)], actor="王五")
        )

    async def applied_on_b() -> bool:
        r = await admin(b).BlacklistSearch(admin_pb2.BlacklistSearchRequest(id_number=ID))
        return r.total == 1

    await eventually(applied_on_b)
    texts = [await asyncio.to_thread(_scrape, node.metrics_port) for node in (a, b)]
    assert "ccnode_appended_entries_total" in texts[0]
    assert 'ccnode_applied_entries_total{origin="chengdu"}' in texts[1]
    everything = "\n".join(texts) + caplog.text
    for secret in (ID, BAD_ID, "张三", "5101041990"):
        assert secret not in everything


def _sample(text: str, name: str) -> float:
    """The value of an unlabelled sample in a scrape (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def test_appended_entries_count_entries_and_the_commit_is_timed(
    federation: Federation,
) -> None:
    config = federation.home("chengdu")
    config.metrics_listen = "127.0.0.1:0"
    config.save()
    a = await federation.start("chengdu")
    before = await asyncio.to_thread(_scrape, a.metrics_port)
    drafts = [listing(case=f"（2024）川0104执{n}号") for n in range(1, 4)]
    reply = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="王五"))
    after = await asyncio.to_thread(_scrape, a.metrics_port)
    name = "ccnode_appended_entries_total"
    assert _sample(after, name) - _sample(before, name) == 3  # entries, not commit groups
    count = "ccnode_commit_seconds_count"
    assert _sample(after, count) - _sample(before, count) >= 1
    assert f'ccnode_log_size{{origin="chengdu"}} {float(reply.size)}' in after
