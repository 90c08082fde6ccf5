"""Where the ``ccnode audit`` commands read from: a node's Audit service over mutual TLS (with
an auditor's certificate), or the local node home's store.

Remote: ``--node HOST:PORT --cert DIR`` where DIR holds ``tls.pem``, ``tls.key`` and ``ca.pem``
(``ccnode certs issue --auditor NAME`` writes exactly these). The server must present the TLS
certificate of ``<node-id>.node.<trust-domain>``: pass ``--node-id`` to insist on one node, or
let the CLI learn the id from the server's certificate in a first TLS handshake (the chain is
verified against DIR/ca.pem; the id then becomes the name gRPC verifies). Either way every
report names a node by its certificate, never by its address.

Local: ``--home DIR`` reads the node's store directly, as ``audit verify --offline`` does;
reading payloads then needs the node running, because the read is recorded in its log first.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from google.protobuf.message import Message

from ccnode.v1 import admin_pb2, audit_pb2, audit_pb2_grpc, log_pb2, payloads_pb2
from cli.common.client import node_client
from cli.common.errors import Unreachable, rpc_error
from cli.common.offline import offline_store
from node.config import NodeConfig
from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import load_certificate, tls_credentials_files
from node.identity.spiffe import (
    Identity,
    cert_uris,
    identity_from_der,
    parse_spiffe_id,
    peer_dns_name,
)
from node.store.base import Store
from sync.entry import Entry, EntryError, decode_header, entry_id
from sync.merkle import inclusion_proof

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R", bound=Message)

CALL_TIMEOUT_S = 30.0
STREAM_TIMEOUT_S = 600.0  # a whole log, chunk by chunk
HANDSHAKE_TIMEOUT_S = 10.0
GRPC_MESSAGE_BYTES_MAX = 16 * 1024 * 1024
PAYLOADS_PER_CALL = 500  # Audit.Payloads limit
LOCAL_READ_CHUNK = 1000


# ---------------------------------------------------------------- options


def source_options(f: F) -> F:
    """``--home`` (local) or ``--node`` + ``--cert`` [+ ``--node-id``] (remote)."""
    options = [
        click.option(
            "--home",
            envvar="CCNODE_HOME",
            type=click.Path(path_type=Path, file_okay=False),
            help="Read this node home's store (env CCNODE_HOME).",
        ),
        click.option("--node", "node", metavar="HOST:PORT", help="Read a node's Audit service."),
        click.option(
            "--cert",
            "cert_dir",
            type=click.Path(path_type=Path, file_okay=False, exists=True),
            help="Certificate directory (tls.pem, tls.key, ca.pem) for --node.",
        ),
        click.option(
            "--node-id",
            "node_id",
            help="The node --node must be (default: learned from its certificate).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@dataclass(frozen=True, slots=True)
class SourceSpec:
    home: Path | None
    node: str | None
    cert_dir: Path | None
    node_id: str | None

    def check(self) -> None:
        if (self.home is None) == (self.node is None):
            raise click.UsageError("give exactly one of --home or --node")
        if self.node is not None and self.cert_dir is None:
            raise click.UsageError("--node needs --cert DIR (tls.pem, tls.key, ca.pem)")


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{address}: must be HOST:PORT", param_hint="--node")
    return host.strip("[]"), int(port)


# ---------------------------------------------------------------- identity and TLS


def client_identity(cert_dir: Path) -> Identity:
    """The caller's SPIFFE identity from DIR/tls.pem (its trust domain is the federation's)."""
    cert = load_certificate(cert_dir / "tls.pem")
    uris = cert_uris(cert)
    if len(uris) != 1:
        raise click.ClickException(f"{cert_dir}/tls.pem has no single SPIFFE URI")
    return parse_spiffe_id(str(uris[0]))


def learn_node_id(address: str, cert_dir: Path, trust_domain: str) -> str:
    """The node id in the certificate the server at ``address`` presents (chain verified)."""
    host, port = split_address(address)
    ctx = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
    ctx.check_hostname = False  # learning the name is the point; the chain is still verified
    ctx.load_cert_chain(str(cert_dir / "tls.pem"), str(cert_dir / "tls.key"))
    ctx.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection((host, port), timeout=HANDSHAKE_TIMEOUT_S) as sock,
            ctx.wrap_socket(sock, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as e:
        raise Unreachable(f"{address}: TLS handshake failed ({e})") from e
    if der is None:
        raise click.ClickException(f"{address}: the server presented no certificate")
    try:
        identity = identity_from_der(der, trust_domain)
    except IdentityError as e:
        raise click.ClickException(f"{address}: server certificate refused ({e})") from e
    if identity.role != "node":
        raise click.ClickException(f"{address}: the server is not a node ({identity.uri})")
    return identity.name


class AuditClient:
    """The Audit stub over mutual TLS; every call has a deadline, and its failures go through
    the CLI's one error mapping (cli/common/errors.py), naming the node by its certificate."""

    def __init__(self, address: str, cert_dir: Path, node_id: str | None = None) -> None:
        split_address(address)
        self.address = address
        self.cert_dir = cert_dir
        self.identity = client_identity(cert_dir)
        self.trust_domain = self.identity.trust_domain
        self.node_id = node_id or learn_node_id(address, cert_dir, self.trust_domain)
        key, chain, ca = tls_credentials_files(cert_dir)
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=key, certificate_chain=chain
        )
        options = [
            ("grpc.ssl_target_name_override", peer_dns_name(self.trust_domain, self.node_id)),
            ("grpc.max_receive_message_length", GRPC_MESSAGE_BYTES_MAX),
        ]
        self._channel = grpc.secure_channel(address, creds, options=options)
        self._stub = audit_pb2_grpc.AuditStub(self._channel)

    @property
    def where(self) -> str:
        return f"node {self.node_id} ({self.address})"

    def close(self) -> None:
        self._channel.close()

    def call(self, name: str, request: Message, timeout_s: float = CALL_TIMEOUT_S) -> Any:
        try:
            return getattr(self._stub, name)(request, timeout=timeout_s)
        except grpc.RpcError as e:
            raise rpc_error(e, self.where, timeout_s) from None

    def stream(self, name: str, request: Message) -> Iterator[Any]:
        try:
            yield from getattr(self._stub, name)(request, timeout=STREAM_TIMEOUT_S)
        except grpc.RpcError as e:
            raise rpc_error(e, self.where, STREAM_TIMEOUT_S) from None


