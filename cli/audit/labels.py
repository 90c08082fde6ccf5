"""Readable names for auditors: entry kinds in Chinese, times, and payloads with personal data
masked (names, ID numbers, credit codes of persons, owners, references, addresses)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.json_format import MessageToDict

from ccnode.v1 import log_pb2
from node.clock import CST
from sync.domain.identifiers import CREDIT_CODE_MASK, DEFAULT_MASK, mask_id, mask_name
from sync.hlc import physical_ms
from sync.payload import PayloadError, decode_payload

KIND_LABELS: dict[int, str] = {
    log_pb2.BLACKLIST_LISTED: "纳入失信名单",
    log_pb2.BLACKLIST_CORRECTED: "更正失信信息",
    log_pb2.BLACKLIST_DELISTED: "移出失信名单",
    log_pb2.TASK_DELEGATED: "委托执行",
    log_pb2.TASK_ACCEPTED: "受托立案",
    log_pb2.TASK_REJECTED: "不予受理",
    log_pb2.TASK_RETURNED: "退回补充",
    log_pb2.TASK_SUPPLEMENTED: "补充材料",
    log_pb2.TASK_PROGRESS: "执行进展",
    log_pb2.TASK_COMPLETED: "执行完毕",
    log_pb2.TASK_FAILED: "执行不能",
    log_pb2.TASK_CANCELLED: "撤回委托",
    log_pb2.SEIZURE_RENEWED: "续行查封",
    log_pb2.SEIZURE_RELEASED: "解除查封",
    log_pb2.LOOKUP_REQUESTED: "财产查询请求",
    log_pb2.LOOKUP_ANSWERED: "财产查询答复",
    log_pb2.LOOKUP_DENIED: "拒绝查询",
    log_pb2.ACCESS_RECORDED: "查阅记录",
}

# Payload fields that hold personal data, by field name, and how each is masked.
_ID_FIELDS = frozenset({"id_number", "owner_id", "subject_key"})
_NAME_FIELDS = frozenset({"name", "owner_name", "legal_representative", "judge"})
_HIDDEN_FIELDS = frozenset({"reference", "location", "address", "account", "phone"})
SUMMARY_CHARS_MAX = 160


def kind_name(kind: int) -> str:
    try:
        return log_pb2.EntryKind.Name(kind)  # type: ignore[arg-type]
    except ValueError:
        return str(kind)


def kind_label(kind: int) -> str:
    return KIND_LABELS.get(kind, kind_name(kind))


def parse_kind(text: str) -> int:
    """An entry kind by its name (BLACKLIST_LISTED, case-insensitive) or Chinese label."""
    for kind, label in KIND_LABELS.items():
        if text == label:
            return kind
    try:
        return int(log_pb2.EntryKind.Value(text.strip().upper()))
    except ValueError:
        raise ValueError(f"unknown kind {text!r}") from None


def hlc_time(hlc: int) -> str:
    """The HLC's wall-clock part as court-local (CST) time."""
    moment = dt.datetime.fromtimestamp(physical_ms(hlc) / 1000, CST)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _mask(key: str, value: Any, person: bool) -> Any:
    if isinstance(value, dict):
        is_person = value.get("type", "PERSON") != "ORG"
        return {k: _mask(k, v, is_person) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(key, v, person) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if key in _ID_FIELDS:
        return mask_id(value, DEFAULT_MASK)
    if key == "credit_code":
        return mask_id(value, CREDIT_CODE_MASK) if person else value
    if key in _NAME_FIELDS:
        return mask_name(value, organisation=not person and key == "name")
    if key in _HIDDEN_FIELDS:
        return "*" * min(len(value), 8)
    return value


def payload_view(kind: int, payload: bytes | None, *, reveal: bool) -> dict[str, Any] | None:
    """The payload body as a dict, personal data masked unless ``reveal``; None if absent."""
    if payload is None:
        return None
    try:
        message = decode_payload(kind, payload)
    except PayloadError:
        return {"error": "payload does not decode"}
    body = MessageToDict(message, preserving_proto_field_name=True)
    value: dict[str, Any] = next(iter(body.values()), {})
    if reveal:
        return value
    masked: dict[str, Any] = _mask("", value, True)
    return masked


def summary(view: dict[str, Any] | None) -> str:
    """One line: the leaf fields of a payload view, shortened."""
    if view is None:
        return "—"
    parts: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list):
            parts.append(f"{prefix}=[{len(value)}]")
        else:
            parts.append(f"{prefix.rsplit('.', 1)[-1]}={value}")

    walk("", view)
    text = " ".join(parts)
    return text if len(text) <= SUMMARY_CHARS_MAX else text[: SUMMARY_CHARS_MAX - 1] + "…"
