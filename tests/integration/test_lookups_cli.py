"""The lookup commands end to end against two real nodes: peers with their courts, sample
assets generated and imported, a lookup with --wait, a recorded read, and audit access."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from sync.domain.assets import asset_from_json, category_name
from tests.integration.harness import Federation

pytestmark = pytest.mark.integration

ASKED = ("deposit", "real_estate", "vehicle")


async def ccnode(*args: object) -> Result:
    """Run the CLI in a worker thread: the nodes keep serving on this event loop."""

    def invoke() -> Result:
        return CliRunner().invoke(main, [str(a) for a in args])

    result = await asyncio.to_thread(invoke)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


async def test_lookup_from_the_command_line(federation: Federation, tmp_path: Path) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    home_a, home_b = a.config.home, b.config.home
    await ccnode("peers", "add", "--home", home_a, "chongqing", f"127.0.0.1:{b.port}")
    await ccnode(
        "peers", "add", "--home", home_b, "chengdu", f"127.0.0.1:{a.port}",
        "--court-prefix", "川01",
    )  # fmt: skip
    data, owners = tmp_path / "assets.jsonl", tmp_path / "owners.txt"
    await ccnode("assets", "generate", "--count", "2000", "--out", data, "--owners-out", owners)
    await ccnode("assets", "import", "--home", home_b, data)
    count = json.loads((await ccnode("assets", "count", "--home", home_b, "--json")).stdout)
    assert count == {"total": 2000}

    records = [asset_from_json(json.loads(line)) for line in data.read_text("utf-8").splitlines()]
    owner = owners.read_text(encoding="utf-8").split()[0]
    expected = sorted(
        r.asset_id for r in records if r.owner_id == owner and category_name(r.category) in ASKED
    )
    assert expected, "the sample owner should own something of the asked categories"

    # Not yet a registered debtor of the case: refused before anything is sent.
    refused = await asyncio.to_thread(CliRunner().invoke, main, [str(a) for a in (
        "lookup", "request", "--home", home_a, "--to", "chongqing",
        "--case", "（2025）川0104执1234号", "--id", owner, "--categories", ",".join(ASKED),
        "--purpose", "查询被执行人财产", "--actor", "法官王五", "--json",
    )])  # fmt: skip
    assert refused.exit_code == 3 and "[rule: not_a_debtor]" in refused.stderr
    assert owner not in refused.stderr
    await ccnode("cases", "add-party", "--home", home_a, "（2025）川0104执1234号", "--id", owner)
    listed = json.loads((await ccnode("cases", "list-parties", "--home", home_a, "--json")).stdout)
    assert [p["case_number"] for p in listed["parties"]] == ["（2025）川0104执1234号"]
    assert owner not in json.dumps(listed, ensure_ascii=False)  # masked
    requested = await ccnode(
        "lookup", "request", "--home", home_a, "--to", "chongqing",
        "--case", "（2025）川0104执1234号", "--id", owner, "--categories", ",".join(ASKED),
        "--purpose", "查询被执行人财产", "--actor", "法官王五", "--wait", "--json",
    )  # fmt: skip
    doc = json.loads(requested.stdout)
    assert doc["lookup"]["status"] == "answered"
    assert sorted(x["asset_id"] for x in doc["assets"]) == expected
    assert {x["category"] for x in doc["assets"]} <= set(ASKED)
    assert owner not in requested.stdout  # masked
    subject = doc["lookup"]["subject"]

    shown = await ccnode(
        "lookup", "show", "--home", home_a, subject, "--actor", "书记员赵六",
        "--purpose", "制作查封裁定", "--reveal", "--json",
    )  # fmt: skip
    assert {x["owner_id"] for x in json.loads(shown.stdout)["assets"]} == {owner}

    listed = json.loads((await ccnode("lookup", "list", "--home", home_b, "--json")).stdout)
    assert [x["subject"] for x in listed["lookups"]] == [subject]

    audit = await ccnode("audit", "access", "--home", home_a, "--subject", owner, "--json")
    access = json.loads(audit.stdout)
    assert [x["subject"] for x in access["lookups"]] == [subject]
    assert [(r["actor"], r["purpose"]) for r in access["reads"]] == [
        ("法官王五", "查询被执行人财产"),
        ("书记员赵六", "制作查封裁定"),
    ]