@contextmanager
def audit_client(address: str, cert_dir: Path, node_id: str | None = None) -> Iterator[AuditClient]:
    try:
        client = AuditClient(address, cert_dir, node_id)
    except PkiError as e:
        raise click.ClickException(str(e)) from e
    try:
        yield client
    finally:
        client.close()


# ---------------------------------------------------------------- sources


@dataclass(frozen=True, slots=True)
class OriginView:
    origin: str
    size: int
    checkpoint: str
    frozen: bool
    frozen_reason: str


@dataclass(frozen=True, slots=True)
class ReadEntry:
    index: int
    stored_leaf_hash: bytes
    entry: Entry


class Source(Protocol):
    """A node's logs as an auditor reads them."""

    node_id: str
    trust_domain: str
    reader: str  # who reads: an auditor's URI, or "home:<node-id>"

    def origins(self) -> list[OriginView]: ...
    def certificates(self) -> dict[str, str]: ...  # node id -> log certificate PEM
    def checkpoints(self, origin: str, to_size: int) -> Iterator[tuple[int, str]]: ...
    def entries(
        self, origin: str, start: int, end: int, *, purpose: str = ""
    ) -> Iterator[ReadEntry]: ...
    def inclusion(
        self, origin: str, index: int, size: int
    ) -> tuple[list[bytes], str, bytes, int]: ...  # proof, note, header, size


