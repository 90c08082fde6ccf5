"""At start, a node whose store last saw another holiday-calendar version counts the stored
delisting deadlines again in this release's calendar, and notes the version."""

from __future__ import annotations

import asyncio

import pytest

from ccnode.v1 import admin_pb2, payloads_pb2
from node.businesses.blacklist.calendar_upgrade import CALENDAR_META_KEY
from node.clock import FakeClock
from node.store import open_store
from node.store.base import RowChange
from sync.domain.calendar import CALENDAR_VERSION
from tests.integration.harness import Federation, admin, listing

pytestmark = pytest.mark.integration


async def test_stored_deadlines_are_counted_again_after_a_calendar_change(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu", clock=FakeClock())
    term = listing(ground=payloads_pb2.G2, term_years=2)
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[term], actor="王五"))
    ).subjects[0]
    store = a.parts.db.store
    assert await a.parts.db.read(store.get_meta, CALENDAR_META_KEY) == CALENDAR_VERSION
    row = (await a.parts.db.read(store.get_rows, "blacklist", [subject]))[subject]
    assert row["delist_due_on"]
    home = a.config
    await federation.stop("chengdu")

    # As an older release would have left it: another deadline, another calendar version.
    offline = await asyncio.to_thread(open_store, home.db_url)
    try:
        stale = {**row, "delist_due_on": "2000-01-01"}
        offline.rewrite_rows(
            [RowChange("blacklist", subject, stale)], meta={CALENDAR_META_KEY: "cn-older"}
        )
    finally:
        offline.close()

    a = await federation.start("chengdu", clock=FakeClock())
    store = a.parts.db.store
    again = (await a.parts.db.read(store.get_rows, "blacklist", [subject]))[subject]
    assert again == row
    assert await a.parts.db.read(store.get_meta, CALENDAR_META_KEY) == CALENDAR_VERSION
    shown = await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))
    assert shown.item.delist_due_on == row["delist_due_on"]
