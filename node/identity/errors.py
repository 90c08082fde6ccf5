"""The two ways identity code fails, shared by every module of node/identity/.

They are kept apart from the code that raises them because every layer raises both: checking
a name (spiffe) refuses operator input with :class:`PkiError` and a peer's certificate with
:class:`IdentityError`; so do loading files (keyfiles), checking peers (truststore) and
issuing (ca).

* :class:`PkiError`: the operator (or the node's own configuration) gave something unusable;
  the message names the field or file and the rule.
* :class:`IdentityError`: a remote party's certificate is refused; ``reason`` is a short fixed
  word used as a metric label and in refusal records.

Messages name fields and files, never names or identifiers that may be personal data.
"""

from __future__ import annotations

from typing import Literal, get_args

Reason = Literal[
    "unknown_ca", "expired", "not_yet_valid", "revoked", "bad_identity", "wrong_trust_domain"
]
REASONS: tuple[Reason, ...] = get_args(Reason)


class PkiError(Exception):
    """Operator-facing failure: bad input, missing or existing files, a CA that cannot sign."""


class IdentityError(Exception):
    """A peer certificate is refused; ``reason`` is one of :data:`REASONS` (metric label)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        assert reason in REASONS, reason
        self.reason: Reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
