"""The court-code register (法院代码) of Sichuan (川) and Chongqing (渝): every court a case
number, a listing, a task or a node's court prefixes may name, with its name.

Scheme: 最高人民法院关于人民法院案件案号的若干规定 (法〔2015〕137号, revised 法〔2018〕335号)
and its court-code table (法院代码表). A court code is the province character (川, 渝) alone for the
high court; + 2 digits for an intermediate court (digits 3–4 of the prefecture's
administrative code: 川01 成都 = 5101); + 4 digits for a basic court (digits 3–6 of the
county's code: 川0104 锦江区 = 510104). Special courts take codes outside the administrative
ones: development-zone courts 川0191, railway transport courts 川71 / 川7101, and 渝8601.

Sources of the data:

* The prefectures and county-level divisions, and so the intermediate and basic courts:
  GB/T 2260 administrative division codes as published in the National Bureau of Statistics'
  统计用区划代码 (2023 edition), Sichuan 51xxxx and Chongqing 50xxxx. Every county-level
  division has one basic court; economic-development zones with a statistical code (511071
  内江经济开发区, 511771, 511971) have no court and are left out. Chongqing has no
  prefecture level: its five intermediate courts (渝01–渝05) each cover several districts, and
  its basic courts keep the counties' digits (渝0103 渝中区, 渝0229 城口县).
* Court names follow the courts' own style: province + city + district for a district court
  (四川省成都市锦江区人民法院), province + county or county-level city otherwise
  (四川省金堂县人民法院); Chongqing's courts are 重庆市 + district or county.
* Special courts: 川0191, 川71, 川7101 and 渝8601 are the special courts of the domain
  specification (DOMAIN.md), which gives their codes; their names are those the courts use
  (川7101 as in （2024）川7101民初8969号, 成都铁路运输第一法院). Each entry of ``_SPECIAL``
  says where it comes from. Other special or new courts (e.g. 四川天府新区成都片区人民法院,
  成都金融法院, 重庆两江新区人民法院, 重庆金融法院) are not in the register until their codes
  are taken from the 法院代码表: a case of theirs is refused as "unknown_court" meanwhile.

How to update: when a county is created, renamed or merged (a 民政部 notice changes the
GB/T 2260 code), or the Supreme People's Court creates a court, add, change or remove its
line below (``_SICHUAN_BASIC``/``_CHONGQING_BASIC``: 4 digits, a space and the county's
name; ``_SPECIAL``: code, name, level, source), and add a test in
tests/unit/test_courts_cn.py. Remove a code only when no case of that court can still be
enforced: a listing or task whose court left the register can still be delisted or closed
(the stored entry is not checked again), but no new entry can cite it. The register is
applied where entries are written (the preparers, the CLI) and to configured court prefixes,
never by the folds: a register update never changes how an existing log folds.

Courts of other provinces are outside the register: their codes are checked for form only
(sync/domain/case_number.py), and no node can be configured to serve them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from sync.domain.errors import ValidationError
from sync.domain.wording import ANHAO

__all__ = [
    "COURTS",
    "REGISTER_PROVINCES",
    "Court",
    "court_name",
    "known_court",
    "prefix_problem",
    "require_known_court",
]

Level = Literal["high", "intermediate", "basic"]

REGISTER_PROVINCES: Final = frozenset({"川", "渝"})


@dataclass(frozen=True)
class Court:
    code: str  # e.g. 川0104
    name: str  # e.g. 四川省成都市锦江区人民法院
    level: Level
    special: bool = False  # a special court (railway transport, development zone)


_HIGH: Final = {"川": "四川省高级人民法院", "渝": "重庆市高级人民法院"}

# Sichuan's prefectures (digits 3–4 of the administrative code) and their names.
_SICHUAN_PREFECTURES: Final = {
    "01": "成都市", "03": "自贡市", "04": "攀枝花市", "05": "泸州市", "06": "德阳市",
    "07": "绵阳市", "08": "广元市", "09": "遂宁市", "10": "内江市", "11": "乐山市",
    "13": "南充市", "14": "眉山市", "15": "宜宾市", "16": "广安市", "17": "达州市",
    "18": "雅安市", "19": "巴中市", "20": "资阳市", "32": "阿坝藏族羌族自治州",
    "33": "甘孜藏族自治州", "34": "凉山彝族自治州",
}  # fmt: skip

_CHONGQING_INTERMEDIATE: Final = {
    "01": "重庆市第一中级人民法院",
    "02": "重庆市第二中级人民法院",
    "03": "重庆市第三中级人民法院",
    "04": "重庆市第四中级人民法院",
    "05": "重庆市第五中级人民法院",
}

# Basic courts: digits 3–6 of the county's GB/T 2260 code, then the county's name.
_SICHUAN_BASIC: Final = """
0104 锦江区
0105 青羊区
0106 金牛区
0107 武侯区
0108 成华区
0112 龙泉驿区
0113 青白江区
0114 新都区
0115 温江区
0116 双流区
0117 郫都区
0118 新津区
0121 金堂县
0129 大邑县
0131 蒲江县
0181 都江堰市
0182 彭州市
0183 邛崃市
0184 崇州市
0185 简阳市
0302 自流井区
0303 贡井区
0304 大安区
0311 沿滩区
0321 荣县
0322 富顺县
0402 东区
0403 西区
0411 仁和区
0421 米易县
0422 盐边县
0502 江阳区
0503 纳溪区
0504 龙马潭区
0521 泸县
0522 合江县
0524 叙永县
0525 古蔺县
0603 旌阳区
0604 罗江区
0623 中江县
0681 广汉市
0682 什邡市
0683 绵竹市
0703 涪城区
0704 游仙区
0705 安州区
0722 三台县
0723 盐亭县
0725 梓潼县
0726 北川羌族自治县
0727 平武县
0781 江油市
0802 利州区
0811 昭化区
0812 朝天区
0821 旺苍县
0822 青川县
0823 剑阁县
0824 苍溪县
0903 船山区
0904 安居区
0921 蓬溪县
0923 大英县
0981 射洪市
1002 市中区
1011 东兴区
1024 威远县
1025 资中县
1083 隆昌市
1102 市中区
1111 沙湾区
1112 五通桥区
1113 金口河区
1123 犍为县
1124 井研县
1126 夹江县
1129 沐川县
1132 峨边彝族自治县
1133 马边彝族自治县
1181 峨眉山市
1302 顺庆区
1303 高坪区
1304 嘉陵区
1321 南部县
1322 营山县
1323 蓬安县
1324 仪陇县
1325 西充县
1381 阆中市
1402 东坡区
1403 彭山区
1421 仁寿县
1423 洪雅县
1424 丹棱县
1425 青神县
1502 翠屏区
1503 南溪区
1504 叙州区
1523 江安县
1524 长宁县
1525 高县
1526 珙县
1527 筠连县
1528 兴文县
1529 屏山县
1602 广安区
1603 前锋区
1621 岳池县
1622 武胜县
1623 邻水县
1681 华蓥市
1702 通川区
1703 达川区
1722 宣汉县
1723 开江县
1724 大竹县
1725 渠县
1781 万源市
1802 雨城区
1803 名山区
1822 荥经县
1823 汉源县
1824 石棉县
1825 天全县
1826 芦山县
1827 宝兴县
1902 巴州区
1903 恩阳区
1921 通江县
1922 南江县
1923 平昌县
2002 雁江区
2021 安岳县
2022 乐至县
3201 马尔康市
3221 汶川县
3222 理县
3223 茂县
3224 松潘县
3225 九寨沟县
3226 金川县
3227 小金县
3228 黑水县
3230 壤塘县
3231 阿坝县
3232 若尔盖县
3233 红原县
3301 康定市
3322 泸定县
3323 丹巴县
3324 九龙县
3325 雅江县
3326 道孚县
3327 炉霍县
3328 甘孜县
3329 新龙县
3330 德格县
3331 白玉县
3332 石渠县
3333 色达县
3334 理塘县
3335 巴塘县
3336 乡城县
3337 稻城县
3338 得荣县
3401 西昌市
3402 会理市
3422 木里藏族自治县
3423 盐源县
3424 德昌县
3426 会东县
3427 宁南县
3428 普格县
3429 布拖县
3430 金阳县
3431 昭觉县
3432 喜德县
3433 冕宁县
3434 越西县
3435 甘洛县
3436 美姑县
3437 雷波县
"""

_CHONGQING_BASIC: Final = """
0101 万州区
0102 涪陵区
0103 渝中区
0104 大渡口区
0105 江北区
0106 沙坪坝区
0107 九龙坡区
0108 南岸区
0109 北碚区
0110 綦江区
0111 大足区
0112 渝北区
0113 巴南区
0114 黔江区
0115 长寿区
0116 江津区
0117 合川区
0118 永川区
0119 南川区
0120 璧山区
0151 铜梁区
0152 潼南区
0153 荣昌区
0154 开州区
0155 梁平区
0156 武隆区
0229 城口县
0230 丰都县
0231 垫江县
0233 忠县
0235 云阳县
0236 奉节县
0237 巫山县
0238 巫溪县
0240 石柱土家族自治县
0241 秀山土家族苗族自治县
0242 酉阳土家族苗族自治县
0243 彭水苗族土家族自治县
"""

# Special courts: code, name, level, source.
_SPECIAL: Final[tuple[tuple[str, str, Level, str], ...]] = (
    ("川0191", "四川省成都高新技术产业开发区人民法院", "basic", "DOMAIN.md (成都高新区 川0191)"),
    ("川71", "成都铁路运输中级法院", "intermediate", "DOMAIN.md (special courts 川71)"),
    (
        "川7101",
        "成都铁路运输第一法院",
        "basic",
        "DOMAIN.md; published case numbers such as （2024）川7101民初8969号",
    ),
    (
        "渝8601",
        "重庆铁路运输法院",
        "basic",
        "code: DOMAIN.md (special courts 渝8601); name: Chongqing's railway transport court, "
        "to be confirmed against the 法院代码表",
    ),
)


def _build() -> dict[str, Court]:
    courts: dict[str, Court] = {p: Court(p, name, "high") for p, name in _HIGH.items()}
    for digits, prefecture in _SICHUAN_PREFECTURES.items():
        code = "川" + digits
        courts[code] = Court(code, f"四川省{prefecture}中级人民法院", "intermediate")
    for digits, name in _CHONGQING_INTERMEDIATE.items():
        courts["渝" + digits] = Court("渝" + digits, name, "intermediate")
    for province, block in (("川", _SICHUAN_BASIC), ("渝", _CHONGQING_BASIC)):
        for line in block.strip().splitlines():
            digits, county = line.split()
            code = province + digits
            assert code not in courts, f"duplicate court code {code}"
            courts[code] = Court(code, _basic_name(province, digits, county), "basic")
    for code, name, level, _source in _SPECIAL:
        assert code not in courts, f"duplicate court code {code}"
        courts[code] = Court(code, name, level, special=True)
    return courts


def _basic_name(province: str, digits: str, county: str) -> str:
    if province == "渝":
        return f"重庆市{county}人民法院"
    if county.endswith("区"):  # a district court names its city: 四川省成都市锦江区人民法院
        return f"四川省{_SICHUAN_PREFECTURES[digits[:2]]}{county}人民法院"
    return f"四川省{county}人民法院"


COURTS: Final[Mapping[str, Court]] = _build()


def known_court(code: str) -> Court | None:
    """The register's court of ``code`` (already in the form 川0104), or None."""
    return COURTS.get(code)


def court_name(code: str) -> str:
    """The name of a registered court; "" for a court outside the register."""
    court = COURTS.get(code)
    return court.name if court is not None else ""


def require_known_court(code: str, field: str) -> Court | None:
    """The court of a well-formed ``code``: rule "unknown_court" when its province is one the
    register covers and the register has no such court (渝06, 渝99, 川00, 川0000); None for a
    court of another province (checked for form only). Court codes are public: the message
    names the code."""
    court = COURTS.get(code)
    if court is None and code[:1] in REGISTER_PROVINCES:
        raise ValidationError(
            field,
            "unknown_court",
            f"court code {code} is not a court of the court-code register "
            "(法院代码, sync/domain/courts_cn.py)",
            zh=f"法院代码{code}不在法院代码表内（{ANHAO}）",
        )
    return court


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a court prefix (a node's served courts, a peer's): None when
    some registered court starts with it, or when it is of a province outside the register."""
    if prefix[:1] not in REGISTER_PROVINCES:
        return None
    if any(code.startswith(prefix) for code in COURTS):
        return None
    return f"no court of the court-code register has a code starting with {prefix}"
