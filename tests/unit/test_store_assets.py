"""The lookup business's storage, held to one contract on memory, SQLite and PostgreSQL (the
parametrised ``store`` fixture of tests/conftest.py, as in test_store_conformance.py): the
asset registry, peers' court prefixes, and the lookups / access state tables."""

from __future__ import annotations

import pytest

from node.store import Store
from node.store.base import AssetRow, IntegrityError, PeerRecord, RowChange, RowQuery
from tests.unit.test_store_conformance import append

OWNER, OTHER = "11010519491231002X", "91350100M000100Y43"
DEPOSIT, REAL_ESTATE, VEHICLE = 1, 4, 5


def row(asset_id: str, owner: str = OWNER, category: int = DEPOSIT) -> AssetRow:
    return AssetRow(asset_id, owner, category, f"record of {asset_id}".encode())


def test_assets_of_one_owner_and_the_asked_categories_only(store: Store) -> None:
    store.put_assets(
        [
            row("b-2", category=REAL_ESTATE),
            row("a-1"),
            row("c-3", category=VEHICLE),
            row("d-4", OTHER),
        ]
    )
    assert store.assets_by_owner(OWNER, [DEPOSIT, REAL_ESTATE]) == [
        row("a-1"),
        row("b-2", category=REAL_ESTATE),
    ]
    assert store.assets_by_owner(OWNER, {VEHICLE}) == [row("c-3", category=VEHICLE)]
    assert store.assets_by_owner(OWNER, []) == []
    assert store.assets_by_owner("nobody", [DEPOSIT]) == []
    assert store.count_assets() == 4
    read = store.assets_by_owner(OTHER, [DEPOSIT])[0]
    assert type(read.record) is bytes and type(read.category) is int


def test_a_record_is_replaced_by_its_asset_id(store: Store) -> None:
    store.put_assets([row("a-1"), row("a-2")])
    moved = AssetRow("a-1", OTHER, VEHICLE, b"new record")
    store.put_assets([moved])
    assert store.count_assets() == 2
    assert store.assets_by_owner(OWNER, [DEPOSIT, VEHICLE]) == [row("a-2")]
    assert store.assets_by_owner(OTHER, [VEHICLE]) == [moved]
    store.put_assets([])
    assert store.count_assets() == 2


def test_a_large_import_in_one_call(store: Store) -> None:
    rows = [row(f"x-{i:06d}", f"owner-{i % 1000}", i % 9 + 1) for i in range(20_000)]
    store.put_assets(rows)
    assert store.count_assets() == 20_000
    assert store.assets_by_owner("owner-7", range(1, 10)) == sorted(
        (r for r in rows if r.owner_id == "owner-7"), key=lambda r: r.asset_id
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row("a-1"), "asset_id repeats"),
        (AssetRow("", OWNER, DEPOSIT, b"r"), "asset_id must be non-empty"),
        (AssetRow("a-\x00", OWNER, DEPOSIT, b"r"), "asset_id must be non-empty"),
        (AssetRow("a-9", "", DEPOSIT, b"r"), "owner_id must be non-empty"),
        (AssetRow("a-9", OWNER, -1, b"r"), "category must be in"),
        (AssetRow("a-9", OWNER, True, b"r"), "category must be an int"),
        (AssetRow("a-9", OWNER, DEPOSIT, "r"), "record must be bytes"),  # type: ignore[arg-type]
    ],
)
def test_a_refused_batch_leaves_no_trace(store: Store, bad: AssetRow, message: str) -> None:
    store.put_assets([row("z-0")])
    with pytest.raises(IntegrityError, match=message) as err:
        store.put_assets([row("a-1"), row("a-2"), bad])
    assert OWNER not in str(err.value)
    assert store.count_assets() == 1
    assert store.assets_by_owner(OWNER, [DEPOSIT]) == [row("z-0")]


def test_peers_keep_the_court_prefixes_this_node_trusts_them_with(store: Store) -> None:
    store.put_peer(PeerRecord("chengdu", "127.0.0.1:7001", ("川01", "川0191")))
    store.put_peer(PeerRecord("chongqing", "127.0.0.1:7002"))
    assert store.peers() == [
        PeerRecord("chengdu", "127.0.0.1:7001", ("川01", "川0191")),
        PeerRecord("chongqing", "127.0.0.1:7002", ()),
    ]
    store.put_peer(PeerRecord("chengdu", "127.0.0.1:7011", ("川",)))  # re-adding replaces them
    assert store.peers()[0] == PeerRecord("chengdu", "127.0.0.1:7011", ("川",))
    with pytest.raises(IntegrityError, match="court_prefixes"):
        store.put_peer(PeerRecord("xian", "127.0.0.1:7003", ("陕01,陕02",)))
    assert [p.node_id for p in store.peers()] == ["chengdu", "chongqing"]


def test_lookup_and_access_rows_are_found_by_subject_key(store: Store) -> None:
    lookup = {
        "origin": "chengdu",
        "target": "chongqing",
        "status": "answered",
        "case_number": "（2025）川0104执1号",
        "subject_key": "k1",
        "answered_on": "2025-01-01",
        "record": b"item",
    }
    access = {"origin": "chengdu", "actor": "王五", "subject_key": "k1", "record": b"read"}
    append(
        store,
        "chengdu",
        0,
        1,
        changes=[
            RowChange("lookups", "chengdu/lookup/0", lookup),
            RowChange("access", "chengdu/access/1", access),
            RowChange("access", "chengdu/access/2", {**access, "subject_key": "k2"}),
        ],
    )
    rows, total = store.query_rows(
        RowQuery(
            "lookups",
            equals={"origin": "chengdu", "target": "chongqing", "answered_on": "2025-01-01"},
            limit=0,
        )
    )
    assert (rows, total) == ([], 1)
    found, _ = store.query_rows(RowQuery("access", equals={"subject_key": "k1"}))
    assert [r["key"] for r in found] == ["chengdu/access/1"]
    assert found[0]["record"] == b"read"
