"""``ccnode assets``: this region's asset registry — import agency data, count, sample data.

The registry is local data that answers lookups from other regions; it is never replicated.
``import`` reads JSON lines (one asset per line, the format of sync/domain/assets.py): every
line is checked before anything is sent, and the first bad line rejects the whole file with its
line number and field. Then the records go to the node in batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ccnode.v1 import lookups_pb2, payloads_pb2
from cli.common.client import CALL_TIMEOUT_S, node_client
from cli.common.errors import InvalidInput
from cli.common.options import home_option, json_option
from cli.output import console, emit_json, err_console
from node.businesses.lookups.samples import REGIONS, generate
from sync.domain.assets import asset_from_json, asset_to_json
from sync.domain.errors import ValidationError, line_prefix
from sync.domain.wording import joined

BATCH_RECORDS = 5_000  # per message: ~2 MB, well under the node's message limit
IMPORT_TIMEOUT_PER_RECORD_S = 0.001


def _open(file: Path) -> TextIO:
    try:
        return file.open(encoding="utf-8-sig")
    except OSError as e:
        raise click.ClickException(
            f"{file}：无法读取（{type(e).__name__}） / {file}: cannot read ({type(e).__name__})"
        ) from None


def _records(
    file: Path, *, allow_bad_credit_codes: bool
) -> Iterator[tuple[int, payloads_pb2.AssetRecord]]:
    """(line number, record) of every non-blank line; InvalidInput at the first bad one."""
    with _open(file) as lines:
        try:
            for line_no, line in enumerate(lines, start=1):
                if line.strip():
                    yield line_no, _parse_line(line, line_no, allow_bad_credit_codes)
        except UnicodeDecodeError:
            raise click.ClickException(
                f"{file}：不是 UTF-8 编码的文本 / {file}: not UTF-8 text"
            ) from None


def _parse_line(line: str, line_no: int, allow_bad_credit_codes: bool) -> payloads_pb2.AssetRecord:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        # e.msg says what broke (no input is quoted); the column says where.
        raise InvalidInput(
            f"{line_prefix(line_no)}不是有效的 JSON（第{e.colno}列） / "
            f"line {line_no}: not valid JSON ({e.msg} at column {e.colno})"
        ) from None
    try:
        return asset_from_json(obj, line_no, allow_bad_credit_code=allow_bad_credit_codes)
    except ValidationError as e:
        raise InvalidInput(str(e)) from None


def _check(file: Path, allow_bad_credit_codes: bool, progress: Progress) -> int:
    """Pass 1: every line valid and every asset id once; the number of records."""
    task = progress.add_task("checking 检查", total=None)
    seen: dict[str, int] = {}
    for line_no, record in _records(file, allow_bad_credit_codes=allow_bad_credit_codes):
        first = seen.setdefault(record.asset_id, line_no)
        if first != line_no:
            raise InvalidInput(
                line_prefix(line_no)
                + joined(
                    "asset_id",
                    f"与第{first}行的财产重复，每件财产只导入一次",
                    f"repeats the asset of line {first}",
                )
            )
        progress.advance(task)
    if not seen:
        raise InvalidInput(f"{file}：没有可导入的财产 / {file}: no assets to import")
    return len(seen)


def _batches(
    file: Path, allow_bad_credit_codes: bool, progress: Progress, total: int
) -> Iterator[lookups_pb2.ImportAssetsRequest]:
    """Pass 2: the records again (never all in memory), in messages of BATCH_RECORDS."""
    task = progress.add_task("sending 发送", total=total)
    batch: list[payloads_pb2.AssetRecord] = []
    first_line = 0
    for line_no, record in _records(file, allow_bad_credit_codes=allow_bad_credit_codes):
        first_line = first_line or line_no
        batch.append(record)
        if len(batch) == BATCH_RECORDS:
            yield _message(batch, first_line, allow_bad_credit_codes)
            progress.advance(task, len(batch))
            batch, first_line = [], 0
    if batch:
        yield _message(batch, first_line, allow_bad_credit_codes)
        progress.advance(task, len(batch))


def _message(
    batch: list[payloads_pb2.AssetRecord], first_line: int, allow: bool
) -> lookups_pb2.ImportAssetsRequest:
    # first_line only when the batch's lines are consecutive (no blank line inside it).
    return lookups_pb2.ImportAssetsRequest(
        records=batch, first_line=first_line, allow_bad_credit_codes=allow
    )


@click.group("assets")
def assets() -> None:
    """This region's asset registry 财产登记: import, count, generate sample data."""


@assets.command("import")
@home_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--allow-bad-credit-codes",
    is_flag=True,
    help="Accept early credit codes that fail the GB 32100 check (an officer confirmed them).",
)
@json_option
def import_(home: Path, file: Path, allow_bad_credit_codes: bool, as_json: bool) -> None:
    """Load the asset records of a JSON-lines FILE (inserted, or replaced by asset_id)."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=err_console(), disable=as_json, transient=False,
    ) as progress:  # fmt: skip
        total = _check(file, allow_bad_credit_codes, progress)
        with node_client(home) as client:
            response = client.call(
                client.lookups.ImportAssets,
                _batches(file, allow_bad_credit_codes, progress, total),
                lookups_pb2.ImportAssetsResponse,
                timeout_s=CALL_TIMEOUT_S + IMPORT_TIMEOUT_PER_RECORD_S * total,
            )
    if as_json:
        emit_json({"imported": response.imported, "total": response.total})
        return
    console().print(
        f"imported 已导入 {response.imported} assets from {file}; "
        f"registry 登记 {response.total} assets"
    )


@assets.command("count")
@home_option
@json_option
def count(home: Path, as_json: bool) -> None:
    """How many asset records this node's registry holds."""
    with node_client(home) as client:
        total = client.call(
            client.lookups.CountAssets,
            lookups_pb2.CountAssetsRequest(),
            lookups_pb2.CountAssetsResponse,
        ).total
    if as_json:
        emit_json({"total": total})
        return
    console().print(f"{total} assets 条财产记录")


@assets.command("generate")
@click.option("--count", "n", type=click.IntRange(1), required=True, help="Records to write.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    required=True,
    help="JSON-lines file to write (the import format).",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--region", type=click.Choice(sorted(REGIONS)), default="chongqing", show_default=True
)
@click.option(
    "--owners-out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    default=None,
    help="Also write the owners' identifiers, one per line (to try lookups against).",
)
@json_option
def generate_(
    n: int, out: Path, seed: int, region: str, owners_out: Path | None, as_json: bool
) -> None:
    """Write realistic synthetic asset records for demos and benchmarks (reproducible)."""
    owners: dict[str, None] = {}
    with out.open("w", encoding="utf-8") as f:
        for record in generate(n, seed=seed, region=region):
            owners.setdefault(record.owner_id)
            f.write(json.dumps(asset_to_json(record), ensure_ascii=False) + "\n")
    if owners_out is not None:
        owners_out.write_text("".join(f"{o}\n" for o in owners), encoding="utf-8")
    if as_json:
        emit_json({"records": n, "owners": len(owners), "out": str(out)})
        return
    console().print(f"wrote {n} sample assets of {len(owners)} owners to {out}")
