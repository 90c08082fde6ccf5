"""``ccnode init`` and ``ccnode serve``: create a node's home, run the node."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from cryptography import x509

from cli.common.client import load_config
from cli.common.options import home_option, json_option
from cli.output import console, emit_json, table
from node.config import ConfigError, NodeConfig, init_home, masked_url
from node.identity.court_authority import court_prefixes_of
from node.identity.errors import IdentityError, PkiError
from node.identity.keyfiles import (
    install_crl,
    load_certificate,
    load_log_cert_public_key,
    load_log_signing_key,
)
from node.identity.spiffe import (
    Identity,
    cert_uris,
    identity_from_cert,
    log_cert_identity,
    parse_spiffe_id,
)
from node.identity.truststore import issued_by
from node.store import MEMORY_URL
from node.store.base import StoreError
from sync.checkpoint import origin_line
from sync.note import Ed25519Verifier


@dataclass(frozen=True)
class _CertsCheck:
    trust_domain: str
    vkey: str  # the log verifier key peers and auditors pin
    court_prefixes: tuple[str, ...]  # what the log certificate entitles the node to


def _node_identity(cert: x509.Certificate, file: Path) -> Identity:
    """The SPIFFE identity of ``cert`` in whatever trust domain it names."""
    uris = cert_uris(cert)
    if len(uris) != 1:
        raise IdentityError("bad_identity", f"{file.name}: exactly one URI SAN is required")
    claimed = parse_spiffe_id(uris[0])
    return identity_from_cert(cert, claimed.trust_domain)


def check_node_certs(certs: Path, node_id: str) -> _CertsCheck:
    """The node's trust domain from ``certs/tls.pem``, after checking that the TLS and
    log-signing certificates both name node ``node_id``, chain to ``ca.pem`` and that
    ``log.key`` is the certified key."""
    tls_cert = load_certificate(certs / "tls.pem")
    identity = _node_identity(tls_cert, certs / "tls.pem")
    if identity.role != "node":
        raise click.ClickException(
            f"{certs / 'tls.pem'}: certificate is for role {identity.role!r}, not a node"
        )
    if identity.name != node_id:
        raise click.ClickException(
            f"{certs / 'tls.pem'}: certificate names node {identity.name!r}, "
            f"not --node-id {node_id!r}"
        )
    log_cert = load_certificate(certs / "log.pem")
    log_identity = log_cert_identity(log_cert, identity.trust_domain)
    if log_identity != identity:
        raise click.ClickException(
            f"{certs / 'log.pem'}: log-signing certificate names {log_identity.uri}, "
            f"not {identity.uri}"
        )
    ca_cert = load_certificate(certs / "ca.pem")
    for name, cert in (("tls.pem", tls_cert), ("log.pem", log_cert)):
        if not issued_by(cert, ca_cert):
            raise click.ClickException(f"{certs / name}: not issued by {certs / 'ca.pem'}")
    load_log_signing_key(certs / "log.key", certs / "log.pem")
    raw_key = load_log_cert_public_key(certs / "log.pem")
    vkey = Ed25519Verifier(origin_line(identity.trust_domain, node_id), raw_key).vkey()
    return _CertsCheck(identity.trust_domain, vkey, court_prefixes_of(log_cert))


def check_db(config: NodeConfig) -> None:
    """That the store ``config`` names can be used by this ccnode: a PostgreSQL server is
    reachable and its schema, if any, is not newer than this ccnode knows; a SQLite file's
    directory exists. Nothing is created."""
    url = config.db_url
    if url == MEMORY_URL:
        return
    from sqlalchemy.engine import make_url

    from node.store.sql import schema_status  # SQLAlchemy only where a store is read

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if config.embedded_db or not path.exists():
            if not config.embedded_db and not path.parent.is_dir():
                raise ConfigError(f"db: {path.parent} is not a directory")
            return
    try:
        schema_status(url).check_not_newer()
    except StoreError as e:
        raise ConfigError(f"db: {e}") from e


@click.command("init")
@home_option
@click.option("--node-id", required=True, help="This node's id, e.g. chengdu.")
@click.option("--listen", required=True, metavar="HOST:PORT", help="Federation address.")
@click.option(
    "--certs",
    "certs_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Directory from `ccnode certs issue --node-id`: ca.pem, tls.*, log.*.",
)
@click.option(
    "--db",
    default="",
    help="Database URL (default: SQLite in the home), e.g. postgresql://ccnode@db1/ccnode; "
    "checked before the home is made. Keep a password out of it: give it in CCNODE_DB_URL.",
)
@click.option(
    "--court-prefix",
    "court_prefixes",
    multiple=True,
    metavar="PREFIX",
    help="Court codes this node serves, e.g. 川01 (repeatable; default: those its log "
    "certificate names, which are what peers accept from it).",
)
@click.option(
    "--crl",
    "crl_file",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The federation CA's CRL (crl.pem), installed as HOME/crl/federation.pem.",
)
@click.option(
    "--metrics-listen",
    default=None,
    metavar="HOST:PORT",
    help="Prometheus endpoint (plain HTTP); empty = off (default: 127.0.0.1 on the listen "
    "port + 1000, e.g. 127.0.0.1:8401 for 7401; any free port when the listen port is 0).",
)
@json_option
def init(
    home: Path,
    node_id: str,
    listen: str,
    certs_dir: Path,
    db: str,
    court_prefixes: tuple[str, ...],
    crl_file: Path | None,
    metrics_listen: str | None,
    as_json: bool,
) -> None:
    """Create a node home from its certificates (the trust domain comes from tls.pem)."""
    if metrics_listen is None:
        metrics_listen = default_metrics_listen(listen)
    elif metrics_listen and not _is_host_port(metrics_listen):
        raise click.BadParameter(
            "must be HOST:PORT, or empty for off", param_hint="--metrics-listen"
        )
    try:
        checked = check_node_certs(certs_dir, node_id)
        court_prefixes = court_prefixes or checked.court_prefixes
        if set(court_prefixes) != set(checked.court_prefixes):
            click.echo(
                "warning: --court-prefix differs from the courts log.pem names "
                f"({', '.join(checked.court_prefixes) or 'none'}); the node and its peers "
                "go by the certificate: reissue it with `ccnode certs issue --court-prefix`",
                err=True,
            )
        config = init_home(
            home,
            node_id=node_id,
            listen=listen,
            certs=certs_dir,
            trust_domain=checked.trust_domain,
            db=db,
            court_prefixes=list(court_prefixes),
            check=check_db,
        )
        config.metrics_listen = metrics_listen
        config.save()
        if crl_file is not None:
            install_crl(config.crl_dir, "federation", crl_file)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    except (PkiError, IdentityError) as e:
        raise click.ClickException(f"certs: {e}") from e
    except OSError as e:
        raise click.ClickException(f"{e.filename or home}: {e.strerror}") from e
    doc = {
        "home": str(config.home),
        "node_id": config.node_id,
        "trust_domain": config.trust_domain,
        "listen": config.listen,
        "db_url": masked_url(config.db_url),
        "metrics_listen": config.metrics_listen or "off",
        "court_prefixes": config.court_prefixes,
        "vkey": checked.vkey,
    }
    if as_json:
        emit_json(doc)
        return
    t = table("field 项目", "value 值", title=f"initialised node {config.node_id}")
    for key, value in doc.items():
        t.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    console().print(t)
    console().print(f"start it with: ccnode serve --home {config.home}")


def default_metrics_listen(listen: str) -> str:
    """127.0.0.1 on the federation port + 1000 (so nodes on one host differ as their
    listen ports do); any free port when that is 0 or the sum is past 65535."""
    _, _, port = listen.rpartition(":")
    number = int(port) + 1000 if port.isdigit() and int(port) > 0 else 0
    return f"127.0.0.1:{number if number <= 65535 else 0}"


def _is_host_port(text: str) -> bool:
    _, sep, port = text.rpartition(":")
    return bool(sep) and port.isdigit() and int(port) < 65536


@click.command("serve")
@home_option
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default=None,
    help="Process log lines as text or JSON lines (default: log_format in node.toml, text).",
)
def serve(home: Path, log_format: str | None) -> None:
    """Run the node until SIGINT or SIGTERM."""
    load_config(home)  # a clear error before anything starts
    # imported here: the CLI's other commands stay light
    from node.runtime.serve import StartRefused, run_node

    try:
        run_node(home, log_format=log_format or "")
    except (ConfigError, StartRefused, StoreError, ValueError) as e:
        raise click.ClickException(str(e)) from e
