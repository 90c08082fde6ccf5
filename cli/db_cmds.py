"""The store's lifecycle: ``ccnode db status``, ``ccnode db upgrade`` and ``ccnode backup``."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common.client import load_config
from cli.common.offline import serve_lock
from cli.common.options import home_option, json_option
from cli.output import emit_json
from node.config import NodeConfig, masked_url
from node.store import MEMORY_URL
from node.store.base import StoreError
from node.store.migrate import SchemaStatus, SchemaTooNew, known_revisions


@click.group("db")
def db_group() -> None:
    """The node's store: its schema revision and upgrades."""


def _store_exists(config: NodeConfig) -> bool:
    return not config.embedded_db or (config.home / "ccnode.db").exists()


def _status(config: NodeConfig) -> SchemaStatus:
    if config.db_url == MEMORY_URL:
        raise click.ClickException('the store is in memory (db = "memory:"): it has no schema')
    if not _store_exists(config):
        return SchemaStatus(None, known_revisions())  # created at the first start
    from node.store.sql import schema_status  # SQLAlchemy only where a store is read

    try:
        return schema_status(config.db_url)
    except StoreError as e:
        raise click.ClickException(f"cannot read the store of {config.home}: {e}") from e


@db_group.command("status")
@home_option
@json_option
def status(home: Path, as_json: bool) -> None:
    """The store's schema revision, the revisions this ccnode knows and those pending
    (applied by `ccnode db upgrade`, or when the node starts). Exit 1 if the store is newer
    than this ccnode."""
    config = load_config(home)
    st = _status(config)
    if as_json:
        emit_json(
            {
                "store": masked_url(config.db_url),
                "current": st.current,
                "latest": st.latest,
                "known": [r.revision for r in st.known],
                "pending": [r.revision for r in st.pending],
                "newer": st.newer,
            }
        )
    else:
        click.echo(f"store: {masked_url(config.db_url)}")
        click.echo(f"schema revision: {st.current or 'none (empty store)'}")
        click.echo(f"latest this ccnode knows: {st.latest} ({len(st.known)} revisions)")
        if st.pending and not _store_exists(config):
            click.echo(f"no store yet: the node creates it at its first start, at {st.latest}")
        elif st.pending:
            click.echo(
                f"pending ({len(st.pending)}); apply with `ccnode db upgrade --home {home}`:"
            )
            for r in st.pending:
                click.echo(f"  {r.revision}  {r.title}")
        elif not st.newer:
            click.echo("up to date")
    if st.newer and st.current is not None:
        raise click.ClickException(str(SchemaTooNew(st.current, st.latest)))


@db_group.command("upgrade")
@home_option
def upgrade(home: Path) -> None:
    """Apply the pending schema revisions, printing each. The node must be stopped (it
    applies them itself when it starts)."""
    config = load_config(home)
    st = _status(config)
    if st.newer and st.current is not None:
        raise click.ClickException(str(SchemaTooNew(st.current, st.latest)))
    if not _store_exists(config):
        raise click.ClickException(f"{home} holds no store yet (the node has never run)")
    if not st.pending:
        click.echo(f"the store is at the latest revision {st.latest}; nothing to do")
        return
    with serve_lock(home) as held:
        if not held:
            raise click.ClickException(
                f"node at {home} is running; it applied the revisions it knows when it "
                "started: stop it to upgrade with a newer ccnode"
            )
        from node.store.sql import SqlStore

        def applied(revision: str, title: str) -> None:
            click.echo(f"applied {revision}  {title}")

        try:
            SqlStore(config.db_url, on_migrated=applied).close()
        except StoreError as e:
            raise click.ClickException(f"cannot upgrade the store of {home}: {e}") from e
    click.echo(f"the store is at revision {st.latest}")


@click.command("backup")
@home_option
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The backup file to write (must not exist).",
)
@json_option
def backup(home: Path, out: Path, as_json: bool) -> None:
    """Copy the node's SQLite store to OUT, also while the node runs (SQLite's online
    backup: one consistent snapshot, the WAL's newest commits included). A PostgreSQL
    store is backed up with pg_dump (docs/operations.md, Backup)."""
    config = load_config(home)
    if config.db_url == MEMORY_URL:
        raise click.ClickException('the store is in memory (db = "memory:"): nothing to back up')
    if not config.db_url.startswith("sqlite"):
        raise click.ClickException(
            f"the store of {home} is PostgreSQL: back it up with pg_dump, e.g. "
            f"pg_dump --format=custom --file {out} '{masked_url(config.db_url)}' "
            "(docs/operations.md, Backup)"
        )
    from sqlalchemy.engine import make_url

    from node.store.backup import backup_sqlite

    database = make_url(config.db_url).database or ""
    try:
        result = backup_sqlite(Path(database), out)
    except StoreError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        emit_json(
            {
                "out": str(result.path),
                "entries": result.entries,
                "origins": result.origins,
                "bytes": result.bytes,
                "revision": result.revision,
            }
        )
        return
    click.echo(
        f"backed up {result.entries} entries of {result.origins} logs, {result.bytes} bytes, "
        f"schema revision {result.revision} to {result.path}"
    )
