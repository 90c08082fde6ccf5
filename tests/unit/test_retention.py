"""Payload retention: which matters are closed and when, the periods' floor, and the purge job
on an in-memory store driven by a fake clock (sync/retention.py, node/businesses/retention.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from node.businesses.retention import RetentionPurge, peers_hold_check, retention_status
from node.clock import CST, FakeClock
from node.config import ConfigError, NodeConfig, Retention
from node.metrics import METRICS
from node.ports import LinkStatus
from node.store import MemoryStore, Store
from node.store.base import HeldPayload, OriginState, PeerRecord, RowChange, StoredEntry
from node.store.runner import Db
from sync import retention as rt
from sync.entry import decode_header, make_entry
from sync.folds import fold_batch
from sync.hlc import pack
from sync.merkle import leaf_hash
from sync.payload import encode_payload
from tests.unit import statefixtures
from tests.unit.corefixtures import delisted_payload, listed_payload, salt_for

A, B = "chengdu", "chongqing"
DAY_MS = 86_400_000


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize("days", [0, 1, 182, -5])
def test_a_period_below_six_months_is_refused_naming_the_key_and_rule(days: int) -> None:
    with pytest.raises(rt.RetentionError) as caught:
        rt.check_period("retention.tasks_days", days)
    assert "retention.tasks_days" in str(caught.value)
    assert "operation-log minimum of 183 days" in str(caught.value)
    assert "Cybersecurity Law art. 21" in str(caught.value)


def test_six_months_and_more_are_accepted() -> None:
    rt.check_period("retention.access_days", rt.OPERATION_LOG_DAYS_MIN)
    rt.check_period("retention.access_days", 3650)
    for bad in (True, 200.5, "365"):
        with pytest.raises(rt.RetentionError, match="whole number of days"):
            rt.check_period("retention.access_days", bad)  # type: ignore[arg-type]


def test_config_refuses_a_short_period_and_loads_a_valid_section(tmp_path: Path) -> None:
    base = {"node_id": A, "trust_domain": "t.court", "listen": "127.0.0.1:0"}
    with pytest.raises(ConfigError, match=r"retention\.lookup_answers_days: 90 days is below"):
        NodeConfig.from_data({**base, "retention": {"lookup_answers_days": 90}}, tmp_path)
    Retention()  # the defaults keep the floor
    config = NodeConfig.from_data(
        {**base, "retention": {"tasks_days": 400, "interval_s": 60.0}}, tmp_path
    )
    assert config.retention.tasks_days == 400
    assert config.retention.days("tasks") == 400
    assert config.retention.lookup_requests_days == 365
    with pytest.raises(ConfigError, match=r"retention\.tasks_days: 30 days"):
        NodeConfig.from_data({**base, "retention": {"tasks_days": 30}}, tmp_path)
    with pytest.raises(ConfigError, match=r"retention\.task_days: unknown key"):
        NodeConfig.from_data({**base, "retention": {"task_days": 400}}, tmp_path)


# ---------------------------------------------------------------- closed matters


def test_closed_on_reads_each_table_from_its_folded_row() -> None:
    rows = statefixtures.fold_rows()

    def closed(table: str, key: str) -> dt.date | None:
        return rt.closed_on(table, rows[(table, key)])

    assert closed("blacklist", f"{A}/bl/10") is None  # a current listing is never closed
    assert closed("blacklist", f"{A}/bl/11") == dt.date(2024, 5, 6)  # delisted
    assert closed("lookups", f"{A}/lookup/3") == dt.date(2024, 3, 4)  # answered
    assert closed("lookups", f"{A}/lookup/4") == dt.date(2024, 3, 4)  # denied
    assert closed("access", f"{A}/access/5") == dt.date(2024, 3, 4)
    # Completed 2025-10-29, one seizure released, one still in effect until 2027-01-02.
    assert closed("tasks", f"{A}/task/0") == dt.date(2027, 1, 2)
    assert closed("tasks", f"{A}/task/30") is None  # not terminal, a pending measure


def _task(status: str, finished_on: str, *seizures: tuple[str, str, str]) -> state_pb2.TaskState:
    return state_pb2.TaskState(
        status=status,
        finished_on=finished_on,
        seizures=[
            state_pb2.SeizureState(status=s, end_on=end_on, released_on=released_on)
            for s, end_on, released_on in seizures
        ],
    )


def test_a_task_closes_when_terminal_and_no_seizure_binds_any_more() -> None:
    assert rt.task_closed_on(_task("completed", "2025-03-01")) == dt.date(2025, 3, 1)
    assert rt.task_closed_on(_task("cancelled", "2025-03-01")) == dt.date(2025, 3, 1)
    for open_status in ("delegated", "accepted", "in_progress", "returned", "unknown"):
        assert rt.task_closed_on(_task(open_status, "2025-03-01")) is None
    released = ("released", "2026-01-01", "2025-06-30")
    assert rt.task_closed_on(_task("completed", "2025-03-01", released)) == dt.date(2025, 6, 30)
    in_effect = ("in_effect", "2027-02-01", "")
    assert rt.task_closed_on(_task("failed", "2025-03-01", in_effect)) == dt.date(2027, 2, 1)
    void = ("void", "", "")
    assert rt.task_closed_on(_task("completed", "2025-03-01", void)) == dt.date(2025, 3, 1)
    for binding in (("queued", "2026-01-01", ""), ("pending", "", ""), ("in_effect", "", "")):
        assert rt.task_closed_on(_task("completed", "2025-03-01", released, binding)) is None
    assert rt.task_closed_on(_task("completed", "")) is None  # no usable date: kept


def test_due_day_and_what_each_rule_purges() -> None:
    closed = dt.date(2025, 1, 31)
    assert rt.due_on(closed, 365) == dt.date(2026, 1, 31)
    assert not rt.is_due(closed, 365, dt.date(2026, 1, 30))
    assert rt.is_due(closed, 365, dt.date(2026, 1, 31))
    assert not rt.is_due(None, 365, dt.date(2099, 1, 1))
    assert rt.latest_closing_day(dt.date(2026, 1, 31), 365) == closed

    def rule(table: str, kind: int) -> str | None:
        found = rt.rule_of(table, kind)
        return found.name if found is not None else None

    assert rule("lookups", log_pb2.LOOKUP_REQUESTED) == "lookup_requests"
    assert rule("lookups", log_pb2.LOOKUP_ANSWERED) == "lookup_answers"
    assert rule("lookups", log_pb2.LOOKUP_DENIED) == "lookup_answers"
    assert rule("tasks", log_pb2.SEIZURE_RELEASED) == "tasks"
    assert rule("blacklist", log_pb2.ACCESS_RECORDED) is None
    assert rt.hlc_date(pack(1_735_660_800_000, 3)) == dt.date(2025, 1, 1)  # 00:00 CST
    assert rt.hlc_date(pack(1_735_660_800_000 - 1, 0)) == dt.date(2024, 12, 31)
    assert rt.purge_note("2026-02-01", "tasks") == "purged on 2026-02-01 by retention rule tasks"
    # Every configured period has a rule and every rule a period.
    periods = {name for name in Retention.model_fields if name.endswith("_days")}
    assert periods == {f"{r.name}_days" for r in rt.RULES}


# ---------------------------------------------------------------- the job on a memory store


def _entry(
    origin: str,
    index: int,
    kind: int,
    payload: bytes,
    *,
    subject: str,
    day: dt.date,
    audience: tuple[str, ...] = (),
    parents: tuple[str, ...] = (),
) -> StoredEntry:
    at_ms = int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=CST).timestamp() * 1000)
    entry = make_entry(
        origin=origin,
        index=index,
        kind=kind,
        subject=subject,
        actor="clerk-7",
        hlc=pack(at_ms, 0),
        payload=payload,
        salt=salt_for(origin, index),
        audience=audience,
        parents=parents,
    )
    h = decode_header(entry.header)
    return StoredEntry(
        origin, index, kind, subject, h.actor, h.hlc, leaf_hash(entry.header), entry.header,
        entry.salt, payload,
    )  # fmt: skip


def _request() -> bytes:
    body = payloads_pb2.LookupRequested(
        target_node=B,
        case_number="（2025）川0104执1234号",
        court="川0104",
        debtor=payloads_pb2.Debtor(type=payloads_pb2.PERSON, id_number="11010519491231002X"),
        categories=[payloads_pb2.DEPOSIT],
        purpose="查询被执行人财产",
    )
    return encode_payload(log_pb2.LOOKUP_REQUESTED, payloads_pb2.Payload(lookup_requested=body))


def _answer() -> bytes:
    body = payloads_pb2.LookupAnswered(
        request=f"{A}/3",
        categories=[payloads_pb2.DEPOSIT],
        assets=[payloads_pb2.AssetRecord(asset_id="x1", category=payloads_pb2.DEPOSIT)],
        assets_found=1,
    )
    return encode_payload(log_pb2.LOOKUP_ANSWERED, payloads_pb2.Payload(lookup_answered=body))


def _access() -> bytes:
    body = payloads_pb2.AccessRecorded(
        entries=[f"{A}/3"], purpose="复核", what="lookup result", subject_key="k" * 64
    )
    return encode_payload(log_pb2.ACCESS_RECORDED, payloads_pb2.Payload(access_recorded=body))


LOOKUP = f"{A}/lookup/3"


def _logs() -> dict[str, list[StoredEntry]]:
    """chengdu: a listing delisted 2025-01-10, a current listing, a lookup asked 2025-01-05
    (answered by chongqing on 2025-01-06) and a recorded read of 2025-01-07."""
    d = dt.date
    return {
        A: [
            _entry(A, 0, log_pb2.BLACKLIST_LISTED, listed_payload(), subject=f"{A}/bl/0",
                   day=d(2024, 3, 6)),
            _entry(A, 1, log_pb2.BLACKLIST_DELISTED, delisted_payload("2025-01-10"),
                   subject=f"{A}/bl/0", day=d(2025, 1, 10)),
            _entry(A, 2, log_pb2.BLACKLIST_LISTED, listed_payload(), subject=f"{A}/bl/2",
                   day=d(2024, 3, 6)),
            _entry(A, 3, log_pb2.LOOKUP_REQUESTED, _request(), subject=LOOKUP,
                   day=d(2025, 1, 5), audience=(A, B)),
            _entry(A, 4, log_pb2.ACCESS_RECORDED, _access(), subject=f"{A}/access/4",
                   day=d(2025, 1, 7), audience=(A,)),
        ],
        B: [
            _entry(B, 0, log_pb2.LOOKUP_ANSWERED, _answer(), subject=LOOKUP, day=d(2025, 1, 6),
                   audience=(A, B), parents=(f"{A}/3",)),
        ],
    }  # fmt: skip


def _state(origin: str, size: int) -> OriginState:
    return OriginState(origin, size, hashlib.sha256(origin.encode()).digest(), b"", "note")


def _store(store: Store | None = None) -> Store:
    store = store if store is not None else MemoryStore()
    rows: dict[tuple[str, str], Any] = {}
    for origin, entries in _logs().items():
        items = [(decode_header(e.header), e.payload) for e in entries]
        folded = fold_batch(items, rows)
        assert not folded.ignored, folded.ignored
        rows.update(folded.changes)
        store.append(
            origin=origin,
            expected_size=0,
            entries=entries,
            state=_state(origin, len(entries)),
            changes=[RowChange(t, k, r) for (t, k), r in folded.changes.items()],
        )
    return store


def _rows(store: Store) -> dict[str, Any]:
    keys = [f"{A}/bl/0", f"{A}/bl/2", LOOKUP, f"{A}/access/4"]
    return {t: store.get_rows(t, keys) for t in ("blacklist", "lookups", "access")}


def _settings(**days: int) -> Retention:
    periods = {f"{r.name}_days": 200 for r in rt.RULES} | days
    return Retention(batch_entries_max=1, **periods)


def _at(day: dt.date) -> FakeClock:
    return FakeClock(
        int(dt.datetime(day.year, day.month, day.day, 9, tzinfo=CST).timestamp() * 1000)
    )


def _payloads(store: Store) -> dict[str, bool]:
    return {
        f"{e.origin}/{e.index}": e.payload is not None
        for origin, size in store.vector().items()
        for e in store.entries(origin, 0, size)
    }


async def _run(store: Store, settings: Retention, clock: FakeClock) -> Any:
    db = Db(store)
    job = RetentionPurge(db=db, settings=settings, node_id=A, clock=clock, links=None)
    try:
        return await job.run_once()
    finally:
        db._writer.shutdown(wait=True)  # the store stays open: the test reads it after
        db._readers.shutdown(wait=True)


def test_status_counts_due_payloads_and_the_next_due_day() -> None:
    store = _store()
    settings = _settings(lookup_requests_days=300, access_days=400)

    before = {s.rule: s for s in retention_status(store, settings, dt.date(2025, 3, 1))}
    assert {r: (s.due, s.purged, s.next_due_on) for r, s in before.items()} == {
        "lookup_requests": (0, 0, "2025-11-02"),  # answered 2025-01-06 + 300 days
        "lookup_answers": (0, 0, "2025-07-25"),  # + 200 days
        "tasks": (0, 0, ""),
        "blacklist": (0, 0, "2025-07-29"),  # two payloads of the delisted listing
        "access": (0, 0, "2026-02-11"),  # recorded 2025-01-07 + 400 days
    }
    assert before["lookup_requests"].days == 300

    later = {s.rule: s for s in retention_status(store, settings, dt.date(2025, 7, 29))}
    assert (later["blacklist"].due, later["blacklist"].next_due_on) == (2, "")
    assert (later["lookup_answers"].due, later["lookup_answers"].next_due_on) == (1, "")
    assert later["lookup_requests"].due == 0


def test_the_job_purges_due_payloads_only_and_leaves_rows_and_headers(
    store_location: str,
    open_test_store: Callable[[str], Store],
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _store(open_test_store(store_location))  # memory, SQLite and PostgreSQL
    settings = _settings(lookup_requests_days=300)
    rows_before = _rows(store)
    headers_before = {o: store.entries(o, 0, n) for o, n in store.vector().items()}

    nothing = asyncio.run(_run(store, settings, _at(dt.date(2025, 7, 24))))
    assert nothing.purged == {} and all(_payloads(store).values())

    counted = METRICS.purged_payloads.labels(rule="blacklist")._value.get()
    with caplog.at_level(logging.INFO, logger="node.businesses.retention"):
        result = asyncio.run(_run(store, settings, _at(dt.date(2025, 7, 29))))
    assert result.purged == {"lookup_answers": 1, "blacklist": 2, "access": 1}
    assert METRICS.purged_payloads.labels(rule="blacklist")._value.get() == counted + 2
    (line,) = [r.getMessage() for r in caplog.records if r.name == "node.businesses.retention"]
    assert line == (
        "retention: purged 4 payloads (access 1, blacklist 2, lookup_answers 1); "
        "0 due wait for peers to hold them"
    )
    assert _payloads(store) == {
        f"{A}/0": False, f"{A}/1": False,  # the delisted listing
        f"{A}/2": True,  # a current listing: never
        f"{A}/3": True,  # the request: its own, longer period
        f"{A}/4": False,  # the recorded read
        f"{B}/0": False,  # the answer
    }  # fmt: skip
    purge = store.payload_purges([(A, 1)])[(A, 1)]
    assert purge.rule == "blacklist"
    assert purge.purged_at_unix_ms == _at(dt.date(2025, 7, 29)).now_ms()
    assert _rows(store) == rows_before  # folded state untouched
    for origin, entries in headers_before.items():
        after = store.entries(origin, 0, len(entries))
        assert [(e.header, e.salt, e.leaf_hash) for e in after] == [
            (e.header, e.salt, e.leaf_hash) for e in entries
        ]
    assert store.purge_counts() == {"access": 1, "blacklist": 2, "lookup_answers": 1}

    again = asyncio.run(_run(store, settings, _at(dt.date(2025, 11, 2))))
    assert again.purged == {"lookup_requests": 1}
    status = {s.rule: s for s in retention_status(store, settings, dt.date(2025, 11, 2))}
    assert (status["lookup_requests"].due, status["lookup_requests"].purged) == (0, 1)
    assert (status["blacklist"].due, status["blacklist"].purged) == (0, 2)


def test_entries_of_a_frozen_origin_keep_their_payloads() -> None:
    store = _store()
    store.freeze(B, "equivocation")
    status = {s.rule: s for s in retention_status(store, _settings(), dt.date(2026, 1, 1))}
    assert status["lookup_answers"].due == 0 and status["lookup_requests"].due == 1
    result = asyncio.run(_run(store, _settings(), _at(dt.date(2026, 1, 1))))
    assert "lookup_answers" not in result.purged  # chongqing's answer: frozen origin
    assert _payloads(store)[f"{B}/0"]
    assert result.purged == {"lookup_requests": 1, "blacklist": 2, "access": 1}


def test_a_disabled_job_never_runs() -> None:
    store = _store()

    async def start_and_stop() -> None:
        db = Db(store)
        job = RetentionPurge(
            db=db,
            settings=_settings().model_copy(update={"enabled": False}),
            node_id=A,
            clock=_at(dt.date(2030, 1, 1)),
            links=None,
        )
        await job.start()
        await asyncio.sleep(0.05)
        await job.stop()
        db._writer.shutdown(wait=True)
        db._readers.shutdown(wait=True)

    asyncio.run(start_and_stop())
    assert all(_payloads(store).values())
    assert store.purge_counts() == {}


class _Links:
    def __init__(self, statuses: dict[str, LinkStatus]) -> None:
        self.statuses = statuses

    def status(self, node_id: str) -> LinkStatus | None:
        return self.statuses.get(node_id)


def _held(origin: str, index: int, audience: tuple[str, ...]) -> HeldPayload:
    e = _entry(origin, index, log_pb2.BLACKLIST_LISTED, listed_payload(), subject="s",
               day=dt.date(2025, 1, 1), audience=audience)  # fmt: skip
    return HeldPayload(origin, index, e.kind, e.subject, e.header)


def test_a_payload_waits_until_every_entitled_peer_holds_its_entry() -> None:
    up = LinkStatus(connected=True, last_contact_unix_ms=5, peer_sizes={A: 3, B: 1})
    behind = LinkStatus(connected=True, last_contact_unix_ms=5, peer_sizes={A: 2})
    hold = peers_hold_check(A, [B, "mianyang"], _Links({B: up, "mianyang": behind}))
    assert hold(_held(A, 1, ()))  # both peers hold index 1
    assert not hold(_held(A, 2, ()))  # mianyang holds 2 entries only: wait
    assert hold(_held(A, 2, (A, B)))  # mianyang is outside the audience
    assert not hold(_held("mianyang", 9, ()))  # mianyang is its origin; chongqing lacks it
    never = peers_hold_check(A, [B], _Links({}))
    assert not never(_held(A, 0, ()))  # no report from chongqing yet: wait
    assert never(_held(A, 0, (A,)))  # not chongqing's to hold


def test_the_job_defers_what_a_lagging_peer_still_needs() -> None:
    store = _store()
    store.put_peer(PeerRecord(B, "127.0.0.1:1"))
    lagging = _Links({B: LinkStatus(connected=True, last_contact_unix_ms=1, peer_sizes={A: 1})})
    db = Db(store)

    async def run() -> Any:
        job = RetentionPurge(
            db=db, settings=_settings(), node_id=A, clock=_at(dt.date(2026, 1, 1)),
            links=lagging,
        )  # fmt: skip
        return await job.run_once()

    try:
        result = asyncio.run(run())
    finally:
        db.close()
    # chongqing holds chengdu's entry 0 only: the delisting (entry 1) and the request (entry 3,
    # chongqing is in its audience) wait; the read (audience chengdu) and chongqing's own
    # answer do not.
    assert result.purged == {"blacklist": 1, "access": 1, "lookup_answers": 1}
    assert result.deferred == 2
    assert _payloads(store)[f"{A}/1"] and _payloads(store)[f"{A}/3"]
    assert not _payloads(store)[f"{B}/0"]  # chongqing's own entry: its origin holds it
