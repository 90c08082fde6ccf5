"""Prometheus metrics are served and never carry personal data; neither do process logs."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from ccnode.v1 import admin_pb2
from node.identity.keyfiles import install_crl
from node.metrics import METRICS
from node.store import open_store
from node.store.base import PeerRecord
from tests.integration.harness import Federation, admin, eventually, listing
from tests.integration.procs import NodeProcess
from tests.integration.test_lookups import A, B, _pair, lookups, request

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


def _value(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """A sample's value in a scrape, by name and labels (None when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return float(sample.value)
    return None


def _metrics_on(federation: Federation, *node_ids: str) -> None:
    for node_id in node_ids:
        config = federation.home(node_id)
        config.metrics_listen = "127.0.0.1:0"
        config.save()


def _promtool() -> str | None:
    beside = Path(sys.executable).parent / "promtool"  # scripts/ensure_promtool.sh puts it here
    return str(beside) if beside.exists() else shutil.which("promtool")


async def test_promtool_finds_nothing_wrong_in_a_running_nodes_metrics(
    federation: Federation,
) -> None:
    promtool = _promtool()
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is required in CI (make test installs it: make promtool)")
        pytest.skip("promtool not installed (scripts/ensure_promtool.sh)")
    _metrics_on(federation, A, B)
    a, _ = await _pair(federation)
    result = await lookups(a).Request(request())  # every kind: counters, gauges, histograms
    assert result.item.status == "answered"
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    text = await asyncio.to_thread(_scrape, a.metrics_port)
    for family in (
        "ccnode_lookup_seconds",
        "ccnode_replication_lag_entries",
        "process_cpu_seconds",
    ):
        assert f"# TYPE {family}" in text
    checked = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == ""


async def test_lookups_are_timed_on_both_sides_by_outcome(federation: Federation) -> None:
    _metrics_on(federation, A)
    a, _ = await _pair(federation)
    before = await asyncio.to_thread(_scrape, a.metrics_port)
    requester = {"role": "requester", "outcome": "answered"}
    target = {"role": "target", "outcome": "answered"}
    result = await lookups(a).Request(request())
    assert result.item.status == "answered"
    after = await asyncio.to_thread(_scrape, a.metrics_port)
    count = "ccnode_lookup_seconds_count"
    # One process runs both nodes (one registry): A's wait and B's reply are both counted.
    assert (_value(after, count, requester) or 0) - (_value(before, count, requester) or 0) == 1
    assert (_value(after, count, target) or 0) - (_value(before, count, target) or 0) == 1
    assert (_value(after, "ccnode_lookup_seconds_sum", requester) or 0) > (
        _value(before, "ccnode_lookup_seconds_sum", requester) or 0
    )


async def test_replication_lag_is_zero_once_caught_up_and_the_catchup_is_logged(
    federation: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _metrics_on(federation, "chengdu", "chongqing")
    a = await federation.start("chengdu")
    drafts = [listing(case=f"（2024）川0104执{n}号") for n in range(1, 6)]
    reply = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="王五"))
    b = await federation.start("chongqing")
    await federation.peer("chongqing", "chengdu")  # b subscribes to a: 5 entries behind

    async def caught_up() -> bool:
        text = await asyncio.to_thread(_scrape, b.metrics_port)
        return _value(text, "ccnode_log_size", {"origin": "chengdu"}) == reply.size and any(
            "catch-up done" in r.getMessage() for r in caplog.records
        )

    await eventually(caught_up)
    text = await asyncio.to_thread(_scrape, b.metrics_port)
    assert _value(text, "ccnode_replication_lag_entries", {"peer": "chengdu"}) == 0
    assert _value(text, "ccnode_replication_lag_seconds", {"peer": "chengdu"}) == 0
    assert _value(text, "ccnode_catchup_backlog_entries", {"peer": "chengdu"}) == 0
    assert _value(text, "ccnode_peer_connected", {"peer": "chengdu"}) == 1
    stamp = _value(text, "ccnode_checkpoint_timestamp_seconds", {"origin": "chengdu"})
    assert stamp is not None and abs(stamp - time.time()) < 3600
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("node.replication")]
    assert f"peer chengdu connected at 127.0.0.1:{a.port}" in lines
    assert "peer chengdu: catch-up started: 5 entries behind" in lines
    assert any(line.startswith("peer chengdu: catch-up done: 5 entries in ") for line in lines)
    await federation.stop("chengdu")

    async def disconnected() -> bool:
        return any(r.getMessage().startswith("peer chengdu disconnected: ") for r in caplog.records)

    await eventually(disconnected)
    text = await asyncio.to_thread(_scrape, b.metrics_port)
    assert _value(text, "ccnode_peer_connected", {"peer": "chengdu"}) == 0


