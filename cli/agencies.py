"""``ccnode agencies``: the agencies of joint punishment (联合惩戒单位) admitted to this node's
Agency service, each with its rate and daily quota (0 / absent: the node's defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ccnode.v1 import admin_pb2
from cli.common.client import load_config, node_client
from cli.common.offline import node_runs, stopped_store
from cli.common.options import actor_option, home_option, json_option
from cli.output import console, emit_json, print_table, table, unix_ms_iso
from node.clock import SystemClock
from node.store.base import AgencyRecord
from sync.ids import NODE_ID, NODE_ID_RE

STOPPED_NOTE = "node is not running: saved; it applies when the node starts"


def _check_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not NODE_ID_RE.fullmatch(value):
        raise click.BadParameter(
            f"须为节点编号，即其联合惩戒单位证书中的 <name>（{NODE_ID}） / "
            f"must match {NODE_ID} (the <name> of its agency certificate)"
        )
    return value


def agency_doc(a: admin_pb2.AgencyEntry) -> dict[str, Any]:
    return {
        "name": a.name,
        "rate_per_s": a.effective_rate_per_s,
        "burst": a.effective_burst,
        "daily_quota": a.effective_daily_quota,
        "default_limits": {
            "rate_per_s": not a.rate_per_s,
            "burst": not a.burst,
            "daily_quota": not a.daily_quota,
        },
        "used_today": a.used_today,
        "added_at_unix_ms": a.added_at_unix_ms,
        "added_by": a.added_by,
    }


def _offline_entry(r: AgencyRecord, home: Path) -> admin_pb2.AgencyEntry:
    defaults = load_config(home).agencies
    return admin_pb2.AgencyEntry(
        name=r.name,
        rate_per_s=r.rate_per_s or 0.0,
        burst=r.burst or 0,
        daily_quota=r.daily_quota or 0,
        added_at_unix_ms=r.added_at_unix_ms,
        added_by=r.added_by,
        effective_rate_per_s=r.rate_per_s or defaults.rate_per_s,
        effective_burst=r.burst or defaults.burst,
        effective_daily_quota=r.daily_quota or defaults.daily_quota,
    )


@click.group("agencies")
def agencies() -> None:
    """Agencies of joint punishment admitted to the Agency service (mutual TLS)."""


@agencies.command("add")
@home_option
@click.argument("name", callback=_check_name)
@click.option(
    "--rate",
    "rate_per_s",
    type=click.FloatRange(0, 100_000, min_open=True),
    default=None,
    help="Calls per second (token bucket; default: agencies.rate_per_s in node.json).",
)
@click.option("--burst", type=click.IntRange(1, 1_000_000), default=None, help="Bucket size.")
@click.option(
    "--quota",
    "daily_quota",
    type=click.IntRange(1, 10**12),
    default=None,
    help="Subjects checked per UTC day (default: agencies.daily_quota in node.json).",
)
@actor_option()
@json_option
def add(
    home: Path,
    name: str,
    rate_per_s: float | None,
    burst: int | None,
    daily_quota: int | None,
    actor: str,
    as_json: bool,
) -> None:
    """Admit agency NAME (certificate spiffe://<td>/agency/NAME); re-adding it replaces its
    limits."""
    running = node_runs(home)
    replaced = False
    if running:
        entry = admin_pb2.AgencyEntry(
            name=name, rate_per_s=rate_per_s or 0.0, burst=burst or 0, daily_quota=daily_quota or 0
        )
        with node_client(home) as client:
            response = client.call(
                client.admin.AddAgency,
                admin_pb2.AddAgencyRequest(agency=entry, actor=actor),
                admin_pb2.AddAgencyResponse,
            )
        replaced = response.replaced
    else:
        with stopped_store(home) as store:
            replaced = any(r.name == name for r in store.agencies())
            now_ms = SystemClock().now_ms()  # when the officer admitted it
            store.put_agency(AgencyRecord(name, rate_per_s, burst, daily_quota, now_ms, actor))
    if as_json:
        emit_json({"added": name, "replaced": replaced, "node_running": running})
        return
    console().print(f"{'updated' if replaced else 'admitted'} agency {name}")
    if not running:
        console().print(STOPPED_NOTE)


@agencies.command("list")
@home_option
@json_option
def list_(home: Path, as_json: bool) -> None:
    """Admitted agencies, their limits in effect and the subjects they checked today."""
    running = node_runs(home)
    if running:
        with node_client(home) as client:
            response = client.call(
                client.admin.ListAgencies,
                admin_pb2.ListAgenciesRequest(),
                admin_pb2.ListAgenciesResponse,
            )
        docs = [agency_doc(a) for a in response.agencies]
    else:
        with stopped_store(home) as store:
            docs = [agency_doc(_offline_entry(r, home)) for r in store.agencies()]
    if as_json:
        emit_json({"agencies": docs, "node_running": running})
        return
    if not docs:
        console().print("no agencies admitted; admit one with `ccnode agencies add`")
        return
    t = table(
        "agency 单位", "rate/s 速率", "burst", "daily quota 日限额", "used today 今日",
        "added 加入", "by 承办人",
    )  # fmt: skip
    for d in docs:
        default = d["default_limits"]
        t.add_row(
            d["name"],
            f"{d['rate_per_s']:g}{' (default)' if default['rate_per_s'] else ''}",
            f"{d['burst']}{' (default)' if default['burst'] else ''}",
            f"{d['daily_quota']}{' (default)' if default['daily_quota'] else ''}",
            str(d["used_today"]) if running else "-",
            unix_ms_iso(d["added_at_unix_ms"]),
            d["added_by"],
        )
    print_table(t)


@agencies.command("remove")
@home_option
@click.argument("name")
@json_option
def remove(home: Path, name: str, as_json: bool) -> None:
    """Withdraw agency NAME's admission: its next call is refused (recorded) and its Follow
    streams end."""
    if node_runs(home):
        with node_client(home) as client:
            response = client.call(
                client.admin.RemoveAgency,
                admin_pb2.RemoveAgencyRequest(name=name),
                admin_pb2.RemoveAgencyResponse,
            )
        removed = response.removed
    else:
        with stopped_store(home) as store:
            removed = store.remove_agency(name)
    if as_json:
        emit_json({"removed": removed, "name": name})
    if not removed:
        raise click.ClickException(f"未接入联合惩戒单位 {name} / no agency {name} was admitted")
    if not as_json:
        console().print(f"removed agency {name}")
