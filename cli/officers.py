"""``ccnode officers``: the register of officers authorised at this node's courts.

The ``--actor`` of a lookup, a task or seizure step, a blacklist write or a recorded read must
name a registered officer (its id) of a court the node serves; the node refuses any other
(field ``actor``, rule ``officer_unregistered``; 网络查询冻结规定 arts. 7–8).
"""

from __future__ import annotations

from pathlib import Path

import click

from ccnode.v1 import admin_pb2
from cli.common.client import node_client
from cli.common.options import home_option, json_option
from cli.output import console, emit_json, print_table, table
from sync.domain.registers import OFFICER_ROLES


def officer_doc(o: admin_pb2.Officer) -> dict[str, str]:
    return {"officer_id": o.officer_id, "court": o.court, "name": o.name, "role": o.role}


@click.group("officers")
def officers() -> None:
    """承办人: officers authorised to act at this node's courts (what --actor names)."""


@officers.command("add")
@home_option
@click.option("--court", required=True, help="Court code the officer serves at, e.g. 川0104.")
@click.option("--id", "officer_id", required=True, help="Officer id: what --actor names.")
@click.option("--name", required=True, help="The officer's name.")
@click.option("--role", type=click.Choice(OFFICER_ROLES), required=True)
@json_option
def add(home: Path, court: str, officer_id: str, name: str, role: str, as_json: bool) -> None:
    """Register an officer (or update one registered before under the same id)."""
    officer = admin_pb2.Officer(officer_id=officer_id, court=court, name=name, role=role)
    with node_client(home) as client:
        reply = client.call(
            client.admin.AddOfficer,
            admin_pb2.AddOfficerRequest(officer=officer),
            admin_pb2.AddOfficerResponse,
        )
    if as_json:
        emit_json(officer_doc(reply.officer))
        return
    o = reply.officer
    console().print(f"registered 已登记 {o.officer_id} ({o.role}) at {o.court}", markup=False)


@officers.command("list")
@home_option
@json_option
def list_(home: Path, as_json: bool) -> None:
    """The registered officers, by court."""
    with node_client(home) as client:
        reply = client.call(
            client.admin.ListOfficers,
            admin_pb2.ListOfficersRequest(),
            admin_pb2.ListOfficersResponse,
        )
    if as_json:
        emit_json({"officers": [officer_doc(o) for o in reply.officers]})
        return
    if not reply.officers:
        console().print("no officers registered 无登记承办人 (ccnode officers add)")
        return
    t = table("court 法院", "id 编号", "name 姓名", "role 职务", title="officers 承办人")
    for o in reply.officers:
        t.add_row(o.court, o.officer_id, o.name, o.role)
    print_table(t)


@officers.command("remove")
@home_option
@click.argument("officer_id")
@json_option
def remove(home: Path, officer_id: str, as_json: bool) -> None:
    """Remove an officer: the node refuses their --actor from then on."""
    with node_client(home) as client:
        reply = client.call(
            client.admin.RemoveOfficer,
            admin_pb2.RemoveOfficerRequest(officer_id=officer_id),
            admin_pb2.RemoveOfficerResponse,
        )
    if as_json:
        emit_json({"officer_id": officer_id, "removed": reply.removed})
        return
    if not reply.removed:
        raise click.ClickException(
            f"未登记承办人 {officer_id} / no officer {officer_id} is registered"
        )
    console().print(f"removed 已注销 {officer_id}", markup=False)
