"""Asset records of a region's registry (网络执行查控): categories, the import format, masking.

A region's node holds the asset records of its own agencies (land, vehicle, bank, market,
tax). Owners' identifiers, names, account numbers and addresses are personal data (PIPL
arts. 28 and 34): errors name the field and the rule only, and `mask_asset` is how a record is
shown to a reader who did not ask (and was not entitled) to see it whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ccnode.v1 import payloads_pb2
from sync.domain.case_number import parse_case_number, parse_court_code
from sync.domain.errors import ValidationError
from sync.domain.identifiers import (
    CREDIT_CODE_MASK,
    DEFAULT_MASK,
    mask_id,
    mask_name,
    validate_credit_code,
    validate_resident_id,
)

__all__ = [
    "ASSET_ID_CHARS_MAX",
    "CATEGORY_BY_NAME",
    "CATEGORY_NAMES",
    "CATEGORY_ZH",
    "TEXT_CHARS_MAX",
    "asset_from_json",
    "asset_to_json",
    "category_name",
    "category_text",
    "known_categories",
    "mask_asset",
    "mask_owner_id",
    "normalise_owner_id",
    "owner_is_person",
    "parse_categories",
]

# The CLI and import-file names of the categories (DOMAIN.md "Asset lookups").
CATEGORY_BY_NAME: Final[Mapping[str, int]] = {
    "deposit": payloads_pb2.DEPOSIT,  # 存款
    "wealth": payloads_pb2.WEALTH,  # 理财
    "securities": payloads_pb2.SECURITIES,  # 证券
    "real_estate": payloads_pb2.REAL_ESTATE,  # 不动产
    "vehicle": payloads_pb2.VEHICLE,  # 车辆
    "equity": payloads_pb2.EQUITY,  # 股权
    "ship": payloads_pb2.SHIP,  # 船舶
    "online_funds": payloads_pb2.ONLINE_FUNDS,  # 网络资金
    "other_property": payloads_pb2.OTHER_PROPERTY,  # 其他财产权
}
CATEGORY_NAMES: Final[Mapping[int, str]] = {v: k for k, v in CATEGORY_BY_NAME.items()}
# The categories' names in the courts' terms, for refusals and reports.
CATEGORY_ZH: Final[Mapping[int, str]] = {
    payloads_pb2.DEPOSIT: "存款",
    payloads_pb2.WEALTH: "理财",
    payloads_pb2.SECURITIES: "证券",
    payloads_pb2.REAL_ESTATE: "不动产",
    payloads_pb2.VEHICLE: "车辆",
    payloads_pb2.EQUITY: "股权",
    payloads_pb2.SHIP: "船舶",
    payloads_pb2.ONLINE_FUNDS: "网络资金",
    payloads_pb2.OTHER_PROPERTY: "其他财产权",
}

ASSET_ID_CHARS_MAX: Final = 100
TEXT_CHARS_MAX: Final = 500
# A masked location keeps its first characters (province, city, district) and hides the
# street address; a masked reference (account, certificate, plate) keeps its last four.
LOCATION_KEEP_CHARS: Final = 6
REFERENCE_KEEP_CHARS: Final = 4

_REQUIRED = ("asset_id", "owner_id", "owner_name", "category", "registry", "reference")
_OPTIONAL_TEXT = ("description", "location")
_KNOWN = frozenset({*_REQUIRED, *_OPTIONAL_TEXT, "value_fen", "seizures"})
_SEIZURE_KNOWN = frozenset({"court", "case_number", "start_on", "end_on", "queue_position"})
_SAFE_KEY_RE = re.compile(r"[a-z_]{1,40}")
_PERSON_ID_RE = re.compile(r"[0-9]{17}[0-9X]")


def category_name(category: int) -> str:
    return CATEGORY_NAMES.get(category, f"category-{category}")


def category_text(category: int) -> str:
    """A category as a refusal shows it: ``存款（deposit）``, the name the officer types after
    the courts' one."""
    zh = CATEGORY_ZH.get(category)
    return f"{zh}（{category_name(category)}）" if zh else category_name(category)


def known_categories(values: Iterable[int], field: str = "categories") -> tuple[int, ...]:
    """Enum values -> distinct values in the given order; at least one, each known."""
    out: list[int] = []
    for value in values:
        if value not in CATEGORY_NAMES:
            raise ValidationError(
                field,
                "unknown_category",
                "an asset category is not known",
                zh="财产类别不可识别",
            )
        if value not in out:
            out.append(value)
    if not out:
        raise ValidationError(
            field, "required", "name at least one asset category", zh="须至少写明一种财产类别"
        )
    return tuple(out)


