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
from sync.domain.blacklist import TERM_WARNING_DAYS, ListingRecord, parse_listing_json
from sync.domain.blacklist_codec import DEBTOR_TYPE_NAMES, listing_json_from_pb, listing_to_pb
from sync.domain.errors import ValidationError
from sync.domain.identifiers import DEFAULT_ID_MASKS, IdMasks, mask_id

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
    return {key: fields[key] for key, _, _ in _FIELDS if fields.get(key) is not None}


def _parse_options(obj: Mapping[str, Any]) -> ListingRecord:
    """Options -> record; errors name the option (--id-number), never the value."""
    try:
        return parse_listing_json(obj)
    except ValidationError as e:
        raise InvalidInput(f"{_option_name(e.field)}: {e.explanation}") from None


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


@blacklist.command("import")
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
    """List every debtor of a JSON-lines FILE in one all-or-nothing submission.

    Every line is checked before anything is sent: the first bad line (bad JSON, an unknown
    or missing key, a value of the wrong type) stops the import, naming its line number and
    field, and nothing is listed (exit 2). A line the node refuses (exit 3) refuses the whole
    file, also a line that repeats an earlier line's court, case number and debtor (rule
    duplicate_listing).

    Re-running an import is safe: the lines already listed are left out and counted
    ("already listed: N"), so after a lost connection (exit 5) the same command lists only
    what is missing, each debtor once.
    """
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(
            f"{file}: cannot read as UTF-8 text ({type(e).__name__})"
        ) from None
    drafts: list[admin_pb2.Draft] = []
    line_of_draft: list[int] = []

    def line_of(position: int) -> str:
        """The node names a draft by its position; the officer knows the file's lines."""
        return f"line {line_of_draft[position]}"

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
            drafts.append(listing_draft(rec, confirm_bad_credit_code=confirm_bad_credit_code))
            line_of_draft.append(line_no)
        if not drafts:
            raise InvalidInput(f"{file}: no listings to import")
        request_bytes = admin_pb2.SubmitRequest(drafts=drafts, actor=actor).ByteSize()
        limit_bytes = load_config(home).limits.grpc_message_bytes_max
        if request_bytes > limit_bytes:
            raise InvalidInput(
                f"{file}: {len(drafts)} listings make a {request_bytes}-byte submission, over "
                f"the node's {limit_bytes}-byte message limit; split the file"
            )
        submitting = progress.add_task(f"submitting {len(drafts)} listings 提交", total=None)
        with node_client(home) as client:
            response = client.submit(
                drafts,
                actor,
                draft_label=line_of,
                skip_listed=skip_listed,
                unknown_hint=(
                    "the import is safe to re-run: "
                    f"`ccnode blacklist import --home {home} {file}` lists only the lines "
                    "not listed yet"
                ),
            )
        progress.update(submitting, total=1, completed=1)
    warnings = warnings_of(response, line_of)
    skipped = [{"line": line_of_draft[s.position], "subject": s.subject} for s in response.skipped]
    if as_json:
        emit_json(
            {
                "listed": len(response.entry_ids),
                "already_listed": len(skipped),
                "skipped": skipped,
                **_written_doc(response, warnings),
            }
        )
        return
    _print_warnings(warnings)
    out = console()
    if response.subjects:
        first, last = response.subjects[0], response.subjects[-1]
        out.print(
            f"listed 已列入 {len(response.entry_ids)} debtors from {file} ({first} … {last}); "
            f"log size 日志条数 {response.size}"
        )
    else:
        out.print(f"listed 已列入 0 debtors from {file}; log size 日志条数 {response.size}")
    if skipped:
        out.print(f"already listed 已在列: {len(skipped)} (left out)")


def _parse_line(line: str, line_no: int) -> ListingRecord:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        # e.msg says what broke (no input is quoted); the column says where.
        raise InvalidInput(
            f"line {line_no}: not valid JSON ({e.msg} at column {e.colno})"
        ) from None
    if not isinstance(obj, dict):
        raise InvalidInput(f"line {line_no}: listing: must be a JSON object")
    try:
        return parse_listing_json(obj, line_no)
    except ValidationError as e:
        raise InvalidInput(str(e)) from None


@blacklist.command("correct")
@home_option
@click.argument("subject")
@record_options
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
    """Correct wrong data of listing SUBJECT (更正): only the given fields change."""
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
        emit_json({"item": doc, "history": history})
        return
    t = table("field 项目", "value 值", title=f"listing {doc['subject']}")
    for key, value in doc.items():
        if value not in ("", 0, None, False) or key == "term_years":
            t.add_row(key, str(value))
    print_table(t)
    h = table("entry 条目", "kind 类型", "actor 承办人", title="history 记录")
    for event in history:
        h.add_row(event["entry_id"], event["kind"], event["actor"])
    print_table(h)


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
    hits = [item_doc(item, masks=masks) for item in response.items]
    if as_json:
        emit_json({"hits": hits})
        return
    # The queried ID is personal data too: echo it masked.
    asked = f"ID {masks.owner(id_number)}" if id_number is not None else f"name {name}"
    if not hits:
        console().print(f"no listing found 未查到失信记录 for {asked}")
        return
    listed = sum(1 for h in hits if h["status"] == "listed")
    _items_table(hits, title=f"{len(hits)} hits for {asked}; {listed} currently listed 在列")
