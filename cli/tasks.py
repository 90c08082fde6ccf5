"""``ccnode tasks``: 委托执行 / 事项委托 — delegate, act on and read delegated enforcement tasks.

Writes are drafts through the node's Admin.Submit: the node checks the step's content, that
this node is the side that may take it, and the seizure limits, then appends it with the
task's latest events as parents. Reads go through the Tasks service on the same socket; the
node masks personal identifiers and computes the time-limit flags on its clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2, tasks_pb2
from cli.common.client import node_client, warnings_of
from cli.common.errors import InvalidInput
from cli.common.options import (
    actor_option,
    as_of_option,
    as_of_text,
    confirm_option,
    home_option,
    json_option,
)
from cli.lookup import assets_from_lookup
from cli.output import console, emit_json, err_console, print_table, table
from cli.retention import print_purged, purged_docs
from sync.domain import wording
from sync.domain.assets import CATEGORY_BY_NAME, category_text
from sync.payload import body_name

F = TypeVar("F", bound=Callable[..., Any])

LIST_LIMIT_MAX = 1000
_DIGEST_HEX_CHARS = 64
# An amount in 元 as the officer types it: whole 元, at most two decimals (角, 分).
_YUAN_RE = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")
_FEN_LIMIT = 2**63  # the amounts are int64 fen

_MATTERS = {
    "investigate": payloads_pb2.INVESTIGATE,
    "freeze": payloads_pb2.FREEZE,
    "renew": payloads_pb2.RENEW,
    "unfreeze": payloads_pb2.UNFREEZE,
    "deduct": payloads_pb2.DEDUCT,
    "seize": payloads_pb2.SEIZE,
    "serve": payloads_pb2.SERVE,
    "control-person": payloads_pb2.CONTROL_PERSON,
}
_SCOPES = {"whole": payloads_pb2.WHOLE_CASE, "matter": payloads_pb2.MATTER}
_CATEGORIES = [
    name.lower()
    for name in payloads_pb2.AssetCategory.keys()
    if name != "ASSET_CATEGORY_UNSPECIFIED"
]
STATUS_ZH = {
    "unknown": "unknown 未知",
    "delegated": "delegated 已委托",
    "accepted": "accepted 已立案",
    "in_progress": "in progress 执行中",
    "returned": "returned 已退回",
    "completed": "completed 已完成",
    "failed": "failed 未能执行",
    "rejected": "rejected 不予受理",
    "cancelled": "cancelled 已撤回",
    "refused": "refused 已结案不得再委托",
}


# ---------------------------------------------------------------- writes


def submit(home: Path, drafts: Sequence[admin_pb2.Draft], actor: str) -> admin_pb2.SubmitResponse:
    """Submit drafts in one request; a refusal shows the node's field, rule and reason."""
    with node_client(home) as client:
        return client.submit(drafts, actor)


def report_written(verb: str, response: admin_pb2.SubmitResponse, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "subjects": list(response.subjects),
                "entry_ids": list(response.entry_ids),
                "size": response.size,
                "warnings": warnings_of(response),
            }
        )
        return
    for warning in warnings_of(response):
        err_console().print(f"[yellow]warning 注意:[/] {warning}", markup=True)
    for subject, entry_id in zip(response.subjects, response.entry_ids, strict=False):
        console().print(f"{verb} {subject} (entry {entry_id})")


# ---------------------------------------------------------------- drafts


def step_draft(kind: int, subject: str, body: Message) -> admin_pb2.Draft:
    payload = payloads_pb2.Payload()
    getattr(payload, body_name(kind)).CopyFrom(body)
    return admin_pb2.Draft(kind=kind, subject=subject, payload=payload)  # type: ignore[arg-type]


