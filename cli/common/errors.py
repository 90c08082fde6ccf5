"""How a failed call reaches the officer: one line, and an exit code that says whose it is.

One mapping for every client, the local node's (cli/common/client.py) and a remote node's
Audit service (cli/audit/sources.py):

* INVALID_ARGUMENT is a refusal of the input: exit 2, like a usage error. The node sends the
  field, the rule and the refused draft's position structured (node/services/errors.py); the
  line reads ``<field>: <explanation> [rule: <rule>]``, built from those details, never parsed
  from the message. A command names the refused draft its own way (``draft_label``: "line 4"
  for an import) or not at all (one draft). A server without the details is shown as it words
  its message.
* Anything else exits 1: a local node that does not answer is "not running" with how to start
  it, a remote one "unreachable"; a missed deadline says how long was waited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

# The domain of the node's ErrorInfo (node/services/errors.py).
DOMAIN = "ccnode"

# A refused draft's name in a command's words, from its position in the submission.
DraftLabel = Callable[[int], str]


class InvalidInput(click.ClickException):
    """The node (or the CLI) refused the input: exit code 2, like a usage error."""

    exit_code = 2


class NodeNotRunning(click.ClickException):
    def __init__(self, home: Path) -> None:
        super().__init__(
            f"node at {home} is not running; start it with `ccnode serve --home {home}`"
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal as the node details it: which field broke which rule, and where."""

    field: str
    rule: str
    explanation: str  # why, without the refused value
    position: int | None = None  # the refused draft's index in a Submit
    line: int | None = None  # the line of an imported file

    def text(self, draft_label: DraftLabel | None = None) -> str:
        where = ""
        if self.position is not None and draft_label is not None:
            where = f"{draft_label(self.position)}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return f"{where}{self.field}: {self.explanation} [rule: {self.rule}]"


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def refusal_of(err: grpc.RpcError) -> Refusal | None:
    """The node's structured refusal carried by a failed call, or None if it sent none."""
    if not isinstance(err, grpc.Call):
        return None
    try:
        status = rpc_status.from_call(err)
    except (AttributeError, NotImplementedError, ValueError):
        return None  # a call without trailing metadata, or details that contradict the call
    if status is None:
        return None
    bad_request = error_details_pb2.BadRequest()
    info = error_details_pb2.ErrorInfo()
    has_violation = has_info = False
    for detail in status.details:
        if detail.Is(bad_request.DESCRIPTOR):
            has_violation = detail.Unpack(bad_request) and bool(bad_request.field_violations)
        elif detail.Is(info.DESCRIPTOR):
            has_info = detail.Unpack(info)
    if not (has_violation and has_info and info.domain == DOMAIN):
        return None
    violation = bad_request.field_violations[0]
    return Refusal(
        field=violation.field,
        rule=info.reason,
        explanation=violation.description,
        position=_number(info.metadata.get("position")),
        line=_number(info.metadata.get("line")),
    )


def rpc_error(
    err: grpc.RpcError,
    node: Path | str,
    timeout_s: float,
    *,
    draft_label: DraftLabel | None = None,
) -> click.ClickException:
    """The ClickException for a failed call to ``node``: the local node's home (a Path), or a
    remote node's name as reports show it (``"node chongqing (10.0.0.2:7001)"``)."""
    code = err.code() if isinstance(err, grpc.Call) else None
    code = code if code is not None else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else "") or ""
    local = isinstance(node, Path)
    name = f"node at {node}" if local else str(node)
    prefix = "" if local else f"{node}: "
    if code == grpc.StatusCode.UNAVAILABLE:
        if isinstance(node, Path):
            return NodeNotRunning(node)
        return click.ClickException(f"{node}: unreachable ({details or code.name})")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        refusal = refusal_of(err)
        text = refusal.text(draft_label) if refusal else details or "the node refused the input"
        return InvalidInput(prefix + text)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return click.ClickException(f"{name} did not answer within {timeout_s:g} s")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return click.ClickException(
            f"{name} does not implement this call (is it an older version?)"
        )
    return click.ClickException(prefix + (f"{code.name}: {details}" if details else code.name))
