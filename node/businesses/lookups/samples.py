"""Realistic synthetic asset records for demos and benchmarks (`ccnode assets generate`).

Owners are persons with valid resident IDs (GB 11643 check characters, plausible birth dates)
and companies with valid unified social credit codes (GB 32100); each owner has a few assets
drawn with the mix a region's registries deliver: deposits and real estate first, vehicles,
wealth products, securities, equity, a few ships and online funds. Everything is derived from
one seed, so a run is reproducible. None of it describes a real person.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ccnode.v1 import payloads_pb2
from sync.domain.identifiers import credit_code_check_char, resident_id_check_char

P = payloads_pb2


@dataclass(frozen=True)
class Region:
    province: str  # court and plate character, e.g. 渝
    city: str
    areas: Sequence[tuple[str, str]]  # (6-digit area code, district name)
    plate_letters: str
    court_prefix: str


REGIONS: dict[str, Region] = {
    "chongqing": Region(
        "渝",
        "重庆市",
        (("500103", "渝中区"), ("500105", "江北区"), ("500106", "沙坪坝区"),
         ("500107", "九龙坡区"), ("500108", "南岸区"), ("500112", "渝北区")),
        "ABCDF",
        "渝01",
    ),
    "chengdu": Region(
        "川",
        "四川省成都市",
        (("510104", "锦江区"), ("510105", "青羊区"), ("510106", "金牛区"),
         ("510107", "武侯区"), ("510108", "成华区"), ("510116", "双流区")),
        "A",
        "川01",
    ),
}  # fmt: skip

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玉兰文斌鹏飞宇浩然子涵欣怡思雨"
_ROADS = ("解放路", "人民路", "建设路", "中山路", "滨江路", "长江路", "春熙路", "新华路", "和平路")
_TRADES = ("贸易", "建筑工程", "餐饮管理", "科技", "物流", "房地产开发", "商贸", "机械制造")
_BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "招商银行")
_CATEGORY_WEIGHTS = (
    (P.DEPOSIT, 30), (P.REAL_ESTATE, 20), (P.VEHICLE, 15), (P.WEALTH, 10),
    (P.SECURITIES, 8), (P.EQUITY, 7), (P.ONLINE_FUNDS, 7), (P.OTHER_PROPERTY, 2), (P.SHIP, 1),
)  # fmt: skip
_CATEGORIES = [c for c, _ in _CATEGORY_WEIGHTS]
_WEIGHTS = [w for _, w in _CATEGORY_WEIGHTS]
# Typical value ranges in yuan (low, high) per category.
_VALUES_YUAN = {
    P.DEPOSIT: (100, 2_000_000), P.WEALTH: (10_000, 5_000_000),
    P.SECURITIES: (1_000, 3_000_000), P.REAL_ESTATE: (300_000, 8_000_000),
    P.VEHICLE: (20_000, 600_000), P.EQUITY: (50_000, 20_000_000), P.SHIP: (200_000, 10_000_000),
    P.ONLINE_FUNDS: (10, 200_000), P.OTHER_PROPERTY: (5_000, 1_000_000),
}  # fmt: skip
SEIZED_SHARE = 0.05  # assets already seized by some court (轮候查封 behind it)


@dataclass(frozen=True)
class Owner:
    owner_id: str
    name: str
    person: bool


def _resident_id(rng: random.Random, area: str) -> str:
    year = rng.randint(1950, 2004)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    body = f"{area}{year:04d}{month:02d}{day:02d}{rng.randint(1, 999):03d}"
    return body + resident_id_check_char(body)


def _credit_code(rng: random.Random, area: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    org = "".join(rng.choice(alphabet) for _ in range(9))
    body = f"91{area}{org}"
    return body + credit_code_check_char(body)


def owners(
    rng: random.Random, region: Region, count: int, person_share: float = 0.8
) -> list[Owner]:
    out: list[Owner] = []
    seen: set[str] = set()
    while len(out) < count:
        area, district = rng.choice(region.areas)
        if rng.random() < person_share:
            owner_id = _resident_id(rng, area)
            name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
            person = True
        else:
            owner_id = _credit_code(rng, area)
            name = f"{region.city[-3:-1]}{district[:-1]}{rng.choice(_TRADES)}有限公司"
            person = False
        if owner_id not in seen:
            seen.add(owner_id)
            out.append(Owner(owner_id, name, person))
    return out


def _details(rng: random.Random, region: Region, category: int, n: int) -> tuple[str, str, str]:
    """(registry, reference, description) for one asset."""
    year = rng.randint(2008, 2024)
    if category == P.DEPOSIT:
        bank = rng.choice(_BANKS)
        account = "62" + "".join(rng.choices("0123456789", k=17))
        return f"{bank}{region.city[-3:-1]}分行", account, "活期存款账户"
    if category == P.WEALTH:
        return f"{rng.choice(_BANKS)}理财子公司", f"LC{year}{n:08d}", "净值型理财产品"
    if category == P.SECURITIES:
        return "中国证券登记结算有限责任公司", f"A{rng.randint(10**8, 10**9 - 1)}", "A股证券账户"
    if category == P.REAL_ESTATE:
        ref = f"{region.province}（{year}）{region.city[-3:]}不动产权第{n % 10**7:07d}号"
        return f"{region.city}不动产登记中心", ref, f"住宅 {rng.randint(45, 220)} 平方米"
    if category == P.VEHICLE:
        plate = f"{region.province}{rng.choice(region.plate_letters)}·{rng.randint(10000, 99999)}"
        return f"{region.city}公安局交通管理局车辆管理所", plate, "小型普通客车"
    if category == P.EQUITY:
        ref = f"股权出质登记 {year}-{n % 10**6:06d}"
        return f"{region.city}市场监督管理局", ref, f"持股 {rng.randint(5, 100)}%"
    if category == P.SHIP:
        return f"{region.city}地方海事局", f"船舶登记号 {n:09d}", "内河货船"
    if category == P.ONLINE_FUNDS:
        provider = rng.choice(("支付宝（中国）网络技术有限公司", "财付通支付科技有限公司"))
        return provider, f"PAY{n:012d}", "网络支付账户余额"
    return "国家知识产权局", f"ZL{year}{n % 10**8:08d}", "发明专利权"


def generate(
    count: int, *, seed: int = 1, region: str = "chongqing", assets_per_owner: float = 5.0
) -> Iterator[payloads_pb2.AssetRecord]:
    """``count`` records of about ``count / assets_per_owner`` owners, reproducible by seed."""
    assert count >= 0 and assets_per_owner >= 1
    rng = random.Random(seed)  # noqa: S311  (sample data, not secrets)
    where = REGIONS[region]
    people = owners(rng, where, max(1, round(count / assets_per_owner)))
    for n in range(count):
        owner = people[n % len(people)] if n < len(people) else rng.choice(people)
        category = rng.choices(_CATEGORIES, _WEIGHTS)[0]
        registry, reference, description = _details(rng, where, category, n)
        low, high = _VALUES_YUAN[category]
        _, district = rng.choice(where.areas)
        record = P.AssetRecord(
            asset_id=f"{region}-{n:09d}",
            owner_id=owner.owner_id,
            owner_name=owner.name,
            category=category,
            registry=registry,
            reference=reference,
            description=description,
            location=f"{where.city}{district}{rng.choice(_ROADS)}{rng.randint(1, 300)}号",
            value_fen=rng.randint(low, high) * 100,
        )
        if rng.random() < SEIZED_SHARE:
            record.seizures.add(
                court=f"{where.court_prefix}{rng.randint(1, 9):02d}",
                case_number=f"（{rng.randint(2019, 2024)}）{where.court_prefix}"
                f"{rng.randint(1, 9):02d}执{rng.randint(1, 9999)}号",
                start_on=f"{rng.randint(2022, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                end_on=f"{rng.randint(2025, 2027)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            )
        yield record