def parse_categories(text: str | Iterable[str], field: str = "categories") -> tuple[int, ...]:
    """``"deposit,real_estate"`` (or a list of names) -> distinct enum values, in the given
    order. At least one; each must be a known name."""
    names = text.split(",") if isinstance(text, str) else list(text)
    values: list[int] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        value = CATEGORY_BY_NAME.get(name)
        if value is None:
            known = ", ".join(CATEGORY_BY_NAME)
            known_zh = "、".join(category_text(v) for v in CATEGORY_BY_NAME.values())
            raise ValidationError(
                field,
                "unknown_category",
                f"each must be one of {known}",
                zh=f"须为以下类别之一：{known_zh}",
            )
        values.append(value)
    return known_categories(values, field)


def normalise_owner_id(value: str) -> str:
    """Identifiers compare upper-cased and trimmed (resident IDs end in X, codes are A–Y)."""
    return value.strip().upper()


def owner_is_person(owner_id: str) -> bool:
    """A resident ID has the shape 17 digits + digit or X; everything else is an organisation.

    (An all-digit credit code of 18 characters exists in theory; it then counts as a person's
    identifier, which only makes its display more cautious.)
    """
    return _PERSON_ID_RE.fullmatch(normalise_owner_id(owner_id)) is not None


def _check_owner_id(value: str, *, allow_bad_credit_code: bool) -> str:
    owner_id = normalise_owner_id(value)
    if owner_is_person(owner_id):
        try:
            return validate_resident_id(owner_id, "owner_id").number
        except ValidationError as err:
            # 18 digits that are no resident ID may still be an all-digit credit code.
            try:
                return validate_credit_code(owner_id, "owner_id").code
            except ValidationError:
                raise err from None
    return validate_credit_code(owner_id, "owner_id", allow_bad_checksum=allow_bad_credit_code).code


