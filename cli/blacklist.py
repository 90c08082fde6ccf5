"""``ccnode blacklist``: 失信被执行人名单 — list, import, correct, delist, read and check.

Writes go through the node's Submit (it validates against 法释〔2017〕7号 and appends); reads
go through BlacklistSearch / BlacklistGet. ID numbers are shown masked unless ``--reveal`` was
given: the node masks them already, and this module masks again so that no node bug can put
an unmasked ID on an officer's screen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from cli.common.client import load_config, node_client, warnings_of
from cli.common.errors import InvalidInput
from cli.common.options import (
    actor_option,
    as_of_option,
    as_of_text,
    confirm_option,
    home_option,
    json_option,
)
from cli.output import console, emit_json, err_console, print_table, table
from cli.retention import print_purged, purged_docs
from sync.domain.blacklist import (
    TERM_WARNING_DAYS,
    ListingRecord,
    RepresentativeRole,
    parse_listing_json,
)
from sync.domain.blacklist_codec import DEBTOR_TYPE_NAMES, listing_json_from_pb, listing_to_pb
from sync.domain.errors import ValidationError, line_prefix
from sync.domain.identifiers import DEFAULT_ID_MASKS, IdMasks, mask_id
from sync.domain.wording import joined
from sync.folds import blacklist as bl_fold

F = TypeVar("F", bound=Callable[..., Any])

SEARCH_LIMIT_MAX = 1000

_LISTING_GROUNDS = ("G1", "G2", "G3", "G4", "G5", "G6")
_DELIST_GROUNDS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "REVOKED", "EXPIRED")
_CREDIT_REPAIR = {
    "active": payloads_pb2.ACTIVE_PERFORMANCE,
    "creditor": payloads_pb2.CREDITOR_REQUEST,
}


# ---------------------------------------------------------------- record <-> options


# The listing fields, as (import-format key, click option declaration, help). The option of
# key "case_number" is --case-number, and so on, so errors name the option the officer typed.
_FIELDS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("case_number", {}, "Enforcement case number 案号, e.g. （2024）川0104执1234号."),
    ("court", {}, "Enforcing court code 执行法院, e.g. 川0104."),
    ("debtor_type", {"type": click.Choice(["person", "org"])}, "Debtor type 被执行人类型."),
    ("name", {}, "Debtor's name 被执行人姓名/名称."),
    ("id_number", {}, "Resident ID number 身份证号 (persons)."),
    ("credit_code", {}, "Unified social credit code 统一社会信用代码 (organisations)."),
    (
        "org_code",
        {},
        "Organisation code 组织机构代码, e.g. M000100Y-4 (an organisation without a credit code).",
    ),
    ("sex", {}, "Sex 性别: M or F (persons; derived from the ID when absent)."),
    ("legal_representative", {}, "Legal representative 法定代表人 (organisations)."),
    ("obligation", {}, "Obligation set by the legal document 生效法律文书确定的义务."),
    ("performance", {}, "Its performance status 履行情况."),
    (
        "ground",
        {"type": click.Choice(_LISTING_GROUNDS, case_sensitive=False)},
        "Listing ground 失信情形 (art. 1).",
    ),
    ("term_years", {"type": click.IntRange(0)}, "Term in years 期限 (G2–G6: 2..5; G1: none)."),
    (
        "term_extension",
        {"type": click.Choice(["violence_or_threats", "multiple_dishonest_acts"])},
        "Why the term runs over 2 years 延长事由 (art. 2): 以暴力、威胁方法妨碍、抗拒执行情节严重 "
        "or 具有多项失信行为; required with --term-years 3..5.",
    ),
    ("conduct", {}, "The specific dishonest conduct 具体情形."),
    ("basis_issuer", {}, "Issuer of the enforcement basis 执行依据制作单位."),
    ("basis_number", {}, "Number of the enforcement basis 执行依据文号."),
    ("filed_on", {"metavar": "YYYY-MM-DD"}, "Case filing date 立案时间."),
)


def _option_name(key: str) -> str:
    return "--" + key.replace("_", "-")


# What a new listing needs (the node's rules refuse a record without it); the help of `add`
# says so. Optional to click, so that the record's rules name what is missing.
_ALWAYS_REQUIRED = (
    "case_number", "court", "debtor_type", "name", "obligation", "performance", "ground",
    "basis_issuer", "basis_number", "filed_on",
)  # fmt: skip
_REQUIRED_FOR_LISTING: dict[str, str] = {
    **{key: "[required]" for key in _ALWAYS_REQUIRED},
    "id_number": "[required for a person]",
    "credit_code": "[required for an organisation, or --org-code]",
    "legal_representative": "[required for an organisation]",
}


def _record_options(fn: F, *, listing: bool) -> F:
    for key, extra, help_text in reversed(_FIELDS):
        mark = _REQUIRED_FOR_LISTING.get(key) if listing else None
        text = f"{help_text}  {mark}" if mark else help_text
        fn = click.option(_option_name(key), key, default=None, help=text, **extra)(fn)
    return fn


_ROLES = ("legal_representative", "principal_manager", "directly_responsible",
          "actual_controller")  # fmt: skip
_ROLE_ZH = {
    "LEGAL_REPRESENTATIVE": "法定代表人",
    "PRINCIPAL_MANAGER": "主要负责人",
    "DIRECTLY_RESPONSIBLE": "直接责任人员",
    "ACTUAL_CONTROLLER": "实际控制人",
}


def representative_option(fn: F) -> F:
    """``--representative ROLE:NAME:ID``, repeatable: the persons an organisation's consumption
    restriction binds with it."""
    return click.option(
        "--representative",
        "representatives",
        multiple=True,
        metavar="ROLE:NAME:ID",
        help="A person the organisation's consumption restriction 限制消费 binds (repeatable): "
        "ROLE one of " + ", ".join(_ROLES) + " (法定代表人, 主要负责人, 直接责任人员, 实际控制人), "
        "NAME, resident ID number, e.g. legal_representative:张三:11010519491231002X. "
        "The legal representative's name is also the published legal representative.",
    )(fn)


def _representatives(values: Sequence[str]) -> list[dict[str, str]]:
    """``ROLE:NAME:ID`` options as the import format's objects; errors name the option and
    its position, never the value."""
    out = []
    for position, value in enumerate(values, start=1):
        role, _, rest = value.partition(":")
        name, _, id_number = rest.rpartition(":")
        if not role.strip() or not name.strip() or not id_number.strip():
            raise InvalidInput(
                f"第{position}个"
                + joined(
                    "representatives",
                    "须为 身份:姓名:身份证号（ROLE:NAME:ID），身份为 "
                    + "、".join(_ROLES)
                    + " 之一",
                    f"#{position} must be ROLE:NAME:ID, ROLE one of " + ", ".join(_ROLES),
                )
            )
        out.append({"role": role.strip(), "name": name.strip(), "id_number": id_number.strip()})
    return out


def record_options(fn: F) -> F:
    """The listing field options of a correction (each optional: only those given change)."""
    return _record_options(fn, listing=False)


def listing_options(fn: F) -> F:
    """The listing field options of a new listing; the help marks what a listing needs."""
    return _record_options(fn, listing=True)


_GROUND_AROSE_ON_HELP = (
    "When the ground arose 事由发生日期: the 3 working days to act (arts. 9, 10) count from it "
    "in the statutory calendar; a later action is recorded as late, with a warning."
)


def ground_arose_option(fn: F) -> F:
    return click.option(
        "--ground-arose-on",
        "ground_arose_on",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        metavar="YYYY-MM-DD",
        help=_GROUND_AROSE_ON_HELP,
    )(fn)


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    given = {key: fields[key] for key, _, _ in _FIELDS if fields.get(key) is not None}
    if fields.get("representatives"):
        given["representatives"] = _representatives(fields["representatives"])
    return given


def _parse_options(obj: Mapping[str, Any]) -> ListingRecord:
    """Options -> record; errors name the option (--id-number), never the value."""
    try:
        return parse_listing_json(obj)
    except ValidationError as e:
        raise InvalidInput(str(e)) from None


def _enum_name(enum: Any, value: int) -> str:
    return "" if value == 0 else str(enum.Name(value))


# ---------------------------------------------------------------- display


def shown_id(
    debtor: payloads_pb2.Debtor, *, revealed: bool, masks: IdMasks = DEFAULT_ID_MASKS
) -> str:
    """The debtor's ID number or credit code as the node's policy shows it: a person's
    identifier masked unless revealed, with the mask of its kind; an organisation's credit
    code or organisation code in full (published fields, 法释〔2017〕7号 art. 6)."""
    if debtor.type == payloads_pb2.ORG:
        return debtor.credit_code or debtor.org_code
    value, policy = debtor.id_number, masks.resident_id
    if not value:
        value, policy = debtor.credit_code, masks.credit_code
    if not value or revealed:
        return value
    return mask_id(value, policy)


def item_doc(
    item: admin_pb2.BlacklistItem, *, revealed: bool = False, masks: IdMasks = DEFAULT_ID_MASKS
) -> dict[str, Any]:
    rec = item.record
    return {
        "subject": item.subject,
        "origin": item.origin,
        "entry_id": item.entry_id,
        "status": item.status,
        "case_number": rec.case_number,
        "court": rec.court,
        "court_name": rec.court_name,
        "debtor_type": DEBTOR_TYPE_NAMES.get(rec.debtor.type, ""),
        "name": rec.debtor.name,
        "id": shown_id(rec.debtor, revealed=revealed, masks=masks),
        "id_kind": _id_kind(rec.debtor),
        "sex": rec.debtor.sex,
        "age": rec.debtor_age if rec.debtor.type == payloads_pb2.PERSON else None,
        "legal_representative": rec.debtor.legal_representative,
        "representatives": [
            {
                "role": _enum_name(payloads_pb2.RepresentativeRole, r.role),
                "name": r.name,
                "id": r.id_number if revealed else mask_id(r.id_number),
            }
            for r in rec.representatives
        ],
        "obligation": rec.obligation,
        "performance": rec.performance,
        "ground": _enum_name(payloads_pb2.ListingGround, rec.ground),
        "term_years": rec.term_years,
        "term_extension": _enum_name(payloads_pb2.TermExtension, rec.term_extension),
        "credit_code_confirmed": rec.credit_code_confirmed,
        "conduct": rec.conduct,
        "basis_issuer": rec.basis_issuer,
        "basis_number": rec.basis_number,
        "filed_on": rec.filed_on,
        "listed_on": rec.listed_on,
        "term_end_on": rec.term_end_on,
        "delist_due_on": item.delist_due_on,
        "delisted_on": item.delisted_on,
        "delist_ground": _enum_name(payloads_pb2.DelistGround, item.delist_ground),
        "delist_reason": item.delist_reason,
        "credit_repair": _enum_name(payloads_pb2.CreditRepair, item.credit_repair),
        "delist_ground_arose_on": item.delist_ground_arose_on,
        "delist_act_due_on": item.delist_act_due_on,
        "delisted_late": item.delisted_late,
        "last_index": item.last_index,
    }


def _id_kind(debtor: payloads_pb2.Debtor) -> str:
    if debtor.type == payloads_pb2.PERSON:
        return "resident_id"
    return "credit_code" if debtor.credit_code else "org_code" if debtor.org_code else ""


def _masks(home: Path) -> IdMasks:
    """The node's configured masks (the node masks already; the CLI masks again alike)."""
    return load_config(home).masks.policies()


