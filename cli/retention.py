"""``ccnode retention``: payload retention (which payloads of closed matters are purged, when)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from ccnode.v1 import admin_pb2, log_pb2
from cli.common.client import node_client
from cli.common.options import as_of_option, as_of_text, home_option, json_option
from cli.output import console, emit_json, print_table, table


@click.group("retention")
def retention() -> None:
    """Payload retention 个人信息保存期限: purge payloads of closed matters after a period."""


def status_doc(response: admin_pb2.RetentionStatusResponse) -> dict[str, Any]:
    return {
        "as_of": response.as_of,
        "today": response.today,
        "enabled": response.enabled,
        "interval_s": response.interval_s,
        "rules": [
            {
                "rule": r.rule,
                "days": r.days,
                "closed_by": r.closed_by,
                "due": r.due,
                "purged": r.purged,
                "next_due_on": r.next_due_on,
            }
            for r in response.rules
        ],
    }


@retention.command("status")
@home_option
@as_of_option("what is due")
@json_option
def status(home: Path, as_of: Any, as_json: bool) -> None:
    """Per rule: the period, payloads due now (or on --as-of), purged so far, next due day."""
    request = admin_pb2.RetentionStatusRequest(as_of=as_of_text(as_of))
    with node_client(home) as client:
        response = client.call(
            client.admin.RetentionStatus, request, admin_pb2.RetentionStatusResponse
        )
    doc = status_doc(response)
    if as_json:
        emit_json(doc)
        return
    t = table(
        "rule 规则",
        "period 期限",
        "closed by 结案",
        "due 到期",
        "purged 已清除",
        "next due 下次到期",
        title=f"payload retention as of {doc['as_of']}",
    )
    for r in doc["rules"]:
        t.add_row(
            r["rule"],
            f"{r['days']} days",
            r["closed_by"],
            str(r["due"]),
            str(r["purged"]),
            r["next_due_on"] or "-",
        )
    print_table(t)
    if not doc["enabled"]:
        console().print("the purge job is off on this node (retention.enabled = false)")


def purged_docs(purged: Iterable[log_pb2.PayloadPurge]) -> list[dict[str, Any]]:
    """A read's purged payloads, for JSON output."""
    return [
        {"entry_id": p.entry_id, "purged_on": p.purged_on, "rule": p.rule, "note": p.note}
        for p in purged
    ]


def print_purged(purged: Iterable[log_pb2.PayloadPurge]) -> None:
    """One line per purged payload: "payload of entry E purged on DATE by retention rule R"."""
    out = console()
    for p in purged:
        out.print(f"payload of entry {p.entry_id} {p.note}", markup=False)
