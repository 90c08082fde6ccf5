"""What a single node cannot see, found by `ccnode audit crosscheck` over real mTLS:
an origin showing two histories to two peers (equivocation, exported as evidence that the CA
certificate alone verifies), and a relay that stops passing an origin on (lagging, how far)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ccnode.v1 import federation_pb2, log_pb2, payloads_pb2
from node.identity.keyfiles import load_log_signing_key
from node.replication.cutting import cut_batch
from node.runtime.node import Node
from node.runtime.registry import DEFAULT, ServiceSpec, federation_service
from node.store import open_store
from node.store.base import LogReader, OriginState, StoredEntry
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.entry import make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from sync.payload import encode_payload
from tests.integration.auditkit import (
    address,
    cli_fails,
    cli_ok,
    issue_auditor,
    json_of,
    submit_listings,
)
from tests.integration.harness import TRUST_DOMAIN, Federation, eventually

pytestmark = pytest.mark.integration


async def _size(node: Node, origin: str) -> int:
    state = await node.parts.db.read(node.parts.db.store.origin_state, origin)
    return state.size if state else 0


def _forged_entry(index: int) -> StoredEntry:
    record = payloads_pb2.BlacklistRecord(case_number=f"（2024）川0104执{9000 + index}号")
    payload = encode_payload(
        log_pb2.BLACKLIST_LISTED,
        payloads_pb2.Payload(blacklist_listed=payloads_pb2.BlacklistListed(record=record)),
    )
    subject, hlc = f"chengdu/bl/{index}", (1_735_689_600_000 + index) << 16
    entry = make_entry(
        origin="chengdu",
        index=index,
        kind=log_pb2.BLACKLIST_LISTED,
        subject=subject,
        actor="另一段历史",
        hlc=hlc,
        payload=payload,
        salt=hashlib.sha256(b"forged%d" % index).digest()[:16],
    )
    return StoredEntry(
        "chengdu",
        index,
        log_pb2.BLACKLIST_LISTED,
        subject,
        "另一段历史",
        hlc,
        entry.leaf_hash(),
        entry.header,
        entry.salt,
        entry.payload,
    )


def _show_mianyang_another_history(federation: Federation, mianyang_db: str, size: int) -> None:
    """chengdu's own key signs a second history from entry 3 on, and mianyang holds it."""
    certs = federation.root / "homes" / "chengdu" / "certs"
    key = load_log_signing_key(certs / "log.key")
    signer = Ed25519Signer(origin_line(TRUST_DOMAIN, "chengdu"), key)
    store = open_store(mianyang_db)
    try:
        held = store.origin_state("chengdu")
        assert held is not None and held.size == 3
        frontier = Frontier.from_bytes(held.frontier)
        forged = [_forged_entry(i) for i in range(3, size)]
        frontier.extend(e.leaf_hash for e in forged)
        cp = Checkpoint(origin_line(TRUST_DOMAIN, "chengdu"), size, frontier.root())
        note = sign_checkpoint(cp, signer)
        store.append(
            origin="chengdu",
            expected_size=3,
            entries=forged,
            state=OriginState("chengdu", size, frontier.root(), frontier.to_bytes(), note),
        )
    finally:
        store.close()