_STATUS_ZH = {"listed": "listed 在列", "delisted": "delisted 已删除"}


def _items_table(docs: Sequence[Mapping[str, Any]], title: str | None = None) -> None:
    t = table(
        "subject 编号", "案号 case", "court 法院", "被执行人 debtor", "证件号 ID", "ground 情形",
        "status 状态", "listed on 列入日期", "origin 来源",
        title=title,
    )  # fmt: skip
    for doc in docs:
        t.add_row(
            doc["subject"],
            doc["case_number"],
            doc["court"],
            doc["name"],
            doc["id"],
            doc["ground"],
            _STATUS_ZH.get(doc["status"], doc["status"]),
            doc["listed_on"],
            doc["origin"],
        )
    print_table(t)


def _print_warnings(warnings: Sequence[str]) -> None:
    for warning in warnings:
        err_console().print(f"[yellow]warning 注意:[/] {warning}", markup=True)


# ---------------------------------------------------------------- submitting


def listing_draft(rec: ListingRecord, *, confirm_bad_credit_code: bool) -> admin_pb2.Draft:
    return admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_LISTED,
        payload=payloads_pb2.Payload(
            blacklist_listed=payloads_pb2.BlacklistListed(record=listing_to_pb(rec))
        ),
        confirm_bad_credit_code=confirm_bad_credit_code,
    )


