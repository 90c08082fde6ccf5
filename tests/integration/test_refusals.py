"""Security refusals: nothing is applied, and refusals the node can see are recorded."""

from __future__ import annotations

import asyncio
import shutil

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ccnode.v1 import admin_pb2, federation_pb2, federation_pb2_grpc
from node.identity.ca import init_ca, issue_node, revoke
from node.identity.keyfiles import install_crl
from sync.checkpoint import Checkpoint, origin_line, sign_checkpoint
from sync.domain.calendar import CALENDAR_VERSION
from sync.entry import Entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer
from sync.verify import BatchRejected, RejectReason
from tests.integration.harness import TRUST_DOMAIN, Federation, admin, listing

pytestmark = pytest.mark.integration


def _channel(certs_dir, port: int) -> grpc.aio.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=(certs_dir / "ca.pem").read_bytes(),
        private_key=(certs_dir / "tls.key").read_bytes(),
        certificate_chain=(certs_dir / "tls.pem").read_bytes(),
    )
    return grpc.aio.secure_channel(f"127.0.0.1:{port}", creds)


async def _refusals(node) -> list[admin_pb2.Refusal]:
    return list((await admin(node).Refusals(admin_pb2.RefusalsRequest())).refusals)


async def test_revoked_certificate_is_refused_and_recorded(federation: Federation) -> None:
    rogue = federation.issue("rogue")
    revoke(federation.ca, rogue / "tls.pem")
    config = federation.home("chengdu")
    shutil.copyfile(federation.ca / "crl.pem", config.crl_dir / "ca-crl.pem")
    a = await federation.start("chengdu")
    async with _channel(rogue, a.port) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await federation_pb2_grpc.FederationStub(ch).Hello(
                federation_pb2.HelloRequest(node_id="rogue"), timeout=5
            )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert err.value.details() == "拒绝调用：证书已被吊销 / refused: revoked"
    refusals = await _refusals(a)
    assert [r.reason for r in refusals] == ["revoked"]
    assert refusals[0].method == "Hello"


async def test_node_claiming_another_identity_is_refused(federation: Federation) -> None:
    a = await federation.start("chengdu")
    chongqing = federation.issue("chongqing")
    async with _channel(chongqing, a.port) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await federation_pb2_grpc.FederationStub(ch).Hello(
                federation_pb2.HelloRequest(node_id="chengdu"), timeout=5
            )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.value.details() == (
        "拒绝调用：所称节点与证书载明的节点不符 / refused: claims_other_identity"
    )
    assert [r.reason for r in await _refusals(a)] == ["claims_other_identity"]


async def test_certificate_from_another_ca_and_no_certificate_fail_the_handshake(
    federation: Federation, tmp_path
) -> None:
    a = await federation.start("chengdu")
    other_ca = tmp_path / "other-ca"
    init_ca(other_ca, trust_domain=TRUST_DOMAIN)
    stranger = tmp_path / "stranger"
    issue_node(other_ca, "chongqing", stranger)
    shutil.copyfile(federation.ca / "ca.pem", stranger / "ca.pem")  # it trusts our server
    async with _channel(stranger, a.port) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await federation_pb2_grpc.FederationStub(ch).Hello(
                federation_pb2.HelloRequest(node_id="chongqing"), timeout=5
            )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    creds = grpc.ssl_channel_credentials(root_certificates=(federation.ca / "ca.pem").read_bytes())
    async with grpc.aio.secure_channel(f"127.0.0.1:{a.port}", creds) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await federation_pb2_grpc.FederationStub(ch).Hello(
                federation_pb2.HelloRequest(node_id="x"), timeout=5
            )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def _chengdu_batch(federation: Federation) -> tuple[list[Entry], str]:
    """A genuine chengdu batch (entries 0..n and its signed checkpoint)."""
    a = await federation.start("chengdu")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="法官王五"))
    rows = await a.parts.db.read(a.parts.db.store.entries, "chengdu", 0, 1)
    note = await a.parts.db.read(a.parts.db.store.checkpoint_at, "chengdu", 1)
    await federation.stop("chengdu")
    return [Entry(r.header, r.salt, r.payload) for r in rows], note


async def test_forged_checkpoint_and_flipped_bytes_are_rejected(federation: Federation) -> None:
    entries, note = await _chengdu_batch(federation)
    b = await federation.start("chongqing")
    # chengdu's key is known to chongqing (learned from its certificate), as after a Hello.
    chengdu_log = federation.root / "homes" / "chengdu" / "certs" / "log.pem"
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(chengdu_log.read_bytes()).public_bytes(Encoding.DER)
    await b.parts.db.write(b.parts.keys.learn, "chengdu", der)

    # 1. chongqing's own key signing a checkpoint for chengdu's log.
    forger = Ed25519Signer(origin_line(TRUST_DOMAIN, "chengdu"), Ed25519PrivateKey.generate())
    f = Frontier()
    f.extend([e.leaf_hash() for e in entries])
    forged = sign_checkpoint(Checkpoint(origin_line(TRUST_DOMAIN, "chengdu"), 1, f.root()), forger)
    with pytest.raises(BatchRejected) as err:
        await b.parts.db.write(b.parts.replica.apply, "chengdu", 0, entries, forged)
    assert err.value.reason == RejectReason.BAD_SIGNATURE

    # 2. one flipped byte in the header, then in the payload.
    header = bytearray(entries[0].header)
    header[-1] ^= 1
    with pytest.raises(BatchRejected) as err:
        await b.parts.db.write(
            b.parts.replica.apply,
            "chengdu",
            0,
            [Entry(bytes(header), entries[0].salt, entries[0].payload)],
            note,
        )
    assert err.value.reason in (
        RejectReason.ROOT_MISMATCH,
        RejectReason.MALFORMED,
        RejectReason.PAYLOAD_MISMATCH,
    )
    payload = bytearray(entries[0].payload or b"")
    payload[5] ^= 1
    with pytest.raises(BatchRejected) as err:
        await b.parts.db.write(
            b.parts.replica.apply,
            "chengdu",
            0,
            [Entry(entries[0].header, entries[0].salt, bytes(payload))],
            note,
        )
    assert err.value.reason == RejectReason.PAYLOAD_MISMATCH
    assert "chengdu" not in await b.parts.db.read(b.parts.db.store.vector)

    # The genuine batch still applies.
    applied = await b.parts.db.write(b.parts.replica.apply, "chengdu", 0, entries, note)
    assert applied.size == 1