class RemoteSource:
    def __init__(self, client: AuditClient) -> None:
        self.client = client
        self.node_id = client.node_id
        self.trust_domain = client.trust_domain
        self.reader = client.identity.uri

    def origins(self) -> list[OriginView]:
        status = self.client.call("Status", audit_pb2.AuditStatusRequest())
        return [
            OriginView(o.origin, o.size, o.checkpoint, o.frozen, o.frozen_reason)
            for o in status.origins
        ]

    def certificates(self) -> dict[str, str]:
        keys = self.client.call("OriginKeys", audit_pb2.OriginKeysRequest()).keys
        return {k.origin: _pem(k.certificate_der) for k in keys}

    def checkpoints(self, origin: str, to_size: int) -> Iterator[tuple[int, str]]:
        request = audit_pb2.CheckpointHistoryRequest(origin=origin, from_size=1, to_size=to_size)
        for chunk in self.client.stream("CheckpointHistory", request):
            for size, cp in zip(chunk.sizes, chunk.checkpoints, strict=True):
                yield size, cp.note

    def entries(
        self, origin: str, start: int, end: int, *, purpose: str = ""
    ) -> Iterator[ReadEntry]:
        request = audit_pb2.EntriesRequest(
            origin=origin, start=start, end=end, with_payloads=bool(purpose), purpose=purpose
        )
        for chunk in self.client.stream("Entries", request):
            leaves = list(chunk.stored_leaf_hashes)
            for offset, e in enumerate(chunk.entries):
                yield ReadEntry(
                    _labelled_index(e.header, chunk.first_index + offset),
                    leaves[offset] if offset < len(leaves) else b"",
                    Entry(e.header, e.salt, e.payload if e.HasField("payload") else None),
                )

    def restricted_payloads(
        self, origin: str, indexes: Sequence[int], purpose: str
    ) -> dict[int, bytes]:
        """Payloads of restricted entries this auditor is granted (Audit.Payloads)."""
        return self.payloads_and_purges(origin, indexes, purpose)[0]

    def payloads_and_purges(
        self, origin: str, indexes: Sequence[int], purpose: str
    ) -> tuple[dict[int, bytes], dict[int, str]]:
        """Payloads this auditor is granted (Audit.Payloads), and, by index, the notes of
        those the node purged by retention ("purged on DATE by retention rule R")."""
        out: dict[int, bytes] = {}
        purged: dict[int, str] = {}
        for i in range(0, len(indexes), PAYLOADS_PER_CALL):
            reply = self.client.call(
                "Payloads",
                audit_pb2.PayloadsRequest(
                    origin=origin, indexes=indexes[i : i + PAYLOADS_PER_CALL], purpose=purpose
                ),
            )
            out.update({n: e.payload for n, e in zip(reply.indexes, reply.entries, strict=True)})
            for purge in reply.purged:
                _, _, index = purge.entry_id.rpartition("/")
                if index.isdigit():
                    purged[int(index)] = purge.note
        return out, purged

    def inclusion(self, origin: str, index: int, size: int) -> tuple[list[bytes], str, bytes, int]:
        reply = self.client.call(
            "InclusionProof", audit_pb2.InclusionProofRequest(origin=origin, index=index, size=size)
        )
        return list(reply.proof), reply.checkpoint.note, reply.entry.header, reply.size


