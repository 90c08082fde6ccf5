"""``ccnode officers`` and ``ccnode cases`` against a real node: register, list, remove; a
refusal names the field and the rule (exit 3) and never echoes an ID number."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner, Result

from cli.main import main
from tests.integration.harness import Federation

CASE = "（2024）川0104执1234号"
ID = "510104199003071237"


async def _ccnode(*args: object) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, [str(a) for a in args])


async def test_officers_and_case_parties_from_the_command_line(federation: Federation) -> None:
    node = await federation.start("chengdu")
    home = node.config.home
    added = await _ccnode(
        "officers", "add", "--home", home, "--court", "川0104", "--id", "zhang-3",
        "--name", "张三丰", "--role", "enforcement_officer",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert "registered" in added.stdout
    listed = json.loads((await _ccnode("officers", "list", "--home", home, "--json")).stdout)
    assert {"officer_id": "zhang-3", "court": "川0104", "name": "张三丰",
            "role": "enforcement_officer"} in listed["officers"]  # fmt: skip
    text = (await _ccnode("officers", "list", "--home", home)).stdout
    assert "zhang-3" in text and "川0104" in text
    outside = await _ccnode(
        "officers", "add", "--home", home, "--court", "渝0103", "--id", "cq", "--name", "某",
        "--role", "judge",
    )  # fmt: skip
    assert outside.exit_code == 3 and "[rule: court_prefix]" in outside.stderr
    removed = await _ccnode("officers", "remove", "--home", home, "zhang-3")
    assert removed.exit_code == 0
    again = await _ccnode("officers", "remove", "--home", home, "zhang-3")
    assert again.exit_code == 1 and "no officer zhang-3" in again.stderr

    added = await _ccnode("cases", "add-party", "--home", home, CASE, "--id", ID, "--name", "张三")
    assert added.exit_code == 0, added.stderr
    text = (await _ccnode("cases", "list-parties", "--home", home, CASE)).stdout
    assert "5101041990****1237" in text and ID not in text
    bad = await _ccnode("cases", "add-party", "--home", home, "（2024）川0104民初1号", "--id", ID)
    assert bad.exit_code == 3 and "[rule: case_type]" in bad.stderr and ID not in bad.stderr
    # The refusal names the case as 案号（--case-number）, and that option is taken too.
    assert "案号（--case-number）" in bad.stderr
    again = await _ccnode("cases", "add-party", "--home", home, "--case-number", CASE, "--id", ID)
    assert again.exit_code == 0, again.stderr
    for neither_or_two in ([], [CASE, "--case-number", "（2024）川0104执2号"]):
        usage = await _ccnode("cases", "remove-party", "--home", home, *neither_or_two, "--id", ID)
        assert usage.exit_code == 2 and "案号（--case-number）" in usage.stderr
    gone = await _ccnode(
        "cases", "remove-party", "--home", home, CASE, "--case-number", CASE, "--id", ID, "--json"
    )
    assert json.loads(gone.stdout) == {"case_number": CASE, "removed": True}
    empty = json.loads((await _ccnode("cases", "list-parties", "--home", home, "--json")).stdout)
    assert empty == {"parties": []}
