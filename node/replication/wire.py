"""gRPC settings shared by the node's servers and its outbound peer channels, and the mTLS
channel to a peer."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import grpc

from node.config import Limits
from node.identity.errors import IdentityError
from node.identity.spiffe import identity_from_der, peer_dns_name


def grpc_options(limits: Limits) -> list[tuple[str, int]]:
    """Message limits and keepalive, the same on both ends of every connection."""
    return [
        ("grpc.max_receive_message_length", limits.grpc_message_bytes_max),
        ("grpc.max_send_message_length", limits.grpc_message_bytes_max),
        ("grpc.keepalive_time_ms", limits.keepalive_time_s * 1000),
        ("grpc.keepalive_timeout_ms", limits.keepalive_timeout_s * 1000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


class PeerChannels:
    """Opens mutual-TLS channels to peers with this node's TLS certificate."""

    def __init__(self, *, certs_dir: Path, trust_domain: str, limits: Limits) -> None:
        self._certs_dir = certs_dir
        self._trust_domain = trust_domain
        self._limits = limits
        # Read once, like the server's credentials: a channel opens on every reconnect and for
        # every own-log recovery call, on the event loop. New certificates take a restart
        # (docs/operations.md, certificates).
        self._creds = grpc.ssl_channel_credentials(
            root_certificates=(certs_dir / "ca.pem").read_bytes(),
            private_key=(certs_dir / "tls.key").read_bytes(),
            certificate_chain=(certs_dir / "tls.pem").read_bytes(),
        )

    def open(self, address: str, peer_id: str) -> grpc.aio.Channel:
        # The server must present a certificate for <peer>.node.<trust-domain>: a process at
        # the peer's address holding another node's certificate fails the handshake.
        options: list[tuple[str, int | str]] = [
            *grpc_options(self._limits),
            ("grpc.ssl_target_name_override", peer_dns_name(self._trust_domain, peer_id)),
        ]
        return grpc.aio.secure_channel(address, self._creds, options=options)

    def served_node(self, address: str, timeout_s: float) -> str:
        """The node whose certificate the server at ``address`` presents, from a TLS handshake
        made with this node's certificate and CA but no expected name (blocking). grpc does
        not show the certificate of a handshake it failed, so this learns who is there when a
        channel to the wrong node fails. OSError (ssl.SSLError included) if no handshake
        completes; IdentityError if the certificate names no node of this trust domain."""
        host, _, port = address.rpartition(":")
        d = self._certs_dir
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # the name is what is asked; the CA is still checked
        context.load_verify_locations(cafile=d / "ca.pem")
        context.load_cert_chain(d / "tls.pem", d / "tls.key")
        context.set_alpn_protocols(["h2"])  # what a gRPC server expects of its clients
        with (
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as raw,
            context.wrap_socket(raw) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        if der is None:
            raise IdentityError("bad_identity", "the server presented no certificate")
        identity = identity_from_der(der, self._trust_domain)
        if identity.role != "node":
            raise IdentityError("bad_identity", f"the server is {identity.role} {identity.name}")
        return identity.name
