"""``ccnode agencies add | list | remove`` with the node stopped (its store); with a running
node they go through the admin API (tests/integration/test_agency.py)."""

from __future__ import annotations

import json
from pathlib import Path

from ccnode.v1 import admin_pb2
from cli.common.offline import offline_store
from tests.cli.support import FakeAdmin, fails, ok


def test_add_list_remove_with_the_node_stopped_use_its_store(home: Path) -> None:
    result = ok("agencies", "add", "--home", home, "samr-sc", "--quota", "5000", "--actor", "赵六")
    assert "admitted agency samr-sc" in result.stdout
    assert "node is not running" in result.stdout
    ok(
        "agencies",
        "add",
        "--home",
        home,
        "tax-sc",
        "--rate",
        "2.5",
        "--burst",
        "5",
        "--actor",
        "赵六",
    )
    doc = json.loads(ok("agencies", "list", "--home", home, "--json").stdout)
    samr, tax = doc["agencies"]
    assert (samr["name"], samr["daily_quota"], samr["rate_per_s"]) == ("samr-sc", 5000, 20.0)
    assert samr["default_limits"] == {"rate_per_s": True, "burst": True, "daily_quota": False}
    assert (tax["rate_per_s"], tax["burst"], tax["added_by"]) == (2.5, 5, "赵六")
    table = ok("agencies", "list", "--home", home).stdout
    assert "samr-sc" in table and "(default)" in table
    again = ok("agencies", "add", "--home", home, "samr-sc", "--quota", "10", "--actor", "赵六")
    assert "updated agency samr-sc" in again.stdout
    with offline_store(home) as (_config, store):
        assert [(a.name, a.daily_quota) for a in store.agencies()] == [
            ("samr-sc", 10),
            ("tax-sc", None),
        ]
    assert "removed agency tax-sc" in ok("agencies", "remove", "--home", home, "tax-sc").stdout
    assert "no agency tax-sc" in fails(1, "agencies", "remove", "--home", home, "tax-sc").stderr


def test_bad_names_and_limits_are_refused_before_anything_is_stored(home: Path) -> None:
    for args in (
        ("Bad_Name",),
        ("samr-sc", "--rate", "0"),
        ("samr-sc", "--quota", "0"),
        ("samr-sc", "--burst", "-1"),
    ):
        fails(2, "agencies", "add", "--home", home, *args, "--actor", "赵六")
    fails(2, "agencies", "add", "--home", home, "samr-sc")  # no --actor
    assert not (home / "ccnode.db").exists()
    assert "no agencies admitted" in ok("agencies", "list", "--home", home).stdout


def test_with_the_node_running_the_commands_go_through_the_admin_api(
    home: Path, fake: FakeAdmin
) -> None:
    ok(
        "agencies",
        "add",
        "--home",
        home,
        "samr-sc",
        "--rate",
        "3",
        "--quota",
        "9",
        "--actor",
        "赵六",
    )
    (request,) = fake.received("AddAgency")
    assert (request.agency.name, request.agency.rate_per_s, request.agency.burst) == (
        "samr-sc",
        3.0,
        0,  # 0: the node's default
    )
    assert (request.agency.daily_quota, request.actor) == (9, "赵六")
    fake.responses["ListAgencies"] = admin_pb2.ListAgenciesResponse(
        agencies=[
            admin_pb2.AgencyEntry(
                name="samr-sc", rate_per_s=3.0, daily_quota=9, effective_rate_per_s=3.0,
                effective_burst=40, effective_daily_quota=9, used_today=4, added_by="赵六",
            )
        ]
    )  # fmt: skip
    doc = json.loads(ok("agencies", "list", "--home", home, "--json").stdout)
    (entry,) = doc["agencies"]
    assert (entry["burst"], entry["used_today"], entry["default_limits"]["burst"]) == (40, 4, True)
    fake.responses["RemoveAgency"] = admin_pb2.RemoveAgencyResponse(removed=True)
    assert "removed agency samr-sc" in ok("agencies", "remove", "--home", home, "samr-sc").stdout
    assert fake.received("RemoveAgency")[0].name == "samr-sc"
