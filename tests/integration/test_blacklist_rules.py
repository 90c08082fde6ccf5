"""Blacklist rules on a real node: automatic delisting after the term, single writer,
corrections and delistings through the admin API, minors refused; ``blacklist list
--expiring --as-of`` on both nodes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from click.testing import CliRunner

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from cli.main import main
from node.businesses.blacklist import expiry as scheduler
from node.businesses.blacklist.expiry import BlacklistExpiry
from node.clock import FakeClock
from node.runtime.node import Node
from node.store.base import RowQuery
from tests.integration.harness import Federation, admin, eventually, listing, valid_ids

pytestmark = pytest.mark.integration


def _expiry(node: Node) -> BlacklistExpiry:
    p = node.parts
    return BlacklistExpiry(db=p.db, appender=p.local_log, node_id=p.config.node_id, clock=p.clock)


async def test_fixed_term_listing_is_delisted_when_the_term_ends(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01
    a = await federation.start("chengdu", clock=clock)
    reply = await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[listing(ground=payloads_pb2.G3, term_years=2)], actor="法官王五"
        )
    )
    subject = reply.subjects[0]
    item = (await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))).item
    assert item.record.term_end_on == "2027-01-01"
    assert item.delist_due_on == "2027-01-06"  # 3 working days after a Friday term end
    expiry = _expiry(a)
    assert await expiry.run_once() == []
    clock.advance(days=730)  # 2026-12-31: the term has not ended yet
    assert await expiry.run_once() == []
    clock.advance(days=2)  # 2027-01-02
    assert await expiry.run_once() == [subject]
    item = (await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))).item
    assert item.status == "delisted"
    assert item.delist_ground == payloads_pb2.EXPIRED
    assert await expiry.run_once() == []  # idempotent


async def _expiring(node: Node, *args: str) -> Any:
    """``ccnode blacklist list --expiring ARGS --json`` against a real node (in a worker
    thread: the nodes keep serving on this event loop)."""
    argv = ["blacklist", "list", "--home", str(node.config.home), "--expiring", *args, "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, main, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


async def test_expiring_listings_as_of_a_day_on_both_nodes(federation: Federation) -> None:
    clock = FakeClock()  # 2025-01-01 on both nodes; it does not move in this test
    a = await federation.start("chengdu", clock=clock)
    b = await federation.start("chongqing", clock=clock)
    await federation.link("chengdu", "chongqing")
    first, second = valid_ids(2)
    reply = await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[
                listing(id_number=first, ground=payloads_pb2.G3, term_years=2),  # to 2027-01-01
                listing(id_number=second),  # G1: no fixed term, never expiring
            ],
            actor="法官王五",
        )
    )
    fixed = reply.subjects[0]

    async def held(node: Node) -> bool:
        found = await admin(node).BlacklistSearch(admin_pb2.BlacklistSearchRequest())
        return found.total == 2

    await eventually(lambda: held(b))

    async def on_both(*args: str) -> list[tuple[str, str, int]]:
        seen = []
        for node in (a, b):
            doc = await _expiring(node, *args)
            seen.append(
                [(i["subject"], i["term_state"], i["term_days_left"]) for i in doc["items"]]
            )
            assert doc["total"] == len(doc["items"])
        assert seen[0] == seen[1], seen
        return seen[0]

    # 31 days before the term's last day (2027-01-01): beyond the default 30 days.
    assert await on_both("--as-of", "2026-12-01") == []
    assert await on_both("--as-of", "2026-12-01", "--within-days", "31") == [
        (fixed, "expiring", 31)
    ]
    assert await on_both("--as-of", "2026-12-22") == [(fixed, "expiring", 10)]
    # Ended, and within the 3 working days to delist (through 2027-01-06).
    assert await on_both("--as-of", "2027-01-04") == [(fixed, "awaiting_delisting", -3)]
    assert await on_both("--as-of", "2027-01-07") == [(fixed, "delisting_overdue", -6)]
    doc = await _expiring(a, "--as-of", "2026-12-22")
    assert doc["as_of"] == "2026-12-22"
    assert (doc["items"][0]["term_end_on"], doc["items"][0]["delist_due_on"]) == (
        "2027-01-01",
        "2027-01-06",
    )
    assert first not in json.dumps(doc, ensure_ascii=False)  # masked
    assert (await _expiring(a))["items"] == []  # today, 2025-01-01: nothing ends soon


async def test_expiry_reads_only_due_listings_of_its_own_paged_by_key(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()  # 2025-01-01
    a = await federation.start("chengdu", clock=clock)
    b = await federation.start("chongqing", clock=FakeClock())
    await federation.link("chengdu", "chongqing")
    ids = valid_ids(7)
    drafts = [  # terms of 2, 3, 2, 3, 2 years, then two without a term
        listing(
            case=f"（2024）川0104执{100 + i}号",
            id_number=ids[i],
            ground=payloads_pb2.G3,
            term_years=2 + i % 2,
        )
        for i in range(5)
    ] + [listing(case=f"（2024）川0104执{100 + i}号", id_number=ids[i]) for i in (5, 6)]
    for draft in drafts[1:5:2]:  # the 3-year terms state why they are extended (art. 2)
        draft.payload.blacklist_listed.record.term_extension = payloads_pb2.MULTIPLE_DISHONEST_ACTS
    subjects = list(
        (await admin(a).Submit(admin_pb2.SubmitRequest(drafts=drafts, actor="王五"))).subjects
    )
    delisted_early = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subjects[2],
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(ground=payloads_pb2.D1, reason="x")
        ),
    )
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delisted_early], actor="王五"))
    # Another origin's fixed-term listing, due by A's clock too: only its origin delists it.
    other = listing(
        case="（2024）渝0103执7号", court="渝0103", ground=payloads_pb2.G3, term_years=2
    )
    other_subject = (
        await admin(b).Submit(admin_pb2.SubmitRequest(drafts=[other], actor="李四"))
    ).subjects[0]

    async def replicated() -> bool:
        rows = await a.parts.db.read(a.parts.db.store.get_rows, "blacklist", [other_subject])
        return other_subject in rows

    await eventually(replicated)

    monkeypatch.setattr(scheduler, "PAGE_ROWS", 1)  # a page per due listing
    read: list[dict[str, Any]] = []
    query_rows = a.parts.db.store.query_rows

    def recording(query: RowQuery) -> tuple[list[dict[str, Any]], int]:
        rows, total = query_rows(query)
        read.extend(rows)
        return rows, total

    monkeypatch.setattr(a.parts.db.store, "query_rows", recording)
    expiry = _expiry(a)
    clock.advance(days=732)  # 2027-01-02: the 2-year terms have ended
    assert await expiry.run_once() == sorted([subjects[0], subjects[4]])
    assert sorted(row["key"] for row in read) == sorted([subjects[0], subjects[4]])
    read.clear()
    assert await expiry.run_once() == []
    assert read == []
    clock.advance(days=365)  # 2028-01-02: the 3-year terms too
    assert await expiry.run_once() == sorted([subjects[1], subjects[3]])
    assert sorted(row["key"] for row in read) == sorted([subjects[1], subjects[3]])
    for subject, status in [
        *((s, "delisted") for s in subjects[:5]),
        *((s, "listed") for s in (*subjects[5:], other_subject)),
    ]:
        reply = await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))
        assert reply.item.status == status


async def test_correct_and_delist_then_no_further_change(federation: Federation) -> None:
    a = await federation.start("chengdu")
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    ).subjects[0]
    item = (
        await admin(a).BlacklistGet(
            admin_pb2.BlacklistGetRequest(
                subject=subject, reveal=True, actor="王五", purpose="更正"
            )
        )
    ).item
    record = item.record
    record.performance = "部分履行"
    corrected = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_CORRECTED,
        subject=subject,
        payload=payloads_pb2.Payload(
            blacklist_corrected=payloads_pb2.BlacklistCorrected(
                record=record, reason="履行情况有误"
            )
        ),
    )
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[corrected], actor="王五"))
    delisted = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subject,
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(
                ground=payloads_pb2.D1, reason="全部履行完毕"
            )
        ),
    )
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delisted], actor="王五"))
    got = await admin(a).BlacklistGet(admin_pb2.BlacklistGetRequest(subject=subject))
    assert got.item.status == "delisted"
    assert got.item.record.performance == "部分履行"
    assert [h.kind for h in got.history] == [
        log_pb2.BLACKLIST_LISTED,
        log_pb2.BLACKLIST_CORRECTED,
        log_pb2.BLACKLIST_DELISTED,
    ]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delisted], actor="王五"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "already delisted" in err.value.details()
    # The reveal above was recorded in this node's own log, readable only here.
    access = [
        h
        for h in (await a.parts.db.read(a.parts.db.store.entries, "chengdu", 0, 10))
        if h.kind == log_pb2.ACCESS_RECORDED
    ]
    assert len(access) == 1 and access[0].actor == "王五"


async def test_only_the_listing_node_may_change_a_listing(federation: Federation) -> None:
    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await federation.link("chengdu", "chongqing")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    delist = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject="chengdu/bl/0",
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(ground=payloads_pb2.D1, reason="x")
        ),
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(b).Submit(admin_pb2.SubmitRequest(drafts=[delist], actor="李四"))
    assert "single_writer" in err.value.details()


async def test_a_minor_is_never_listed(federation: Federation) -> None:
    a = await federation.start("chengdu", clock=FakeClock())  # 2025-01-01
    minor = listing(id_number="510104201001010019")  # born 2010-01-01: 15 on the listing date
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[minor], actor="王五"))
    assert "minor" in err.value.details()
    assert "510104201001010019" not in err.value.details()


async def test_a_failing_preparer_rejects_only_its_own_submission(
    federation: Federation,
) -> None:
    import dataclasses

    from node.ownlog.preparers import PREPARERS
    from node.runtime.registry import DEFAULT

    def broken(*args: object) -> object:
        raise RuntimeError("defect")

    registry = dataclasses.replace(
        DEFAULT, preparers={**PREPARERS, log_pb2.BLACKLIST_DELISTED: broken}
    )
    a = await federation.start("chengdu", registry=registry)
    delist = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject="chengdu/bl/0",
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(ground=payloads_pb2.D1, reason="x")
        ),
    )
    stub = admin(a)
    results = await asyncio.gather(
        stub.Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五")),
        stub.Submit(admin_pb2.SubmitRequest(drafts=[delist], actor="王五")),
        return_exceptions=True,
    )
    assert isinstance(results[0], admin_pb2.SubmitResponse)
    assert isinstance(results[1], grpc.aio.AioRpcError)
    assert "internal" in results[1].details()
    assert PREPARERS[log_pb2.BLACKLIST_DELISTED] is not broken  # no module state was changed


async def test_a_revealed_blacklist_read_is_found_by_audit_access(federation: Federation) -> None:
    from ccnode.v1 import lookups_pb2, lookups_pb2_grpc

    a = await federation.start("chengdu")
    subject = (
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    ).subjects[0]
    await admin(a).BlacklistGet(
        admin_pb2.BlacklistGetRequest(subject=subject, reveal=True, actor="李四", purpose="核查")
    )
    channel = grpc.aio.insecure_channel(f"unix://{a.config.admin_socket}")
    async with channel:
        reply = await lookups_pb2_grpc.LookupsStub(channel).Access(
            lookups_pb2.AccessRequest(id_number="510104199003071237")
        )
    assert [(r.actor, r.purpose, r.what) for r in reply.reads] == [
        ("李四", "核查", "blacklist record")
    ]


# ---------------------------------------------------------------- one listing per debtor and case


def _rule_of(err: grpc.aio.AioRpcError) -> str:
    return str(err.details()).rpartition("[rule: ")[2].rstrip("]")


async def _refused(node: Node, *drafts: admin_pb2.Draft) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(node).Submit(admin_pb2.SubmitRequest(drafts=list(drafts), actor="王五"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return err.value


async def _listed_rows(node: Node) -> list[dict[str, Any]]:
    rows, _ = await node.parts.db.read(
        node.parts.db.store.query_rows,
        RowQuery(table="blacklist", equals={"status": "listed"}, limit=1000),
    )
    return rows


async def test_the_same_debtor_and_case_is_listed_once(federation: Federation) -> None:
    a = await federation.start("chengdu")
    first = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    size = first.size
    # The same draft again, and the same debtor and case on a new ground (a correction).
    for again in (listing(), listing(ground=payloads_pb2.G3, term_years=2, name="张三丰")):
        err = await _refused(a, again)
        assert _rule_of(err) == "already_listed"
        assert "chengdu/bl/0" in err.details()  # names the entry to correct
        assert "510104199003071237" not in str(err.details())
    ids = valid_ids(2)
    # Another debtor of the case, or the same debtor in another case, is a new listing.
    other = await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[listing(id_number=ids[0]), listing(case="（2024）川0104执999号")],
            actor="王五",
        )
    )
    assert other.subjects == ["chengdu/bl/1", "chengdu/bl/2"]
    assert len(await _listed_rows(a)) == 3
    state = await a.parts.db.read(a.parts.db.store.origin_state, "chengdu")
    assert state is not None and state.size == size + 2  # the refusals appended nothing


async def test_a_repeat_within_one_submission_is_refused_naming_its_draft(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    ids = valid_ids(3)
    drafts = [listing(id_number=ids[0]), listing(id_number=ids[1]), listing(id_number=ids[0])]
    err = await _refused(a, *drafts)
    assert _rule_of(err) == "duplicate_listing"
    assert str(err.details()).startswith("draft 2: ")
    assert ids[0] not in str(err.details())
    # Even when the submission asks to skip what is listed: a repeat is a defect of the batch.
    with pytest.raises(grpc.aio.AioRpcError) as skipping:
        await admin(a).Submit(
            admin_pb2.SubmitRequest(drafts=drafts, actor="王五", skip_listed=True)
        )
    assert _rule_of(skipping.value) == "duplicate_listing"
    assert await _listed_rows(a) == []


async def test_concurrent_submissions_of_one_listing_list_it_once(federation: Federation) -> None:
    a = await federation.start("chengdu")
    stub = admin(a)
    results = await asyncio.gather(
        *(stub.Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五")) for _ in range(4)),
        return_exceptions=True,
    )
    done = [r for r in results if isinstance(r, admin_pb2.SubmitResponse)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(done) == 1 and len(refused) == 3
    assert {_rule_of(r) for r in refused} == {"already_listed"}
    assert len(await _listed_rows(a)) == 1


async def test_after_delisting_the_debtor_may_be_listed_again(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    delist = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject="chengdu/bl/0",
        payload=payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(ground=payloads_pb2.D1, reason="x")
        ),
    )
    # Delisted and listed again in one submission, and then once more: refused.
    again = await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[delist, listing()], actor="王五"))
    assert again.subjects == ["chengdu/bl/0", "chengdu/bl/2"]
    assert _rule_of(await _refused(a, listing())) == "already_listed"
    assert [row["key"] for row in await _listed_rows(a)] == ["chengdu/bl/2"]


async def test_skip_listed_leaves_out_what_is_listed_and_lists_the_rest(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    ids = valid_ids(3)
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing(id_number=ids[1])], actor="王五"))
    drafts = [listing(id_number=i) for i in ids]
    reply = await admin(a).Submit(
        admin_pb2.SubmitRequest(drafts=drafts, actor="王五", skip_listed=True)
    )
    assert [(s.position, s.subject) for s in reply.skipped] == [(1, "chengdu/bl/0")]
    assert reply.subjects == ["chengdu/bl/1", "chengdu/bl/2"]  # gapless indexes
    assert reply.size == 3
    # Everything listed: nothing appended, the log's size and checkpoint as they were.
    again = await admin(a).Submit(
        admin_pb2.SubmitRequest(drafts=drafts, actor="王五", skip_listed=True)
    )
    assert [s.position for s in again.skipped] == [0, 1, 2]
    assert list(again.subjects) == [] and again.size == 3 and again.checkpoint
    assert len(await _listed_rows(a)) == 3


async def test_a_peer_folds_a_second_listing_of_a_signed_log(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rule is the origin's: a log with two listings of one debtor and case (written before
    # the rule, or by a node without it) replicates and folds as it is on every peer.
    from node.businesses.blacklist import prepare

    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    with monkeypatch.context() as patched:  # a node without the rule
        patched.setattr(prepare, "_check_one_listing", lambda *args: None)
        await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="王五"))
    assert len(await _listed_rows(a)) == 2
    await federation.link("chengdu", "chongqing")

    async def both_folded() -> bool:
        return len(await _listed_rows(b)) == 2

    await eventually(both_folded)


async def test_a_correction_may_not_move_a_listing_onto_another(federation: Federation) -> None:
    a = await federation.start("chengdu")
    await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[listing(), listing(case="（2024）川0104执999号")], actor="王五"
        )
    )

    def correction(case: str) -> admin_pb2.Draft:
        record = listing(case=case).payload.blacklist_listed.record
        return admin_pb2.Draft(
            kind=log_pb2.BLACKLIST_CORRECTED,
            subject="chengdu/bl/1",
            payload=payloads_pb2.Payload(
                blacklist_corrected=payloads_pb2.BlacklistCorrected(record=record, reason="更正")
            ),
        )

    err = await _refused(a, correction("（2024）川0104执1234号"))  # the case of chengdu/bl/0
    assert _rule_of(err) == "already_listed" and "chengdu/bl/0" in err.details()
    # To a case where the debtor is not listed: allowed.
    await admin(a).Submit(
        admin_pb2.SubmitRequest(drafts=[correction("（2024）川0104执555号")], actor="王五")
    )
