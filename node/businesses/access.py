"""Accountability for reads of personal data: each read by a person is an ACCESS_RECORDED
entry in the reader's own log (audience: this node only), with who, why and what — and a
subject key (SHA-256 of the normalised ID) so `ccnode audit access --subject` finds every
read about one person or company without storing the number again."""

from __future__ import annotations

from collections.abc import Sequence

from ccnode.v1 import log_pb2, payloads_pb2
from node.ownlog.writer import Draft, PrepareContext, RowReader
from node.ports import Appender
from sync.domain.errors import ValidationError
from sync.domain.lookups import subject_key
from sync.domain.wording import PIPL

# A long result is recorded in several entries rather than one oversized one.
ENTRY_IDS_PER_RECORD = 500


def access_drafts(
    entries: Sequence[str],
    *,
    purpose: str,
    what: str,
    identifier: str = "",
    subject_keys: Sequence[str] = (),
) -> list[Draft]:
    """The record(s) of one read. ``subject_keys``: the hashes of the subjects of a read
    about many at once (an agency's CheckBatch), kept in the first record."""
    key = subject_key(identifier) if identifier.strip() else ""
    return [
        Draft(
            kind=log_pb2.ACCESS_RECORDED,
            payload=payloads_pb2.Payload(
                access_recorded=payloads_pb2.AccessRecorded(
                    entries=list(entries[i : i + ENTRY_IDS_PER_RECORD]),
                    purpose=purpose.strip(),
                    what=what,
                    subject_key=key,
                    subject_keys=list(subject_keys) if i == 0 else [],
                )
            ),
        )
        for i in range(0, max(len(entries), 1), ENTRY_IDS_PER_RECORD)
    ]


async def record_access(
    appender: Appender,
    entries: Sequence[str],
    *,
    actor: str,
    purpose: str,
    what: str,
    identifier: str = "",
    subject_keys: Sequence[str] = (),
) -> list[str]:
    """Append the record(s) BEFORE the data is returned; returns their entry ids."""
    drafts = access_drafts(
        entries, purpose=purpose, what=what, identifier=identifier, subject_keys=subject_keys
    )
    return (await appender.submit(drafts, actor)).entry_ids


def prepare_access(draft: Draft, rows: RowReader, ctx: PrepareContext) -> tuple[Draft, list[str]]:
    """A read of personal data, kept in this node's own log and readable only here."""
    if draft.payload.WhichOneof("body") != "access_recorded":
        raise ValidationError(
            "payload",
            "kind_mismatch",
            "payload does not match the entry kind",
            zh="请求内容与条目类别不符",
        )
    if not draft.payload.access_recorded.purpose.strip():
        raise ValidationError(
            "purpose",
            "required",
            "a read of personal data needs a purpose",
            zh=f"查阅个人信息须写明事由（{PIPL}第六条）",
        )
    subject = f"{ctx.node_id}/access/{ctx.index}"
    return Draft(draft.kind, draft.payload, subject=subject, audience=(ctx.node_id,)), []