def _written_doc(response: admin_pb2.SubmitResponse, warnings: Sequence[str]) -> dict[str, Any]:
    return {
        "subjects": list(response.subjects),
        "entry_ids": list(response.entry_ids),
        "size": response.size,
        "warnings": list(warnings),
    }


def _report_written(verb: str, response: admin_pb2.SubmitResponse, warnings: Sequence[str]) -> None:
    _print_warnings(warnings)
    out = console()
    for subject, entry_id in zip(response.subjects, response.entry_ids, strict=False):
        out.print(f"{verb} {subject} (entry {entry_id})")
    out.print(f"log size 日志条数 {response.size}")


def _show_hint(home: Path, subject: str) -> str:
    """How to check a change of ``subject`` whose answer was lost."""
    return f"check with `ccnode blacklist show --home {home} {subject}` before repeating it"


# ---------------------------------------------------------------- commands


@click.group("blacklist")
def blacklist() -> None:
    """失信被执行人名单: list, import, correct, delist, show and check debtors."""


@blacklist.command("add")
@home_option
@listing_options
@representative_option
@actor_option()
@confirm_option
@json_option
def add(
    home: Path, actor: str, confirm_bad_credit_code: bool, as_json: bool, **fields: Any
) -> None:
    """List one debtor (a new entry in this node's log); prints its subject and entry id."""
    rec = _parse_options(_given(fields))
    with node_client(home) as client:
        draft = listing_draft(rec, confirm_bad_credit_code=confirm_bad_credit_code)
        response = client.submit(
            [draft],
            actor,
            unknown_hint=(
                f"check with `ccnode blacklist check --home {home} --id …`; adding it again "
                "is refused if it was listed (rule already_listed)"
            ),
        )
    warnings = warnings_of(response)
    if as_json:
        emit_json(_written_doc(response, warnings))
        return
    _report_written("listed 已列入", response, warnings)


