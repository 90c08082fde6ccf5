"""``ccnode config validate`` and ``ccnode config show``: check a node.toml, and show the
values a node runs with (after CCNODE_DB_URL), passwords masked."""

from __future__ import annotations

from pathlib import Path

import click
import tomli_w

from cli.common.client import load_config
from cli.common.errors import InvalidInput
from cli.common.options import home_option, json_option
from cli.output import emit_json
from node.config import (
    CONFIG_FILE,
    DB_URL_ENV,
    LEGACY_CONFIG_FILE,
    ConfigError,
    NodeConfig,
    masked_url,
)


@click.group("config")
def config_group() -> None:
    """Check and show a node's configuration (node.toml)."""


@config_group.command("validate")
@click.option(
    "--home",
    envvar="CCNODE_HOME",
    default=None,
    type=click.Path(path_type=Path, file_okay=False),
    help="The node's home directory (env CCNODE_HOME); its node.toml is checked.",
)
@click.argument(
    "file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
def validate(home: Path | None, file: Path | None) -> None:
    """Check FILE (default: HOME/node.toml) without changing anything: exit 0 if valid,
    2 with one line per problem if not. The environment's CCNODE_DB_URL is checked too."""
    if file is None:
        if home is None:
            raise click.UsageError("give FILE or --home")
        file = home / CONFIG_FILE
        if not file.exists() and (home / LEGACY_CONFIG_FILE).exists():
            file = home / LEGACY_CONFIG_FILE
        if not file.exists():
            raise InvalidInput(f"{home} is not a node home (no {CONFIG_FILE})")
    try:
        NodeConfig.from_file(file, home)
    except ConfigError as e:
        raise InvalidInput(str(e)) from e
    click.echo(f"{file}: valid")


@config_group.command("show")
@home_option
@json_option
def show(home: Path, as_json: bool) -> None:
    """The values the node runs with: node.toml with the defaults filled in and
    CCNODE_DB_URL applied; passwords in database URLs masked."""
    config = load_config(home)
    data = config.effective_data()
    if as_json:
        emit_json({"home": str(config.home), "db_url": _masked_db_url(config), **data})
        return
    click.echo(f"# {config.home / CONFIG_FILE}, defaults filled in")
    if config.db_from_env:
        click.echo(f"# db: from the environment ({DB_URL_ENV})")
    click.echo(f"# the store: {_masked_db_url(config)}")
    click.echo(tomli_w.dumps(data), nl=False)


def _masked_db_url(config: NodeConfig) -> str:
    return masked_url(config.db_url)
