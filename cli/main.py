"""The ``ccnode`` command: one click group, one module per command group."""

from __future__ import annotations

import click

from cli.assets import assets
from cli.audit import audit
from cli.blacklist import blacklist
from cli.certs import certs
from cli.demo import demo
from cli.lookup import lookup
from cli.node_cmds import init, serve
from cli.peers import peers
from cli.seizures import seizures
from cli.sync_cmds import sync_group
from cli.tasks import tasks


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ccnode", prog_name="ccnode")
def main() -> None:
    """ccnode: cross-region court enforcement sync node (成渝执行协作节点)."""


for command in (init, serve, peers, blacklist, sync_group, audit, certs, demo):
    main.add_command(command)
main.add_command(lookup)
main.add_command(assets)

main.add_command(tasks)
main.add_command(seizures)

if __name__ == "__main__":
    main()