IMPORT_FORMAT_HELP = """\b
File format (JSON lines, UTF-8): one listing per line as a JSON object; blank lines are
skipped. Keys (docs/operations.md "Importing listings"; an example: examples/listings.jsonl):
  court            court code 法院代码, e.g. 川01 (a court this node serves)   [required]
  case_number      case number 案号, e.g. （2026）川01执123号                   [required]
  debtor_type      person 自然人 | org 法人或其他组织                          [required]
  name             debtor's name 姓名/名称                                     [required]
  id_number        resident ID 身份证号码 (person)
  credit_code      unified social credit code 统一社会信用代码 (org)
  sex              M | F | 男 | 女 (person)
  legal_representative   name of the org's legal representative 法定代表人
  representatives  org: [{"role", "name", "id_number"}], role legal_representative |
                   principal_manager | directly_responsible | actual_controller
  obligation       the obligation 生效法律文书确定的义务                       [required]
  performance      how far it was performed 履行情况                           [required]
  ground           listing ground G1–G6 失信情形 (`blacklist add --help`)      [required]
  term_years       1–5 (G2–G6; default 2; over 2 needs the rule's grounds)
  basis_issuer     issuer of the basis document 执行依据制作单位               [required]
  basis_number     its number 执行依据文号                                     [required]
  filed_on         filing date 立案时间, YYYY-MM-DD                            [required]
  conduct          the specific dishonest conduct 失信行为具体情形
  listed_on        YYYY-MM-DD, default today
"""


