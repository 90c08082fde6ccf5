"""The public page's pure parts: query checks, masks, HTML escaping, the per-IP limiter and
the configuration section."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from node.clock import FakeClock
from node.config import ConfigError, NodeConfig
from node.public import render
from node.public.answer import Masks, QueryError, parse_query
from node.public.limiter import IpRateLimiter
from tests.unit.test_domain_blacklist import make_id

ID = make_id(date(1990, 3, 7))
CODE = "91350100M000100Y43"


def _refused(fields: dict[str, object]) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_query(fields)
    return info.value


def test_a_query_needs_a_name_and_a_valid_id() -> None:
    q = parse_query({"name": " 张三 ", "id": ID.lower()})
    assert (q.name, q.id_number, q.person) == ("张三", ID, True)
    q = parse_query({"name": "某公司", "id": CODE.lower()})
    assert (q.id_number, q.person) == (CODE, False)
    # An early credit code failing its check character is still looked up ...
    assert parse_query({"name": "某公司", "id": CODE[:-1] + "4"}).person is False
    # ... but a mistyped resident ID is refused, not taken for a credit code.
    wrong = ID[:-1] + ("1" if ID[-1] != "1" else "2")
    for fields, field, rule in (
        ({"id": ID}, "name", "required"),
        ({"name": None, "id": ID}, "name", "required"),
        ({"name": "张" * 201, "id": ID}, "name", "too_long"),
        ({"name": "张三"}, "id", "required"),
        ({"name": "张三", "id": 5}, "id", "required"),
        ({"name": "张三", "id": wrong}, "id", "format"),
        ({"name": "张三", "id": "12345"}, "id", "format"),
    ):
        err = _refused(fields)
        assert (err.field, err.rule) == (field, rule), fields
        assert ID not in str(err) and wrong not in err.zh + err.en
        if rule == "format":  # the rule and its standards, Chinese first
            assert err.zh.startswith("身份证号码/统一社会信用代码：不是有效的18位公民身份号码")
            assert "GB 11643" in err.zh and err.en.startswith("id: not a valid")


def test_a_refused_query_reads_chinese_first_naming_the_field_as_the_form_does() -> None:
    err = _refused({"id": ID})
    assert err.zh == "被执行人姓名/名称：必须填写完整的姓名或名称"
    assert err.en == "name: the person's or organisation's full name is required"
    assert str(err) == f"{err.zh} / {err.en}"
    err = _refused({"name": "张" * 201, "id": ID})
    assert err.zh == "被执行人姓名/名称：不得超过200个字符"
    assert err.en == "name: at most 200 characters"
    page = render.refusal_page(err.field, err.zh, err.en, "", ID)
    assert page.index("不得超过200个字符") < page.index("name: at most 200 characters")


def test_masks() -> None:
    masks = Masks()
    assert masks.person_id(ID) == ID[:10] + "****" + ID[14:]
    assert masks.credit_code(CODE) == CODE
    assert Masks(show_credit_codes=False).credit_code(CODE) == CODE[:6] + "********" + CODE[-4:]


def test_the_page_escapes_what_it_shows() -> None:
    page = render.refusal_page("id", "请输入", "enter it", '<script>alert("x")</script>', "")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'aria-invalid="true"' in page and 'data-field="id"' in page


def test_the_limiter_refills_and_stays_bounded() -> None:
    clock = FakeClock()
    limiter = IpRateLimiter(clock, 2, addresses_max=3)
    assert [limiter.take("a") for _ in range(3)] == [True, True, False]
    assert limiter.retry_after_s("a") == 30
    clock.advance(ms=30_000)
    assert limiter.take("a") and not limiter.take("a")
    for address in ("b", "c", "d"):
        assert limiter.take(address)
    assert len(limiter._buckets) == 3  # "a", the least recently seen, was forgotten
    assert limiter.take("a") and limiter.take("a")  # a full bucket again


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"listen": "8443"}, "public.listen"),
        ({"listen": "127.0.0.1:8443"}, "cert_file, key_file: required with listen"),
        ({"listen": "127.0.0.1:8443", "cert_file": "a", "key_file": "b", "rate_per_minute": 0},
         "public.rate_per_minute"),
        ({"listen": "127.0.0.1:8443", "cert_file": "a", "key_file": "b", "id_mask": "none"},
         "public.id_mask"),
    ],
)  # fmt: skip
def test_public_configuration_is_checked(
    changes: dict[str, object], message: str, tmp_path: Path
) -> None:
    data = {"node_id": "chengdu", "trust_domain": "chengyu.court", "listen": "127.0.0.1:7401"}
    with pytest.raises(ConfigError, match=message):
        NodeConfig.from_data({**data, "public": changes}, tmp_path)
    assert not NodeConfig.from_data(data, tmp_path).public.listen  # off: nothing to check
