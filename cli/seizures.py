"""``ccnode seizures``: the 查封、扣押、冻结 ledger — list, expiring, renew, release.

Seizures are recorded by the tasks that took them (``ccnode tasks report / complete``). The
node computes each one's state as of its today: in effect, queued behind earlier seizures of
the same asset (轮候), released or lapsed; with flags for 30 days left, over the case's
amount, and release needed. Renewals and releases are drafts on the seizure's task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ccnode.v1 import log_pb2, payloads_pb2, tasks_pb2
from cli.common.client import node_client
from cli.common.options import actor_option, as_of_option, as_of_text, home_option, json_option
from cli.output import console, emit_json, print_table, table
from cli.tasks import (
    as_of_of,
    doc_of,
    refused,
    report_written,
    seizures_table,
    step_draft,
    submit,
    yuan,
)
from sync.folds.tasks import seizure_task

LIST_LIMIT_MAX = 1000
_STATES = ["in_effect", "queued", "released", "lapsed", "void"]


def _task_of(seizure_id: str) -> str:
    task = seizure_task(seizure_id)
    if task is None:
        raise refused(
            "SEIZURE_ID",
            "措施编号",
            "须为措施编号 <事项编号>/s<序号>，如 chengdu/task/3/s1",
            "must be a seizure id <task>/s<n>",
        )
    return task


@click.group("seizures")
def seizures() -> None:
    """查封、扣押、冻结: the seizure ledger of delegated tasks."""


@seizures.command("list")
@home_option
@click.option("--case-number", default="", help="Only this case's seizures, with its total.")
@click.option("--task", default="", help="Only this task's seizures.")
@click.option("--state", type=click.Choice(_STATES), default=None)
@click.option("--limit", type=click.IntRange(1, LIST_LIMIT_MAX), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@json_option
def list_(home: Path, case_number: str, task: str, state: str | None, limit: int, offset: int,
          as_json: bool) -> None:  # fmt: skip
    """Seizures held by this node, with per-case totals against the amount plus costs."""
    request = tasks_pb2.SeizuresRequest(
        case_number=case_number, task=task, state=state or "", limit=limit, offset=offset
    )
    with node_client(home) as client:
        response = client.call(client.tasks.Seizures, request, tasks_pb2.SeizuresResponse)
    if as_json:
        emit_json(
            {
                "items": [doc_of(s) for s in response.items],
                "total": response.total,
                "cases": [doc_of(c) for c in response.cases],
                "today": response.today,
            }
        )
        return
    if not response.items:
        console().print(f"no seizures 无查封冻结 (total {response.total})")
        return
    seizures_table(response.items, title=f"seizures 查封冻结 as of {response.today}")
    totals = table("案号 case", "cap 标的+费用", "in effect 已控制", "over 超标的")
    for c in response.cases:
        totals.add_row(c.case_number, yuan(c.cap_fen), yuan(c.in_effect_fen),
                       yuan(c.over_fen) if c.over_fen else "")  # fmt: skip
    print_table(totals)


@seizures.command("expiring")
@home_option
@click.option("--within-days", type=click.IntRange(1, 3650), default=30, show_default=True)
@as_of_option("the seizures in effect then that end within the days")
@json_option
def expiring(home: Path, within_days: int, as_of: Any, as_json: bool) -> None:
    """Seizures in effect that end within the given days (of today, or of --as-of): renew
    them before they lapse."""
    request = tasks_pb2.SeizuresExpiringRequest(within_days=within_days, as_of=as_of_text(as_of))
    with node_client(home) as client:
        response = client.call(
            client.tasks.SeizuresExpiring, request, tasks_pb2.SeizuresExpiringResponse
        )
    day = as_of_of(response)
    if as_json:
        emit_json({"items": [doc_of(s) for s in response.items], "today": response.today,
                   "as_of": day})  # fmt: skip
        return
    if not response.items:
        console().print(f"nothing expires within {within_days} days 无即将到期 ({day})")
        return
    seizures_table(response.items, title=f"expiring 即将到期 within {within_days} days of {day}")


@seizures.command("renew")
@home_option
@click.argument("seizure_id")
@click.option(
    "--term-days",
    type=click.IntRange(1),
    default=None,
    help="Days added after the current end (default: the category's maximum).",
)
@actor_option()
@json_option
def renew(home: Path, seizure_id: str, term_days: int | None, actor: str, as_json: bool) -> None:
    """Renew (续行) a seizure before it lapses."""
    body = payloads_pb2.SeizureRenewed(seizure_id=seizure_id, term_days=term_days or 0)
    draft = step_draft(log_pb2.SEIZURE_RENEWED, _task_of(seizure_id), body)
    report_written(f"renewed 已续行 {seizure_id} on", submit(home, [draft], actor), as_json)


@seizures.command("release")
@home_option
@click.argument("seizure_id")
@click.option("--reason", required=True, help="Why 解除理由.")
@actor_option()
@json_option
def release(home: Path, seizure_id: str, reason: str, actor: str, as_json: bool) -> None:
    """Release (解除) a seizure; the next one queued on the asset takes effect."""
    body = payloads_pb2.SeizureReleased(seizure_id=seizure_id, reason=reason)
    draft = step_draft(log_pb2.SEIZURE_RELEASED, _task_of(seizure_id), body)
    report_written(f"released 已解除 {seizure_id} on", submit(home, [draft], actor), as_json)
