"""The catch-up helper process (node.replication.worker) against ``prepare_batch`` in-process.

A real child process (``python -m node.replication.worker``) prepares batches sent as received
SyncMessage bytes; every result must equal what the node computes itself with the SQL
layout, rejections keep their reason, and the child never outlives its handle.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ccnode.v1 import federation_pb2, log_pb2
from node.replication.apply import Prepared, PrepareRules, prepare_batch
from node.replication.worker import (
    PrepareWorker,
    WorkerError,
    WorkerLost,
    _decode_reply,
    _encode_reply,
    serve,
)
from node.store.layout import SqlAppendLayout, prepare_sql_append
from sync.entry import Entry
from sync.merkle import Frontier
from sync.verify import (
    BATCH_BYTES_MAX,
    BATCH_ENTRIES_MAX,
    BatchRejected,
    LogState,
    RejectReason,
)
from tests.unit.corefixtures import (
    TRUST_DOMAIN,
    Log,
    blacklist_entry,
    blacklist_record,
    build_log,
    corrected_payload,
    delisted_payload,
    log_signer,
)

ORIGIN = "chengdu"
OTHER = "mianyang"
RECEIVER = "chongqing"
RULES = PrepareRules(RECEIVER, TRUST_DOMAIN, BATCH_ENTRIES_MAX, BATCH_BYTES_MAX)
RESULT_TIMEOUT_S = 30.0
EMPTY_BASE = (0, Frontier().to_bytes(), None)
# The court prefixes of chengdu's certificate: the fixtures list for 川0104.
COURTS = ("川01",)

Batch = tuple[int, list[Entry], str]


# ---------------------------------------------------------------- logs and messages


def _mixed_log(origin: str = ORIGIN) -> Log:
    """Runs of listings (folded by the child) and of corrections and delistings (folded at
    commit, over the committed rows)."""
    corrected = blacklist_record(case_number="(2024)川0104执999号")
    log = Log(origin, log_signer(origin))
    log.entries = [blacklist_entry(origin, i) for i in range(20)]
    for index, listing in ((20, 3), (21, 4), (22, 17)):
        log.entries.append(
            blacklist_entry(
                origin,
                index,
                kind=log_pb2.BLACKLIST_CORRECTED,
                subject=f"{origin}/bl/{listing}",
                payload=corrected_payload(corrected),
            )
        )
    log.entries.append(
        blacklist_entry(
            origin,
            23,
            kind=log_pb2.BLACKLIST_DELISTED,
            subject=f"{origin}/bl/3",
            payload=delisted_payload(),
        )
    )
    log.entries += [blacklist_entry(origin, i) for i in range(24, 30)]
    return log


def _cut(log: Log, *ends: int) -> list[Batch]:
    out, start = [], 0
    for end in ends:
        out.append((start, log.entries[start:end], log.checkpoint(end)))
        start = end
    return out


def _message(origin: str, batch: Batch) -> bytes:
    first, entries, note = batch
    pb = federation_pb2.Batch(
        origin=origin,
        first_index=first,
        entries=[log_pb2.Entry(header=e.header, salt=e.salt, payload=e.payload) for e in entries],
        checkpoint=log_pb2.SignedCheckpoint(note=note),
    )
    return federation_pb2.SyncMessage(batch=pb).SerializeToString()


def _key(log: Log) -> tuple[str, bytes]:
    return (log.verifier.name, log.verifier.public_key_bytes)


def _in_process(log: Log, state: LogState, batch: Batch) -> Prepared:
    first, entries, note = batch
    return prepare_batch(
        RULES,
        state,
        frozen=False,
        verifier=log.verifier,
        origin=log.origin,
        first_index=first,
        entries=entries,
        note=note,
        lay_out=prepare_sql_append,
        courts=COURTS,
    )


def _expected_chain(log: Log, batches: Sequence[Batch]) -> list[Prepared]:
    state = LogState.empty(log.origin)
    out = []
    for batch in batches:
        prepared = _in_process(log, state, batch)
        out.append(prepared)
        state = prepared.state
    return out


def _fields(p: Prepared) -> dict[str, Any]:
    """What a commit uses of a prepared batch, compared one by one for clear failures."""
    fields: dict[str, Any] = {
        "origin": p.origin,
        "first_index": p.first_index,
        "note": p.note,
        "base": (p.base_size, p.base_root),
        "state": (p.state.size, p.state.frontier.root(), p.state.checkpoint_note),
        "start": p.start,
        "count": p.count,
        "keys": p.keys,
        "ignored": p.ignored,
        "tables": p.tables,
        "items": p.items,
        "stored": p.stored,
    }
    if p.append is not None:
        layout = p.append.layout
        assert isinstance(layout, SqlAppendLayout)
        fields["append"] = (p.append.expected_size, p.append.state, p.append.checkpoints)
        fields["entry_rows"] = layout.entry_rows
        fields["by_table"] = layout.by_table
    return fields


async def _submit(worker: PrepareWorker, *request: Any) -> asyncio.Future[Prepared]:
    """``worker.prepare(*request)`` for an origin whose certificate names COURTS."""
    return await worker.prepare(*request, COURTS)


async def _result(future: asyncio.Future[Prepared]) -> Prepared:
    return await asyncio.wait_for(future, RESULT_TIMEOUT_S)


def _pid_gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture
async def worker() -> AsyncIterator[PrepareWorker]:
    handle = PrepareWorker(RULES)
    await handle.start()
    try:
        yield handle
    finally:
        await handle.close()


# ---------------------------------------------------------------- results


async def test_every_batch_equals_prepare_batch_in_process(worker: PrepareWorker) -> None:
    log = _mixed_log()
    batches = _cut(log, 7, 20, 22, 25, 30)
    expected = _expected_chain(log, batches)

    futures = [
        await _submit(worker, "chain", EMPTY_BASE, False, _key(log), _message(ORIGIN, batches[0]))
    ]
    for batch in batches[1:]:  # continuing the chain's state in the child
        futures.append(
            await _submit(worker, "chain", None, False, _key(log), _message(ORIGIN, batch))
        )
    results = [await _result(f) for f in futures]

    for got, want in zip(results, expected, strict=True):
        assert _fields(got) == _fields(want)
        assert got == want
        assert got.received is None  # the node attaches the entries it received
    # Listings only: folded by the child. With corrections: left for the commit.
    assert [r.append is not None for r in results] == [True, True, False, False, True]
    assert [r.count for r in results] == [7, 13, 2, 3, 5]
    assert results[-1].state.size == 30
    assert results[-1].state.frontier.root() == log.root()


async def test_a_base_given_midway_restarts_the_chain_there(worker: PrepareWorker) -> None:
    log = build_log(12)
    batches = _cut(log, 5, 9, 12)
    base = log.state(5)
    future = await _submit(
        worker,
        "late",
        (base.size, base.frontier.to_bytes(), base.checkpoint_note),
        False,
        _key(log),
        _message(ORIGIN, batches[1]),
    )
    following = await _submit(worker, "late", None, False, _key(log), _message(ORIGIN, batches[2]))
    assert _fields(await _result(future)) == _fields(_in_process(log, base, batches[1]))
    assert await _result(following) == _expected_chain(log, batches)[2]


async def test_two_chains_and_two_origins_interleaved(worker: PrepareWorker) -> None:
    chengdu, mianyang = build_log(16, ORIGIN), build_log(9, OTHER)
    chengdu_batches = _cut(chengdu, 4, 8, 12, 16)
    mianyang_batches = _cut(mianyang, 3, 6, 9)
    submitted: list[tuple[asyncio.Future[Prepared], Prepared]] = []

    async def submit(chain: str, log: Log, batches: list[Batch], position: int) -> None:
        base = EMPTY_BASE if position == 0 else None
        message = _message(log.origin, batches[position])
        future = await _submit(worker, chain, base, False, _key(log), message)
        submitted.append((future, _expected_chain(log, batches)[position]))

    # Chain "a" carries both origins, chain "b" chengdu again from scratch.
    for position in range(4):
        await submit("a", chengdu, chengdu_batches, position)
        await submit("b", chengdu, chengdu_batches, position)
        if position < 3:
            await submit("a", mianyang, mianyang_batches, position)

    for future, want in submitted:
        assert _fields(await _result(future)) == _fields(want)


# ---------------------------------------------------------------- refusals


async def test_a_flipped_payload_byte_is_a_payload_mismatch(worker: PrepareWorker) -> None:
    log = build_log(4)
    first, entries, note = _cut(log, 4)[0]
    payload = bytearray(entries[2].payload or b"")
    payload[-1] ^= 0x01
    tampered = [*entries[:2], Entry(entries[2].header, entries[2].salt, bytes(payload)), entries[3]]
    future = await _submit(
        worker, "c", EMPTY_BASE, False, _key(log), _message(ORIGIN, (first, tampered, note))
    )
    with pytest.raises(BatchRejected) as err:
        await _result(future)
    assert err.value.reason == RejectReason.PAYLOAD_MISMATCH
    assert "entry 2" in err.value.detail

    # The child goes on; the refused batch left no state in the chain.
    retry = await _submit(worker, "c", None, False, _key(log), _message(ORIGIN, _cut(log, 4)[0]))
    with pytest.raises(WorkerError, match="no state of chengdu in this chain"):
        await _result(retry)


async def test_an_origin_without_a_key_is_unknown(worker: PrepareWorker) -> None:
    log = build_log(3)
    future = await _submit(worker, "c", EMPTY_BASE, False, None, _message(ORIGIN, _cut(log, 3)[0]))
    with pytest.raises(BatchRejected) as err:
        await _result(future)
    assert err.value.reason == RejectReason.UNKNOWN_ORIGIN


async def test_a_frozen_origin_is_refused(worker: PrepareWorker) -> None:
    log = build_log(3)
    future = await _submit(
        worker, "c", EMPTY_BASE, True, _key(log), _message(ORIGIN, _cut(log, 3)[0])
    )
    with pytest.raises(BatchRejected) as err:
        await _result(future)
    assert err.value.reason == RejectReason.FROZEN


async def test_continuing_an_unknown_chain_is_a_worker_error(worker: PrepareWorker) -> None:
    log = build_log(3)
    future = await _submit(worker, "new", None, False, _key(log), _message(ORIGIN, _cut(log, 3)[0]))
    with pytest.raises(WorkerError, match="no state of chengdu in this chain"):
        await _result(future)
    # A failed request ends nothing: the next one is answered.
    ok = await _submit(
        worker, "new", EMPTY_BASE, False, _key(log), _message(ORIGIN, _cut(log, 3)[0])
    )
    assert (await _result(ok)).state.size == 3
    assert worker.alive


async def test_an_unreadable_message_is_a_worker_error(worker: PrepareWorker) -> None:
    future = await _submit(worker, "c", EMPTY_BASE, False, None, b"\xff\xff not a message")
    with pytest.raises(WorkerError, match="DecodeError"):
        await _result(future)


# ---------------------------------------------------------------- the process


async def test_a_killed_child_fails_the_pending_batches(worker: PrepareWorker) -> None:
    log = build_log(12)
    proc = worker._proc
    assert proc is not None and worker.alive
    os.kill(proc.pid, signal.SIGSTOP)  # it answers nothing from here on: all stay pending
    futures = [
        await _submit(worker, "k", EMPTY_BASE, False, _key(log), _message(ORIGIN, b))
        for b in _cut(log, 4, 8, 12)
    ]
    proc.kill()

    for future in futures:
        with pytest.raises(WorkerLost):
            await _result(future)
    assert not worker.alive
    with pytest.raises(WorkerLost):
        await _submit(worker, "k", EMPTY_BASE, False, _key(log), _message(ORIGIN, _cut(log, 4)[0]))
    await worker.close()
    assert _pid_gone(proc.pid)


async def test_close_answers_what_was_submitted_and_leaves_no_process() -> None:
    log = build_log(12)
    worker = PrepareWorker(RULES)
    await worker.start()
    proc = worker._proc
    assert proc is not None
    pid = proc.pid
    try:
        assert not _pid_gone(pid)
        futures = [
            await _submit(
                worker, "c", EMPTY_BASE if i == 0 else None, False, _key(log), _message(ORIGIN, b)
            )
            for i, b in enumerate(_cut(log, 4, 8, 12))
        ]
    finally:
        await worker.close()
    assert [(await _result(f)).state.size for f in futures] == [4, 8, 12]
    assert _pid_gone(pid)
    assert proc.returncode == 0
    assert not worker.alive
    await worker.close()  # closing twice is harmless


# ---------------------------------------------------------------- frames


def test_a_reply_laid_out_for_sql_takes_the_marshal_path() -> None:
    log = build_log(6)
    prepared = _in_process(log, LogState.empty(ORIGIN), _cut(log, 6)[0])
    assert prepared.append is not None
    frame = _encode_reply(("ok", prepared))
    assert frame[:1] == b"M"
    kind, decoded = _decode_reply(frame)
    assert kind == "ok"
    assert _fields(decoded) == _fields(prepared)
    assert decoded == prepared


def test_a_reply_waiting_for_rows_takes_the_pickle_path() -> None:
    log = _mixed_log()
    batches = _cut(log, 20, 24)
    prepared = _expected_chain(log, batches)[1]
    assert prepared.append is None and prepared.items is not None
    frame = _encode_reply(("ok", prepared))
    assert frame[:1] == b"P"
    kind, decoded = _decode_reply(frame)
    assert kind == "ok"
    assert _fields(decoded) == _fields(prepared)
    assert decoded == prepared


def test_refusals_and_errors_round_trip() -> None:
    for reply in (("rejected", "stale", "batch ends at 4, hold 4"), ("error", "KeyError: 'x'")):
        assert _decode_reply(_encode_reply(reply)) == reply
    with pytest.raises(WorkerError, match="unknown kind"):
        _decode_reply(b"X whatever")


def _frames(*requests: tuple[Any, ...]) -> io.BytesIO:
    out = io.BytesIO()
    for request in requests:
        body = pickle.dumps(request)
        out.write(len(body).to_bytes(8, "big") + body)
    out.seek(0)
    return out


def _replies(stdout: io.BytesIO) -> list[tuple[Any, ...]]:
    data, replies = stdout.getvalue(), []
    while data:
        size = int.from_bytes(data[:8], "big")
        replies.append(_decode_reply(data[8 : 8 + size]))
        data = data[8 + size :]
    return replies


def test_serve_answers_in_order_until_its_input_ends() -> None:
    log = build_log(8)
    batches = _cut(log, 4, 8)
    stdin = _frames(
        (
            "prepare",
            "c",
            EMPTY_BASE,
            False,
            _key(log),
            _message(ORIGIN, batches[0]),
            COURTS,
        ),  # no rules
        ("rules", RULES),
        ("prepare", "c", EMPTY_BASE, False, _key(log), _message(ORIGIN, batches[0]), COURTS),
        ("prepare", "c", None, False, None, _message(ORIGIN, batches[1]), COURTS),
        ("prepare", "c", None, False, _key(log), _message(ORIGIN, batches[1]), COURTS),
    )
    stdout = io.BytesIO()
    serve(stdin, stdout)
    replies = _replies(stdout)
    expected = _expected_chain(log, batches)
    assert [r[0] for r in replies] == ["error", "ok", "rejected", "ok"]
    assert replies[0][1] == "AssertionError: rules must come first"
    assert replies[1][1] == expected[0]
    assert replies[2][1] == RejectReason.UNKNOWN_ORIGIN.value
    assert replies[3][1] == expected[1]


async def test_the_helper_folds_with_the_courts_of_the_origins_certificate(
    worker: PrepareWorker,
) -> None:
    # chengdu's certificate names 渝 only: none of its 川0104 listings is folded, in the
    # helper as in process, and the refused entries come back to be reported.
    log = build_log(4)
    batch = _cut(log, 4)[0]
    future = await worker.prepare(
        "x", EMPTY_BASE, False, _key(log), _message(ORIGIN, batch), ("渝",)
    )
    prepared = await _result(future)
    first, entries, note = batch
    in_process = prepare_batch(
        RULES,
        LogState.empty(ORIGIN),
        frozen=False,
        verifier=log.verifier,
        origin=ORIGIN,
        first_index=first,
        entries=entries,
        note=note,
        lay_out=prepare_sql_append,
        courts=("渝",),
    )
    assert prepared.not_served == in_process.not_served == tuple(f"{ORIGIN}/{i}" for i in range(4))
    assert (prepared.ignored, prepared.tables) == (4, frozenset())


def test_the_helper_process_starts_without_the_metrics_registry() -> None:
    # The helper's start-up is CPU spent on every large catch-up: it loads what preparing a
    # batch needs, not the node's metrics (prometheus_client and its HTTP server).
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, node.replication.worker; print('prometheus_client' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert loaded == "False"
