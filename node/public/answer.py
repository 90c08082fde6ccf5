"""What the public page answers: the query's checks, the published fields of each listing
found, and the size and freshness of every region's list. One answer, two forms (HTML and
JSON): ``answer_doc`` builds it, node/public/render.py writes it as a page.

Published fields (法释〔2017〕7号 art. 6): for an organisation its name, credit code and legal
representative; for a person name, sex, age and ID number (masked); then the obligation and
its performance, the dishonest conduct, the enforcement basis (issuer and number), the case
number, filing date and enforcing court. Nothing else of a listing is shown (no subject's
internal notes, no delisting reason text, no representatives' IDs unmasked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ccnode.v1 import payloads_pb2, state_pb2
from node.businesses.blacklist.check import SubjectCheck, SubjectHit, check_subject
from node.clock import CST
from node.store.base import LogReader, RowQuery, RowStore
from sync.domain.blacklist import CreditRepair, DelistGround, ListingGround
from sync.domain.errors import ValidationError
from sync.domain.identifiers import (
    CREDIT_CODE_MASK,
    DEFAULT_MASK,
    MaskPolicy,
    age_on,
    mask_id,
    validate_credit_code,
    validate_resident_id,
)
from sync.folds import blacklist as bl_fold
from sync.hlc import physical_ms

__all__ = [
    "Masks",
    "PublicStore",
    "QueryError",
    "answer_doc",
    "parse_query",
    "read_answer",
    "region_stats",
]

NAME_CHARS_MAX: Final = 200  # the listing's own limit on a debtor's name
ID_MASKS: Final[dict[str, MaskPolicy]] = {
    "birth_date": DEFAULT_MASK,
    "keep_ends": MaskPolicy.keep_ends(6, 4),
}
_SEX_ZH: Final = {"M": "男", "F": "女"}


class PublicStore(LogReader, RowStore, Protocol):
    """What the public page reads: the folded listings, and each origin's log state."""


# The query's fields as the form labels them (node/public/render.py).
FIELD_ZH: Final = {"name": "被执行人姓名/名称", "id": "身份证号码/统一社会信用代码"}


class QueryError(Exception):
    """A query the page refuses: ``field`` ("name" or "id") and ``rule`` name what is wrong;
    the messages say it in Chinese first (``zh``: the field as the form labels it, then the
    rule), then in English (``en``: ``<field>: <rule>``), and never repeat the value."""

    def __init__(self, field: str, rule: str, zh: str, en: str) -> None:
        super().__init__(f"{FIELD_ZH[field]}：{zh} / {field}: {en}")
        self.field = field
        self.rule = rule
        self.zh = f"{FIELD_ZH[field]}：{zh}"
        self.en = f"{field}: {en}"


@dataclass(frozen=True)
class Query:
    name: str = ""
    id_number: str = ""  # normalised: upper case, no surrounding space
    person: bool = True  # a resident ID (else a credit code)


@dataclass(frozen=True)
class Masks:
    id_policy: MaskPolicy = DEFAULT_MASK
    show_credit_codes: bool = True

    def person_id(self, value: str) -> str:
        return mask_id(value, self.id_policy) if value else ""

    def credit_code(self, value: str) -> str:
        if not value or self.show_credit_codes:
            return value
        return mask_id(value, CREDIT_CODE_MASK)


def parse_query(fields: Mapping[str, object]) -> Query:
    """The query's name and ID, both required: a name alone would let anyone list every
    person of that name, an ID alone would let anyone confirm a guessed ID."""
    name = fields.get("name")
    id_number = fields.get("id")
    if not isinstance(name, str) or not name.strip():
        raise QueryError(
            "name",
            "required",
            "必须填写完整的姓名或名称",
            "the person's or organisation's full name is required",
        )
    if len(name.strip()) > NAME_CHARS_MAX:
        raise QueryError(
            "name",
            "too_long",
            f"不得超过{NAME_CHARS_MAX}个字符",
            f"at most {NAME_CHARS_MAX} characters",
        )
    if not isinstance(id_number, str) or not id_number.strip():
        raise QueryError(
            "id",
            "required",
            "必须填写身份证号码或统一社会信用代码",
            "the resident ID number or unified social credit code is required",
        )
    value = id_number.strip().upper()
    try:
        return Query(name.strip(), validate_resident_id(value, "id").number, person=True)
    except ValidationError:
        pass
    # Early legal credit codes may fail their check character (DOMAIN.md): still looked up,
    # unless the value has a resident ID's shape (17 digits and a digit or X), which then
    # is a mistyped ID number unless it is a credit code whose check character matches.
    id_shaped = len(value) == 18 and value[:17].isdigit() and value[17] in "0123456789X"
    try:
        code = validate_credit_code(value, "id", allow_bad_checksum=not id_shaped).code
    except ValidationError:
        raise QueryError(
            "id",
            "format",
            "不是有效的18位公民身份号码（GB 11643）或统一社会信用代码（GB 32100）",
            "not a valid 18-character resident ID number (GB 11643) or unified social credit "
            "code (GB 32100)",
        ) from None
    return Query(name.strip(), code, person=False)


@dataclass(frozen=True)
class RegionStat:
    region: str  # the origin node
    listed: int  # listings in force
    updated_ms: int  # time of the newest entry held of that region's log (0: none)


