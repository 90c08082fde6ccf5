"""Per-call authentication of gRPC callers from their mutual-TLS certificate.

The TLS handshake already refuses clients without a certificate or with one from an unknown
CA. On every call we then re-check the certificate against the trust store (CRLs reloaded
when they change, dates re-checked) and the role the method requires, and refuse — with a
clear status, recorded in the store and counted — any caller that fails.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from node.clock import Clock, utc_datetime
from node.identity.errors import IdentityError
from node.identity.spiffe import Identity
from node.identity.truststore import TrustStore
from node.metrics import METRICS
from node.ratelog import RateLimitedLog
from node.store.base import (
    REFUSAL_IDENTITY_CHARS_MAX,
    REFUSAL_REASON_CHARS_MAX,
    Refusal,
    RefusalStore,
)
from node.store.runner import Db

log = logging.getLogger(__name__)

# Each reason a caller is refused for, as the caller's operator reads it: Chinese first, the
# reason itself (the code of the refusal record and the metric label) after it.
_REASONS_ZH: Final[Mapping[str, str]] = {
    "no_certificate": "未出示客户端证书（双向 TLS）",
    "unknown_ca": "证书不是本信任域的证书机构签发的",
    "expired": "证书（或其签发机构的证书）已过期",
    "not_yet_valid": "证书（或其签发机构的证书）尚未生效",
    "revoked": "证书已被吊销",
    "bad_identity": "证书载明的身份不合格式",
    "wrong_trust_domain": "证书不属于本信任域",
    "agency_not_admitted": "该联合惩戒单位未获准接入（ccnode agencies add）",
    "rate_limited": "调用过于频繁，请稍后再试",
    "daily_quota": "已达当日查询对象数上限，请次日再试",
}
_ROLE_REASONS_ZH: Final[Mapping[str, str]] = {
    "role_not_allowed": "证书角色“{role}”不得调用此方法",
    "role_not_granted": "角色“{role}”未获准使用联合惩戒查询服务（agencies.granted）",
}


def reason_zh(reason: str) -> str:
    """The Chinese sentence of a caller's refusal ``reason`` (``revoked``,
    ``role_not_allowed:agency`` …); a reason this table does not know is said as refused."""
    kind, _, role = reason.partition(":")
    if kind in _ROLE_REASONS_ZH:
        return _ROLE_REASONS_ZH[kind].format(role=role)
    return _REASONS_ZH.get(reason, "调用被拒绝")


def refused_message(reason: str, zh: str) -> str:
    """A refused caller's status message, Chinese first: ``拒绝调用：<zh> / refused: <reason>``."""
    return f"拒绝调用：{zh} / refused: {reason}"


@dataclass(frozen=True)
class Caller:
    identity: Identity
    peer: str


class Authenticator:
    def __init__(self, *, trust: TrustStore, db: Db[RefusalStore], clock: Clock) -> None:
        self._trust = trust
        self._db = db
        self._clock = clock
        self._log = RateLimitedLog(log, clock)

    async def require(
        self, context: grpc.aio.ServicerContext, roles: Collection[str], method: str
    ) -> Caller:
        """The authenticated caller, or abort the call (recorded) if it may not call."""
        self._trust.reload_if_changed()
        peer = context.peer() or ""
        auth = context.auth_context() or {}
        pems = auth.get("x509_pem_cert") or []
        if not pems:
            await self.refuse(
                context, peer, "", method, "no_certificate", zh=reason_zh("no_certificate")
            )
        cert = x509.load_pem_x509_certificate(pems[0])
        uri = ",".join(str(u) for u in _uris(cert))
        try:
            identity = self._trust.check(cert.public_bytes(Encoding.DER), utc_datetime(self._clock))
        except IdentityError as exc:
            await self.refuse(context, peer, uri, method, exc.reason, zh=reason_zh(exc.reason))
            raise AssertionError("unreachable") from exc
        if identity.role not in roles:
            reason = f"role_not_allowed:{identity.role}"
            await self.refuse(context, peer, identity.uri, method, reason, zh=reason_zh(reason))
        return Caller(identity=identity, peer=peer)

    async def refuse(
        self,
        context: grpc.aio.ServicerContext,
        peer: str,
        identity: str,
        method: str,
        reason: str,
        code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED,
        *,
        zh: str,
    ) -> None:
        """Record the refusal, then abort the call with ``code`` (never returns); the message
        says ``zh`` (the refusal in Chinese, see ``reason_zh``) first, then ``reason``."""
        await self.record(peer, identity, method, reason)
        if reason in {"no_certificate", "unknown_ca", "expired", "not_yet_valid", "revoked"}:
            code = grpc.StatusCode.UNAUTHENTICATED
        await context.abort(code, refused_message(reason, zh))

    async def record(
        self, peer: str, identity: str, method: str, reason: str, *, count: int = 1
    ) -> None:
        """Count, log (one line per method and reason a minute) and store ``count`` refusals
        as one row; the store clips the text and folds the day's refusals of one caller,
        method and reason into one row, so a caller cannot grow the store or the log at will.
        """
        kind = reason.split(":")[0][:REFUSAL_REASON_CHARS_MAX]
        METRICS.refusals.labels(reason=kind).inc(count)
        who = (identity or peer)[:REFUSAL_IDENTITY_CHARS_MAX]
        self._log.warning(
            f"{method}:{kind}", "refused %s on %s: %s (x%d)", who, method, reason[:200], count
        )
        refusal = Refusal(self._clock.now_ms(), peer, identity, method, reason, count)
        await self._db.write(self._db.store.record_refusal, refusal)


def _uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
