"""Cross-region asset lookups between real nodes over mutual TLS: answered with the asked
categories only, denied with the reason, confidential from a third node, accounted for."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from ccnode.v1 import admin_pb2, lookups_pb2, lookups_pb2_grpc, payloads_pb2
from node.clock import FakeClock
from node.runtime.node import Node
from node.store.base import PeerRecord
from sync.domain.identifiers import credit_code_check_char
from tests.integration.harness import Federation, admin, eventually, register_party, valid_ids

pytestmark = pytest.mark.integration

A, B, C = "chengdu", "chongqing", "mianyang"
DEBTOR, OTHER = valid_ids(2, birth="19800521")
BAD_ID = DEBTOR[:17] + ("0" if DEBTOR[17] != "0" else "1")  # wrong check character
_ORG_BODY = "91500103MA5U7XQ2"
ORG = _ORG_BODY + "0" + credit_code_check_char(_ORG_BODY + "0")
CASE = "（2025）川0104执1234号"
SECRET = "渝中区解放碑独特房产Z9Q7"  # a distinctive value that only the answer carries
WAIT_S = 10.0


def lookups(node: Node) -> lookups_pb2_grpc.LookupsStub:
    channel = grpc.aio.insecure_channel(f"unix://{node.config.admin_socket}")
    return lookups_pb2_grpc.LookupsStub(channel)


def asset(
    asset_id: str, owner: str, category: int, *, description: str = "", name: str = "李四"
) -> payloads_pb2.AssetRecord:
    return payloads_pb2.AssetRecord(
        asset_id=asset_id,
        owner_id=owner,
        owner_name=name,
        category=category,  # type: ignore[arg-type]
        registry="重庆市不动产登记中心",
        reference=f"渝（2021）渝中区不动产权第{asset_id}号",
        description=description or f"资产 {asset_id}",
        location="重庆市渝中区解放碑步行街88号",
        value_fen=120_000_000,
    )


REGISTRY = [
    asset("cq-001", DEBTOR, payloads_pb2.DEPOSIT),
    asset("cq-002", DEBTOR, payloads_pb2.REAL_ESTATE, description=SECRET),
    asset("cq-003", DEBTOR, payloads_pb2.VEHICLE),
    asset("cq-004", OTHER, payloads_pb2.DEPOSIT),
    asset("cq-005", ORG, payloads_pb2.EQUITY, name="重庆某某贸易有限公司"),
]


async def _import(node: Node, records: list[payloads_pb2.AssetRecord]) -> None:
    async def messages():  # type: ignore[no-untyped-def]
        yield lookups_pb2.ImportAssetsRequest(records=records, first_line=1)

    reply = await lookups(node).ImportAssets(messages())
    assert reply.imported == len(records)


def request(
    *,
    id_number: str = DEBTOR,
    case: str = CASE,
    categories: tuple[int, ...] = (payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE),
    wait_s: float = WAIT_S,
    target: str = B,
    debtor_type: int = payloads_pb2.PERSON,
) -> lookups_pb2.LookupRequest:
    debtor = payloads_pb2.Debtor(type=debtor_type, name="李四")  # type: ignore[arg-type]
    if debtor_type == payloads_pb2.PERSON:
        debtor.id_number = id_number
    else:
        debtor.credit_code = id_number
    return lookups_pb2.LookupRequest(
        target=target,
        case_number=case,
        debtor=debtor,
        categories=categories,  # type: ignore[arg-type]
        purpose=f"{case} 查询被执行人财产",
        actor="法官王五",
        wait_s=wait_s,
    )


async def _pair(federation: Federation, *, clock: FakeClock | None = None) -> tuple[Node, Node]:
    """A (Chengdu, serving 川01) and B (Chongqing) peered; B trusts A to serve 川01."""
    a = await federation.start(A, clock=clock)
    b = await federation.start(B, clock=clock)
    await federation.peer(A, B)
    await b.parts.links.add_peer(PeerRecord(A, f"127.0.0.1:{a.port}", ("川01",)))
    await _import(b, REGISTRY)
    # The debtors of CASE in A's register of case parties (a lookup may only concern them).
    await register_party(a, CASE, id_number=DEBTOR)
    await register_party(a, CASE, credit_code=ORG)
    return a, b


async def test_answer_carries_the_asked_categories_of_the_debtor_only(
    federation: Federation,
) -> None:
    a, _ = await _pair(federation)
    result = await lookups(a).Request(request())
    assert not result.timed_out
    assert result.item.status == "answered"
    assert result.item.reply.origin == B
    # The debtor's deposit and real estate: not their vehicle, not another owner's deposit.
    assert sorted(x.asset_id for x in result.assets) == ["cq-001", "cq-002"]
    assert {x.category for x in result.assets} == {payloads_pb2.DEPOSIT, payloads_pb2.REAL_ESTATE}
    # Masked unless revealed; the read itself is on record in A's log.
    assert all(x.owner_id != DEBTOR and "*" in x.owner_id for x in result.assets)
    assert result.debtor.id_number != DEBTOR
    assert result.access_entry.startswith(f"{A}/")
    revealed = await lookups(a).Get(
        lookups_pb2.GetLookupRequest(
            subject=result.item.subject, actor="法官王五", purpose=CASE, reveal=True
        )
    )
    assert {x.owner_id for x in revealed.assets} == {DEBTOR}
    assert SECRET in {x.description for x in revealed.assets}
    assert revealed.debtor.id_number == DEBTOR


async def test_an_organisation_is_looked_up_by_its_credit_code(federation: Federation) -> None:
    a, _ = await _pair(federation)
    result = await lookups(a).Request(
        request(id_number=ORG, debtor_type=payloads_pb2.ORG, categories=(payloads_pb2.EQUITY,))
    )
    assert result.item.status == "answered"
    assert [x.asset_id for x in result.assets] == ["cq-005"]


@pytest.mark.parametrize(
    ("overrides", "reason", "detail"),
    [
        ({"id_number": BAD_ID}, payloads_pb2.INVALID_IDENTIFIER, "check character"),
        (
            {"case": "（2025）川0704执88号"},
            payloads_pb2.COURT_OUTSIDE_PREFIXES,
            "案号（--case-number）：法院川0704不属请求方所辖法院（川01） / "
            "case_number: court 川0704 is not among the requester's courts (川01)",
        ),
        (
            {"case": "（2025）川0104民初77号"},
            payloads_pb2.CASE_NOT_ENFORCEMENT,
            "民初案件不得查询，仅限执行实施类案件（执、执恢、执保）（《案号规定》） / "
            "case_number: a 民初 case may not be cited: only 执 / 执恢 / 执保 cases",
        ),
    ],
)
async def test_denied_with_a_clear_reason(
    federation: Federation, overrides: dict[str, str], reason: int, detail: str
) -> None:
    a, b = await _pair(federation)
    result = await lookups(a).Request(request(**overrides))  # type: ignore[arg-type]
    assert result.item.status == "denied"
    assert result.item.reply.denial_reason == reason
    assert detail in result.item.reply.denial_detail
    assert not result.assets
    # The same decision is in B's copy of the lookup.
    on_b = await lookups(b).List(lookups_pb2.ListLookupsRequest(requester=A))
    assert [i.reply.denial_reason for i in on_b.items] == [reason]


async def test_over_the_daily_quota_is_denied_until_the_next_day(
    federation: Federation,
) -> None:
    clock = FakeClock()
    config = federation.home(B)
    config.limits.lookup_daily_quota = 2
    config.save()
    a, _ = await _pair(federation, clock=clock)
    statuses = [(await lookups(a).Request(request())).item for _ in range(3)]
    assert [i.status for i in statuses] == ["answered", "answered", "denied"]
    assert statuses[2].reply.denial_reason == payloads_pb2.QUOTA_EXCEEDED
    assert "daily quota of 2" in statuses[2].reply.denial_detail
    assert statuses[2].reply.denial_detail.startswith("请求方节点：已达每日答复2次的查询限额")
    clock.advance(days=1)
    assert (await lookups(a).Request(request())).item.status == "answered"


async def test_a_requester_b_does_not_know_is_denied(federation: Federation) -> None:
    a = await federation.start(A)
    b = await federation.start(B)
    await register_party(a, CASE, id_number=DEBTOR)
    await federation.link(A, B)  # peered, but B was never told which courts A serves
    await _import(b, REGISTRY)
    result = await lookups(a).Request(request())
    assert result.item.reply.denial_reason == payloads_pb2.COURT_OUTSIDE_PREFIXES
    assert "no court prefixes are configured" in result.item.reply.denial_detail


async def test_a_request_that_cannot_be_read_is_refused_before_it_is_appended(
    federation: Federation,
) -> None:
    a, _ = await _pair(federation)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lookups(a).Request(request(case="not a case number"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "case_number" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lookups(a).Request(request(target="xian"))
    assert "target" in (err.value.details() or "")
    status = await admin(a).Status(admin_pb2.StatusRequest())
    assert status.log_size == 0


def _held_bytes(node: Node) -> bytes:
    """Everything the node's SQLite store holds on disk: the database file and its WAL."""
    db = node.config.home / "ccnode.db"
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_a_third_node_relays_headers_only_and_still_verifies_both_logs(
    federation: Federation,
) -> None:
    a, b = await _pair(federation)
    c = await federation.start(C)
    # A full mesh: C receives and relays both logs, and may deliver either before its origin.
    await federation.link(A, C)
    await federation.link(B, C)
    result = await lookups(a).Request(request())
    assert result.item.status == "answered"
    subject = result.item.subject

    async def c_holds_both_sides() -> bool:
        rows = await c.parts.db.read(c.parts.db.store.get_rows, "lookups", [subject])
        return subject in rows and rows[subject]["status"] == "answered"

    await eventually(c_holds_both_sides)
    on_c = await lookups(c).Get(
        lookups_pb2.GetLookupRequest(subject=subject, actor="审计员", purpose="核查")
    )
    # C knows who asked whom and that it was answered — from the headers alone.
    assert (on_c.item.requester, on_c.item.target, on_c.item.status) == (A, B, "answered")
    assert not on_c.item.case_number and not on_c.item.categories
    assert not on_c.assets and not on_c.debtor.id_number and not on_c.access_entry
    verified = await admin(c).Verify(admin_pb2.VerifyRequest(origins=[A, B]))
    assert verified.ok, verified.problems
    assert verified.verified_sizes[A] >= 1 and verified.verified_sizes[B] >= 1
    # Not one byte of either payload on C's disk; the same search finds them on A and B.
    for value in (SECRET, DEBTOR, "渝中区不动产权第cq-002号"):
        needle = value.encode()
        assert needle not in _held_bytes(c), value
        assert needle in _held_bytes(a) and needle in _held_bytes(b), value