def region_stats(store: PublicStore) -> tuple[RegionStat, ...]:
    """Per origin the node holds: its listings in force and how fresh the held copy is."""
    out = []
    for state in store.origin_states():
        _, listed = store.query_rows(
            RowQuery(
                table=bl_fold.TABLE,
                prefix={"key": bl_fold.subject_prefix(state.origin)},
                equals={"status": "listed"},
                limit=0,
            )
        )
        last = store.entries(state.origin, state.size - 1, state.size) if state.size else []
        out.append(RegionStat(state.origin, listed, physical_ms(last[0].hlc) if last else 0))
    return tuple(out)


def read_answer(store: PublicStore, query: Query, *, show_ended: bool) -> SubjectCheck:
    """The listings of the subject with exactly this name and ID (check_subject)."""
    statuses = {"listed", "delisted"} if show_ended else {"listed"}
    return check_subject(store, query.id_number, name=query.name, statuses=statuses)


def answer_doc(
    query: Query,
    check: SubjectCheck,
    regions: tuple[RegionStat, ...],
    masks: Masks,
    *,
    now_ms: int,
) -> dict[str, Any]:
    """The answer as plain data (the JSON form; the page renders the same)."""
    hits = sorted(check.hits, key=lambda h: (not h.listed, h.listing.subject))
    return {
        "listed": check.listed,
        "query": {"name": query.name, "id": masks.person_id(query.id_number)
                  if query.person else masks.credit_code(query.id_number)},
        "listings": [_hit_doc(hit, masks) for hit in hits],
        "truncated": check.truncated,
        "regions": [
            {"region": r.region, "listed": r.listed, "updated_at": _time(r.updated_ms)}
            for r in regions
        ],
        "as_of": _time(now_ms),
    }  # fmt: skip


def _time(unix_ms: int) -> str:
    if not unix_ms:
        return ""
    return dt.datetime.fromtimestamp(unix_ms / 1000, CST).isoformat(timespec="seconds")


def _hit_doc(hit: SubjectHit, masks: Masks) -> dict[str, Any]:
    s = hit.listing
    rec = s.record
    doc: dict[str, Any] = {
        "region": s.origin,
        "status": s.status,
        "reason": hit.reason_en,
        "reason_zh": hit.reason_zh,
        "debtor": _debtor_doc(rec, masks),
        "obligation": rec.obligation,
        "performance": rec.performance,
        "ground": _ground(rec.ground),
        "conduct": rec.conduct,
        "basis_issuer": rec.basis_issuer,
        "basis_number": rec.basis_number,
        "case_number": rec.case_number,
        "filed_on": rec.filed_on,
        "court": rec.court,
        "listed_on": rec.listed_on,
    }
    if hit.role is not None and hit.representative is not None:
        doc["representative"] = {
            "role": hit.role.name,
            "role_zh": hit.role.label_zh,
            "role_en": hit.role.label_en,
            "name": hit.representative.name,
            "id": masks.person_id(hit.representative.id_number),
        }
    if s.status == "delisted":
        doc["ended"] = _ended_doc(s)
    return doc


def _debtor_doc(rec: payloads_pb2.BlacklistRecord, masks: Masks) -> dict[str, Any]:
    d = rec.debtor
    if d.type == payloads_pb2.ORG:
        return {
            "type": "org",
            "name": d.name,
            "credit_code": masks.credit_code(d.credit_code),
            "legal_representative": d.legal_representative,
        }
    return {
        "type": "person",
        "name": d.name,
        "sex": _SEX_ZH.get(d.sex, ""),
        "age": _age(d.id_number, rec.listed_on),
        "id": masks.person_id(d.id_number),
    }


def _age(id_number: str, listed_on: str) -> int | None:
    """Age on the listing date (art. 6 publishes the age, not the birth date)."""
    try:
        return age_on(validate_resident_id(id_number), dt.date.fromisoformat(listed_on))
    except (ValidationError, ValueError):
        return None


def _ground(value: int) -> dict[str, str]:
    name = _GROUNDS.get(value, "")
    if not name:
        return {"code": "", "zh": "", "en": ""}
    ground = ListingGround(name)
    return {"code": name, "zh": ground.label_zh, "en": ground.label_en}


_GROUNDS: Final = {
    v.number: v.name for v in payloads_pb2.ListingGround.DESCRIPTOR.values if v.number
}
_REPAIRS: Final = {
    payloads_pb2.ACTIVE_PERFORMANCE: CreditRepair.ACTIVE_PERFORMANCE,
    payloads_pb2.CREDITOR_REQUEST: CreditRepair.CREDITOR_REQUEST,
}


def _ended_doc(s: state_pb2.ListingState) -> dict[str, Any]:
    """How a listing ended; a credit repair (信用修复: early deletion on active performance,
    art. 2 ¶2, or on the creditor's request, art. 10 D3) says which."""
    repair = _REPAIRS.get(s.credit_repair)
    ground = ""
    ground_zh = ""
    try:
        ground_enum = DelistGround(payloads_pb2.DelistGround.Name(s.delist_ground))
        ground, ground_zh = ground_enum.value, ground_enum.label_zh
    except ValueError:
        pass
    return {
        "on": s.delisted_on,
        "ground": ground,
        "ground_zh": ground_zh,
        "credit_repaired": repair is not None,
        "credit_repair": repair.value if repair else "",
        "credit_repair_zh": repair.label_zh if repair else "",
    }
