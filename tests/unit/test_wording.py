"""Refusals in the courts' terms (sync/domain/wording.py): every refusal the node or the CLI
makes is worded in Chinese first, names its field as the CLI help does, shows values as the
officer types them, and travels the same through the CLI and the structured error details."""

from __future__ import annotations

import ast
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.rpc import error_details_pb2, status_pb2

from node.ownlog.writer import DraftRejected
from node.services.errors import LOCALE, draft_status, refusal_status
from sync.domain.errors import ValidationError
from sync.domain.wording import FIELDS, field_label, joined, known_field, yuan

ROOT = Path(__file__).resolve().parents[2]
# The calls that make a refusal, and the position of their field argument.
_REFUSALS = {
    "ValidationError": 0,
    "DraftRejected": 1,
    "AlreadyDone": 1,
    "refuse": 1,
    "refusal_status": 0,
}
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Enum spellings the officer never types (the CLI takes `creditor`, `deposit` / 存款 …).
_ENUM_NAME = re.compile(
    r"\b(?:DEPOSIT|WEALTH|SECURITIES|REAL_ESTATE|VEHICLE|EQUITY|SHIP|ONLINE_FUNDS|"
    r"OTHER_PROPERTY|CREDITOR_REQUEST|ACTIVE_PERFORMANCE|WHOLE_CASE|MATTER|PERSON|ORG|"
    r"LEGAL_REPRESENTATIVE|[A-Z]+_[A-Z_]+)\b"
)


def _calls() -> Iterator[tuple[str, int, str, ast.Call]]:
    for folder in ("sync", "node", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "_pb2" in path.name:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else ""
                )
                if name in _REFUSALS:
                    yield str(path.relative_to(ROOT)), node.lineno, name, node


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _literal_text(expr: ast.expr | None) -> str | None:
    """The constant text of a string or f-string (its literal parts), else None."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        return "".join(
            v.value for v in expr.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


REFUSAL_CALLS = [c for c in _calls() if c[2] != "refusal_status" or "errors.py" not in c[0]]


def test_every_refusal_is_worded_in_chinese() -> None:
    missing, not_chinese = [], []
    for path, line, name, call in REFUSAL_CALLS:
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            continue  # a forwarding call (``*args`` / ``**kwargs``)
        if name in ("DraftRejected", "ValidationError") and len(call.args) < 3:
            continue  # a class used as a type or a classmethod call
        zh = _keyword(call, "zh")
        if zh is None:
            missing.append(f"{path}:{line} {name}")
            continue
        text = _literal_text(zh)
        if text is not None and not _CJK.search(text):
            not_chinese.append(f"{path}:{line} {name}: {text!r}")
    assert not missing, "refusals without a Chinese wording (zh=):\n" + "\n".join(missing)
    assert not not_chinese, "zh= that is not Chinese:\n" + "\n".join(not_chinese)


def test_refusals_show_values_as_the_officer_types_them() -> None:
    bad = []
    for path, line, name, call in REFUSAL_CALLS:
        for key in ("zh",):
            text = _literal_text(_keyword(call, key))
            if text is None:
                continue
            if _ENUM_NAME.search(text):
                bad.append(f"{path}:{line} {name} {key}: enum name in {text!r}")
            if re.search(r"\bfen\b|分）|_fen\b", text):
                bad.append(f"{path}:{line} {name} {key}: amount in fen in {text!r}")
        at = _REFUSALS[name] + 2
        if len(call.args) > at:
            explanation = _literal_text(call.args[at])
            if explanation and _ENUM_NAME.search(explanation):
                bad.append(f"{path}:{line} {name}: enum name in {explanation!r}")
    assert not bad, "\n".join(bad)


def test_every_literal_field_has_its_chinese_name() -> None:
    unknown = []
    for path, line, name, call in REFUSAL_CALLS:
        position = _REFUSALS[name]
        if len(call.args) <= position:
            continue
        field = call.args[position]
        if isinstance(field, ast.Constant) and isinstance(field.value, str):
            text = field.value
        elif isinstance(field, ast.JoinedStr) and isinstance(field.values[-1], ast.Constant):
            text = str(field.values[-1].value).lstrip(".")  # f"{where}.id_number"
            text = re.sub(r"^\]\.?", "", text)
        else:
            continue
        if text and not known_field(text):
            unknown.append(f"{path}:{line} {text}")
    assert not unknown, "fields without a Chinese name in sync/domain/wording.py:\n" + "\n".join(
        unknown
    )


def test_field_labels_name_the_cli_option_and_the_position() -> None:
    assert field_label("term_years") == "惩戒期限（年）（--term-years）"
    assert field_label("representatives[1].id_number") == "第2个代表人身份证号（--representative）"
    assert field_label("subject") == "事项编号"
    assert field_label("no_such_field") == "no_such_field"
    assert all(name.zh and _CJK.search(name.zh) for name in FIELDS.values())


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00 元"), (5, "0.05 元"), (123456, "1,234.56 元"), (-100, "-1.00 元")],
)
def test_amounts_read_in_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_validation_error_reads_chinese_first() -> None:
    err = ValidationError(
        "term_years",
        "extension_reason",
        "a term over 2 years needs its reason",
        zh="期限超过二年的，须写明延长事由（《失信规定》第二条第二款）",
    )
    assert str(err) == (
        "惩戒期限（年）（--term-years）：期限超过二年的，须写明延长事由（《失信规定》第二条第二款）"
        " / term_years: a term over 2 years needs its reason"
    )
    assert str(err.at_line(4)).startswith("第4行（line 4）：惩戒期限（年）")
    again = pickle.loads(pickle.dumps(err.at_line(4)))
    assert (again.zh, again.line_no, str(again)) == (err.zh, 4, str(err.at_line(4)))


def test_structured_details_carry_the_same_wording() -> None:
    status = refusal_status("amount_fen", "range", "must be positive", zh="须大于 0.00 元")
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    parsed = status_pb2.Status.FromString(details)
    sentence = f"{field_label('amount_fen')}：须大于 0.00 元"
    assert parsed.message == joined("amount_fen", "须大于 0.00 元", "must be positive")
    localized = [
        error_details_pb2.LocalizedMessage()
        for d in parsed.details
        if d.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR)
    ]
    assert len(localized) == 1
    next(d for d in parsed.details if d.Is(localized[0].DESCRIPTOR)).Unpack(localized[0])
    assert (localized[0].locale, localized[0].message) == (LOCALE, sentence)
    bad = error_details_pb2.BadRequest()
    next(d for d in parsed.details if d.Is(bad.DESCRIPTOR)).Unpack(bad)
    violation = bad.field_violations[0]
    assert (violation.field, violation.description, violation.reason) == (
        "amount_fen",
        "must be positive",
        "range",
    )
    assert violation.localized_message.message == sentence


def test_a_refused_draft_keeps_its_wording_at_its_position() -> None:
    err = ValidationError("court", "court_prefix", "is not served here", zh="不属本节点所辖法院")
    rejected = DraftRejected.invalid(0, err).at(3)
    assert (rejected.position, rejected.zh, rejected.explanation) == (3, err.zh, err.explanation)
    assert str(rejected) == f"draft 3: {err!s}"
    status = draft_status(3, rejected)
    assert dict(status.trailing_metadata)["grpc-status-details-bin"]
