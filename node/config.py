"""A node's home directory and configuration.

HOME/
  node.toml        configuration (this module; docs/operations.md "Configuration")
  certs/           ca.pem, tls.pem, tls.key, log.pem, log.key (keys mode 0600)
  crl/             CRL files (*.pem); reloaded when they change
  ccnode.db        embedded SQLite store (default)
  admin.sock       admin API, Unix socket mode 0600 (while the node runs)

The configuration is validated at the edge, by pydantic models in strict mode: a value of the
wrong type (``batch_entries_max = "500"``), out of its range or of an unknown key is refused,
every problem on a line of its own naming the key and the rule (``ConfigError``). Each section
of the file is a nested model (``Limits`` is ``[limits]``); a new section is one more nested
``_Section`` subclass and one field of ``NodeConfig``.

A home from before node.toml has a ``node.json``: ``load`` converts it once (the old file is
kept as ``node.json.bak``) and logs that it did.

Secrets stay out of the file if the operator wants: ``CCNODE_DB_URL`` overrides ``db`` (so a
PostgreSQL password can live in the service's environment); ``masked_url`` hides the
password of a database URL wherever one is shown.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# NODE_ID_RE is also imported from here (the admin service checks peer ids with it).
from sync.domain.courts_cn import prefix_problem
from sync.domain.identifiers import IdMasks, MaskPolicy
from sync.ids import NODE_ID
from sync.ids import NODE_ID_RE as NODE_ID_RE
from sync.retention import OPERATION_LOG_DAYS_MIN, RetentionError, check_period
from sync.retention import RULES as RETENTION_RULES

CONFIG_FILE = "node.toml"
LEGACY_CONFIG_FILE = "node.json"  # homes made before node.toml; converted at load
LEGACY_BACKUP_SUFFIX = ".bak"
DB_URL_ENV = "CCNODE_DB_URL"
DB_FILE = "ccnode.db"
COURT_PREFIX_RE = re.compile(r"[\u4e00-\u9fff]\d{0,4}")
_TRUST_DOMAIN_RE = re.compile(r"[a-z0-9._-]{1,255}")  # as node.identity.spiffe checks it
_DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
# Keys older versions wrote that mean nothing now: dropped when a node.json is converted,
# refused with this reason in a node.toml.
REMOVED_KEYS = {
    "limits.resync_interval_s": "never used: peer links reconnect on the backoff schedule "
    "(limits.backoff_initial_s, limits.backoff_max_s)",
}
_PASSWORD_RE = re.compile(r"(?P<head>://[^/@:]*:)(?P<password>[^@/]*)(?P<at>@)")

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The node's home or configuration is missing or invalid: one line per problem."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems) or ["invalid configuration"]
        super().__init__("\n".join(self.problems))


def masked_url(url: str) -> str:
    """``url`` with the password, if it has one, replaced by ``***``."""
    return _PASSWORD_RE.sub(r"\g<head>***\g<at>", url)


def _host_port(value: str, *, empty_ok: bool) -> str:
    if empty_ok and value == "":
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536 or (not host and not empty_ok):
        raise ValueError("must be HOST:PORT")
    return value


class _Section(BaseModel):
    """One table of node.toml: strict types, unknown keys refused, checked on assignment."""

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True)


class Limits(_Section):
    """``[limits]``: sizes, timeouts and rates. The ranges keep a node within the protocol's
    limits (DESIGN.md) and away from values that cannot work (a zero timeout)."""

    grpc_message_bytes_max: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=1 << 30)
    batch_entries_max: int = Field(default=500, ge=1, le=500)
    batch_bytes_max: int = Field(default=256 * 1024, ge=1024, le=256 * 1024)
    # <= 1,024 (DESIGN.md); 4 x the checkpoint interval
    checkpoint_entries_max: int = Field(default=1000, ge=1, le=1024)
    keepalive_time_s: int = Field(default=30, ge=1, le=3600)
    keepalive_timeout_s: int = Field(default=10, ge=1, le=600)
    backoff_initial_s: float = Field(default=0.2, gt=0, le=60)
    backoff_max_s: float = Field(default=180.0, gt=0, le=3600)
    shutdown_grace_s: float = Field(default=5.0, ge=0, le=600)
    # Asset lookups answered per requesting node: a token bucket refilled at this many per
    # minute (also its burst), and a daily quota of answered lookups (court-local day).
    lookup_rate_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    lookup_daily_quota: int = Field(default=20_000, ge=1, le=100_000_000)
    # A stream that starts this many entries behind is verified and folded in a helper
    # process (node.replication.worker); 0 = never (SQL stores only; the memory store never does).
    catchup_worker_backlog: int = Field(default=5_000, ge=0, le=1_000_000_000)
    # Own-log recovery at start (node.replication.recovery): how long to wait for the peers to
    # say how much of this node's log they hold (no answer: appends start anyway, with a
    # warning), and the pause between attempts to fetch what a peer holds and the store lacks.
    # Mesh replication (node.replication.routes, sync.routing): each link takes only the
    # origins routed through its peer (false: every origin the peer holds, as before, so in a
    # full mesh each entry arrives once per peer); an origin some peer holds more of while
    # this node made no progress on it for relay_stall_s is taken also from the peers ahead.
    subscribe_selectively: bool = True
    relay_stall_s: float = Field(default=2.0, gt=0, le=3600)
    own_log_recovery_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    own_log_recovery_retry_s: float = Field(default=5.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s: must be >= backoff_initial_s")
        if self.keepalive_timeout_s > self.keepalive_time_s:
            raise ValueError("keepalive_timeout_s: must be <= keepalive_time_s")
        if self.batch_bytes_max >= self.grpc_message_bytes_max:
            raise ValueError(
                "grpc_message_bytes_max: must be > batch_bytes_max (a batch is one message)"
            )
        return self


# How the public disclosure page masks resident IDs (sync.domain.identifiers mask policies).
PUBLIC_ID_MASKS = ("birth_date", "keep_ends")


class PublicPage(_Section):
    """``[public]``: the public disclosure page (失信被执行人公示, node/public/): HTTPS without
    a client certificate, off while ``listen`` is empty (docs/operations.md)."""

    listen: str = ""  # host:port
    cert_file: str = ""  # PEM certificate chain; a relative path is taken from the home
    key_file: str = ""  # its PEM private key
    rate_per_minute: int = Field(default=10, ge=1, le=10_000)  # queries per client IP
    # "birth_date": 5101041990****1237 (the default mask); "keep_ends": 510104********1237.
    id_mask: Literal["birth_date", "keep_ends"] = "birth_date"
    # An organisation's credit code is a published field (法释〔2017〕7号 art. 6): shown in full
    # when true, masked like a resident ID's ends otherwise.
    show_credit_codes: bool = True
    # Ended listings (delisted, with their credit repair 信用修复) shown beside the current
    # ones; off by default: a delisting withdraws the entry from publication (art. 10).
    show_ended: bool = False

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return _host_port(value, empty_ok=True)

    @model_validator(mode="after")
    def _files_with_listen(self) -> Self:
        if self.listen and (not self.cert_file or not self.key_file):
            raise ValueError("cert_file, key_file: required with listen")
        return self


class Retention(_Section):
    """``[retention]``: payload retention (PIPL arts. 6 and 34; sync/retention.py,
    docs/operations.md): how many days after its matter closed a payload is purged, per rule;
    each at least the six-month operation-log minimum (sync.retention.OPERATION_LOG_DAYS_MIN)."""

    lookup_requests_days: int = Field(
        default=365, ge=OPERATION_LOG_DAYS_MIN, le=36_500
    )  # after the reply
    lookup_answers_days: int = Field(
        default=365, ge=OPERATION_LOG_DAYS_MIN, le=36_500
    )  # after the reply
    tasks_days: int = Field(
        default=1095, ge=OPERATION_LOG_DAYS_MIN, le=36_500
    )  # after the task closed (terminal, no seizure left in effect)
    blacklist_days: int = Field(
        default=1825, ge=OPERATION_LOG_DAYS_MIN, le=36_500
    )  # after delisting (any ground)
    access_days: int = Field(
        default=1095, ge=OPERATION_LOG_DAYS_MIN, le=36_500
    )  # after the read was recorded
    interval_s: float = Field(default=3600.0, gt=0, le=7 * 86400)  # between purge runs
    batch_entries_max: int = Field(default=500, ge=1, le=10_000)  # payloads per transaction
    enabled: bool = True  # False: nothing is purged (status still shows what is due)

    @field_validator(*(f"{rule.name}_days" for rule in RETENTION_RULES), mode="before")
    @classmethod
    def _period(cls, value: Any, info: ValidationInfo) -> Any:
        key = str(info.field_name)
        try:
            check_period(key, value)
        except RetentionError as exc:
            raise ValueError(str(exc).removeprefix(f"{key}: ")) from None
        return value

    def days(self, rule: str) -> int:
        value: int = getattr(self, f"{rule}_days")
        return value


class Agencies(_Section):
    """``[agencies]``: the Agency service (node.services.agency): joint-punishment agencies'
    reads of the blacklist. An agency is admitted with `ccnode agencies add` (its own rate and
    quota, else these defaults); ``granted`` names node or auditor identities (``node/<id>``,
    ``auditor/<name>``) that may call the service too."""

    rate_per_s: float = Field(default=20.0, gt=0, le=100_000)  # calls per second per agency
    burst: int = Field(default=40, ge=1, le=1_000_000)  # the token bucket's size
    # Subjects checked per agency and UTC day (Follow not counted).
    daily_quota: int = Field(default=200_000, ge=1, le=1_000_000_000)
    batch_subjects_max: int = Field(default=1000, ge=1, le=1000)  # CheckBatch
    follow_page_changes: int = Field(default=500, ge=1, le=5000)  # changes per Follow message
    granted: list[str] = Field(default_factory=list)

    @field_validator("granted")
    @classmethod
    def _granted(cls, value: list[str]) -> list[str]:
        for who in value:
            role, _, name = who.partition("/")
            if role not in ("node", "auditor") or not NODE_ID_RE.fullmatch(name):
                raise ValueError("each must be node/<id> or auditor/<name>")
        return value


class Masks(_Section):
    """``[masks]``: how published and displayed identifiers are masked: how many characters
    each kind keeps at its start and its end, the rest shown as ``mask_char``. No statute fixes
    the mask (DOMAIN.md); the default resident-ID mask hides the birth month and day."""

    mask_char: str = Field(default="*", min_length=1, max_length=1)
    resident_id_keep_head: int = Field(default=10, ge=0, le=17)  # 5101041990****1237
    resident_id_keep_tail: int = Field(default=4, ge=0, le=17)
    credit_code_keep_head: int = Field(default=6, ge=0, le=17)  # 913501********0Y43
    credit_code_keep_tail: int = Field(default=4, ge=0, le=17)
    org_code_keep_head: int = Field(default=2, ge=0, le=8)  # M0*****Y4
    org_code_keep_tail: int = Field(default=2, ge=0, le=8)

    @model_validator(mode="after")
    def _hides_something(self) -> Self:
        self.policies()  # a ValueError names the kind of identifier
        return self

    def policies(self) -> IdMasks:
        """The masks; ValueError when one would hide nothing or keep more than the value."""
        return IdMasks(
            resident_id=_keep(
                "resident_id", self.resident_id_keep_head, self.resident_id_keep_tail, 18, self
            ),
            credit_code=_keep(
                "credit_code", self.credit_code_keep_head, self.credit_code_keep_tail, 18, self
            ),
            org_code=_keep("org_code", self.org_code_keep_head, self.org_code_keep_tail, 9, self),
        )


def _keep(kind: str, head: int, tail: int, length: int, masks: Masks) -> MaskPolicy:
    if head + tail >= length:
        raise ValueError(f"{kind}: the kept characters must be fewer than {length}")
    return MaskPolicy.keep_ends(head, tail, length=length, mask_char=masks.mask_char)


class NodeConfig(_Section):
    """The whole node.toml, plus the home it was read from (not a key of the file)."""

    home: Path = Field(exclude=True)
    node_id: str
    trust_domain: str
    listen: str
    court_prefixes: list[str] = Field(default_factory=list)
    db: str = ""  # empty = SQLite in the home; CCNODE_DB_URL overrides it
    metrics_listen: str = ""  # host:port for Prometheus, empty = off
    log_format: Literal["text", "json"] = "text"
    limits: Limits = Field(default_factory=lambda: Limits())
    # Auditor names (<name> of spiffe://<td>/auditor/<name>) that may read payloads of
    # restricted entries through Audit.Payloads; each read is recorded (docs/audit.md).
    payload_auditors: list[str] = Field(default_factory=list)
    public: PublicPage = Field(default_factory=lambda: PublicPage())
    retention: Retention = Field(default_factory=lambda: Retention())
    agencies: Agencies = Field(default_factory=lambda: Agencies())
    masks: Masks = Field(default_factory=lambda: Masks())

    _db_env: str = PrivateAttr(default="")  # CCNODE_DB_URL as it was at load
    _conversion_notice: str = PrivateAttr(default="")  # set by the load that converted node.json

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if not NODE_ID_RE.fullmatch(value):
            raise ValueError(f"must match {NODE_ID}")
        return value

    @field_validator("trust_domain")
    @classmethod
    def _trust_domain(cls, value: str) -> str:
        if not _TRUST_DOMAIN_RE.fullmatch(value):
            raise ValueError("must be a SPIFFE trust domain (a-z 0-9 . _ -), e.g. chengyu.court")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return _host_port(value, empty_ok=False)

    @field_validator("metrics_listen")
    @classmethod
    def _metrics_listen(cls, value: str) -> str:
        return _host_port(value, empty_ok=True)

    @field_validator("court_prefixes")
    @classmethod
    def _court_prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not COURT_PREFIX_RE.fullmatch(prefix):
                raise ValueError("each must be a court code prefix like 川01")
            if (problem := prefix_problem(prefix)) is not None:
                raise ValueError(problem)
        return value

    @field_validator("payload_auditors")
    @classmethod
    def _payload_auditors(cls, value: list[str]) -> list[str]:
        for name in value:
            if not NODE_ID_RE.fullmatch(name):
                raise ValueError(f"each must match {NODE_ID}")
        return value

    @field_validator("db")
    @classmethod
    def _db(cls, value: str) -> str:
        check_db_url(value)
        return value

    # ---- derived paths

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
    def effective_db(self) -> str:
        """``db`` after the environment: CCNODE_DB_URL (as at load) if set, else the file's."""
        return self._db_env or self.db

    @property
    def conversion_notice(self) -> str:
        """What the load that converted this home's node.json did ("" for any other load);
        also logged at INFO. The CLI prints it."""
        return self._conversion_notice

    @property
    def db_from_env(self) -> bool:
        return bool(self._db_env)

    @property
    def embedded_db(self) -> bool:
        """True if the store is the home's own SQLite file (HOME/ccnode.db)."""
        return not self.effective_db

    @property
    def db_url(self) -> str:
        return self.effective_db or f"sqlite:///{self.home / DB_FILE}"

    # ---- file

    def file_data(self) -> dict[str, Any]:
        """The keys of node.toml as this configuration writes them (``db`` as in the file,
        not the environment's)."""
        return self.model_dump(mode="json")

    def effective_data(self) -> dict[str, Any]:
        """The values the node runs with, after the environment; passwords masked."""
        data = self.model_dump(mode="json")
        data["db"] = masked_url(self.effective_db)
        return data

    def save(self) -> None:
        """Write node.toml (mode 0600: ``db`` may hold a password), replacing it whole."""
        path = self.home / CONFIG_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tomli_w.dumps(self.file_data()))
        os.chmod(tmp, 0o600)  # an older .tmp keeps its mode through O_CREAT
        os.replace(tmp, path)

    @classmethod
    def from_data(
        cls, data: Mapping[str, Any], home: Path, *, environ: Mapping[str, str] | None = None
    ) -> NodeConfig:
        """Validate ``data`` (the keys of node.toml) for ``home``; every problem at once."""
        problems = _removed_keys(data)
        if "home" in data:
            problems.append("home: unknown key; the home is the directory that holds node.toml")
        env = os.environ if environ is None else environ
        db_env = env.get(DB_URL_ENV, "")
        if db_env:
            try:
                check_db_url(db_env)
            except ValueError as e:
                problems.append(f"{DB_URL_ENV} (environment): {e}")
        config: NodeConfig | None = None
        try:
            config = cls.model_validate({**data, "home": Path(home)})
        except ValidationError as e:
            problems.extend(_problems(e, cls))
        if problems or config is None:
            raise ConfigError(*problems)
        config._db_env = db_env
        return config

    @classmethod
    def load(cls, home: Path, *, environ: Mapping[str, str] | None = None) -> NodeConfig:
        home = Path(home).resolve()  # socket URIs and stored paths must be absolute
        path = home / CONFIG_FILE
        if not path.exists() and (home / LEGACY_CONFIG_FILE).exists():
            return convert_legacy(home, environ=environ)
        if not path.exists():
            raise ConfigError(f"{home} is not a node home (no {CONFIG_FILE}); run `ccnode init`")
        return cls.from_file(path, home, environ=environ)

    @classmethod
    def from_file(
        cls, path: Path, home: Path | None = None, *, environ: Mapping[str, str] | None = None
    ) -> NodeConfig:
        """Read and validate one configuration file (node.toml, or a legacy node.json)."""
        data = read_file(path)
        try:
            return cls.from_data(data, (home or path.parent).resolve(), environ=environ)
        except ConfigError as e:
            raise ConfigError(*(f"{path.name}: {p}" for p in e.problems)) from None