class LocalSource:
    def __init__(self, config: NodeConfig, store: Store, actor: str = "") -> None:
        self.config = config
        self.store = store
        self.actor = actor  # the person reading payloads, recorded through the node
        self.node_id = config.node_id
        self.trust_domain = config.trust_domain
        self.reader = f"home:{config.node_id}"

    def origins(self) -> list[OriginView]:
        return [
            OriginView(s.origin, s.size, s.checkpoint_note, s.frozen, s.frozen_reason)
            for s in sorted(self.store.origin_states(), key=lambda s: s.origin)
        ]

    def certificates(self) -> dict[str, str]:
        out = {origin: _pem(der) for origin, der in self.store.origin_keys().items()}
        own = self.config.certs_dir / "log.pem"
        if own.exists():
            out[self.node_id] = load_certificate(own).public_bytes(Encoding.PEM).decode()
        return out

    def checkpoints(self, origin: str, to_size: int) -> Iterator[tuple[int, str]]:
        for size in self.store.checkpoint_sizes(origin):
            if size <= to_size:
                note = self.store.checkpoint_at(origin, size)
                if note is not None:
                    yield size, note

    def entries(
        self, origin: str, start: int, end: int, *, purpose: str = ""
    ) -> Iterator[ReadEntry]:
        for at in range(start, end, LOCAL_READ_CHUNK):
            rows = self.store.entries(origin, at, min(end, at + LOCAL_READ_CHUNK))
            if purpose:
                # Recorded BEFORE anything is shown; with the node down this raises.
                read = [r.index for r in rows if r.payload is not None]
                record_local_read(self.config.home, self.actor, purpose, ids_of(origin, read))
            for row in rows:
                payload = row.payload if purpose else None
                yield ReadEntry(row.index, row.leaf_hash, Entry(row.header, row.salt, payload))

    def inclusion(self, origin: str, index: int, size: int) -> tuple[list[bytes], str, bytes, int]:
        state = self.store.origin_state(origin)
        if state is None:
            raise click.ClickException(f"no log of {origin} in {self.config.home}")
        size = size or state.size
        note = self.store.checkpoint_at(origin, size)
        if note is None or index >= size:
            raise click.ClickException(f"{origin}: no checkpoint at size {size} covering {index}")
        rows = self.store.entries(origin, index, index + 1)
        if not rows:
            raise click.ClickException(f"{origin}/{index}: the entry is not in the store")
        leaves = self.store.leaf_hashes(origin, 0, size)
        return inclusion_proof(leaves, index), note, rows[0].header, size


def _labelled_index(header: bytes, position: int) -> int:
    """The index an entry's header claims (the stream does not say: a row missing from the
    node's store would shift every later entry), or its position if the header is unreadable.
    Verification then compares both with the entry's true place in the log."""
    try:
        return decode_header(header).index
    except EntryError:
        return position


def _pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")


@contextmanager
def open_source(spec: SourceSpec, *, actor: str = "") -> Iterator[LocalSource | RemoteSource]:
    spec.check()
    if spec.node is not None:
        assert spec.cert_dir is not None
        with audit_client(spec.node, spec.cert_dir, spec.node_id) as client:
            yield RemoteSource(client)
        return
    assert spec.home is not None
    with offline_store(spec.home) as (config, store):
        yield LocalSource(config, store, actor)


def record_local_read(home: Path, actor: str, purpose: str, ids: Sequence[str]) -> None:
    """Record, through the running node, that ``actor`` reads these payloads from its store.

    Called BEFORE the payloads are read: with the node down nothing can be recorded, so the
    caller must not read them (NodeNotRunning propagates)."""
    if not actor.strip() or not purpose.strip():
        raise click.UsageError("reading payloads needs --actor and --purpose (it is recorded)")
    if not ids:
        return
    with node_client(home) as client:
        for i in range(0, len(ids), PAYLOADS_PER_CALL):
            access = payloads_pb2.AccessRecorded(
                entries=list(ids[i : i + PAYLOADS_PER_CALL]),
                purpose=purpose.strip(),
                what="audit: entry payloads",
            )
            draft = admin_pb2.Draft(
                kind=log_pb2.ACCESS_RECORDED,
                payload=payloads_pb2.Payload(access_recorded=access),
            )
            client.submit([draft], actor.strip())


def ids_of(origin: str, indexes: Sequence[int]) -> list[str]:
    return [entry_id(origin, i) for i in indexes]
