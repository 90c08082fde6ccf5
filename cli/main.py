"""The ``ccnode`` command: one click group, one module per command group."""

from __future__ import annotations

import click

from cli.agencies import agencies
from cli.assets import assets
from cli.audit import audit
from cli.blacklist import blacklist
from cli.cases import cases
from cli.certs import certs
from cli.common.errors import OUTCOME_UNKNOWN, REFUSED, UNREACHABLE, USAGE
from cli.config_cmds import config_group
from cli.db_cmds import backup, db_group
from cli.demo import demo
from cli.lookup import lookup
from cli.node_cmds import init, serve
from cli.officers import officers
from cli.peers import peers
from cli.retention import retention
from cli.seizures import seizures
from cli.sync_cmds import sync_group
from cli.tasks import tasks

# The exit codes are cli/common/errors.py's; the epilog is \b-marked so click keeps its lines.
EXIT_CODES_EPILOG = f"""\b
Exit codes 退出码:
  0  done
  1  other errors (e.g. no such listing, permission denied)
  {USAGE}  usage error: a bad option, argument or input file; nothing was sent
  {REFUSED}  refused by the node's rules (the rule is named); nothing was changed
  {UNREACHABLE}  the node is not running or unreachable; nothing was sent
  {OUTCOME_UNKNOWN}  the connection dropped after the request was sent: the outcome is unknown
     (the message says how to check; `blacklist import` is safe to re-run)"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_EPILOG)
@click.version_option(package_name="ccnode", prog_name="ccnode")
def main() -> None:
    """ccnode: cross-region court enforcement sync node (成渝执行协作节点)."""


for command in (init, serve, peers, agencies, blacklist, sync_group, audit, certs, demo):
    main.add_command(command)
main.add_command(lookup)
main.add_command(assets)

main.add_command(tasks)
main.add_command(seizures)
for command in (config_group, db_group, backup):
    main.add_command(command)
main.add_command(retention)
main.add_command(officers)
main.add_command(cases)

if __name__ == "__main__":
    main()