def _text(obj: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationError(key, "required", "is required", zh="必须填写")
        return ""
    if not isinstance(value, str):
        raise ValidationError(key, "type", "must be a string", zh="须为字符串")
    text = value.strip()
    if required and not text:
        raise ValidationError(key, "required", "must not be empty", zh="不得为空")
    limit = ASSET_ID_CHARS_MAX if key == "asset_id" else TEXT_CHARS_MAX
    if len(text) > limit:
        raise ValidationError(
            key, "length", f"at most {limit} characters", zh=f"不得超过{limit}个字符"
        )
    if any(ord(ch) < 0x20 for ch in text):
        raise ValidationError(
            key,
            "format",
            "must be one line without control characters",
            zh="须为一行文字，不得含控制字符",
        )
    return text


def _date(obj: Mapping[str, Any], key: str, field: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise ValidationError(
            field, "type", "must be a date string YYYY-MM-DD", zh="须为日期字符串，格式 YYYY-MM-DD"
        )
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValidationError(
            field, "format", "must be a date YYYY-MM-DD", zh="须为日期，格式 YYYY-MM-DD"
        ) from None


def _uint(obj: Mapping[str, Any], key: str, field: str) -> int:
    value = obj.get(key, 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(field, "type", "must be a whole number >= 0", zh="须为不小于0的整数")
    if value >= 2**63:
        raise ValidationError(field, "range", "must be below 2**63", zh="数值过大（须小于2**63）")
    return value


def _seizure(obj: object, position: int) -> payloads_pb2.ExistingSeizure:
    field = f"seizures[{position}]"
    if not isinstance(obj, Mapping):
        raise ValidationError(field, "type", "must be a JSON object", zh="须为 JSON 对象")
    unknown = sorted(str(k) for k in obj if k not in _SEIZURE_KNOWN)
    if unknown:
        key = unknown[0] if _SAFE_KEY_RE.fullmatch(unknown[0]) else "<unnamed>"
        raise ValidationError(
            f"{field}.{key}",
            "unknown_field",
            "is not a field of a seizure",
            zh=f"不是查封记录的字段（可用字段：{', '.join(sorted(_SEIZURE_KNOWN))}）",
        )
    court = obj.get("court")
    case = obj.get("case_number")
    if not isinstance(court, str) or not isinstance(case, str):
        raise ValidationError(
            field,
            "required",
            "court and case_number are required strings",
            zh="须写明查封法院（court）和查封案号（case_number）",
        )
    queue = _uint(obj, "queue_position", f"{field}.queue_position")
    if queue >= 2**32:
        raise ValidationError(
            f"{field}.queue_position", "range", "must be below 2**32", zh="数值过大（须小于2**32）"
        )
    return payloads_pb2.ExistingSeizure(
        court=parse_court_code(court, f"{field}.court").text,
        case_number=parse_case_number(case, f"{field}.case_number").text,
        start_on=_date(obj, "start_on", f"{field}.start_on"),
        end_on=_date(obj, "end_on", f"{field}.end_on"),
        queue_position=queue,
    )


def asset_from_json(
    obj: object, line_no: int | None = None, *, allow_bad_credit_code: bool = False
) -> payloads_pb2.AssetRecord:
    """One decoded JSON object of the import format -> a normalised AssetRecord.

    Unknown keys are refused (a misspelt key would silently drop data); errors carry
    `line_no` and never the value.
    """
    try:
        return _asset(obj, allow_bad_credit_code)
    except ValidationError as err:
        raise err.at_line(line_no) from None


def _asset(obj: object, allow_bad_credit_code: bool) -> payloads_pb2.AssetRecord:
    if not isinstance(obj, Mapping):
        raise ValidationError("asset", "type", "must be a JSON object", zh="每行须为一个 JSON 对象")
    unknown = sorted(str(key) for key in obj if key not in _KNOWN)
    if unknown:
        key = unknown[0] if _SAFE_KEY_RE.fullmatch(unknown[0]) else "<unnamed>"
        raise ValidationError(
            key, "unknown_field", "is not a field of the asset format", zh="不是财产导入格式的字段"
        )
    texts = {key: _text(obj, key, required=True) for key in _REQUIRED}
    texts.update({key: _text(obj, key, required=False) for key in _OPTIONAL_TEXT})
    (category,) = parse_categories([texts["category"]], "category")
    seizures = obj.get("seizures") or []
    if not isinstance(seizures, Sequence) or isinstance(seizures, str):
        raise ValidationError(
            "seizures", "type", "must be a list of objects", zh="须为查封记录（JSON 对象）的列表"
        )
    return payloads_pb2.AssetRecord(
        asset_id=texts["asset_id"],
        owner_id=_check_owner_id(texts["owner_id"], allow_bad_credit_code=allow_bad_credit_code),
        owner_name=texts["owner_name"],
        category=category,  # type: ignore[arg-type]
        registry=texts["registry"],
        reference=texts["reference"],
        description=texts["description"],
        location=texts["location"],
        value_fen=_uint(obj, "value_fen", "value_fen"),
        seizures=[_seizure(s, i) for i, s in enumerate(seizures)],
    )


def asset_to_json(record: payloads_pb2.AssetRecord) -> dict[str, Any]:
    """The import format of a record (empty optional fields omitted)."""
    doc: dict[str, Any] = {
        "asset_id": record.asset_id,
        "owner_id": record.owner_id,
        "owner_name": record.owner_name,
        "category": category_name(record.category),
        "registry": record.registry,
        "reference": record.reference,
        "description": record.description,
        "location": record.location,
        "value_fen": record.value_fen,
        "seizures": [
            {
                "court": s.court,
                "case_number": s.case_number,
                "start_on": s.start_on,
                "end_on": s.end_on,
                "queue_position": s.queue_position,
            }
            for s in record.seizures
        ],
    }
    return {k: v for k, v in doc.items() if v not in ("", [])}


def _mask_tail(value: str, keep: int) -> str:
    if not value:
        return value
    shown = min(keep, len(value) // 2)
    return "*" * (len(value) - shown) + value[len(value) - shown :]


def mask_owner_id(owner_id: str) -> str:
    """A resident ID with the default mask, a credit code with the credit-code mask; a value
    already masked (a client masking again what the node masked) is returned unchanged."""
    if "*" in owner_id:
        return owner_id
    return mask_id(owner_id, DEFAULT_MASK if owner_is_person(owner_id) else CREDIT_CODE_MASK)


def mask_asset(record: payloads_pb2.AssetRecord) -> payloads_pb2.AssetRecord:
    """A copy fit for a reader who did not reveal: the owner's identifier masked, a person's
    name reduced to the surname, account / certificate / plate numbers to their last four
    characters, the address to its first few (the district). An organisation's name and
    credit code are public (法释〔2017〕7号 art. 6) and are kept."""
    out = payloads_pb2.AssetRecord()
    out.CopyFrom(record)
    person = owner_is_person(record.owner_id)
    out.owner_id = mask_owner_id(record.owner_id) if person else record.owner_id
    out.owner_name = mask_name(record.owner_name, organisation=not person)
    out.reference = _mask_tail(record.reference, REFERENCE_KEEP_CHARS)
    if len(record.location) > LOCATION_KEEP_CHARS:
        out.location = record.location[:LOCATION_KEEP_CHARS] + "***"
    return out
