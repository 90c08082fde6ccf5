"""``ccnode audit access``: every lookup and every read concerning one person or company on
this node, with the officer and the purpose (PIPL accountability; DESIGN.md section 3).

The node finds them by the SHA-256 of the normalised identifier (the subject key recorded with
each lookup and each ACCESS_RECORDED read), so the identifier given here is not stored again
and is never printed back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ccnode.v1 import lookups_pb2
from cli.common.client import node_client
from cli.common.errors import InvalidInput
from cli.common.options import home_option, json_option
from cli.lookup import lookup_doc
from cli.output import console, emit_json, print_table, table, unix_ms_iso
from sync.domain.wording import joined
from sync.hlc import physical_ms


def read_doc(read: lookups_pb2.AccessItem) -> dict[str, Any]:
    return {
        "entry_id": read.entry_id,
        "actor": read.actor,
        "at": unix_ms_iso(physical_ms(read.hlc)) if read.hlc else "",
        "purpose": read.purpose,
        "what": read.what,
        "entries": list(read.entries),
    }


@click.command("access")
@home_option
@click.option(
    "--subject", "id_number", required=True, help="Resident ID or credit code of the person."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=1000, show_default=True)
@json_option
def access(home: Path, id_number: str, limit: int, as_json: bool) -> None:
    """Lookups and reads of personal data about one person or company, on this node."""
    if not id_number.strip():
        raise InvalidInput(
            joined(
                "--subject",
                "必须填写公民身份号码或统一社会信用代码",
                "the identifier is required",
            )
        )
    with node_client(home) as client:
        response = client.call(
            client.lookups.Access,
            lookups_pb2.AccessRequest(id_number=id_number, limit=limit),
            lookups_pb2.AccessResponse,
        )
    lookups = [lookup_doc(i) for i in response.lookups]
    reads = [read_doc(r) for r in response.reads]
    if as_json:
        emit_json({"lookups": lookups, "reads": reads})
        return
    out = console()
    if not lookups and not reads:
        out.print("no lookups or reads concern this identifier on this node 无记录")
        return
    t = table(
        "lookup 联查", "from → to", "案号 case", "status 状态", "requested by 承办人",
        "purpose 事由", "requested at 时间", "replied by 答复",
        title=f"{len(lookups)} lookups 联查",
    )  # fmt: skip
    for d in lookups:
        t.add_row(
            d["subject"],
            f"{d['requester']} → {d['target']}",
            d["case_number"],
            d["status"],
            d["requested_by"],
            d["purpose"],
            d["requested_at"],
            d["replied_by"],
        )
    print_table(t)
    r = table(
        "read 查阅", "who 查阅人", "when 时间", "purpose 事由", "what 内容", "entries read 条目",
        title=f"{len(reads)} reads 查阅记录",
    )  # fmt: skip
    for d in reads:
        r.add_row(
            d["entry_id"], d["actor"], d["at"], d["purpose"], d["what"], ", ".join(d["entries"])
        )
    print_table(r)
