"""The lookup responder's pure parts: the per-requester token bucket on an injected clock,
and cutting an answer to fit one entry."""

from __future__ import annotations

from ccnode.v1 import log_pb2, payloads_pb2
from node.businesses.lookups.responder import ANSWER_ASSET_BYTES_MAX, RateLimiter, fit
from node.clock import FakeClock
from sync.entry import PAYLOAD_BYTES_MAX
from sync.payload import encode_payload


def test_each_requester_has_its_own_bucket_refilled_with_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock, per_minute=3)
    assert [limiter.take("chengdu") for _ in range(4)] == [True, True, True, False]
    assert limiter.take("mianyang")  # another requester is not affected
    clock.advance(ms=19_000)  # 0.95 of a token: still empty
    assert not limiter.take("chengdu")
    clock.advance(ms=1_000)
    assert limiter.take("chengdu")
    assert not limiter.take("chengdu")
    clock.advance(days=1)  # refills to the burst, not beyond
    assert [limiter.take("chengdu") for _ in range(4)] == [True, True, True, False]


def _asset(n: int) -> payloads_pb2.AssetRecord:
    return payloads_pb2.AssetRecord(
        asset_id=f"cq-{n:06d}",
        owner_id="11010519491231002X",
        category=payloads_pb2.SECURITIES,
        registry="中国证券登记结算有限责任公司",
        reference=f"A{n:09d}",
        description="证券账户 " + "持仓明细" * 20,
        value_fen=n,
    )


def test_fit_keeps_the_longest_prefix_that_makes_a_valid_entry() -> None:
    assets = [_asset(n) for n in range(3000)]
    carried = fit(assets, ANSWER_ASSET_BYTES_MAX)
    assert 0 < len(carried) < len(assets)
    assert carried == assets[: len(carried)]
    answer = payloads_pb2.LookupAnswered(
        request="chengdu/12",
        categories=[payloads_pb2.SECURITIES],
        assets=carried,
        assets_found=len(assets),
        truncated=True,
        answered_on="2025-01-01",
    )
    size = len(
        encode_payload(log_pb2.LOOKUP_ANSWERED, payloads_pb2.Payload(lookup_answered=answer))
    )
    assert size <= PAYLOAD_BYTES_MAX
    # One more asset would not have fitted the budget.
    assert payloads_pb2.LookupAnswered(assets=assets[: len(carried) + 1]).ByteSize() > (
        ANSWER_ASSET_BYTES_MAX
    )
    assert fit(assets[:5], ANSWER_ASSET_BYTES_MAX) == assets[:5]
    assert fit([], ANSWER_ASSET_BYTES_MAX) == []