async def test_oversized_message_is_refused(federation: Federation) -> None:
    a = await federation.start("chengdu")
    chongqing = federation.issue("chongqing")
    huge = federation_pb2.OriginKey(origin="chongqing", certificate_der=b"x" * (5 * 1024 * 1024))
    async with _channel(chongqing, a.port) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await federation_pb2_grpc.FederationStub(ch).Hello(
                federation_pb2.HelloRequest(node_id="chongqing", keys=[huge]), timeout=5
            )
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "chongqing" not in a.parts.keys.certificates()


async def test_a_server_with_another_nodes_certificate_is_not_trusted_as_the_peer(
    federation: Federation,
) -> None:
    a = await federation.start("chengdu")
    impostor = await federation.start("mianyang")
    await admin(impostor).Submit(
        admin_pb2.SubmitRequest(
            drafts=[listing(case="（2024）川0703执1号", court="川0703")], actor="x"
        )
    )
    # chengdu believes chongqing lives at the impostor's address.
    from node.store.base import PeerRecord
    from tests.integration.harness import eventually

    await a.parts.links.add_peer(PeerRecord("chongqing", f"127.0.0.1:{impostor.port}"))

    async def failed() -> bool:
        status = a.parts.links.status("chongqing")
        return bool(status.last_error) and not status.connected

    await eventually(failed, timeout_s=10)
    assert "UNAVAILABLE" in a.parts.links.status("chongqing").last_error
    assert "mianyang" not in await a.parts.db.read(a.parts.db.store.vector)


async def test_crl_installed_while_running_is_honoured_on_the_next_call(
    federation: Federation,
) -> None:
    config = federation.home("chengdu")
    install_crl(config.crl_dir, "federation", federation.ca / "crl.pem")  # empty CRL
    a = await federation.start("chengdu")
    chongqing = federation.issue("chongqing")
    async with _channel(chongqing, a.port) as ch:
        stub = federation_pb2_grpc.FederationStub(ch)
        hello = federation_pb2.HelloRequest(node_id="chongqing", calendar_version=CALENDAR_VERSION)
        await stub.Hello(hello, timeout=5)
        revoke(federation.ca, chongqing / "tls.pem")
        install_crl(config.crl_dir, "federation", federation.ca / "crl.pem")
        await asyncio.sleep(1.1)  # the trust store stats CRL files at most once a second
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Hello(federation_pb2.HelloRequest(node_id="chongqing"), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert [r.reason for r in await _refusals(a)] == ["revoked"]


async def test_a_peer_with_another_holiday_calendar_is_refused_on_hello(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server side: a Hello announcing other holiday data is refused and recorded, and no
    entry crosses (the two nodes would fold deadlines differently)."""
    from tests.integration.harness import eventually

    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="法官王五"))
    # What chongqing announces in its Hello (chengdu checks against the real version).
    monkeypatch.setattr("node.replication.exchange.CALENDAR_VERSION", "cn-2024.1-000000000000")
    monkeypatch.setattr("node.replication.links.CALENDAR_VERSION", "cn-2024.1-000000000000")
    await federation.peer("chongqing", "chengdu")

    async def refused() -> bool:
        status = b.parts.links.status("chengdu")
        return status is not None and "FAILED_PRECONDITION" in status.last_error

    await eventually(refused, timeout_s=10)
    assert "calendar_mismatch" in [r.reason for r in await _refusals(a)]
    assert "chengdu" not in await b.parts.db.read(b.parts.db.store.vector)


async def test_a_peer_answering_with_another_holiday_calendar_is_not_replicated(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client side: a peer whose Hello answer names other holiday data is not subscribed
    to; the link says why and records it."""
    from tests.integration.harness import eventually

    a = await federation.start("chengdu")
    b = await federation.start("chongqing")
    await admin(a).Submit(admin_pb2.SubmitRequest(drafts=[listing()], actor="法官王五"))
    # chongqing compares the answer with another version than the one both nodes send.
    monkeypatch.setattr("node.replication.links.CALENDAR_VERSION", "cn-2024.1-000000000000")
    await federation.peer("chongqing", "chengdu")

    async def refused() -> bool:
        status = b.parts.links.status("chengdu")
        return status is not None and "calendar version mismatch" in status.last_error

    await eventually(refused, timeout_s=10)
    assert "calendar_mismatch" in [r.reason for r in await _refusals(b)]
    assert "chengdu" not in await b.parts.db.read(b.parts.db.store.vector)