def check_db_url(value: str) -> None:
    """``db``'s rule: empty, ``memory:``, or a sqlite:// or postgresql:// URL."""
    if value in ("", "memory:"):
        return
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in _DB_SCHEMES or not rest:
        raise ValueError(
            "must be empty (SQLite in the home), sqlite:///PATH or "
            "postgresql://USER@HOST[:PORT]/DATABASE"
        )


def read_file(path: Path) -> dict[str, Any]:
    """The keys of a configuration file: TOML, or JSON for a legacy ``*.json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise ConfigError(f"{path.name}: not valid {kind} ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: must be a table of keys")
    return data


def convert_legacy(home: Path, *, environ: Mapping[str, str] | None = None) -> NodeConfig:
    """Convert HOME/node.json to node.toml: validated first (keys of REMOVED_KEYS dropped),
    written, then the old file renamed node.json.bak. Logged once: afterwards node.toml
    exists and is what every load reads."""
    legacy = home / LEGACY_CONFIG_FILE
    data = read_file(legacy)
    dropped = [key for key in REMOVED_KEYS if _pop_key(data, key)]
    try:
        config = NodeConfig.from_data(data, home, environ=environ)
    except ConfigError as e:
        raise ConfigError(*(f"{legacy.name}: {p}" for p in e.problems)) from None
    config.save()
    backup = legacy.with_name(legacy.name + LEGACY_BACKUP_SUFFIX)
    try:
        os.replace(legacy, backup)
    except FileNotFoundError:
        pass  # converted by another process meanwhile: its node.toml is the same
    notice = f"converted {legacy} to {CONFIG_FILE} (the old file is kept as {backup.name})"
    if dropped:
        notice += f"; dropped unused keys {', '.join(dropped)}"
    log.info("%s", notice)
    config._conversion_notice = notice
    return config


def _pop_key(data: dict[str, Any], dotted: str) -> bool:
    *sections, key = dotted.split(".")
    table: Any = data
    for section in sections:
        table = table.get(section) if isinstance(table, dict) else None
    if isinstance(table, dict) and key in table:
        del table[key]
        return True
    return False


def _removed_keys(data: Mapping[str, Any]) -> list[str]:
    out = []
    for dotted, reason in REMOVED_KEYS.items():
        *sections, key = dotted.split(".")
        table: Any = data
        for section in sections:
            table = table.get(section) if isinstance(table, dict) else None
        if isinstance(table, dict) and key in table:
            out.append(f"{dotted}: removed key ({reason}); delete it")
    return out


# ---------------------------------------------------------------- error lines

_TYPE_NAMES = {"int": "an integer", "float": "a number", "string": "a string", "bool": "a boolean"}
_TOML_TYPES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "a table",
}


def _section_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model of the table at ``loc`` (a path of keys), if it is one."""
    for key in loc:
        field = model.model_fields.get(str(key))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _got(value: Any) -> str:
    for kind, name in _TOML_TYPES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_BOUNDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "greater_than": lambda c: f"must be > {_num(c['gt'])}",
    "greater_than_equal": lambda c: f"must be >= {_num(c['ge'])}",
    "less_than": lambda c: f"must be < {_num(c['lt'])}",
    "less_than_equal": lambda c: f"must be <= {_num(c['le'])}",
}


