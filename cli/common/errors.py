"""How a failed call reaches the officer: one line, and an exit code that says whose it is.

One mapping for every client, the local node's (cli/common/client.py) and a remote node's
Audit service (cli/audit/sources.py). The exit codes, for scripts (also in ``ccnode --help``
and docs/operations.md):

* 2 (``USAGE``): the command line or its input file is wrong (click's usage errors, and
  ``InvalidInput``: a line of an import file that cannot be read as a listing, or the
  configuration ``config validate`` was given); nothing was sent.
* 3 (``REFUSED``): the node refused the request by a business rule (INVALID_ARGUMENT). The
  node sends the field, the rule and the refused draft's position structured
  (node/services/errors.py), with the refusal's Chinese sentence (``LocalizedMessage`` zh-CN:
  the field's name as this help gives it, the rule and its source); the line reads
  ``<Chinese sentence> / <field>: <explanation> [rule: <rule>]``, built from those details,
  never parsed from the message. A command names the refused draft its
  own way (``draft_label``: "line 4" for an import) or not at all (one draft). A server without
  the details is shown as it words its message. Nothing was changed.
* 4 (``UNREACHABLE``): the request never reached the node: a local node is "not running" (no
  socket, or nobody accepts on it) with how to start it; a remote one is "unreachable".
* 5 (``OUTCOME_UNKNOWN``): the request was sent but the answer never came (the connection
  dropped, the call was cancelled, the deadline passed): the node may or may not have done it.
  The message says how to check (each command gives its own hint); every write a command
  offers is safe to repeat once checked, and ``blacklist import`` is safe to re-run as it is.
* 1: anything else (e.g. NOT_FOUND, PERMISSION_DENIED), with the code and the server's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from sync.domain.errors import line_prefix

# The domain of the node's ErrorInfo (node/services/errors.py).
DOMAIN = "ccnode"

# Exit codes (the module docstring says what each means).
USAGE = 2
REFUSED = 3
UNREACHABLE = 4
OUTCOME_UNKNOWN = 5

# What grpc says when it could not connect at all: the request was never sent. Any other
# UNAVAILABLE (a socket closed or reset mid-call) may come after the node received it.
_NOT_CONNECTED = ("failed to connect", "connect failed", "connection refused", "no such file")
DEFAULT_UNKNOWN_HINT = "check the node's state (e.g. `ccnode sync status`) before repeating it"

# A refused draft's name in a command's words, from its position in the submission.
DraftLabel = Callable[[int], str]


class InvalidInput(click.ClickException):
    """The CLI refused its input before sending anything: exit code 2, like a usage error."""

    exit_code = USAGE


class Refused(click.ClickException):
    """The node refused the request by a business rule; nothing was changed."""

    exit_code = REFUSED


class Unreachable(click.ClickException):
    """The request never reached the node."""

    exit_code = UNREACHABLE


class NodeNotRunning(Unreachable):
    def __init__(self, home: Path) -> None:
        super().__init__(
            f"node at {home} is not running; start it with `ccnode serve --home {home}`"
        )


class OutcomeUnknown(click.ClickException):
    """The request was sent and no answer came: it may or may not have taken effect."""

    exit_code = OUTCOME_UNKNOWN


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal as the node details it: which field broke which rule, and where."""

    field: str
    rule: str
    explanation: str  # why, without the refused value
    position: int | None = None  # the refused draft's index in a Submit
    line: int | None = None  # the line of an imported file
    zh_text: str = ""  # the node's Chinese sentence, with the field's name

    def text(self, draft_label: DraftLabel | None = None) -> str:
        where = ""
        if self.position is not None and draft_label is not None:
            where = f"{draft_label(self.position)}: "
        elif self.line is not None:
            where = line_prefix(self.line)
        english = f"{self.field}: {self.explanation}"
        said = f"{self.zh_text} / {english}" if self.zh_text else english
        return f"{where}{said} [rule: {self.rule}]"


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
    localized = error_details_pb2.LocalizedMessage()
    has_violation = has_info = False
    for detail in status.details:
        if detail.Is(bad_request.DESCRIPTOR):
            has_violation = detail.Unpack(bad_request) and bool(bad_request.field_violations)
        elif detail.Is(info.DESCRIPTOR):
            has_info = detail.Unpack(info)
        elif detail.Is(localized.DESCRIPTOR):
            detail.Unpack(localized)
    if not (has_violation and has_info and info.domain == DOMAIN):
        return None
    violation = bad_request.field_violations[0]
    return Refusal(
        field=violation.field,
        rule=info.reason,
        explanation=violation.description,
        position=_number(info.metadata.get("position")),
        line=_number(info.metadata.get("line")),
        zh_text=localized.message if localized.locale.startswith("zh") else "",
    )


def rpc_error(
    err: grpc.RpcError,
    node: Path | str,
    timeout_s: float,
    *,
    draft_label: DraftLabel | None = None,
    unknown_hint: str | None = None,
) -> click.ClickException:
    """The ClickException for a failed call to ``node``: the local node's home (a Path), or a
    remote node's name as reports show it (``"node chongqing (10.0.0.2:7001)"``).
    ``unknown_hint`` says how to check a local call whose outcome is unknown."""
    code = err.code() if isinstance(err, grpc.Call) else None
    code = code if code is not None else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else "") or ""
    local = isinstance(node, Path)
    name = f"node at {node}" if local else str(node)
    prefix = "" if local else f"{node}: "
    not_connected = any(words in details.lower() for words in _NOT_CONNECTED)
    if code == grpc.StatusCode.UNAVAILABLE and (not_connected or not local):
        if isinstance(node, Path):
            return NodeNotRunning(node)
        return Unreachable(f"{node}: unreachable ({details or code.name})")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        refusal = refusal_of(err)
        text = refusal.text(draft_label) if refusal else details or "the node refused the input"
        return Refused(prefix + text)
    lost = {
        grpc.StatusCode.UNAVAILABLE: "the connection was lost during the call",
        grpc.StatusCode.CANCELLED: "the call was cancelled before the node answered",
        grpc.StatusCode.DEADLINE_EXCEEDED: f"it did not answer within {timeout_s:g} s",
    }
    if local and code in lost:
        return OutcomeUnknown(
            f"{name}: {lost[code]}; the outcome is unknown: {unknown_hint or DEFAULT_UNKNOWN_HINT}"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Unreachable(f"{name} did not answer within {timeout_s:g} s")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return click.ClickException(
            f"{name} does not implement this call (is it an older version?)"
        )
    return click.ClickException(prefix + (f"{code.name}: {details}" if details else code.name))
