"""The public disclosure page on a real node: HTTPS without a client certificate, name and ID
both required, the published fields only with IDs masked, every region's listings, per-IP
rate limit, queries counted and never logged, credit repair shown, clean start and stop; a
real HTTP client (verifying the test CA) and headless Chromium."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from node.clock import FakeClock
from node.config import PublicPage
from node.metrics import METRICS
from node.public.page import DisclosurePage, PublicPageError
from node.runtime.node import Node
from tests.integration.browser import headless_tab
from tests.integration.harness import Federation, admin, eventually, listing, valid_ids
from tests.integration.test_blacklist_representatives import ORG_CODE, ORG_NAME, org_listing

pytestmark = pytest.mark.integration

PERSON_ID, LEGAL_ID, OTHER_ID = valid_ids(3, birth="19800101")
PERSON = "张三"
LEGAL = "李四"
BAD_CHECK = "1" if PERSON_ID[-1] != "1" else "2"  # a check character that does not match
OUTCOMES = ("listed", "not_listed", "refused", "rate_limited")


def _public(**changes: Any) -> PublicPage:
    base = PublicPage(
        listen="127.0.0.1:0",
        cert_file="certs/tls.pem",  # the test CA's certificate for 127.0.0.1 and localhost
        key_file="certs/tls.key",
        rate_per_minute=1000,
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


async def _start(
    federation: Federation, node_id: str, public: PublicPage, clock: FakeClock
) -> Node:
    config = federation.home(node_id)
    config.public = public
    config.save()
    return await federation.start(node_id, clock=clock)


def _page(node: Node) -> DisclosurePage:
    page = node.background_part(DisclosurePage)
    assert page is not None and page.port
    return page


@dataclass
class Site:
    chengdu: Node
    chongqing: Node
    url: str
    ca: Path
    clock: FakeClock
    org_subject: str


async def _site(federation: Federation, **public: Any) -> Site:
    """chengdu serves the page; chongqing lists a person, chengdu an organisation whose
    legal representative is LEGAL; both linked, chengdu holds both lists."""
    clock = FakeClock()  # the rate limit's clock does not move unless told
    a = await _start(federation, "chengdu", _public(**public), clock)
    b = await federation.start("chongqing", clock=clock)
    await federation.link("chengdu", "chongqing")
    await admin(b).Submit(
        admin_pb2.SubmitRequest(
            drafts=[listing(case="（2024）渝0103执77号", court="渝0103", name=PERSON,
                            id_number=PERSON_ID)],
            actor="法官刘七",
        )
    )  # fmt: skip
    reply = await admin(a).Submit(
        admin_pb2.SubmitRequest(
            drafts=[org_listing((payloads_pb2.LEGAL_REPRESENTATIVE, LEGAL, LEGAL_ID))],
            actor="法官王五",
        )
    )

    async def held() -> bool:
        found = await admin(a).BlacklistSearch(admin_pb2.BlacklistSearchRequest())
        return found.total == 2

    await eventually(held)
    url = f"https://127.0.0.1:{_page(a).port}"
    return Site(a, b, url, a.config.certs_dir / "ca.pem", clock, reply.subjects[0])


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _tls(ca: Path) -> ssl.SSLContext:
    """A client that trusts only the test CA (and checks the name 127.0.0.1)."""
    return ssl.create_default_context(cafile=str(ca))


async def _ask(
    http: aiohttp.ClientSession, site: Site, body: Any, *, path: str = "/api/check"
) -> tuple[int, dict[str, Any], str, Any]:
    kwargs: dict[str, Any] = {"json": body} if path == "/api/check" else {"data": body}
    async with http.post(site.url + path, ssl=_tls(site.ca), **kwargs) as r:
        text = await r.text()
        doc = json.loads(text) if r.content_type == "application/json" else {}
        return r.status, doc, text, r.headers


def _counts() -> dict[str, float]:
    return {
        o: METRICS.registry.get_sample_value("ccnode_public_queries_total", {"outcome": o}) or 0.0
        for o in OUTCOMES
    }


async def test_the_json_answer_has_the_published_fields_masked(
    federation: Federation, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    site = await _site(federation)
    before = _counts()
    status, doc, text, headers = await _ask(http, site, {"name": PERSON, "id": PERSON_ID.lower()})
    assert status == 200
    assert doc["listed"] is True
    (hit,) = doc["listings"]
    assert hit["region"] == "chongqing"  # another region's list, held by chengdu
    assert hit["debtor"] == {
        "type": "person", "name": PERSON, "sex": "女", "age": 44,  # sequence 000: even
        "id": PERSON_ID[:10] + "****" + PERSON_ID[14:],
    }  # fmt: skip
    assert hit["case_number"] == "（2024）渝0103执77号" and hit["court"] == "渝0103"
    assert hit["ground"]["code"] == "G1" and hit["obligation"] and hit["basis_number"]
    assert "representative" not in hit and "ended" not in hit
    assert doc["query"]["id"] == PERSON_ID[:10] + "****" + PERSON_ID[14:]
    assert PERSON_ID not in text
    regions = {r["region"]: r for r in doc["regions"]}
    assert (regions["chengdu"]["listed"], regions["chongqing"]["listed"]) == (1, 1)
    assert regions["chongqing"]["updated_at"].endswith("+08:00")
    assert headers["Cache-Control"] == "no-store"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "default-src 'none'" in headers["Content-Security-Policy"]

    # Name and ID must both match exactly: another name, a partial name, another ID.
    for query in (
        {"name": "张", "id": PERSON_ID},
        {"name": LEGAL, "id": PERSON_ID},
        {"name": PERSON, "id": OTHER_ID},
    ):
        status, doc, _, _ = await _ask(http, site, query)
        assert (status, doc["listed"], doc["listings"]) == (200, False, [])

    # The legal representative, through the organisation's listing.
    status, doc, text, _ = await _ask(http, site, {"name": LEGAL, "id": LEGAL_ID})
    assert doc["listed"] is True
    (hit,) = doc["listings"]
    assert hit["reason"] == f"legal representative of {ORG_NAME} (listing {site.org_subject})"
    assert hit["representative"]["role_zh"] == "法定代表人"
    assert hit["representative"]["id"] == LEGAL_ID[:10] + "****" + LEGAL_ID[14:]
    assert hit["debtor"] == {
        "type": "org", "name": ORG_NAME, "credit_code": ORG_CODE, "legal_representative": LEGAL,
    }  # fmt: skip
    assert LEGAL_ID not in text
    # The organisation by its credit code and exact name.
    _, doc, _, _ = await _ask(http, site, {"name": ORG_NAME, "id": ORG_CODE.lower()})
    assert doc["listed"] is True and doc["listings"][0]["debtor"]["type"] == "org"
    # The form route answers JSON to a client that asks for it.
    async with http.post(
        site.url + "/check",
        data={"name": PERSON, "id": PERSON_ID},
        headers={"Accept": "application/json"},
        ssl=_tls(site.ca),
    ) as r:
        assert r.status == 200 and (await r.json())["listed"] is True

    after = _counts()
    assert after["listed"] - before["listed"] == 4
    assert after["not_listed"] - before["not_listed"] == 3
    # Nothing of a query reached a log record (the node logs at DEBUG here).
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    for secret in (PERSON_ID, LEGAL_ID, OTHER_ID, PERSON, LEGAL):
        assert secret not in logged


async def test_a_query_missing_a_field_is_refused_naming_it(
    federation: Federation, http: aiohttp.ClientSession
) -> None:
    site = await _site(federation)
    before = _counts()
    for body, field, rule in (
        ({"id": PERSON_ID}, "name", "required"),
        ({"name": " ", "id": PERSON_ID}, "name", "required"),
        ({"name": PERSON}, "id", "required"),
        ({"name": PERSON, "id": PERSON_ID[:-1] + BAD_CHECK}, "id", "format"),
        ({"name": PERSON, "id": "张三"}, "id", "format"),
        ([PERSON, PERSON_ID], "name", "required"),  # not an object
    ):
        status, doc, text, _ = await _ask(http, site, body)
        assert status == 400, body
        assert (doc["error"]["field"], doc["error"]["rule"]) == (field, rule)
        assert doc["error"]["message"].startswith(f"{field}: ")
        # Chinese first on the page: the field as the form labels it, then the rule.
        assert doc["error"]["message_zh"].startswith(
            {"name": "被执行人姓名/名称：", "id": "身份证号码/统一社会信用代码："}[field]
        )
        assert PERSON_ID not in text
    # The HTML form: the page names the field and keeps what was typed.
    status, _, text, headers = await _ask(http, site, {"name": PERSON}, path="/check")
    assert status == 400
    assert 'data-field="id"' in text
    assert "身份证号码/统一社会信用代码：必须填写身份证号码或统一社会信用代码" in text
    assert text.index("必须填写身份证号码") < text.index("id: the resident ID number")
    assert f'value="{PERSON}"' in text and headers["Cache-Control"] == "no-store"
    assert _counts()["refused"] - before["refused"] == 7
    # A body over the limit, a bad method, an unknown path: short answers with the headers.
    async with http.post(site.url + "/api/check", data=b"x" * 20_000, ssl=_tls(site.ca)) as r:
        assert r.status == 413 and "Content-Security-Policy" in r.headers
    async with http.get(site.url + "/api/check", ssl=_tls(site.ca)) as r:
        assert r.status == 405
    async with http.get(site.url + "/nothing", ssl=_tls(site.ca)) as r:
        assert r.status == 404


async def test_the_rate_limit_answers_429_per_address(
    federation: Federation, http: aiohttp.ClientSession
) -> None:
    site = await _site(federation, rate_per_minute=3)
    before = _counts()
    for _ in range(3):
        status, _, _, _ = await _ask(http, site, {"name": PERSON, "id": PERSON_ID})
        assert status == 200
    status, doc, _, headers = await _ask(http, site, {"name": PERSON, "id": PERSON_ID})
    assert status == 429
    assert doc["error"]["rule"] == "rate_limited" and headers["Retry-After"] == "20"
    status, _, text, _ = await _ask(http, site, {"name": PERSON, "id": PERSON_ID}, path="/check")
    assert status == 429 and "查询过于频繁" in text and "Too many queries" in text
    site.clock.advance(ms=20_000)  # one query back (3 a minute)
    assert (await _ask(http, site, {"name": PERSON, "id": PERSON_ID}))[0] == 200
    assert (await _ask(http, site, {"name": PERSON, "id": PERSON_ID}))[0] == 429
    counts = _counts()
    assert counts["rate_limited"] - before["rate_limited"] == 3
    assert counts["listed"] - before["listed"] == 4


async def test_ended_listings_show_their_credit_repair_when_configured(
    federation: Federation, http: aiohttp.ClientSession
) -> None:
    site = await _site(federation, show_ended=True, show_credit_codes=False)
    await admin(site.chengdu).Submit(
        admin_pb2.SubmitRequest(
            drafts=[
                admin_pb2.Draft(
                    kind=log_pb2.BLACKLIST_DELISTED,
                    subject=site.org_subject,
                    payload=payloads_pb2.Payload(
                        blacklist_delisted=payloads_pb2.BlacklistDelisted(
                            ground=payloads_pb2.D3,
                            reason="债权人来函同意删除",
                            credit_repair=payloads_pb2.CREDITOR_REQUEST,
                        )
                    ),
                )
            ],
            actor="法官王五",
        )
    )
    _, doc, _, _ = await _ask(http, site, {"name": LEGAL, "id": LEGAL_ID})
    assert doc["listed"] is False  # ended: no longer binds
    (hit,) = doc["listings"]
    assert hit["status"] == "delisted"
    assert hit["ended"]["credit_repaired"] is True
    assert hit["ended"]["credit_repair"] == "CREDITOR_REQUEST"
    assert hit["debtor"]["credit_code"] == ORG_CODE[:6] + "********" + ORG_CODE[-4:]
    _, _, page, _ = await _ask(http, site, {"name": LEGAL, "id": LEGAL_ID}, path="/check")
    assert 'data-credit-repair="CREDITOR_REQUEST"' in page and "已信用修复" in page
    assert "债权人来函" not in page  # the delisting's reason text is not published


async def test_the_page_is_off_unless_configured_and_stops_with_the_node(
    federation: Federation, http: aiohttp.ClientSession
) -> None:
    plain = await federation.start("mianyang")
    assert plain.background_part(DisclosurePage) is None
    clock = FakeClock()
    node = await _start(federation, "chengdu", _public(), clock)
    port = _page(node).port
    ca = node.config.certs_dir / "ca.pem"
    async with http.get(f"https://127.0.0.1:{port}/", ssl=_tls(ca)) as r:
        assert r.status == 200 and 'name="id"' in await r.text()
    await federation.stop("chengdu")
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"https://127.0.0.1:{port}/", ssl=_tls(ca)):
            pass


# ---------------------------------------------------------------- headless Chromium


async def test_a_person_queries_the_page_in_a_browser(
    federation: Federation, tmp_path: Path
) -> None:
    site = await _site(federation, rate_per_minute=3)
    async with headless_tab(tmp_path / "profile") as tab:
        await tab.goto(site.url + "/")
        # The style sheet loaded under the page's CSP (a styled button), nothing refused.
        colour = await tab.evaluate(
            "getComputedStyle(document.querySelector('button')).backgroundColor"
        )
        assert colour == "rgb(26, 95, 180)"
        assert await tab.evaluate("document.documentElement.lang") == "zh-CN"
        await tab.fill("name", PERSON)
        await tab.fill("id", PERSON_ID)
        await tab.click_and_wait("button[type=submit]")
        page = await tab.html()
        assert 'id="answer" data-listed="true"' in page
        assert "在失信被执行人名单中" in page and "chongqing" in page
        assert PERSON_ID[:10] + "****" + PERSON_ID[14:] in page and PERSON_ID not in page
        assert 'id="regions"' in page

        await tab.fill("name", "王八")  # the second form, under the answer
        await tab.fill("id", OTHER_ID)
        await tab.click_and_wait("button[type=submit]")
        page = await tab.html()
        assert 'data-listed="false"' in page and "未查询到" in page
        assert OTHER_ID not in page

        await tab.fill("name", LEGAL)
        await tab.fill("id", LEGAL_ID)
        await tab.click_and_wait("button[type=submit]")
        page = await tab.html()
        assert 'data-listed="true"' in page and "的法定代表人" in page and ORG_NAME in page
        assert "被限制消费" in page and "restricted in consumption" in page

        await tab.goto(site.url + "/")
        await tab.fill("name", PERSON)
        await tab.fill("id", PERSON_ID)
        await tab.click_and_wait("button[type=submit]")  # the fourth query this minute
        page = await tab.html()
        assert 'id="rate-limited"' in page and "查询过于频繁" in page
        assert "Too many queries" in page
        assert await tab.evaluate("document.title") == "查询过于频繁 Too many queries"
    refused = [line for line in tab.console if "Content Security Policy" in line]
    assert refused == [], refused
    await asyncio.sleep(0)


async def test_an_unreadable_certificate_refuses_the_start_naming_the_key(
    federation: Federation,
) -> None:
    clock = FakeClock()
    with pytest.raises(PublicPageError, match=r"public\.cert_file, public\.key_file: "):
        await _start(federation, "chengdu", _public(cert_file="certs/missing.pem"), clock)
    node = await _start(federation, "chengdu", _public(), clock)  # the home was released
    assert _page(node).port