async def test_audit_access_lists_the_lookup_and_every_later_read(
    federation: Federation,
) -> None:
    a, b = await _pair(federation)
    await register_party(a, CASE, id_number=OTHER)
    result = await lookups(a).Request(request())
    other = await lookups(a).Request(request(id_number=OTHER))
    for purpose in ("制作查封裁定", "复核"):
        await lookups(a).Get(
            lookups_pb2.GetLookupRequest(
                subject=result.item.subject, actor="书记员赵六", purpose=purpose
            )
        )
    audit = await lookups(a).Access(lookups_pb2.AccessRequest(id_number=DEBTOR.lower()))
    assert [i.subject for i in audit.lookups] == [result.item.subject]
    assert audit.lookups[0].requested_by == "法官王五"
    assert audit.lookups[0].purpose == f"{CASE} 查询被执行人财产"
    assert [(r.actor, r.purpose) for r in audit.reads] == [
        ("法官王五", f"{CASE} 查询被执行人财产"),
        ("书记员赵六", "制作查封裁定"),
        ("书记员赵六", "复核"),
    ]
    read_entries = {e for r in audit.reads for e in r.entries}
    assert read_entries == {result.item.request_entry, result.item.reply.entry_id}
    assert other.item.subject not in {i.subject for i in audit.lookups}
    # B, the target, holds the lookup too (it answered it) and no read of A's.
    on_b = await lookups(b).Access(lookups_pb2.AccessRequest(id_number=DEBTOR))
    assert [i.subject for i in on_b.lookups] == [result.item.subject]
    assert list(on_b.reads) == []