@pytest.mark.parametrize("forged_size", [4, 5], ids=["same-size", "later-size"])
async def test_two_histories_shown_to_two_peers_are_equivocation(
    federation: Federation, tmp_path: Path, forged_size: int
) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    c = await federation.start("mianyang")
    await federation.link("chengdu", "chongqing")
    await federation.peer("mianyang", "chengdu")
    await submit_listings(a, 3)

    async def both_hold_three() -> bool:
        return await _size(b, "chengdu") == 3 and await _size(c, "chengdu") == 3

    await eventually(both_hold_three)
    # mianyang leaves the federation for a while; meanwhile chengdu shows it another history.
    await c.parts.links.remove_peer("chengdu")
    mianyang_db = c.config.db_url
    await federation.stop("mianyang")
    _show_mianyang_another_history(federation, mianyang_db, forged_size)
    await submit_listings(a, 1, start=3)  # the history chongqing sees: size 4

    async def chongqing_holds_four() -> bool:
        return await _size(b, "chengdu") == 4

    await eventually(chongqing_holds_four)
    c = await federation.start("mianyang")
    auditor = issue_auditor(federation)
    evidence_dir = tmp_path / "evidence"
    targets = [x for n in (a, b, c) for x in ("--node", address(n))]
    doc = json_of(await cli_fails(1, "audit", "crosscheck", *targets, "--cert", auditor,
                                  "--evidence-dir", evidence_dir, "--json"))  # fmt: skip
    assert doc["ok"] is False
    assert [n["node"] for n in doc["nodes"]] == ["chengdu", "chongqing", "mianyang"]
    (found,) = doc["equivocations"]
    assert found["origin"] == "chengdu"
    assert sorted(found["sizes"]) == [4, forged_size]
    seen = {tuple(found["nodes_seeing_smaller"]), tuple(found["nodes_seeing_larger"])}
    assert seen == {("chengdu", "chongqing"), ("mianyang",)}
    assert doc["lagging"] == []  # which history would they lag? none is reported
    human = await cli_fails(1, "audit", "crosscheck", *targets, "--cert", auditor)
    assert "EQUIVOCATION 分叉" in human.stdout

    # The evidence file convinces anyone holding the CA certificate, and nothing else does.
    evidence = Path(found["evidence_file"])
    ca = federation.ca / "ca.pem"
    proven = json_of(await cli_ok("audit", "verify-evidence", evidence, "--ca", ca, "--json"))
    assert (proven["ok"], proven["origin"], sorted(proven["sizes"])) == (
        True,
        "chengdu",
        [4, forged_size],
    )
    _swap_notes(evidence)
    refuted = json_of(await cli_fails(1, "audit", "verify-evidence", evidence, "--ca", ca,
                                      "--json"))  # fmt: skip
    assert refuted["reason"].startswith("not equivocation")


def _swap_notes(evidence: Path) -> None:
    doc = json.loads(evidence.read_text())
    doc["larger_note"] = doc["smaller_note"]
    evidence.write_text(json.dumps(doc))


WITHHELD_FROM = 2


def withholding_cut(store: LogReader, origin: str, start: int, size: int, *rest: Any) -> Any:
    """A relay that stops passing chengdu's log on after its first two entries."""
    if origin == "chengdu":
        size = min(size, WITHHELD_FROM)
        if start >= size:
            return None
    return cut_batch(store, origin, start, size, *rest)


async def _start_withholding(federation: Federation) -> Node:
    name = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name
    public = tuple(
        ServiceSpec(
            s.full_name,
            s.add_to_server,
            functools.partial(federation_service, cutter=withholding_cut),
        )
        if s.full_name == name
        else s
        for s in DEFAULT.public
    )
    return await federation.start("chongqing", registry=dataclasses.replace(DEFAULT, public=public))


async def test_a_relay_that_withholds_an_origin_shows_up_as_lag(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await federation.start("chengdu")
    b = await _start_withholding(federation)
    c = await federation.start("mianyang")
    await federation.link("chengdu", "chongqing")
    await federation.peer("mianyang", "chongqing")  # mianyang hears of chengdu only via chongqing
    await submit_listings(a, 2)

    async def relay_holds_two() -> bool:
        # Held exactly at 2, the relay keeps chengdu's checkpoint at 2: it can cut a batch there.
        return await _size(b, "chengdu") == 2

    await eventually(relay_holds_two)
    await submit_listings(a, 3, start=2)

    async def settled() -> bool:
        link = c.parts.links.status("chongqing")
        return (
            await _size(b, "chengdu") == 5
            and await _size(c, "chengdu") == 2
            and link.peer_sizes.get("chengdu") == 5
        )

    await eventually(settled)
    targets = [x for n in (a, b, c) for x in ("--node", address(n))]
    auditor = issue_auditor(federation)
    doc = json_of(await cli_ok("audit", "crosscheck", *targets, "--cert", auditor, "--json"))
    assert doc["ok"] is True and doc["equivocations"] == []
    (lag,) = doc["lagging"]
    assert (lag["node"], lag["origin"], lag["size"], lag["latest"], lag["behind"]) == (
        "mianyang",
        "chengdu",
        2,
        5,
        3,
    )
    assert lag["holders"] == ["chengdu", "chongqing"]
    assert lag["peers_holding_more"] == {"chongqing": 5}  # the relay that has it and withholds
    assert lag["oldest_missing_unix_ms"] > 0
    human = await cli_ok("audit", "crosscheck", *targets, "--cert", auditor)
    assert "lagging 复制滞后" in human.stdout and "3 entries 条" in human.stdout
    assert "chongqing (5)" in human.stdout
