"""``ccnode audit``: read, verify, export and compare the logs, as an auditor or the operator.

One module per command family, each registered here with one line:

* verify.py: ``verify`` (the node's Verify RPC, or the store directly when the node is down);
* log.py: ``log`` (who did what, when and why; payloads only within the reader's rights);
* access.py: ``access`` (every lookup and read concerning one person or company);
* bundles.py: ``export``, ``verify-bundle``, ``prove``, ``verify-proof`` (offline files);
* crosscheck.py: ``crosscheck``, ``verify-evidence`` (what no single node sees);
* report.py: ``report`` (one HTML page; report_html.py renders it).

sources.py is where these commands read from: a node's Audit service over mutual TLS, or a
local home's store; labels.py names and masks what they print.
"""

from __future__ import annotations

import click

from cli.audit.access import access
from cli.audit.bundles import export, prove, verify_bundle_cmd, verify_proof_cmd
from cli.audit.crosscheck import crosscheck, verify_evidence_cmd
from cli.audit.log import log_cmd
from cli.audit.report import report
from cli.audit.verify import verify


@click.group("audit")
def audit() -> None:
    """Audit this node's copy of the logs."""


audit.add_command(verify)
audit.add_command(export)
audit.add_command(verify_bundle_cmd)
audit.add_command(prove)
audit.add_command(verify_proof_cmd)
audit.add_command(access)
audit.add_command(crosscheck)
audit.add_command(verify_evidence_cmd)
audit.add_command(log_cmd)
audit.add_command(report)
