"""``ccnode lookup``: 跨区域财产联查 — ask another region what a debtor owns there, read results.

``request`` appends the request to this node's log (audience: this node and the target); the
target checks it and answers with the asked categories only, or denies with the reason.
``--wait`` returns when the reply arrives (the node waits; the CLI makes one call). Reading a
result (``request --wait`` with an answer, ``show``) is recorded in this node's log with the
officer and the purpose. Identifiers, names, accounts and addresses are masked unless
``--reveal`` was given; the node masks already, and this module masks again so that no node
bug can put them unmasked on a screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ccnode.v1 import lookups_pb2, payloads_pb2
from cli.common.client import CALL_TIMEOUT_S, node_client
from cli.common.errors import InvalidInput
from cli.common.options import actor_option, confirm_option, home_option, json_option
from cli.output import console, emit_json, err_console, print_table, table, unix_ms_iso
from cli.retention import purged_docs
from sync.domain.assets import category_name, mask_asset, owner_is_person, parse_categories
from sync.domain.errors import ValidationError
from sync.domain.lookups import debtor_identifier, masked_debtor
from sync.domain.wording import joined
from sync.hlc import physical_ms

DEFAULT_WAIT_S = 30.0
F = TypeVar("F", bound=Callable[..., Any])
_STATUS_ZH = {"pending": "pending 待答复", "answered": "answered 已答复", "denied": "denied 已拒绝"}


def debtor_of(
    id_any: str, id_number: str, credit_code: str, debtor_type: str | None, name: str
) -> payloads_pb2.Debtor:
    """The debtor of ``--id`` (a resident ID or a credit code, its kind from its form or
    ``--debtor-type``), ``--id-number`` (a person's) or ``--credit-code`` (an
    organisation's): exactly one of the three. The node's refusals name these fields by the
    options ``--id-number`` and ``--credit-code`` (sync/domain/wording.py)."""
    given = [v.strip() for v in (id_any, id_number, credit_code) if v.strip()]
    if len(given) != 1:
        raise click.UsageError(
            "被执行人证件号码：--id、--id-number、--credit-code 须且只须填写一项"
            " / give exactly one of --id, --id-number, --credit-code"
        )
    if id_number.strip():
        person = True
    elif credit_code.strip():
        person = False
    else:
        person = owner_is_person(id_any) if debtor_type is None else debtor_type == "person"
    debtor = payloads_pb2.Debtor(
        type=payloads_pb2.PERSON if person else payloads_pb2.ORG, name=name.strip()
    )
    if person:
        debtor.id_number = given[0]
    else:
        debtor.credit_code = given[0]
    return debtor


def debtor_options(*, with_name: bool = True) -> Callable[[F], F]:
    """``--id`` / ``--id-number`` / ``--credit-code``, ``--debtor-type`` (alias ``--type``)
    and, ``with_name``, ``--debtor-name`` (alias ``--name``): the options by which the node's
    refusals name these fields (``debtor.id_number`` is ``--id-number`` ...)."""
    options = [
        click.option(
            "--id",
            "id_any",
            default="",
            help="Debtor's resident ID or credit code (its kind from its form, or --debtor-type).",
        ),
        click.option("--id-number", default="", help="Debtor's resident ID (a person)."),
        click.option("--credit-code", default="", help="Debtor's credit code (an organisation)."),
    ]
    if with_name:
        options.append(
            click.option("--debtor-name", "--name", "name", default="", help="Debtor's name.")
        )
    options.append(
        click.option(
            "--debtor-type",
            "--type",
            "debtor_type",
            type=click.Choice(["person", "org"]),
            default=None,
            help="Person or organisation (default: from the identifier's form).",
        )
    )

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _when(hlc: int) -> str:
    return unix_ms_iso(physical_ms(hlc)) if hlc else ""


def _reason(item: lookups_pb2.LookupItem) -> str:
    if not item.reply.denied or not item.reply.denial_reason:
        return ""
    return str(payloads_pb2.DenialReason.Name(item.reply.denial_reason))


def lookup_doc(item: lookups_pb2.LookupItem) -> dict[str, Any]:
    reply = item.reply
    return {
        "subject": item.subject,
        "requester": item.requester,
        "target": item.target,
        "status": item.status,
        "case_number": item.case_number,
        "court": item.court,
        "purpose": item.purpose,
        "categories": [category_name(c) for c in item.categories],
        "requested_by": item.requested_by,
        "requested_at": _when(item.requested_hlc),
        "request_entry": item.request_entry,
        "reply_entry": reply.entry_id,
        "replied_by": reply.actor,
        "replied_at": _when(reply.hlc),
        "assets_carried": reply.asset_count,
        "assets_found": reply.assets_found,
        "truncated": reply.truncated,
        "denial_reason": _reason(item),
        "denial_detail": reply.denial_detail,
    }


def asset_doc(asset: payloads_pb2.AssetRecord) -> dict[str, Any]:
    return {
        "asset_id": asset.asset_id,
        "category": category_name(asset.category),
        "owner_id": asset.owner_id,
        "owner_name": asset.owner_name,
        "registry": asset.registry,
        "reference": asset.reference,
        "description": asset.description,
        "location": asset.location,
        "value_fen": asset.value_fen,
        "seizures": [
            {
                "court": s.court,
                "case_number": s.case_number,
                "start_on": s.start_on,
                "end_on": s.end_on,
                "queue_position": s.queue_position,
            }
            for s in asset.seizures
        ],
    }


def result_doc(result: lookups_pb2.LookupResult) -> dict[str, Any]:
    revealed = result.revealed
    debtor = result.debtor if revealed else masked_debtor(result.debtor)
    assets = list(result.assets) if revealed else [mask_asset(a) for a in result.assets]
    return {
        "lookup": lookup_doc(result.item),
        "debtor": {
            "type": {payloads_pb2.PERSON: "person", payloads_pb2.ORG: "org"}.get(debtor.type, ""),
            "name": debtor.name,
            "id": debtor.id_number or debtor.credit_code,
        },
        "assets": [asset_doc(a) for a in assets],
        "revealed": revealed,
        "timed_out": result.timed_out,
        "access_entry": result.access_entry,
        "purged": purged_docs(result.purged),
    }


def _yuan(value_fen: int) -> str:
    return f"{value_fen // 100:,}.{value_fen % 100:02d}"


def _print_result(doc: dict[str, Any]) -> None:
    out = console()
    lk = doc["lookup"]
    status = _STATUS_ZH.get(lk["status"], lk["status"])
    out.print(f"lookup 联查 {lk['subject']} → {lk['target']}: {status}", markup=False)
    for purged in doc["purged"]:
        out.print(f"payload of entry {purged['entry_id']} {purged['note']}", markup=False)
    if lk["case_number"]:
        out.print(f"case 案号 {lk['case_number']}  purpose 事由 {lk['purpose']}", markup=False)
    if doc["debtor"]["id"]:
        debtor = doc["debtor"]
        out.print(f"debtor 被执行人 {debtor['name']} {debtor['id']}", markup=False)
    if lk["status"] == "denied":
        err_console().print(
            f"denied 已拒绝: {lk['denial_reason']}: {lk['denial_detail']}", markup=False
        )
        return
    if doc["timed_out"]:
        err_console().print("no reply yet 尚未答复; read it later with `ccnode lookup show`")
        return
    if lk["status"] != "answered":
        return
    t = table(
        "asset 财产", "category 类别", "owner 权利人", "registry 登记机关", "reference 编号",
        "description 描述", "location 位置", "value 估值(元)", "seizures 查封",
        title=f"{len(doc['assets'])} of {lk['assets_found']} assets found 财产",
    )  # fmt: skip
    for a in doc["assets"]:
        t.add_row(
            a["asset_id"],
            a["category"],
            f"{a['owner_name']} {a['owner_id']}",
            a["registry"],
            a["reference"],
            a["description"],
            a["location"],
            _yuan(a["value_fen"]),
            str(len(a["seizures"])),
        )
    print_table(t)
    if lk["truncated"]:
        err_console().print("note: the answer was cut to fit one entry; ask for fewer categories")
    if doc["access_entry"]:
        err_console().print(f"this read is recorded as {doc['access_entry']} 已记录查阅")


def _finish(ctx: click.Context, doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(doc)
    else:
        _print_result(doc)
    if doc["lookup"]["status"] == "denied":
        ctx.exit(1)


def lookup_assets(
    home: Path, subject: str, asset_ids: Sequence[str], *, actor: str, purpose: str
) -> tuple[lookups_pb2.LookupItem, payloads_pb2.Debtor, list[payloads_pb2.AssetRecord]]:
    """The lookup side of ``tasks delegate --from-lookup LOOKUP --assets ...``: the answered
    lookup, its debtor and exactly the asked asset records, whole (a freeze or seizure needs
    the real account and certificate numbers), ready for cli.tasks.delegation_draft(debtor=,
    assets=, from_lookup=subject). Reading them is recorded like every read of a result."""
    if not asset_ids:
        raise InvalidInput(
            joined(
                "--assets",
                "须列明联查答复中的至少一项财产（财产编号，以逗号分隔）",
                "name at least one asset of the lookup's answer",
            )
        )
    with node_client(home) as client:
        result = client.call(
            client.lookups.Get,
            lookups_pb2.GetLookupRequest(
                subject=subject, actor=actor, purpose=purpose, reveal=True
            ),
            lookups_pb2.LookupResult,
        )
    status = result.item.status
    if status != "answered":
        raise InvalidInput(
            joined(
                "--from-lookup",
                f"联查{subject}的状态为{_STATUS_ZH.get(status, status)}，"
                "须为已答复（answered）的联查",
                f"lookup {subject} is {status}, not answered",
            )
        )
    by_id = {a.asset_id: a for a in result.assets}
    for asset_id in asset_ids:
        if asset_id not in by_id:
            raise InvalidInput(
                joined(
                    "--assets",
                    f"财产{asset_id}不在联查{subject}的答复之内",
                    f"{asset_id} is not in the answer to {subject}",
                )
            )
    return result.item, result.debtor, [by_id[a] for a in asset_ids]


def assets_from_lookup(
    home: Path,
    subject: str,
    asset_ids_csv: str,
    debtor: payloads_pb2.Debtor,
    actor: str,
    case_number: str,
) -> list[payloads_pb2.AssetRecord]:
    """``tasks delegate --from-lookup SUBJECT --assets ID,...``: the asked assets of the
    lookup's answer, after checking that the lookup concerns the task's debtor ([] without
    --from-lookup). The read is recorded with the case as its purpose."""
    asset_ids = [a.strip() for a in asset_ids_csv.split(",") if a.strip()]
    if not subject:
        if asset_ids:
            raise click.UsageError("--assets names assets of a lookup: give --from-lookup")
        return []
    _, looked_up, records = lookup_assets(
        home, subject, asset_ids, actor=actor, purpose=f"委托执行 {case_number}"
    )
    if debtor_identifier(looked_up) != debtor_identifier(debtor):
        raise InvalidInput(
            joined(
                "--from-lookup",
                "该联查所涉被执行人与本次委托的被执行人不一致",
                "the lookup concerns another debtor",
            )
        )
    return records


reveal_option = click.option(
    "--reveal",
    is_flag=True,
    help="Show identifiers, names, accounts and addresses unmasked (recorded with the purpose).",
)


@click.group("lookup")
def lookup() -> None:
    """跨区域财产联查: ask another region for a debtor's assets; read the results."""


@lookup.command("request")
@home_option
@click.option("--to", "target", required=True, help="Node id of the region asked, e.g. chongqing.")
@click.option(
    "--case",
    "--case-number",
    "case_number",
    required=True,
    help="Enforcement case 案号 (执/执恢/执保).",
)
@debtor_options()
@click.option(
    "--categories",
    required=True,
    help="Comma-separated: deposit, wealth, securities, real_estate, vehicle, equity, ship, "
    "online_funds, other_property.",
)
@click.option("--purpose", required=True, help="Why 事由 (recorded with the request).")
@actor_option()
@click.option("--wait", is_flag=True, help="Return when the reply arrives.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(0.1, 300),
    default=DEFAULT_WAIT_S,
    show_default=True,
    help="Seconds --wait waits for the reply.",
)
@confirm_option
@reveal_option
@json_option
@click.pass_context
def request(
    ctx: click.Context,
    home: Path,
    target: str,
    case_number: str,
    id_any: str,
    id_number: str,
    credit_code: str,
    name: str,
    debtor_type: str | None,
    categories: str,
    purpose: str,
    actor: str,
    wait: bool,
    timeout_s: float,
    confirm_bad_credit_code: bool,
    reveal: bool,
    as_json: bool,
) -> None:
    """Ask region TARGET what the debtor of CASE owns there (the asked categories only)."""
    try:
        wanted = parse_categories(categories)
    except ValidationError as e:
        raise InvalidInput(joined("--categories", e.zh, e.explanation)) from None
    debtor = debtor_of(id_any, id_number, credit_code, debtor_type, name)
    message = lookups_pb2.LookupRequest(
        target=target,
        case_number=case_number,
        debtor=debtor,
        categories=wanted,  # type: ignore[arg-type]
        purpose=purpose,
        actor=actor,
        credit_code_confirmed=confirm_bad_credit_code,
        wait_s=timeout_s if wait else 0,
        reveal=reveal,
    )
    with node_client(home) as client:
        result = client.call(
            client.lookups.Request,
            message,
            lookups_pb2.LookupResult,
            timeout_s=CALL_TIMEOUT_S + (timeout_s if wait else 0),
        )
    _finish(ctx, result_doc(result), as_json)


@lookup.command("list")
@home_option
@click.option("--status", type=click.Choice(["pending", "answered", "denied"]), default=None)
@click.option("--to", "target", default="", help="Only lookups addressed to this node id.")
@click.option("--from", "requester", default="", help="Only lookups made by this node id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@json_option
def list_(
    home: Path,
    status: str | None,
    target: str,
    requester: str,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Lookups this node holds: who asked whom, for which case, and the outcome (no debtors,
    no assets: `show` reads those, and is recorded)."""
    with node_client(home) as client:
        response = client.call(
            client.lookups.List,
            lookups_pb2.ListLookupsRequest(
                status=status or "",
                target=target,
                requester=requester,
                limit=limit,
                offset=offset,
            ),
            lookups_pb2.ListLookupsResponse,
        )
    docs = [lookup_doc(i) for i in response.items]
    if as_json:
        emit_json({"lookups": docs, "total": response.total})
        return
    if not docs:
        console().print("no lookups 无联查记录")
        return
    t = table(
        "subject 编号", "案号 case", "from → to", "status 状态", "categories 类别",
        "assets 财产", "requested by 承办人", "requested at 时间",
        title=f"{len(docs)} of {response.total} lookups 联查",
    )  # fmt: skip
    for d in docs:
        outcome = str(d["assets_found"]) if d["status"] == "answered" else d["denial_reason"]
        t.add_row(
            d["subject"],
            d["case_number"],
            f"{d['requester']} → {d['target']}",
            _STATUS_ZH.get(d["status"], d["status"]),
            ", ".join(d["categories"]),
            outcome,
            d["requested_by"],
            d["requested_at"],
        )
    print_table(t)


@lookup.command("show")
@home_option
@click.argument("subject")
@actor_option()
@click.option("--purpose", required=True, help="Why you read this result (recorded).")
@reveal_option
@json_option
@click.pass_context
def show(
    ctx: click.Context,
    home: Path,
    subject: str,
    actor: str,
    purpose: str,
    reveal: bool,
    as_json: bool,
) -> None:
    """Read the result of lookup SUBJECT; the read is recorded in this node's log."""
    with node_client(home) as client:
        result = client.call(
            client.lookups.Get,
            lookups_pb2.GetLookupRequest(
                subject=subject, actor=actor, purpose=purpose, reveal=reveal
            ),
            lookups_pb2.LookupResult,
        )
    _finish(ctx, result_doc(result), as_json)
