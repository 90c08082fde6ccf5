"""Refusals of a call's input as gRPC rich errors: the field, the rule and the place travel
structured, so a client in any language reads them without parsing the message.

A refused call ends with INVALID_ARGUMENT and a ``google.rpc.Status`` in its trailing metadata
(``grpc-status-details-bin``, read with ``grpc_status.rpc_status.from_call``) carrying

* ``BadRequest`` with one ``FieldViolation(field, description, reason, localized_message)``:
  the description explains the rule in English without repeating the field, and never holds
  the refused value (PIPL: IDs and names must not reach logs or error replies); its
  ``localized_message`` (zh-CN) is the Chinese sentence, with the field's name as the CLI help
  gives it, the rule and its source (sync/domain/wording.py);
* ``LocalizedMessage(locale="zh-CN")``: that same Chinese sentence, for clients that show one
  message per error;
* ``ErrorInfo(reason=<rule>, domain="ccnode", metadata={"field": ...})``, plus ``"position"``
  (the refused draft's index in a Submit) or ``"line"`` (the line of an imported file) when the
  refusal has one.

The status message stays a human sentence, Chinese first, ``"<field label>：<zh> / <field>:
<explanation>"``, so plain gRPC clients still see text. A refused draft's message is
``"draft <n>: <that sentence> [rule: <rule>]"``: scripts and tests that talk to Submit without
these details read the rule there (tests/integration/test_tasks.py, test_blacklist_rules.py).
"""

from __future__ import annotations

from typing import NoReturn

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from node.ownlog.writer import DraftRejected
from sync.domain.errors import ValidationError
from sync.domain.wording import field_label, joined

DOMAIN = "ccnode"
LOCALE = "zh-CN"


def refusal_status(
    field: str,
    rule: str,
    explanation: str,
    *,
    zh: str,
    message: str | None = None,
    position: int | None = None,
    line: int | None = None,
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> grpc.Status:
    """The status of a call refused because ``field`` broke ``rule`` (``explanation`` in English,
    ``zh`` in Chinese, both without the field's name); ``message`` defaults to the joined
    sentence. Usable by any servicer, aio or not (and by test fakes)."""
    metadata = {"field": field}
    if position is not None:
        metadata["position"] = str(position)
    if line is not None:
        metadata["line"] = str(line)
    localized = error_details_pb2.LocalizedMessage(
        locale=LOCALE, message=f"{field_label(field)}：{zh}"
    )
    violation = error_details_pb2.BadRequest.FieldViolation(
        field=field, description=explanation, reason=rule, localized_message=localized
    )
    status = status_pb2.Status(
        code=code.value[0],
        message=message if message is not None else joined(field, zh, explanation),
    )
    status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    status.details.add().Pack(localized)
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(reason=rule, domain=DOMAIN, metadata=metadata)
    )
    return rpc_status.to_status(status)


def draft_status(position: int, exc: DraftRejected) -> grpc.Status:
    """The status of a submission refused for its draft at ``position``."""
    return refusal_status(
        exc.field,
        exc.rule,
        exc.explanation,
        zh=exc.zh,
        message=f"draft {position}: {exc.message} [rule: {exc.rule}]",
        position=position,
    )


async def abort(context: grpc.aio.ServicerContext, status: grpc.Status) -> NoReturn:
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("unreachable")


async def refuse(
    context: grpc.aio.ServicerContext,
    field: str,
    rule: str,
    explanation: str,
    *,
    zh: str,
    message: str | None = None,
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> NoReturn:
    """End the call: ``field`` broke ``rule`` (explained without the value, in English and in
    Chinese). ``code`` FAILED_PRECONDITION: the request is well formed but the world disagrees
    with it."""
    await abort(
        context, refusal_status(field, rule, explanation, zh=zh, message=message, code=code)
    )


async def refuse_invalid(context: grpc.aio.ServicerContext, exc: ValidationError) -> NoReturn:
    """End the call with a domain validator's refusal (its line, if it has one)."""
    await abort(
        context,
        refusal_status(
            exc.field, exc.rule, exc.explanation, zh=exc.zh, message=str(exc), line=exc.line_no
        ),
    )


async def refuse_draft(
    context: grpc.aio.ServicerContext, exc: DraftRejected, *, numbered: bool = True
) -> NoReturn:
    """End the call with a refused draft: numbered as the client's draft ``exc.position``, or,
    for a draft the service built itself (``numbered=False``), as a plain field refusal."""
    if numbered:
        await abort(context, draft_status(exc.position, exc))
    await abort(
        context,
        refusal_status(exc.field, exc.rule, exc.explanation, zh=exc.zh, message=exc.message),
    )
