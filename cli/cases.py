"""``ccnode cases``: the register of the parties (debtors) of this node's enforcement cases.

A lookup may only concern a debtor of the case it cites (网络查询冻结规定 arts. 7–8): the node
sends a lookup only for a debtor registered here for that case, and its signed request says
so (``debtor_registered``); the target denies a request without it (``NOT_A_DEBTOR``).
Identifiers of persons are masked in lists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ccnode.v1 import admin_pb2, payloads_pb2
from cli.common.client import node_client
from cli.common.options import confirm_option, home_option, json_option
from cli.lookup import debtor_of, debtor_options
from cli.output import console, emit_json, print_table, table

F = TypeVar("F", bound=Callable[..., Any])


def case_number_input(func: F) -> F:
    """The case as ``CASE_NUMBER`` or as ``--case-number``, the option by which the node's
    refusals name it (案号（--case-number）); one of the two, or both alike."""
    func = click.option(
        "--case-number", "case_number_opt", default="", help="The case's 案号 (or CASE_NUMBER)."
    )(func)
    return click.argument("case_number", required=False, default="")(func)


def one_case_number(argument: str, option: str) -> str:
    """The case number given as CASE_NUMBER or ``--case-number``: exactly one (or both alike)."""
    given = {v.strip() for v in (argument, option) if v.strip()}
    if len(given) != 1:
        raise click.UsageError(
            "案号（--case-number）：须填写一个案号（CASE_NUMBER 或 --case-number）"
            " / case_number: give one case number, as CASE_NUMBER or --case-number"
        )
    return given.pop()


def _party(case_number: str, debtor: payloads_pb2.Debtor, confirm: bool) -> admin_pb2.CaseParty:
    return admin_pb2.CaseParty(
        case_number=case_number, debtor=debtor, confirm_bad_credit_code=confirm
    )


def party_doc(p: admin_pb2.CaseParty) -> dict[str, Any]:
    d = p.debtor
    person = d.type == payloads_pb2.PERSON
    return {
        "case_number": p.case_number,
        "type": "person" if person else "org",
        "id": d.id_number if person else d.credit_code,
        "name": d.name,
    }


@click.group("cases")
def cases() -> None:
    """案件当事人: the debtors of this node's enforcement cases (what lookups may concern)."""


@cases.command("add-party")
@home_option
@case_number_input
@debtor_options()
@confirm_option
@json_option
def add_party(home: Path, case_number: str, case_number_opt: str, id_any: str, id_number: str,
              credit_code: str, name: str, debtor_type: str | None,
              confirm_bad_credit_code: bool, as_json: bool) -> None:  # fmt: skip
    """Register a debtor of CASE_NUMBER (a 执 / 执恢 / 执保 case of a court this node serves)."""
    case_number = one_case_number(case_number, case_number_opt)
    debtor = debtor_of(id_any, id_number, credit_code, debtor_type, name)
    party = _party(case_number, debtor, confirm_bad_credit_code)
    with node_client(home) as client:
        reply = client.call(
            client.admin.AddCaseParty,
            admin_pb2.AddCasePartyRequest(party=party),
            admin_pb2.AddCasePartyResponse,
        )
    if as_json:
        emit_json({"case_number": case_number, "warnings": list(reply.warnings)})
        return
    for warning in reply.warnings:
        console().print(f"warning: {warning}", markup=False)
    console().print(f"registered 已登记 a debtor of {case_number}", markup=False)


@cases.command("list-parties")
@home_option
@click.argument("case_number", required=False, default="")
@json_option
def list_parties(home: Path, case_number: str, as_json: bool) -> None:
    """The registered debtors of CASE_NUMBER (or of every case), persons' IDs masked."""
    with node_client(home) as client:
        reply = client.call(
            client.admin.ListCaseParties,
            admin_pb2.ListCasePartiesRequest(case_number=case_number),
            admin_pb2.ListCasePartiesResponse,
        )
    docs = [party_doc(p) for p in reply.parties]
    if as_json:
        emit_json({"parties": docs})
        return
    if not docs:
        console().print("no parties registered 无登记当事人 (ccnode cases add-party)")
        return
    t = table("案号 case", "type 类型", "id 证件号", "name 名称", title="case parties 案件当事人")
    for doc in docs:
        t.add_row(doc["case_number"], doc["type"], doc["id"], doc["name"])
    print_table(t)


@cases.command("remove-party")
@home_option
@case_number_input
@debtor_options(with_name=False)
@json_option
def remove_party(home: Path, case_number: str, case_number_opt: str, id_any: str,
                 id_number: str, credit_code: str, debtor_type: str | None,
                 as_json: bool) -> None:  # fmt: skip
    """Remove a debtor from CASE_NUMBER: lookups of them citing it are refused from then on."""
    case_number = one_case_number(case_number, case_number_opt)
    debtor = debtor_of(id_any, id_number, credit_code, debtor_type, "")
    party = _party(case_number, debtor, True)
    with node_client(home) as client:
        reply = client.call(
            client.admin.RemoveCaseParty,
            admin_pb2.RemoveCasePartyRequest(party=party),
            admin_pb2.RemoveCasePartyResponse,
        )
    if as_json:
        emit_json({"case_number": case_number, "removed": reply.removed})
        return
    if not reply.removed:
        raise click.ClickException(
            f"案件{case_number}无此登记当事人 / no such party is registered for {case_number}"
        )
    console().print(f"removed 已移除 a debtor of {case_number}", markup=False)