@blacklist.command("import", epilog=IMPORT_FORMAT_HELP)
@home_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@actor_option()
@confirm_option
@click.option(
    "--skip-listed/--no-skip-listed",
    default=True,
    show_default=True,
    help="Leave out (and count) the lines whose court, case number and debtor this node "
    "lists already, instead of refusing the import (rule already_listed).",
)
@json_option
def import_(
    home: Path,
    file: Path,
    actor: str,
    confirm_bad_credit_code: bool,
    skip_listed: bool,
    as_json: bool,
) -> None:
    """List every debtor of a JSON-lines FILE; nothing is listed unless every line passes.

    One JSON object per line with the keys of `blacklist add`'s options (case_number, court,
    debtor_type, name, id_number or credit_code, ...). An organisation's line may carry
    "representatives": a list of {"role", "name", "id_number"}, role one of
    legal_representative, principal_manager, directly_responsible, actual_controller (法定代表人,
    主要负责人, 直接责任人员, 实际控制人): the persons its consumption restriction binds.

    Every line is checked before anything is sent: the first bad line (bad JSON, an unknown
    or missing key, a value of the wrong type, a repeat of an earlier line's court, case
    number and debtor) stops the import, naming its line number and field, and nothing is
    listed (exit 2). A file too large for one request (the node's message limit) is sent in
    parts: the node first checks every part as it would list it, so a line it refuses (exit
    3) refuses the whole file before anything is listed; then the parts are listed in order,
    each part all or nothing.

    Re-running an import is safe: the lines already listed are left out and counted
    ("already listed: N"), so after a lost connection (exit 5), or a part refused because the
    node's state changed between the check and the listing, the same command lists only what
    is missing, each debtor once.
    """
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(
            f"{file}: cannot read as UTF-8 text ({type(e).__name__})"
        ) from None
    drafts: list[admin_pb2.Draft] = []
    line_of_draft: list[int] = []
    first_line_of_key: dict[tuple[str, str, str], int] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=err_console(), disable=as_json, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("checking 检查", total=len(lines))
        for line_no, line in enumerate(lines, start=1):
            progress.advance(task)
            if not line.strip():
                continue
            rec = _parse_line(line, line_no)
            draft = listing_draft(rec, confirm_bad_credit_code=confirm_bad_credit_code)
            record = draft.payload.blacklist_listed.record
            key = (record.court, record.case_number, bl_fold.id_key(record.debtor))
            if key[2] and (earlier := first_line_of_key.setdefault(key, line_no)) != line_no:
                raise InvalidInput(
                    line_prefix(line_no)
                    + joined(
                        "debtor",
                        f"与第{earlier}行重复（同一执行法院、案号和被执行人）",
                        f"repeats line {earlier} (the same court, case number and debtor)",
                    )
                    + " [rule: duplicate_listing]"
                )
            drafts.append(draft)
            line_of_draft.append(line_no)
        if not drafts:
            raise InvalidInput(f"{file}：没有可导入的条目 / no listings to import")
        limit_bytes = load_config(home).limits.grpc_message_bytes_max
        parts = split_submission(drafts, actor, limit_bytes)
        responses: list[admin_pb2.SubmitResponse] = []
        unknown_hint = (
            f"the import is safe to re-run: `ccnode blacklist import --home {home} {file}` "
            "lists only the lines not listed yet"
        )
        with node_client(home) as client:
            if len(parts) > 1:
                checked = progress.add_task("checked by the node 节点校验", total=len(drafts))
                for start, stop in parts:
                    client.submit(
                        drafts[start:stop],
                        actor,
                        draft_label=_line_label(line_of_draft, start),
                        skip_listed=skip_listed,
                        check_only=True,
                    )
                    progress.advance(checked, stop - start)
            submitting = progress.add_task("listing 列入", total=len(drafts))
            for start, stop in parts:
                try:
                    responses.append(
                        client.submit(
                            drafts[start:stop],
                            actor,
                            draft_label=_line_label(line_of_draft, start),
                            skip_listed=skip_listed,
                            unknown_hint=unknown_hint,
                        )
                    )
                except click.ClickException:
                    if responses:  # the earlier parts stay listed: say so, and how to go on
                        err_console().print(
                            f"lines {line_of_draft[0]}–{line_of_draft[start - 1]} were listed "
                            f"in {len(responses)} earlier submissions; {unknown_hint}",
                            markup=False,
                        )
                    raise
                progress.advance(submitting, stop - start)
    _report_import(file, responses, parts, line_of_draft, as_json)


