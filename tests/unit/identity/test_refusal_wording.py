"""A refused mTLS caller reads why in Chinese first, then the reason its refusal is recorded
and counted under (node/identity/auth.py)."""

from __future__ import annotations

import re

import pytest

from node.identity.auth import reason_zh, refused_message
from node.identity.errors import REASONS

_CJK = re.compile(r"[\u4e00-\u9fff]")
FALLBACK = reason_zh("no_such_reason")


@pytest.mark.parametrize(
    "reason",
    [*REASONS, "no_certificate", "agency_not_admitted", "rate_limited", "daily_quota"],
)
def test_every_reason_a_caller_is_refused_for_has_its_own_sentence(reason: str) -> None:
    said = reason_zh(reason)
    assert said != FALLBACK and _CJK.search(said), reason


def test_a_role_refusal_names_the_role_and_the_message_reads_chinese_first() -> None:
    assert reason_zh("role_not_allowed:agency") == "证书角色“agency”不得调用此方法"
    assert "auditor" in reason_zh("role_not_granted:auditor")
    assert refused_message("revoked", reason_zh("revoked")) == (
        "拒绝调用：证书已被吊销 / refused: revoked"
    )
