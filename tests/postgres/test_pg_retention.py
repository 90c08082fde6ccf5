"""Payload retention on a real node whose store is PostgreSQL: the job purges a delisted
listing's payloads after the period, the read says so, and the store still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccnode.v1 import admin_pb2
from node.businesses.retention import RetentionPurge
from node.clock import FakeClock, today
from tests.integration.harness import Federation, admin, listing
from tests.integration.test_retention import FIVE_YEARS_DAYS, _delisting

pytestmark = pytest.mark.postgres


async def test_a_node_on_postgresql_purges_and_still_verifies(
    tmp_path: Path, fresh_pg_url: str
) -> None:
    federation = Federation(tmp_path)
    clock = FakeClock()
    try:
        a = await federation.start("chengdu", clock=clock, db=fresh_pg_url)
        ack = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
        subject = ack.subjects[0]
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[_delisting(subject)], actor="王五"))
        job = next(p for p in a.background if isinstance(p, RetentionPurge))
        assert (await job.run_once()).purged == {}
        clock.advance(days=FIVE_YEARS_DAYS)
        assert (await job.run_once()).purged == {"blacklist": 2}
        read = await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))
        day = today(clock).isoformat()
        assert [p.note for p in read.purged] == [f"purged on {day} by retention rule blacklist"] * 2
        assert read.item.status == "delisted"
        verified = await admin(a).Verify(admin_pb2.VerifyRequest())
        assert verified.ok, list(verified.problems)
        status = await admin(a).RetentionStatus(admin_pb2.RetentionStatusRequest())
        assert {r.rule: r.purged for r in status.rules}["blacklist"] == 2
    finally:
        await federation.stop_all()