def _problems(error: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per problem of ``error``: ``<key path>: <rule>``; values are shown only for
    numbers out of range (a string could be a password)."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        ctx = item.get("ctx") or {}
        value = item.get("input")
        if kind == "extra_forbidden" and _path(loc) in REMOVED_KEYS:
            continue  # said by _removed_keys, with the reason
        if kind == "extra_forbidden":
            section = _section_at(model, loc[:-1])
            names = [n for n in section.model_fields if n != "home"] if section else []
            close = difflib.get_close_matches(str(loc[-1]), names, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            lines.append(f"{_path(loc)}: unknown key{hint}")
        elif kind == "missing":
            lines.append(f"{_path(loc)}: required key missing")
        elif kind.endswith("_type") and kind[: -len("_type")] in _TYPE_NAMES:
            want = _TYPE_NAMES[kind[: -len("_type")]]
            lines.append(f"{_path(loc)}: must be {want}, not {_got(value)}")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            lines.append(f"{_path(loc)}: must be a table, not {_got(value)}")
        elif kind == "list_type":
            lines.append(f"{_path(loc)}: must be an array, not {_got(value)}")
        elif kind in _BOUNDS:
            lines.append(f"{_path(loc)}: {_BOUNDS[kind](ctx)} (got {_num(value)})")
        elif kind == "literal_error":
            lines.append(f"{_path(loc)}: must be one of {ctx.get('expected', '')}")
        elif kind == "value_error":
            message = str(ctx.get("error", item["msg"]))
            field, sep, rule = message.partition(": ")
            if sep and not loc and " " not in field:  # a model validator naming its field
                lines.append(f"{field}: {rule}")
            elif sep and " " not in field:
                lines.append(f"{_path(loc)}.{field}: {rule}")
            else:
                lines.append(f"{_path(loc)}: {message}")
        else:
            msg = item["msg"]
            lines.append(f"{_path(loc)}: {msg[:1].lower()}{msg[1:]}")
    return lines


def init_home(
    home: Path,
    *,
    node_id: str,
    listen: str,
    certs: Path,
    trust_domain: str,
    db: str = "",
    court_prefixes: list[str] | None = None,
    check: Callable[[NodeConfig], None] | None = None,
) -> NodeConfig:
    """Create a node home: copy the node's certificates in and write the configuration.
    ``check`` (e.g. that the database is reachable) runs before anything is created."""
    home = Path(home).resolve()
    if (home / CONFIG_FILE).exists() or (home / LEGACY_CONFIG_FILE).exists():
        raise ConfigError(f"{home} is already a node home")
    config = NodeConfig.from_data(
        {
            "node_id": node_id,
            "trust_domain": trust_domain,
            "listen": listen,
            "court_prefixes": list(court_prefixes or []),
            "db": db,
        },
        home,
    )
    missing = [
        n
        for n in ("ca.pem", "tls.pem", "tls.key", "log.pem", "log.key")
        if not (certs / n).exists()
    ]
    if missing:
        raise ConfigError(f"certs: {certs} lacks {', '.join(missing)} (see `ccnode certs issue`)")
    if check is not None:
        check(config)
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
