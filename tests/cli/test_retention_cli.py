"""``ccnode retention status`` and the purge notes of ``blacklist show`` against the fake Admin
service."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from ccnode.v1 import admin_pb2, log_pb2
from tests.cli.support import FakeAdmin, fails, ok


def _status() -> admin_pb2.RetentionStatusResponse:
    return admin_pb2.RetentionStatusResponse(
        as_of="2026-03-01",
        today="2025-06-01",
        enabled=True,
        interval_s=3600,
        rules=[
            admin_pb2.RetentionRule(
                rule="lookup_answers", days=365, closed_by="the reply", due=4, purged=10,
                next_due_on="2026-03-05",
            ),
            admin_pb2.RetentionRule(
                rule="tasks", days=1095, closed_by="a terminal status", due=0, purged=0,
            ),
        ],
    )  # fmt: skip


def test_status_sends_the_day_and_shows_each_rule(home: Path, fake: FakeAdmin) -> None:
    fake.responses["RetentionStatus"] = _status()
    result = ok("retention", "status", "--home", home, "--as-of", "2026-03-01")
    (request,) = fake.received("RetentionStatus")
    assert request.as_of == "2026-03-01"
    out = result.stdout
    assert "payload retention as of 2026-03-01" in out
    assert "lookup_answers" in out and "365 days" in out and "2026-03-05" in out
    assert "1095 days" in out
    assert "purge job is off" not in out


def test_status_json_and_today_by_default(home: Path, fake: FakeAdmin) -> None:
    off = _status()
    off.enabled = False
    fake.responses["RetentionStatus"] = off
    doc = json.loads(ok("retention", "status", "--home", home, "--json").stdout)
    (request,) = fake.received("RetentionStatus")
    assert request.as_of == ""  # the node's today
    assert doc["enabled"] is False and doc["as_of"] == "2026-03-01"
    assert doc["rules"][0] == {
        "rule": "lookup_answers", "days": 365, "closed_by": "the reply", "due": 4,
        "purged": 10, "next_due_on": "2026-03-05",
    }  # fmt: skip
    assert doc["rules"][1]["next_due_on"] == ""
    text = ok("retention", "status", "--home", home).stdout
    assert "purge job is off on this node" in text


def test_status_with_a_malformed_day_is_a_usage_error(home: Path, fake: FakeAdmin) -> None:
    fails(2, "retention", "status", "--home", home, "--as-of", "2026-02-30")
    assert fake.received("RetentionStatus") == []


def test_status_refused_by_the_node_names_the_field(home: Path, fake: FakeAdmin) -> None:
    fake.refuse("RetentionStatus", "as_of", "date", "must be a date YYYY-MM-DD")
    result = fails(3, "retention", "status", "--home", home)
    assert "as_of" in result.stderr


def test_blacklist_show_says_which_payloads_were_purged(home: Path, fake: FakeAdmin) -> None:
    note = "purged on 2030-01-05 by retention rule blacklist"
    fake.responses["BlacklistGet"] = admin_pb2.BlacklistGetResponse(
        item=admin_pb2.BlacklistItem(subject="chengdu/bl/0", status="delisted"),
        history=[admin_pb2.HistoryEvent(entry_id="chengdu/0", kind=log_pb2.BLACKLIST_LISTED)],
        purged=[
            log_pb2.PayloadPurge(
                entry_id="chengdu/0", purged_on="2030-01-05", rule="blacklist", note=note
            )
        ],
    )
    text = ok("blacklist", "show", "--home", home, "chengdu/bl/0").stdout
    assert f"payload of entry chengdu/0 {note}" in text
    doc = json.loads(ok("blacklist", "show", "--home", home, "chengdu/bl/0", "--json").stdout)
    assert doc["purged"] == [
        {"entry_id": "chengdu/0", "purged_on": "2030-01-05", "rule": "blacklist", "note": note}
    ]


def test_status_of_a_node_that_does_not_know_the_call(home: Path, fake: FakeAdmin) -> None:
    fake.fail("RetentionStatus", grpc.StatusCode.UNIMPLEMENTED, "unknown method")
    fails(1, "retention", "status", "--home", home)