async def test_the_own_log_size_and_checkpoint_time_are_set_at_start(
    federation: Federation,
) -> None:
    _metrics_on(federation, "chengdu")
    a = await federation.start("chengdu")
    drafts = [listing(case=f"（2024）川0104执{n}号") for n in range(1, 3)]
    reply = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="王五"))
    await federation.stop("chengdu")
    METRICS.log_size.remove("chengdu")  # what the previous process said is gone
    METRICS.checkpoint_time.remove("chengdu")
    a = await federation.start("chengdu")
    text = await asyncio.to_thread(_scrape, a.metrics_port)
    assert _value(text, "ccnode_log_size", {"origin": "chengdu"}) == reply.size
    stamp = _value(text, "ccnode_checkpoint_timestamp_seconds", {"origin": "chengdu"})
    assert stamp is not None and abs(stamp - time.time()) < 3600


async def test_certificate_expiry_and_the_crls_next_update(federation: Federation) -> None:
    config = federation.home("chengdu")
    config.metrics_listen = "127.0.0.1:0"
    config.save()
    install_crl(config.crl_dir, "federation", federation.ca / "crl.pem")
    a = await federation.start("chengdu")
    text = await asyncio.to_thread(_scrape, a.metrics_port)
    for cert, path in (("tls", "tls.pem"), ("log", "log.pem"), ("ca", "ca.pem")):
        pem = (config.certs_dir / path).read_bytes()
        expected = x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()
        got = _value(text, "ccnode_certificate_expiry_timestamp_seconds", {"cert": cert})
        assert got == expected, cert
    crl = x509.load_pem_x509_crl((federation.ca / "crl.pem").read_bytes())
    assert crl.next_update_utc is not None
    got = _value(text, "ccnode_crl_next_update_timestamp_seconds")
    assert got == crl.next_update_utc.timestamp()
    for name in ("process_cpu_seconds_total", "process_start_time_seconds"):
        assert _value(text, name) is not None, name


async def test_counters_have_no_created_series(federation: Federation) -> None:
    _metrics_on(federation, "chengdu")
    a = await federation.start("chengdu")
    text = await asyncio.to_thread(_scrape, a.metrics_port)
    assert "ccnode_appended_entries_total" in text
    assert "_created" not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_node_behind_its_peer_says_by_how_much_and_for_how_long(
    federation: Federation,
) -> None:
    """B, a real `python -m node` process of its own (its own registry), cannot take A's
    log (A's origin is frozen in B's store), so it stays behind A by all of A's log."""
    a = await federation.start("chengdu")
    drafts = [listing(case=f"（2024）川0104执{n}号") for n in range(1, 4)]
    reply = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="王五"))
    config = federation.home("chongqing")
    config.metrics_listen = f"127.0.0.1:{_free_port()}"
    config.save()
    store = open_store(config.db_url)
    try:
        store.freeze("chengdu", "equivocation")
        store.put_peer(PeerRecord("chengdu", f"127.0.0.1:{a.port}"))
    finally:
        store.close()
    b = NodeProcess(config.home)
    await asyncio.to_thread(b.start)  # A answers B's Hello on this loop meanwhile
    try:
        port = int(config.metrics_listen.rsplit(":", 1)[1])

        async def behind_for_a_while() -> bool:
            text = await asyncio.to_thread(_scrape, port)
            seconds = _value(text, "ccnode_replication_lag_seconds", {"peer": "chengdu"})
            return seconds is not None and seconds >= 0.5

        await eventually(behind_for_a_while)
        text = await asyncio.to_thread(_scrape, port)
        assert _value(text, "ccnode_peer_connected", {"peer": "chengdu"}) == 1
        assert _value(text, "ccnode_replication_lag_entries", {"peer": "chengdu"}) == reply.size
        assert _value(text, "ccnode_log_size", {"origin": "chengdu"}) == 0
        later = await asyncio.to_thread(_scrape, port)
        first = _value(text, "ccnode_replication_lag_seconds", {"peer": "chengdu"})
        second = _value(later, "ccnode_replication_lag_seconds", {"peer": "chengdu"})
        assert first is not None and second is not None and second >= first
    finally:
        await asyncio.to_thread(b.stop)