def split_submission(
    drafts: Sequence[admin_pb2.Draft], actor: str, limit_bytes: int
) -> list[tuple[int, int]]:
    """``drafts`` cut into consecutive parts ``[start, stop)`` whose SubmitRequest fits in
    ``limit_bytes`` with a margin (1/16 and 4 KiB, for the request's other fields and the
    gRPC frame). A draft too large on its own is refused: no split would send it."""
    budget = limit_bytes - max(limit_bytes // 16, 4096) - len(actor.encode()) - 16
    parts: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, draft in enumerate(drafts):
        size = draft.ByteSize()
        size += 1 + _varint_len(size)  # the repeated field's tag and length
        if size > budget:
            raise InvalidInput(
                f"第{i + 1}条：条目大小 {size} 字节，超过节点的单条消息上限 {limit_bytes} 字节 / "
                f"draft {i}: a {size}-byte listing, over the node's {limit_bytes}-byte message "
                "limit"
            )
        if used + size > budget:
            parts.append((start, i))
            start, used = i, 0
        used += size
    parts.append((start, len(drafts)))
    return parts


def _varint_len(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _line_label(line_of_draft: Sequence[int], start: int) -> Callable[[int], str]:
    """The node names a draft by its position in its part; the officer knows the file's
    lines."""
    return lambda position: f"line {line_of_draft[start + position]}"


def _report_import(
    file: Path,
    responses: Sequence[admin_pb2.SubmitResponse],
    parts: Sequence[tuple[int, int]],
    line_of_draft: Sequence[int],
    as_json: bool,
) -> None:
    warnings: list[str] = []
    skipped: list[dict[str, Any]] = []
    subjects: list[str] = []
    entry_ids: list[str] = []
    for (start, _stop), response in zip(parts, responses, strict=True):
        warnings += warnings_of(response, _line_label(line_of_draft, start))
        skipped += [
            {"line": line_of_draft[start + s.position], "subject": s.subject}
            for s in response.skipped
        ]
        subjects += response.subjects
        entry_ids += response.entry_ids
    size = responses[-1].size
    if as_json:
        emit_json(
            {
                "listed": len(entry_ids),
                "already_listed": len(skipped),
                "skipped": skipped,
                "submissions": len(responses),
                "subjects": subjects,
                "entry_ids": entry_ids,
                "size": size,
                "warnings": warnings,
            }
        )
        return
    _print_warnings(warnings)
    out = console()
    in_parts = f" in {len(responses)} submissions" if len(responses) > 1 else ""
    if subjects:
        out.print(
            f"listed 已列入 {len(entry_ids)} debtors from {file}{in_parts} "
            f"({subjects[0]} … {subjects[-1]}); log size 日志条数 {size}"
        )
    else:
        out.print(f"listed 已列入 0 debtors from {file}; log size 日志条数 {size}")
    if skipped:
        out.print(f"already listed 已在列: {len(skipped)} (left out)")


def _parse_line(line: str, line_no: int) -> ListingRecord:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        # e.msg says what broke (no input is quoted); the column says where.
        raise InvalidInput(
            f"{line_prefix(line_no)}不是有效的 JSON（第{e.colno}列）/ "
            f"line {line_no}: not valid JSON ({e.msg} at column {e.colno})"
        ) from None
    if not isinstance(obj, dict):
        raise InvalidInput(
            line_prefix(line_no) + joined("listing", "须为 JSON 对象", "must be a JSON object")
        )
    try:
        return parse_listing_json(obj, line_no)
    except ValidationError as e:
        raise InvalidInput(str(e)) from None


@blacklist.command("correct")
@home_option
@click.argument("subject")
@record_options
@representative_option
@click.option("--reason", required=True, help="Why the record is corrected 更正理由.")
@ground_arose_option
@actor_option()
@confirm_option
@json_option
def correct(
    home: Path,
    subject: str,
    reason: str,
    ground_arose_on: Any,
    actor: str,
    confirm_bad_credit_code: bool,
    as_json: bool,
    **fields: Any,
) -> None:
    """Correct wrong data of listing SUBJECT (更正): only the given fields change;
    --representative options replace the listing's representatives."""
    changes = _given(fields)
    if not changes:
        raise click.UsageError("give at least one field to correct (e.g. --name)")
    with node_client(home) as client:
        # The full current record (unmasked: it is sent back as the corrected record); the
        # node records this read as an access with purpose "correction".
        current = client.call(
            client.admin.BlacklistGet,
            admin_pb2.BlacklistGetRequest(
                subject=subject, reveal=True, actor=actor, purpose="correction"
            ),
            admin_pb2.BlacklistGetResponse,
        ).item.record
        rec = _parse_options({**listing_json_from_pb(current), **changes})
        corrected = listing_to_pb(rec)
        draft = admin_pb2.Draft(
            kind=log_pb2.BLACKLIST_CORRECTED,
            subject=subject,
            payload=payloads_pb2.Payload(
                blacklist_corrected=payloads_pb2.BlacklistCorrected(
                    record=corrected,
                    reason=reason,
                    ground_arose_on=ground_arose_on.date().isoformat() if ground_arose_on else "",
                )
            ),
            confirm_bad_credit_code=confirm_bad_credit_code,
        )
        response = client.submit([draft], actor, unknown_hint=_show_hint(home, subject))
    warnings = warnings_of(response)
    if as_json:
        emit_json({**_written_doc(response, warnings), "changed": sorted(changes)})
        return
    _report_written("corrected 已更正", response, warnings)
    console().print(f"fields changed 更正项: {', '.join(sorted(changes))}")


@blacklist.command("delist")
@home_option
@click.argument("subject")
@click.option(
    "--ground",
    required=True,
    type=click.Choice(_DELIST_GROUNDS, case_sensitive=False),
    help="Delisting ground 删除事由: D1..D7 (art. 10), REVOKED (art. 9), EXPIRED.",
)
@click.option("--reason", required=True, help="Why 删除理由.")
@click.option(
    "--credit-repair",
    type=click.Choice(sorted(_CREDIT_REPAIR)),
    default=None,
    help="信用修复: active performance (art. 2 ¶2) or the creditor's request (D3).",
)
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Delisting date (default: today on the node).",
)
@ground_arose_option
@actor_option()
@json_option
def delist(
    home: Path,
    subject: str,
    ground: str,
    reason: str,
    credit_repair: str | None,
    on: Any,
    ground_arose_on: Any,
    actor: str,
    as_json: bool,
) -> None:
    """Delist SUBJECT (删除失信信息)."""
    body = payloads_pb2.BlacklistDelisted(
        ground=payloads_pb2.DelistGround.Value(ground.upper()),
        reason=reason,
        delisted_on=on.date().isoformat() if on is not None else "",
        credit_repair=_CREDIT_REPAIR[credit_repair]
        if credit_repair
        else payloads_pb2.CREDIT_REPAIR_UNSPECIFIED,
        ground_arose_on=ground_arose_on.date().isoformat() if ground_arose_on else "",
    )
    draft = admin_pb2.Draft(
        kind=log_pb2.BLACKLIST_DELISTED,
        subject=subject,
        payload=payloads_pb2.Payload(blacklist_delisted=body),
    )
    with node_client(home) as client:
        response = client.submit([draft], actor, unknown_hint=_show_hint(home, subject))
    warnings = warnings_of(response)
    if as_json:
        emit_json(_written_doc(response, warnings))
        return
    _report_written("delisted 已删除", response, warnings)


_TERM_STATE_ZH = {
    "expiring": "expiring 即将届满",
    "awaiting_delisting": "awaiting delisting 待删除",
    "delisting_overdue": "delisting overdue 逾期未删除",
}


def _expiring_table(docs: Sequence[Mapping[str, Any]], title: str) -> None:
    t = table(
        "subject 编号", "案号 case", "被执行人 debtor", "证件号 ID", "term ends 期限届满",
        "delist by 删除期限", "days left 剩余天数", "state 状态", "origin 来源",
        title=title,
    )  # fmt: skip
    for doc in docs:
        t.add_row(
            doc["subject"],
            doc["case_number"],
            doc["name"],
            doc["id"],
            doc["term_end_on"],
            doc["delist_due_on"],
            str(doc["term_days_left"]),
            _TERM_STATE_ZH.get(doc["term_state"], doc["term_state"]),
            doc["origin"],
        )
    print_table(t)


@blacklist.command("list")
@home_option
@click.option("--origin", default="", help="Only listings of this origin (node id).")
@click.option("--status", type=click.Choice(["listed", "delisted"]), default=None)
@click.option(
    "--expiring",
    is_flag=True,
    help="Only fixed-term listings whose term ends within --within-days of today (or of "
    "--as-of), or has already ended: awaiting delisting (3 working days, art. 2).",
)
@click.option(
    "--within-days",
    type=click.IntRange(1, 3650),
    default=None,
    help=f"With --expiring: how far ahead to look (default {TERM_WARNING_DAYS}).",
)
@as_of_option("the expiring listings (with --expiring)")
@click.option("--limit", type=click.IntRange(1, SEARCH_LIMIT_MAX), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@json_option
def list_(home: Path, origin: str, status: str | None, expiring: bool, within_days: int | None,
          as_of: Any, limit: int, offset: int, as_json: bool) -> None:  # fmt: skip
    """Listings held by this node (every region's), IDs masked; with --expiring, the fixed
    terms that end soon or have ended, as of today or --as-of."""
    if not expiring and (within_days is not None or as_of is not None):
        raise click.UsageError("--within-days and --as-of go with --expiring")
    if expiring and status == "delisted":
        raise click.UsageError("--expiring finds listed entries only")
    request = admin_pb2.BlacklistSearchRequest(
        origin=origin,
        status=status or "",
        limit=limit,
        offset=offset,
        expiring_within_days=(within_days or TERM_WARNING_DAYS) if expiring else 0,
        as_of=as_of_text(as_of),
    )
    with node_client(home) as client:
        response = client.call(
            client.admin.BlacklistSearch, request, admin_pb2.BlacklistSearchResponse
        )
    masks = _masks(home)
    docs = [item_doc(item, masks=masks) for item in response.items]
    if expiring:
        for doc, item in zip(docs, response.items, strict=True):
            doc.update(term_state=item.term_state, term_days_left=item.term_days_left)
    if as_json:
        extra = {"as_of": response.as_of} if expiring else {}
        emit_json({"items": docs, "total": response.total, **extra})
        return
    days = within_days or TERM_WARNING_DAYS
    if not docs:
        none = f"no terms end within {days} days of {response.as_of} 无即将届满" if expiring else (
            "no listings 无记录")  # fmt: skip
        console().print(f"{none} (total {response.total})")
        return
    if expiring:
        _expiring_table(docs, f"terms ending within {days} days of {response.as_of} 期限将届满")
    else:
        _items_table(docs)
    console().print(f"{offset + 1}–{offset + len(docs)} of {response.total}")


@blacklist.command("show")
@home_option
@click.argument("subject")
@click.option("--reveal", is_flag=True, help="Show the unmasked ID (recorded as an access).")
@click.option("--purpose", default="", help="Why the unmasked ID is needed (with --reveal).")
@actor_option(required=False)
@json_option
def show(home: Path, subject: str, reveal: bool, purpose: str, actor: str, as_json: bool) -> None:
    """One listing with its history."""
    if reveal and not (purpose.strip() and actor):
        raise click.UsageError("--reveal needs --purpose and --actor (the read is recorded)")
    request = admin_pb2.BlacklistGetRequest(
        subject=subject, reveal=reveal, actor=actor, purpose=purpose
    )
    with node_client(home) as client:
        response = client.call(client.admin.BlacklistGet, request, admin_pb2.BlacklistGetResponse)
    doc = item_doc(response.item, revealed=reveal, masks=_masks(home))
    history: list[dict[str, Any]] = [
        {
            "entry_id": event.entry_id,
            "kind": _enum_name(log_pb2.EntryKind, event.kind),
            "actor": event.actor,
            "hlc": event.hlc,
        }
        for event in response.history
    ]
    if as_json:
        emit_json({"item": doc, "history": history, "purged": purged_docs(response.purged)})
        return
    t = table("field 项目", "value 值", title=f"listing {doc['subject']}")
    for key, value in doc.items():
        if key == "representatives":
            value = "; ".join(
                f"{_ROLE_ZH.get(r['role'], r['role'])} {r['role'].lower()}: {r['name']} {r['id']}"
                for r in value
            )
        if value not in ("", 0, None, False) or key == "term_years":
            t.add_row(key, str(value))
    print_table(t)
    h = table("entry 条目", "kind 类型", "actor 承办人", title="history 记录")
    for event in history:
        h.add_row(event["entry_id"], event["kind"], event["actor"])
    print_table(h)
    print_purged(response.purged)


@blacklist.command("check")
@home_option
@click.option(
    "--id",
    "id_number",
    default=None,
    help="Resident ID number or credit code (this or --name is required).",
)
@click.option("--name", default=None, help="Debtor name (this or --id is required).")
@actor_option(required=False)
@json_option
def check(home: Path, id_number: str | None, name: str | None, actor: str, as_json: bool) -> None:
    """Is this person or organisation on any region's list? (answered from the local copy)"""
    if (id_number is None) == (name is None):
        raise click.UsageError("give exactly one of --id or --name")
    wanted = (id_number or "").strip()
    if len(wanted) == 10 and wanted[8] == "-":  # an organisation code written M000100Y-4
        wanted = wanted[:8] + wanted[9]
    request = admin_pb2.BlacklistSearchRequest(
        id_number=wanted,
        name=(name or "").strip(),
        limit=SEARCH_LIMIT_MAX,
        actor=actor,
    )
    with node_client(home) as client:
        response = client.call(
            client.admin.BlacklistSearch, request, admin_pb2.BlacklistSearchResponse
        )
    masks = _masks(home)
    hits = [
        {**item_doc(item, masks=masks), "reason": "listed debtor 失信被执行人"}
        for item in response.items
    ]
    via = [_representative_doc(hit, masks) for hit in response.representative_hits]
    if as_json:
        emit_json({"hits": hits, "as_representative": via})
        return
    # The queried ID is personal data too: echo it masked.
    asked = f"ID {masks.owner(id_number)}" if id_number is not None else f"name {name}"
    if not hits and not via:
        console().print(f"no listing found 未查到失信记录 for {asked}")
        return
    if hits:
        listed = sum(1 for h in hits if h["status"] == "listed")
        _items_table(hits, title=f"{len(hits)} hits for {asked}; {listed} currently listed 在列")
    if via:
        bound = sum(1 for h in via if h["status"] == "listed")
        t = table(
            "reason 原因", "subject 编号", "案号 case", "court 法院", "status 状态", "origin 来源",
            title=f"{len(via)} listed organisations name {asked}; {bound} restrict consumption "
            "now 限制消费",
        )  # fmt: skip
        for doc in via:
            t.add_row(
                doc["reason"],
                doc["subject"],
                doc["case_number"],
                doc["court"],
                _STATUS_ZH.get(doc["status"], doc["status"]),
                doc["origin"],
            )
        print_table(t)


def _representative_doc(
    hit: admin_pb2.RepresentativeHit, masks: IdMasks = DEFAULT_ID_MASKS
) -> dict[str, Any]:
    """A listing found through one of its representatives, with the reason, e.g. "legal
    representative of 某某有限公司 (listing chengdu/bl/3) 法定代表人"."""
    doc = item_doc(hit.item, masks=masks)
    role = _enum_name(payloads_pb2.RepresentativeRole, hit.representative.role)
    org = hit.item.record.debtor.name
    doc["role"] = role
    label = RepresentativeRole(role.lower()).label_en if role.lower() in _ROLES else role
    doc["reason"] = f"{label} of {org} (listing {hit.item.subject}) {_ROLE_ZH.get(role, role)}"
    return doc