async def test_the_node_checks_imported_records_whatever_the_client(
    federation: Federation,
) -> None:
    b = await federation.start(B)
    good = asset("cq-100", DEBTOR, payloads_pb2.DEPOSIT)
    bad = asset("cq-101", BAD_ID, payloads_pb2.DEPOSIT)

    async def messages():  # type: ignore[no-untyped-def]
        yield lookups_pb2.ImportAssetsRequest(records=[good, bad], first_line=41)

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lookups(b).ImportAssets(messages())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details() or ""
    assert details.startswith("第42行（line 42）：") and "校验码不符（GB 11643）" in details
    assert " / owner_id: check character" in details
    assert BAD_ID not in (err.value.details() or "")
    assert (await lookups(b).CountAssets(lookups_pb2.CountAssetsRequest())).total == 0


async def test_a_relay_outside_the_audience_never_sends_what_the_receiver_would_refuse(
    federation: Federation,
) -> None:
    # B first hears of A's log only through C, which holds just the header of A's request to
    # B: C stops its batches of A's log before that entry (B would rightly refuse it without
    # its payload), and once B reaches A itself it gets the rest and answers. No one is refused.
    a = await federation.start(A)
    b = await federation.start(B)
    c = await federation.start(C)
    await register_party(a, CASE, id_number=DEBTOR)
    await _import(b, REGISTRY)
    await federation.peer(A, B)
    await b.parts.links.add_peer(
        PeerRecord(A, "127.0.0.1:9", ("川01",))
    )  # A unreachable from B for now
    await federation.link(A, C)
    await federation.link(B, C)
    sent = await lookups(a).Request(request(wait_s=0))
    subject = sent.item.subject

    async def c_holds_the_request_header() -> bool:
        return (await c.parts.db.read(c.parts.db.store.vector)).get(A, 0) >= 1

    await eventually(c_holds_the_request_header)
    await asyncio.sleep(0.5)  # C's stream to B has had every chance to send A's entries
    assert (await b.parts.db.read(b.parts.db.store.vector)).get(A, 0) == 0
    await b.parts.links.add_peer(PeerRecord(A, f"127.0.0.1:{a.port}", ("川01",)))

    async def answered() -> bool:
        rows = await a.parts.db.read(a.parts.db.store.get_rows, "lookups", [subject])
        return subject in rows and rows[subject]["status"] == "answered"

    await eventually(answered)
    for node in (a, b, c):
        refusals = await admin(node).Refusals(admin_pb2.RefusalsRequest())
        assert not [r.reason for r in refusals.refusals if r.reason.startswith("batch_")]