def delegation_draft(
    *,
    scope: int,
    matter: int,
    case_number: str,
    judge: str,
    receiving_node: str,
    receiving_court: str,
    debtor: payloads_pb2.Debtor,
    assets: Sequence[payloads_pb2.AssetRecord],
    amount_fen: int,
    costs_fen: int = 0,
    delegating_court: str = "",
    documents: Sequence[payloads_pb2.DocumentRef] = (),
    deadline_on: str = "",
    from_lookup: str = "",
    note: str = "",
    confirm_bad_credit_code: bool = False,
) -> admin_pb2.Draft:
    """A TASK_DELEGATED draft for the given assets — e.g. those a lookup answer found, with
    ``from_lookup`` naming that lookup. The node validates it when it is submitted."""
    body = payloads_pb2.TaskDelegated(
        scope=scope,  # type: ignore[arg-type]
        matter=matter,  # type: ignore[arg-type]
        case_number=case_number,
        delegating_court=delegating_court,
        judge=judge,
        receiving_node=receiving_node,
        receiving_court=receiving_court,
        debtor=debtor,
        assets=assets,
        amount_fen=amount_fen,
        costs_fen=costs_fen,
        deadline_on=deadline_on,
        documents=documents,
        from_lookup=from_lookup,
        note=note,
    )
    return admin_pb2.Draft(
        kind=log_pb2.TASK_DELEGATED,
        payload=payloads_pb2.Payload(task_delegated=body),
        confirm_bad_credit_code=confirm_bad_credit_code,
    )


def refused(option: str, name_zh: str, zh: str, explanation: str) -> InvalidInput:
    """The CLI's own refusal of an option, worded like the node's (sync/domain/wording.py):
    ``<name>（<option>）：<zh> / <option>: <explanation>``; never the refused value unless the
    caller knows it is public (an amount, a category name)."""
    return InvalidInput(f"{name_zh}（{option}）：{zh} / {option}: {explanation}")


_OPTION_NAMES = {"--asset": "财产", "--found": "查得财产", "--measure": "查封、扣押、冻结措施"}


def _category(text: str, option: str) -> int:
    if text.lower() not in _CATEGORIES:
        known_zh = "、".join(category_text(v) for v in CATEGORY_BY_NAME.values())
        raise refused(
            option,
            _OPTION_NAMES.get(option, "财产类别"),
            f"财产类别须为以下之一：{known_zh}",
            f"category must be one of {', '.join(_CATEGORIES)}",
        )
    return int(payloads_pb2.AssetCategory.Value(text.upper()))


def _int(text: str, key: str, option: str) -> int:
    if not text.isdigit():
        raise refused(
            option,
            _OPTION_NAMES.get(option, option),
            f"{key} 须为不小于0的整数",
            f"{key} must be a whole number",
        )
    return int(text)


def parse_yuan(text: str, option: str, name_zh: str, *, minimum_fen: int) -> int:
    """An amount typed in 元 (``12345.67``, at most two decimals) -> fen, exactly (no float);
    at least ``minimum_fen``. Anything else (a sign, a thousands separator, three decimals, an
    exponent) is refused naming the option."""
    match = _YUAN_RE.fullmatch(text.strip())
    if match is None:
        raise refused(
            option,
            name_zh,
            "须为以元为单位的金额，最多两位小数，如 12345.67（不带符号、千位分隔符或“元”字）",
            "must be an amount in yuan with at most 2 decimals, e.g. 12345.67",
        )
    fen = int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))
    if fen < minimum_fen:
        least = wording.yuan(minimum_fen)
        raise refused(
            option, name_zh, f"不得少于{least}", f"must be at least {least.replace(' 元', ' yuan')}"
        )
    if fen >= _FEN_LIMIT:
        raise refused(option, name_zh, "金额过大", "is too large")
    return fen


def _amount(yuan_text: str | None, fen: int | None, option: str, name_zh: str, *,
            minimum_fen: int, default: int | None) -> int:  # fmt: skip
    """One amount, given in 元 (``option``) or in fen (``option``-fen), not both."""
    fen_option = f"{option}-fen"
    if yuan_text is not None and fen is not None:
        raise refused(
            option,
            name_zh,
            f"{option}（元）与 {fen_option}（分）只能填写一个",
            f"give {option} (yuan) or {fen_option} (fen), not both",
        )
    if yuan_text is not None:
        return parse_yuan(yuan_text, option, name_zh, minimum_fen=minimum_fen)
    if fen is not None:
        return fen
    if default is None:
        raise refused(
            option,
            name_zh,
            f"必须填写（{option} 以元为单位，或 {fen_option} 以分为单位）",
            f"is required: {option} in yuan or {fen_option} in fen",
        )
    return default


