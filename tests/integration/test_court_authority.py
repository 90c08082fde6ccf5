"""Court authority is checked by every receiver, from the origin's certificate.

``evil`` holds a valid node certificate that names no court prefix. Its own node refuses its
listings for Chengdu's courts at Submit; a node whose software ignores its certificate still
signs them validly, and then chongqing, which peers with it, commits the entries (they are
part of evil's verified log) but ignores every one as ``court_not_served``, records and
counts each, while chengdu's honest listing folds as before.
"""

from __future__ import annotations

import pytest

from ccnode.v1 import admin_pb2
from node.metrics import METRICS
from tests.integration.harness import (
    Federation,
    admin,
    eventually,
    listing,
    valid_ids,
    without_officer_check,
)

pytestmark = pytest.mark.integration

FORGED = 20


async def test_listings_for_courts_an_origin_does_not_serve_are_ignored_by_receivers(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_officer_check(monkeypatch)  # evil serves no court: no officer can be registered
    for n in ("chengdu", "chongqing", "evil"):
        await federation.start(n)
    chengdu, chongqing, evil = (federation.nodes[n] for n in ("chengdu", "chongqing", "evil"))
    assert evil.parts.keys.courts("evil") == ()
    ids = valid_ids(FORGED + 1)

    # The node's own Submit goes by its certificate: no court, so no listing for 川0104.
    with pytest.raises(Exception, match="court_prefix"):
        await admin(evil).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="x"))

    # A node whose software ignores its certificate appends and signs them anyway.
    evil.parts.local_log._court_prefixes = ("川01",)
    forged = [listing(id_number=i) for i in ids[:FORGED]]
    reply = await admin(evil).Submit(admin_pb2.SubmitRequest(drafts=forged, actor="x"))
    assert len(reply.subjects) == FORGED
    await admin(chengdu).Submit(
        admin_pb2.SubmitRequest(drafts=[listing(id_number=ids[FORGED])], actor="法官王五")
    )
    ignored = METRICS.ignored.labels(origin="evil", reason="court_not_served")
    before = ignored._value.get()

    await federation.peer("chongqing", "evil")
    await federation.peer("chongqing", "chengdu")

    async def both_held() -> bool:
        vector = await chongqing.parts.db.read(chongqing.parts.db.store.vector)
        return vector.get("evil") == FORGED and vector.get("chengdu") == 1

    await eventually(both_held, timeout_s=10.0)
    search = admin(chongqing).BlacklistSearch
    assert (await search(admin_pb2.BlacklistSearchRequest(origin="evil"))).total == 0
    honest = await search(admin_pb2.BlacklistSearchRequest())
    assert [(i.origin, i.status) for i in honest.items] == [("chengdu", "listed")]

    async def not_served() -> list[tuple[str, str, int]]:
        refusals = (await admin(chongqing).Refusals(admin_pb2.RefusalsRequest())).refusals
        return [(r.identity, r.method, r.count) for r in refusals if r.reason == "court_not_served"]

    async def all_recorded() -> bool:
        # One row for the origin, counting every ignored entry (folded per origin and day).
        return await not_served() == [("node/evil", "fold", FORGED)]

    await eventually(all_recorded, timeout_s=10.0)  # recorded just after the batch's commit
    assert ignored._value.get() - before == FORGED
