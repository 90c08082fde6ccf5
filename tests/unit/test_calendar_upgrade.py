"""Stored delisting deadlines are counted again when the holiday calendar changed
(node/businesses/blacklist/calendar_upgrade.py)."""

from __future__ import annotations

from typing import Any

from ccnode.v1 import log_pb2
from node.businesses.blacklist.calendar_upgrade import CALENDAR_META_KEY, refresh_deadlines
from node.store import MemoryStore
from node.store.base import RowChange
from sync.domain.calendar import CALENDAR_VERSION
from sync.entry import decode_header
from sync.folds import fold_batch
from tests.unit.corefixtures import blacklist_entry, delisted_payload


def _rows() -> dict[tuple[str, str], dict[str, Any]]:
    entries = [
        blacklist_entry("chengdu", 0),  # term ends 2026-03-06
        blacklist_entry("chengdu", 1),
        blacklist_entry(
            "chengdu", 2, kind=log_pb2.BLACKLIST_DELISTED, subject="chengdu/bl/1",
            payload=delisted_payload(),
        ),
    ]  # fmt: skip
    folded = fold_batch([(decode_header(e.header), e.payload) for e in entries], {})
    assert not folded.ignored
    return dict(folded.changes)


def test_deadlines_counted_by_an_older_calendar_are_counted_again_once() -> None:
    rows = _rows()
    current = rows[("blacklist", "chengdu/bl/0")]
    assert current["delist_due_on"]  # a fixed term: a deadline
    stale = {**current, "delist_due_on": "2026-03-07"}  # as another calendar counted it
    delisted = rows[("blacklist", "chengdu/bl/1")]
    store = MemoryStore()
    changes = [
        RowChange("blacklist", "chengdu/bl/0", stale),
        RowChange("blacklist", "chengdu/bl/1", delisted),
    ]
    store.rewrite_rows(changes, meta={CALENDAR_META_KEY: "cn-older"})

    assert refresh_deadlines(store, CALENDAR_VERSION) == 1

    after = store.get_rows("blacklist", ["chengdu/bl/0", "chengdu/bl/1"])
    assert after["chengdu/bl/0"]["delist_due_on"] == current["delist_due_on"]
    assert after["chengdu/bl/0"] == {**current, "key": "chengdu/bl/0"}
    assert after["chengdu/bl/1"] == {**delisted, "key": "chengdu/bl/1"}  # not listed: as it was
    assert store.get_meta(CALENDAR_META_KEY) == CALENDAR_VERSION
    # The version is current now: nothing is read again.
    store.rewrite_rows([RowChange("blacklist", "chengdu/bl/0", stale)], meta={})
    assert refresh_deadlines(store, CALENDAR_VERSION) is None
    assert store.get_rows("blacklist", ["chengdu/bl/0"])["chengdu/bl/0"]["delist_due_on"] == (
        "2026-03-07"
    )


def test_a_store_that_never_noted_a_calendar_is_refreshed_and_noted() -> None:
    store = MemoryStore()
    assert refresh_deadlines(store, CALENDAR_VERSION) == 0
    assert store.get_meta(CALENDAR_META_KEY) == CALENDAR_VERSION