def parse_asset(spec: str, option: str = "--asset") -> payloads_pb2.AssetRecord:
    """CATEGORY:ASSET_ID[:VALUE_FEN], e.g. deposit:6222-0001:500000."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[1]:
        raise refused(
            option,
            _OPTION_NAMES.get(option, "财产"),
            "须为 类别:财产编号[:价值（分）]，如 deposit:6222-0001:500000",
            "must be CATEGORY:ASSET_ID[:VALUE_FEN]",
        )
    value_fen = _int(parts[2], "VALUE_FEN", option) if len(parts) == 3 else 0
    return payloads_pb2.AssetRecord(
        category=_category(parts[0], option),  # type: ignore[arg-type]
        asset_id=parts[1],
        value_fen=value_fen,
    )


_MEASURE_KEYS = ("asset", "category", "value_fen", "term_days", "start_on", "queue", "indivisible")


def parse_measure(spec: str) -> payloads_pb2.SeizureMeasure:
    """key=value pairs: asset, category, value_fen, term_days [, start_on, queue, indivisible
    (its reason)], e.g. asset=6222-0001,category=deposit,value_fen=500000,term_days=365."""
    option = "--measure"
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _MEASURE_KEYS:
            raise refused(
                option,
                _OPTION_NAMES[option],
                f"须为 键=值 的列表，键为 {', '.join(_MEASURE_KEYS)}",
                f"expected key=value pairs with keys {', '.join(_MEASURE_KEYS)}",
            )
        fields[key] = value.strip()
    for key in ("asset", "category", "value_fen", "term_days"):
        if not fields.get(key):
            raise refused(option, _OPTION_NAMES[option], f"须写明 {key}", f"{key} is required")
    reason = fields.get("indivisible", "")
    return payloads_pb2.SeizureMeasure(
        asset=payloads_pb2.AssetRecord(
            asset_id=fields["asset"],
            category=_category(fields["category"], option),  # type: ignore[arg-type]
        ),
        value_fen=_int(fields["value_fen"], "value_fen", option),
        term_days=_int(fields["term_days"], "term_days", option),
        start_on=fields.get("start_on", ""),
        queue_position=_int(fields["queue"], "queue", option) if fields.get("queue") else 0,
        indivisible=bool(reason),
        indivisible_reason=reason,
    )


def documents(files: Sequence[Path], digests: Sequence[str]) -> list[payloads_pb2.DocumentRef]:
    """Documents by digest: files are hashed here (SHA-256) and only the digest is sent."""
    out = [
        payloads_pb2.DocumentRef(name=f.name, sha256=hashlib.sha256(f.read_bytes()).digest())
        for f in files
    ]
    for spec in digests:
        name, sep, hex_digest = spec.rpartition("=")
        try:
            digest = bytes.fromhex(hex_digest)
        except ValueError:
            digest = b""
        if not sep or not name or len(hex_digest) != _DIGEST_HEX_CHARS or len(digest) != 32:
            raise refused(
                "--document-digest",
                "委托材料摘要",
                "须为 名称=SHA-256摘要（64位十六进制）",
                "must be NAME=SHA256 with 64 hex digits",
            )
        out.append(payloads_pb2.DocumentRef(name=name, sha256=digest))
    return out


def documents_options(*, required: bool) -> Callable[[F], F]:
    """``--document`` and ``--document-digest``; ``required``: the node refuses the step
    without at least one of them (a delegation names its letter and files), and the help of
    both says so, since click cannot mark "one of two" as required."""
    needed = (
        " Required: at least one --document or --document-digest (the delegation letter "
        "委托函 and files)."
        if required
        else ""
    )

    def decorate(fn: F) -> F:
        fn = click.option(
            "--document-digest",
            "document_digests",
            multiple=True,
            metavar="NAME=SHA256",
            help="A document already hashed. Repeatable." + needed,
        )(fn)
        return click.option(
            "--document",
            "document_files",
            multiple=True,
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="A file to attach by its SHA-256 (the file itself stays here). Repeatable."
            + needed,
        )(fn)

    return decorate


document_options = documents_options(required=False)


# ---------------------------------------------------------------- display


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def doc_of(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def _enum(enum: Any, value: int) -> str:
    try:
        return "" if value == 0 else str(enum.Name(value))
    except ValueError:
        return str(value)


def _flags(item: tasks_pb2.TaskItem) -> str:
    return ", ".join(f"{f.code} (due {f.due_on})" for f in item.flags)


def items_table(items: Sequence[tasks_pb2.TaskItem], title: str | None = None) -> None:
    t = table(
        "task 任务", "status 状态", "scope 类型", "案号 case", "from 委托方", "to 受托方",
        "delegated 委托日", "flags 超期",
        title=title,
    )  # fmt: skip
    for item in items:
        d = item.delegation
        scope = _enum(payloads_pb2.TaskScope, d.scope)
        if d.matter:
            scope += f"/{_enum(payloads_pb2.MatterKind, d.matter)}"
        t.add_row(
            item.subject,
            STATUS_ZH.get(item.status, item.status),
            scope,
            d.case_number,
            item.delegating_node,
            item.receiving_node,
            item.delegated_on,
            _flags(item),
        )
    print_table(t)


def _closure(item: tasks_pb2.TaskItem) -> str:
    """Whole-case closure (结案): this task closes its case, or was refused as closed."""
    if item.case_closed_by:
        return f"refused: the case was closed by whole-case task {item.case_closed_by}"
    if item.closes_case:
        return "the delegating court's case is closed by this whole-case delegation"
    return ""


def _show(item: tasks_pb2.TaskItem) -> None:
    d = item.delegation
    t = table("field 项目", "value 值", title=f"task {item.subject}")
    rows: list[tuple[str, str]] = [
        ("status 状态", STATUS_ZH.get(item.status, item.status)),
        ("scope 类型", _enum(payloads_pb2.TaskScope, d.scope)),
        ("matter 事项", _enum(payloads_pb2.MatterKind, d.matter)),
        ("case 案号", d.case_number),
        ("delegating court 委托法院", f"{d.delegating_court} {d.judge}".strip()),
        ("receiving 受托", f"{item.receiving_node} {d.receiving_court}".strip()),
        (
            "debtor 被执行人",
            f"{d.debtor.name} {d.debtor.id_number or d.debtor.credit_code}".strip(),
        ),
        ("amount 标的额", yuan(d.amount_fen) if d.amount_fen else ""),
        ("costs 执行费用", yuan(d.costs_fen) if d.costs_fen else ""),
        ("registered case 受托案号", item.registered_case_number),
        ("receiving judge 承办法官", item.receiving_judge),
        ("delegated on 委托日", item.delegated_on),
        ("accepted on 立案日", item.accepted_on),
        ("started on 开始执行", item.started_on),
        ("last report 最近报告", item.last_report_on),
        ("returned on 退回日", item.returned_on),
        ("finished on 结束日", item.finished_on),
        ("reason 理由", item.reason),
        ("result 结果", item.result),
        ("documents 材料", ", ".join(x.name for x in item.documents)),
        ("flags 超期", _flags(item)),
        ("follow-ups 后续", "; ".join(item.follow_ups)),
        ("case closed 结案", _closure(item)),
        ("details 详情", "headers only 仅有摘要" if item.details_unknown else ""),
    ]
    for key, value in rows:
        if value:
            t.add_row(key, value)
    print_table(t)
    h = table("#", "entry 条目", "kind 类型", "by 承办人", "on 日期", "outcome 结果", "rule 规则",
              title="events 记录 (canonical order)")  # fmt: skip
    for e in item.events:
        outcome = e.outcome if not e.note else f"{e.outcome}: {e.note}"
        h.add_row(str(e.position or "-"), e.entry_id, _enum(log_pb2.EntryKind, e.kind), e.actor,
                  e.on, outcome, e.rule)  # fmt: skip
    print_table(h)
    if item.seizures:
        seizures_table(item.seizures)


def _flag_texts(s: tasks_pb2.SeizureItem) -> list[str]:
    """The flags, "release_needed" with its place when an indivisible asset left the case over
    its cap (release #1 first: the latest-imposed, then the smallest)."""
    return [
        f"{f} #{s.release_order}" if f == "release_needed" and s.release_order else f
        for f in s.flags
    ]


def seizures_table(items: Sequence[tasks_pb2.SeizureItem], title: str | None = None) -> None:
    t = table(
        "seizure 查封", "asset 财产", "category 类别", "value 价值", "state 状态", "until 至",
        "days 剩余", "flags 提示",
        title=title or "seizures 查封冻结",
    )  # fmt: skip
    for s in items:
        m = s.measure
        state = s.state or s.status
        if s.queue_ahead:
            state += f" (#{s.queue_ahead})"
        t.add_row(
            s.seizure_id,
            m.asset.asset_id,
            _enum(payloads_pb2.AssetCategory, m.asset.category).lower(),
            yuan(m.value_fen),
            state,
            s.effective_end_on or s.end_on,
            str(s.days_left) if state == "in_effect" else "",
            ", ".join([*_flag_texts(s), *([s.follow_up] if s.follow_up else [])]),
        )
    print_table(t)


# ---------------------------------------------------------------- commands


@click.group("tasks")
def tasks() -> None:
    """委托执行 / 事项委托: delegated enforcement tasks between regions."""


@tasks.command("delegate")
@home_option
@click.option("--to", "receiving_node", required=True, help="Receiving node 受托节点 (node id).")
@click.option(
    "--receiving-court", required=True, help="Receiving court code 受托法院, e.g. 渝0103."
)
@click.option("--scope", type=click.Choice(sorted(_SCOPES)), required=True,
              help="whole: 委托执行 (a new case there); matter: 事项委托.")  # fmt: skip
@click.option("--matter", type=click.Choice(sorted(_MATTERS)), default=None,
              help="The matter of a matter delegation (required with --scope matter).")  # fmt: skip
@click.option("--case-number", required=True, help="Enforcement case 案号 (执/执恢/执保).")
@click.option("--court", default="", help="Delegating court (default: the case's court).")
@click.option("--judge", required=True, help="Delegating judge 承办法官.")
@click.option("--debtor-type", type=click.Choice(["person", "org"]), required=True)
@click.option("--debtor-name", required=True, help="Debtor 被执行人.")
@click.option("--id-number", default="", help="Resident ID (persons).")
@click.option("--credit-code", default="", help="Unified social credit code (organisations).")
@click.option("--amount", "amount_yuan", default=None, metavar="YUAN",
              help="标的额 in 元, e.g. 12345.67 (at most 2 decimals). Required: this or "
                   "--amount-fen.")  # fmt: skip
@click.option("--amount-fen", type=click.IntRange(1, _FEN_LIMIT - 1), default=None,
              help="标的额 in fen (分), e.g. 1234567 for 12,345.67 元.")  # fmt: skip
@click.option("--costs", "costs_yuan", default=None, metavar="YUAN",
              help="Costs 执行费用 in 元, e.g. 500 or 500.5 (default 0).")  # fmt: skip
@click.option("--costs-fen", type=click.IntRange(0, _FEN_LIMIT - 1), default=None,
              help="Costs 执行费用 in fen (分).")  # fmt: skip
@click.option("--deadline", default="", metavar="YYYY-MM-DD", help="Deadline asked for.")
@click.option("--asset", "asset_specs", multiple=True, metavar="CATEGORY:ASSET_ID[:VALUE_FEN]",
              help="An asset concerned. Repeatable.")  # fmt: skip
@click.option("--from-lookup", default="", metavar="LOOKUP",
              help="The lookup whose answer found them, e.g. chengdu/lookup/17.")  # fmt: skip
@click.option("--assets", "lookup_assets_csv", default="", metavar="ASSET_ID,...",
              help="With --from-lookup: the answer's assets concerned.")  # fmt: skip
@documents_options(required=True)
@click.option("--note", default="", help="Free text.")
@confirm_option
@actor_option()
@json_option
def delegate(home: Path, scope: str, matter: str | None, debtor_type: str, debtor_name: str,
             id_number: str, credit_code: str, asset_specs: tuple[str, ...], from_lookup: str,
             lookup_assets_csv: str, document_files: tuple[Path, ...],
             document_digests: tuple[str, ...], deadline: str, court: str, actor: str,
             as_json: bool, confirm_bad_credit_code: bool, amount_yuan: str | None,
             amount_fen: int | None, costs_yuan: str | None, costs_fen: int | None,
             **fields: Any) -> None:  # fmt: skip
    """Delegate a whole case or a matter to another region's node; prints the task.

    Amounts in 元 (--amount 12345.67, --costs 500) or in fen (--amount-fen 1234567)."""
    if scope == "matter" and matter is None:
        raise refused(
            "--matter",
            "委托事项",
            f"事项委托（--scope matter）须写明委托事项（{wording.WEITUO}）",
            "a matter delegation (--scope matter) needs --matter",
        )
    if scope == "whole" and matter is not None:
        raise refused(
            "--matter",
            "委托事项",
            "委托执行全案（--scope whole）不写委托事项，--matter 只用于 --scope matter",
            "--matter is for --scope matter only",
        )
    amount = _amount(
        amount_yuan, amount_fen, "--amount", "执行标的金额", minimum_fen=1, default=None
    )
    costs = _amount(costs_yuan, costs_fen, "--costs", "执行费用", minimum_fen=0, default=0)
    debtor = payloads_pb2.Debtor(
        type=payloads_pb2.PERSON if debtor_type == "person" else payloads_pb2.ORG,
        name=debtor_name,
        id_number=id_number,
        credit_code=credit_code,
    )
    found = assets_from_lookup(
        home, from_lookup, lookup_assets_csv, debtor, actor, fields["case_number"]
    )
    draft = delegation_draft(
        scope=_SCOPES[scope],
        matter=_MATTERS[matter] if matter else 0,
        delegating_court=court,
        debtor=debtor,
        assets=[*(parse_asset(spec) for spec in asset_specs), *found],
        from_lookup=from_lookup,
        documents=documents(document_files, document_digests),
        deadline_on=deadline,
        confirm_bad_credit_code=confirm_bad_credit_code,
        amount_fen=amount,
        costs_fen=costs,
        **fields,
    )
    report_written("delegated 已委托", submit(home, [draft], actor), as_json)


def _subject_command(name: str, help_text: str) -> Callable[[F], F]:
    def wrap(fn: F) -> F:
        fn = json_option(actor_option()(click.argument("subject")(home_option(fn))))
        return tasks.command(name, help=help_text)(fn)  # type: ignore[return-value]

    return wrap


@_subject_command("accept", "Register the task and name the judge (受托方, within 7 days).")
@click.option("--judge", required=True, help="Receiving judge 承办法官.")
@click.option("--registered-case", default="", help="This court's new case 案号 (whole case).")
def accept(home: Path, subject: str, judge: str, registered_case: str, actor: str,
           as_json: bool) -> None:  # fmt: skip
    body = payloads_pb2.TaskAccepted(judge=judge, registered_case_number=registered_case)
    draft = step_draft(log_pb2.TASK_ACCEPTED, subject, body)
    report_written("accepted 已立案", submit(home, [draft], actor), as_json)


@_subject_command("reject", "Decline the delegation with written reasons (受托方).")
@click.option("--reason", required=True)
def reject(home: Path, subject: str, reason: str, actor: str, as_json: bool) -> None:
    draft = step_draft(log_pb2.TASK_REJECTED, subject, payloads_pb2.TaskRejected(reason=reason))
    report_written("rejected 不予受理", submit(home, [draft], actor), as_json)


@_subject_command("return", "Return it for missing materials, with written reasons (退回).")
@click.option("--reason", required=True)
@click.option("--materials-due", default="", metavar="YYYY-MM-DD",
              help="When materials are due (at most 30 days; default 30 days).")  # fmt: skip
def return_(home: Path, subject: str, reason: str, materials_due: str, actor: str,
            as_json: bool) -> None:  # fmt: skip
    body = payloads_pb2.TaskReturned(reason=reason, materials_due_on=materials_due)
    draft = step_draft(log_pb2.TASK_RETURNED, subject, body)
    report_written("returned 已退回", submit(home, [draft], actor), as_json)


@_subject_command("supplement", "Send more materials (委托方).")
@document_options
@click.option("--note", default="")
def supplement(home: Path, subject: str, document_files: tuple[Path, ...],
               document_digests: tuple[str, ...], note: str, actor: str,
               as_json: bool) -> None:  # fmt: skip
    body = payloads_pb2.TaskSupplemented(
        documents=documents(document_files, document_digests), note=note
    )
    draft = step_draft(log_pb2.TASK_SUPPLEMENTED, subject, body)
    report_written("supplemented 已补充", submit(home, [draft], actor), as_json)


_measure_option = click.option(
    "--measure",
    "measure_specs",
    multiple=True,
    metavar="asset=ID,category=C,value_fen=N,term_days=N[,start_on=D,queue=N,indivisible=WHY]",
    help="A freeze or seizure taken. Repeatable.",
)


@_subject_command("report", "Report progress, with any freezes or seizures taken (受托方).")
@click.option("--report", "text", required=True)
@_measure_option
def report(home: Path, subject: str, text: str, measure_specs: tuple[str, ...], actor: str,
           as_json: bool) -> None:  # fmt: skip
    body = payloads_pb2.TaskProgress(
        report=text, measures=[parse_measure(spec) for spec in measure_specs]
    )
    draft = step_draft(log_pb2.TASK_PROGRESS, subject, body)
    report_written("reported 已报告", submit(home, [draft], actor), as_json)


@_subject_command("complete", "Report the task done: what was frozen, seized or found (受托方).")
@click.option("--result", required=True)
@_measure_option
@click.option("--found", "found_specs", multiple=True, metavar="CATEGORY:ASSET_ID[:VALUE_FEN]",
              help="An asset found. Repeatable.")  # fmt: skip
def complete(home: Path, subject: str, result: str, measure_specs: tuple[str, ...],
             found_specs: tuple[str, ...], actor: str, as_json: bool) -> None:  # fmt: skip
    body = payloads_pb2.TaskCompleted(
        result=result,
        measures=[parse_measure(spec) for spec in measure_specs],
        found=[parse_asset(spec, "--found") for spec in found_specs],
    )
    draft = step_draft(log_pb2.TASK_COMPLETED, subject, body)
    report_written("completed 已完成", submit(home, [draft], actor), as_json)


@_subject_command("fail", "Report that the task could not be done, and why (受托方).")
@click.option("--reason", required=True)
def fail(home: Path, subject: str, reason: str, actor: str, as_json: bool) -> None:
    draft = step_draft(log_pb2.TASK_FAILED, subject, payloads_pb2.TaskFailed(reason=reason))
    report_written("failed 未能执行", submit(home, [draft], actor), as_json)


@_subject_command("cancel", "Withdraw the delegation (委托方); reports made concurrently stand.")
@click.option("--reason", required=True)
def cancel(home: Path, subject: str, reason: str, actor: str, as_json: bool) -> None:
    draft = step_draft(log_pb2.TASK_CANCELLED, subject, payloads_pb2.TaskCancelled(reason=reason))
    report_written("cancelled 已撤回", submit(home, [draft], actor), as_json)


@tasks.command("list")
@home_option
@click.option("--status", type=click.Choice(sorted(STATUS_ZH)), default=None)
@click.option("--role", type=click.Choice(["delegated", "received"]), default=None,
              help="Tasks this node delegated, or received.")  # fmt: skip
@click.option("--case-number", default="")
@click.option("--limit", type=click.IntRange(1, LIST_LIMIT_MAX), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@json_option
def list_(home: Path, status: str | None, role: str | None, case_number: str, limit: int,
          offset: int, as_json: bool) -> None:  # fmt: skip
    """Tasks held by this node, with their time-limit flags."""
    request = tasks_pb2.TaskListRequest(
        status=status or "", role=role or "", case_number=case_number, limit=limit, offset=offset
    )
    with node_client(home) as client:
        response = client.call(client.tasks.List, request, tasks_pb2.TaskListResponse)
    if as_json:
        emit_json({"items": [doc_of(i) for i in response.items], "total": response.total,
                   "today": response.today})  # fmt: skip
        return
    if not response.items:
        console().print(f"no tasks 无任务 (total {response.total})")
        return
    items_table(response.items)
    console().print(f"{offset + 1}–{offset + len(response.items)} of {response.total}")


@tasks.command("show")
@home_option
@click.argument("subject")
@click.option("--reveal", is_flag=True, help="Unmasked identifiers (recorded as an access).")
@click.option("--purpose", default="", help="Why (with --reveal).")
@actor_option(required=False, help_text="Who (with --reveal).")
@json_option
def show(home: Path, subject: str, reveal: bool, purpose: str, actor: str, as_json: bool) -> None:
    """One task: its state, its events in the canonical order, its seizures."""
    if reveal and not (purpose.strip() and actor.strip()):
        raise click.UsageError("--reveal needs --purpose and --actor (the read is recorded)")
    request = tasks_pb2.TaskGetRequest(subject=subject, reveal=reveal, actor=actor, purpose=purpose)
    with node_client(home) as client:
        response = client.call(client.tasks.Get, request, tasks_pb2.TaskGetResponse)
    if as_json:
        emit_json(
            {
                "item": doc_of(response.item),
                "today": response.today,
                "purged": purged_docs(response.purged),
            }
        )
        return
    _show(response.item)
    print_purged(response.purged)


def as_of_of(response: Any) -> str:
    """The day a read's rules were evaluated on (a node that does not say evaluated today)."""
    return str(response.as_of or response.today)


@tasks.command("overdue")
@home_option
@as_of_option("the tasks past a limit")
@json_option
def overdue(home: Path, as_of: Any, as_json: bool) -> None:
    """Tasks past a time limit (7 days to register, 15 to start, a report every 30 days,
    escalation after 6 months, materials within 30 days) as of the node's today, or as of
    --as-of."""
    request = tasks_pb2.TaskOverdueRequest(as_of=as_of_text(as_of))
    with node_client(home) as client:
        response = client.call(client.tasks.Overdue, request, tasks_pb2.TaskOverdueResponse)
    day = as_of_of(response)
    if as_json:
        emit_json({"items": [doc_of(i) for i in response.items], "today": response.today,
                   "as_of": day})  # fmt: skip
        return
    if not response.items:
        console().print(f"no overdue tasks 无超期任务 ({day})")
        return
    items_table(response.items, title=f"overdue 超期 as of {day}")


@tasks.command("board")
@home_option
@as_of_option("the overdue counts")
@json_option
def board(home: Path, as_of: Any, as_json: bool) -> None:
    """Command-centre view 指挥中心: tasks by state, by region and overdue (as of --as-of)."""
    request = tasks_pb2.TaskBoardRequest(as_of=as_of_text(as_of))
    with node_client(home) as client:
        response = client.call(client.tasks.Board, request, tasks_pb2.TaskBoardResponse)
    day = as_of_of(response)
    if as_json:
        emit_json(
            {
                "by_status": dict(sorted(response.by_status.items())),
                "by_flag": dict(sorted(response.by_flag.items())),
                "rows": [
                    {
                        "region": row.region,
                        "role": row.role,
                        "by_status": dict(sorted(row.by_status.items())),
                        "overdue": row.overdue,
                        "total": row.total,
                    }
                    for row in response.rows
                ],
                "overdue": response.overdue,
                "total": response.total,
                "today": response.today,
                "as_of": day,
            }
        )
        return
    statuses = [s for s in STATUS_ZH if response.by_status.get(s)]
    t = table("region 地区", "role 方向", *(STATUS_ZH[s] for s in statuses), "overdue 超期",
              "total 合计", title=f"tasks board 任务看板 {day}")  # fmt: skip
    for row in response.rows:
        role = "→ delegated 委托" if row.role == "delegated" else (
            "← received 受托" if row.role == "received" else "observed 旁观")  # fmt: skip
        t.add_row(row.region, role, *(str(row.by_status.get(s, 0)) for s in statuses),
                  str(row.overdue), str(row.total))  # fmt: skip
    t.add_row("all 全部", "", *(str(response.by_status.get(s, 0)) for s in statuses),
              str(response.overdue), str(response.total), style="bold")  # fmt: skip
    print_table(t)
    if response.by_flag:
        flags = table("flag 超期类型", "tasks 任务数")
        for code, count in sorted(response.by_flag.items()):
            flags.add_row(code, str(count))
        print_table(flags)
