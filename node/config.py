"""A node's home directory and configuration.

HOME/
  node.json        configuration (this module)
  certs/           ca.pem, tls.pem, tls.key, log.pem, log.key (keys mode 0600)
  crl/             CRL files (*.pem); reloaded when they change
  ccnode.db        embedded SQLite store (default)
  admin.sock       admin API, Unix socket mode 0600 (while the node runs)
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

# NODE_ID_RE is also imported from here (the admin service checks peer ids with it).
from sync.ids import NODE_ID
from sync.ids import NODE_ID_RE as NODE_ID_RE

CONFIG_FILE = "node.json"
COURT_PREFIX_RE = re.compile(r"[\u4e00-\u9fff]\d{0,4}")


class ConfigError(Exception):
    """The node's home or configuration is missing or invalid."""


@dataclass
class Limits:
    grpc_message_bytes_max: int = 4 * 1024 * 1024
    batch_entries_max: int = 500
    batch_bytes_max: int = 256 * 1024
    checkpoint_entries_max: int = 1000  # <= 1,024 (DESIGN.md); 4 x the checkpoint interval
    keepalive_time_s: int = 30
    keepalive_timeout_s: int = 10
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 180.0
    resync_interval_s: float = 30.0
    shutdown_grace_s: float = 5.0
    # Asset lookups answered per requesting node: a token bucket refilled at this many per
    # minute (also its burst), and a daily quota of answered lookups (court-local day).
    lookup_rate_per_minute: int = 600
    lookup_daily_quota: int = 20_000
    # A stream that starts this many entries behind is verified and folded in a helper
    # process (node.replication.worker); 0 = never (SQL stores only; the memory store never does).
    catchup_worker_backlog: int = 5_000
    # Own-log recovery at start (node.replication.recovery): how long to wait for the peers to
    # say how much of this node's log they hold (no answer: appends start anyway, with a
    # warning), and the pause between attempts to fetch what a peer holds and the store lacks.
    own_log_recovery_timeout_s: float = 10.0
    own_log_recovery_retry_s: float = 5.0
    # Mesh replication (node.replication.routes, sync.routing): each link takes only the
    # origins routed through its peer (false: every origin the peer holds, as before, so in a
    # full mesh each entry arrives once per peer); an origin some peer holds more of while
    # this node made no progress on it for relay_stall_s is taken also from the peers ahead.
    subscribe_selectively: bool = True
    relay_stall_s: float = 2.0


@dataclass
class NodeConfig:
    home: Path
    node_id: str
    trust_domain: str
    listen: str
    court_prefixes: list[str] = field(default_factory=list)
    db: str = ""  # empty = SQLite in the home
    metrics_listen: str = ""  # host:port for Prometheus, empty = off
    limits: Limits = field(default_factory=Limits)
    # Auditor names (<name> of spiffe://<td>/auditor/<name>) that may read payloads of
    # restricted entries through Audit.Payloads; each read is recorded (docs/audit.md).
    payload_auditors: list[str] = field(default_factory=list)

    @property
    def certs_dir(self) -> Path:
        return self.home / "certs"

    @property
    def crl_dir(self) -> Path:
        return self.home / "crl"

    @property
    def admin_socket(self) -> Path:
        return self.home / "admin.sock"

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'ccnode.db'}"

    def save(self) -> None:
        data = asdict(self)
        data["home"] = None
        data.pop("home")
        path = self.home / CONFIG_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, home: Path) -> NodeConfig:
        home = Path(home).resolve()  # socket URIs and stored paths must be absolute
        path = home / CONFIG_FILE
        if not path.exists():
            raise ConfigError(f"{home} is not a node home (no {CONFIG_FILE}); run `ccnode init`")
        data = json.loads(path.read_text(encoding="utf-8"))
        limits = Limits(**data.pop("limits", {}))
        config = cls(home=home, limits=limits, **data)
        config.validate()
        return config

    def validate(self) -> None:
        if not NODE_ID_RE.fullmatch(self.node_id):
            raise ConfigError(f"node_id: must match {NODE_ID}")
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ConfigError("listen: must be HOST:PORT")
        for prefix in self.court_prefixes:
            if not COURT_PREFIX_RE.fullmatch(prefix):
                raise ConfigError("court_prefixes: each must be a court code prefix like 川01")
        for name in self.payload_auditors:
            if not NODE_ID_RE.fullmatch(name):
                raise ConfigError(f"payload_auditors: each must match {NODE_ID}")


def init_home(
    home: Path,
    *,
    node_id: str,
    listen: str,
    certs: Path,
    trust_domain: str,
    db: str = "",
    court_prefixes: list[str] | None = None,
) -> NodeConfig:
    """Create a node home: copy the node's certificates in and write the configuration."""
    home = Path(home).resolve()
    if (home / CONFIG_FILE).exists():
        raise ConfigError(f"{home} is already a node home")
    config = NodeConfig(
        home=home,
        node_id=node_id,
        trust_domain=trust_domain,
        listen=listen,
        court_prefixes=list(court_prefixes or []),
        db=db,
    )
    config.validate()
    missing = [
        n
        for n in ("ca.pem", "tls.pem", "tls.key", "log.pem", "log.key")
        if not (certs / n).exists()
    ]
    if missing:
        raise ConfigError(f"certs: {certs} lacks {', '.join(missing)} (see `ccnode certs issue`)")
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    config.certs_dir.mkdir(exist_ok=True)
    config.crl_dir.mkdir(exist_ok=True)
    for name in ("ca.pem", "tls.pem", "tls.key", "log.pem", "log.key"):
        shutil.copyfile(certs / name, config.certs_dir / name)
        if name.endswith(".key"):
            os.chmod(config.certs_dir / name, 0o600)
    config.save()
    return config
