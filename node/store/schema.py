"""The SQL schema the store's code uses (SQLAlchemy Core metadata).

Alembic migrations (node/store/migrations/versions) create this schema; a conformance test
checks that a freshly upgraded database matches this metadata exactly, on SQLite and on
PostgreSQL, so the two can never drift apart silently.

Every text column is ``COLLATE "C"`` on PostgreSQL: ordering and prefix ranges then follow
code points, exactly as SQLite's default BINARY collation and Python's ``str`` ordering do, so
memory, SQLite and PostgreSQL return rows in the same order.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from node.store.checks import BYTES_COLUMNS, INT_COLUMNS, KEY_COLUMN
from node.store.layout import STORED_STATE_COLUMNS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEXT: TypeEngine[str] = Text().with_variant(Text(collation="C"), "postgresql")
# SQLite autoincrements only an "INTEGER PRIMARY KEY" (the rowid alias), not BIGINT.
SERIAL_ID: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

# Folded-state columns that get an index when a table has them: the lookups the node serves
# (by ID number, by name, by origin, by status).
STATE_INDEXED_COLUMNS = ("id_key", "name", "origin", "status", "subject_key")
# Per table, multi-column indexes that take the place of the single-column index of their
# first column (which they serve as well): the blacklist expiry scan reads only listed rows
# whose term has ended (node/businesses/blacklist/expiry.py), not every listing.
STATE_COMPOSITE_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "blacklist": (("status", "term_end_on"),),
}
# Per table, indexed columns it does without: a blacklist row's key is its subject
# "<origin>/bl/<index>", so one origin's listings are one range of the primary key
# (node/services/admin.py searches them by key prefix), and an origin index would only cost
# every listing an insert.
STATE_UNINDEXED_COLUMNS: dict[str, frozenset[str]] = {
    "blacklist": frozenset({"origin"}),
    # Read by the representative's ID only (node/businesses/blacklist/check.py); the status
    # is filtered among the few rows of one person.
    "blacklist_representatives": frozenset({"status"}),
}
STATE_TABLE_PREFIX = "state_"

metadata = MetaData(naming_convention=NAMING_CONVENTION)

origins = Table(
    "origins",
    metadata,
    Column("origin", TEXT, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("checkpoint_note", TEXT, nullable=False),
    Column("frozen", Boolean, nullable=False),
    Column("frozen_reason", TEXT, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("origin", TEXT, ForeignKey("origins.origin"), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("kind", Integer, nullable=False),
    Column("subject", TEXT, nullable=False),
    Column("actor", TEXT, nullable=False),
    Column("hlc", BigInteger, nullable=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("header", LargeBinary, nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("payload", LargeBinary, nullable=True),  # NULL: redacted or purged
    PrimaryKeyConstraint("origin", "idx"),
    Index(None, "subject"),  # entries_by_subject (a listing's or a lookup's history)
)

# Hashes of the log's complete Merkle subtrees of level >= 4 (sync.tiles; level 0 are the
# entries' leaf hashes), written with the entries, so a proof reads O(log n) rows.
merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("origin", TEXT, ForeignKey("origins.origin"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("origin", "level", "idx"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("origin", TEXT, ForeignKey("origins.origin"), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("note", TEXT, nullable=False),
    PrimaryKeyConstraint("origin", "size"),
)

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("origin", TEXT, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("witness", TEXT, nullable=False),
    Column("line", TEXT, nullable=False),
    PrimaryKeyConstraint("origin", "size", "witness"),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", SERIAL_ID, primary_key=True, autoincrement=True),
    # SHA-256 of (origin, smaller_note, larger_note): notes are long text, too long to index
    # directly on every backend, so uniqueness is enforced on their digest.
    Column("digest", LargeBinary, nullable=False, unique=True),
    Column("origin", TEXT, nullable=False),
    Column("smaller_note", TEXT, nullable=False),
    Column("larger_note", TEXT, nullable=False),
    Column("prefix_root", LargeBinary, nullable=False),
    Column("consistency_proof", LargeBinary, nullable=False),
    Column("detected_by", TEXT, nullable=False),
    Column("detected_at_unix_ms", BigInteger, nullable=False),
)

origin_keys = Table(
    "origin_keys",
    metadata,
    Column("origin", TEXT, primary_key=True),
    Column("certificate_der", LargeBinary, nullable=False),
)

peers = Table(
    "peers",
    metadata,
    Column("node_id", TEXT, primary_key=True),
    Column("address", TEXT, nullable=False),
    # Comma-separated court code prefixes (a prefix never contains a comma); "" = none.
    Column("court_prefixes", TEXT, nullable=False, server_default=""),
)

# The officers registered at this node's courts (local data, never replicated).
officers = Table(
    "officers",
    metadata,
    Column("officer_id", TEXT, primary_key=True),
    Column("court", TEXT, nullable=False),
    Column("name", TEXT, nullable=False),
    Column("role", TEXT, nullable=False),
)

# The debtors of the enforcement cases of this node's courts (local data, never replicated).
case_parties = Table(
    "case_parties",
    metadata,
    Column("case_number", TEXT, primary_key=True),
    Column("party_id", TEXT, primary_key=True),
    Column("party_type", TEXT, nullable=False),
    Column("name", TEXT, nullable=False, server_default=""),
)

# This region's asset registry: local data loaded from its agencies, never replicated.
assets = Table(
    "assets",
    metadata,
    Column("asset_id", TEXT, primary_key=True),
    Column("owner_id", TEXT, nullable=False),
    Column("category", Integer, nullable=False),
    Column("record", LargeBinary, nullable=False),  # serialised AssetRecord
    Index(None, "owner_id", "category"),  # a lookup: one owner, some categories
)

refusals = Table(
    "refusals",
    metadata,
    Column("id", SERIAL_ID, primary_key=True, autoincrement=True),
    Column("at_unix_ms", BigInteger, nullable=False),
    Column("peer", TEXT, nullable=False),
    Column("identity", TEXT, nullable=False),
    Column("method", TEXT, nullable=False),
    Column("reason", TEXT, nullable=False),
    # How many refused calls (or items) the row stands for: one row per identity, method,
    # reason and UTC day (node/store/base.py, RefusalStore).
    Column("count", BigInteger, nullable=False, server_default="1"),
    Index(None, "identity", "method", "reason", "at_unix_ms"),  # the day's row to fold into
    Index(None, "at_unix_ms"),  # retention: rows older than six months
)


# Payloads purged under a retention rule (sync/retention.py): one row per purged entry, kept
# beside the entry (whose payload column is then NULL) so a read can say when and by which
# rule. Written in the same transaction as the purge (node/store/sql.py purge_payloads).
payload_purges = Table(
    "payload_purges",
    metadata,
    Column("origin", TEXT, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("purged_at_unix_ms", BigInteger, nullable=False),
    Column("rule", TEXT, nullable=False),
    PrimaryKeyConstraint("origin", "idx"),
)

# Small node-local notes (never replicated), e.g. the holiday calendar version the stored
# deadlines were counted with (node/runtime/calendar_upgrade.py).
node_meta = Table(
    "node_meta",
    metadata,
    Column("key", TEXT, primary_key=True),
    Column("value", TEXT, nullable=False),
)

# The blacklist change feed (node/store/base.py, ChangeFeedStore): one row per listing
# changed by a commit, written in that commit; the Agency service's Follow reads it by seq.
blacklist_changes = Table(
    "blacklist_changes",
    metadata,
    Column("seq", SERIAL_ID, primary_key=True, autoincrement=True),
    Column("key", TEXT, nullable=False),
    Column("last_index", BigInteger, nullable=False),
)

# Agencies admitted to the Agency service (`ccnode agencies add`): local, never replicated.
agencies = Table(
    "agencies",
    metadata,
    Column("name", TEXT, primary_key=True),
    Column("rate_per_s", Float, nullable=True),  # NULL: the node's default
    Column("burst", BigInteger, nullable=True),
    Column("daily_quota", BigInteger, nullable=True),
    Column("added_at_unix_ms", BigInteger, nullable=False),
    Column("added_by", TEXT, nullable=False),
)


def _state_column(name: str) -> Column[object]:
    if name == KEY_COLUMN:
        return Column(name, TEXT, primary_key=True)
    if name in BYTES_COLUMNS:
        return Column(name, LargeBinary, nullable=True)
    if name in INT_COLUMNS:
        return Column(name, BigInteger, nullable=True)
    return Column(name, TEXT, nullable=True)


def _state_table(name: str, columns: tuple[str, ...]) -> Table:
    assert columns[0] == KEY_COLUMN, f"STATE_TABLES[{name!r}] must start with 'key'"
    composite = STATE_COMPOSITE_INDEXES.get(name, ())
    replaced = {index_columns[0] for index_columns in composite}
    replaced |= STATE_UNINDEXED_COLUMNS.get(name, frozenset())
    indexes = [
        Index(None, column)
        for column in STATE_INDEXED_COLUMNS
        if column in columns and column not in replaced
    ]
    indexes += [Index(None, *index_columns) for index_columns in composite]
    return Table(
        STATE_TABLE_PREFIX + name,
        metadata,
        *(_state_column(column) for column in columns),
        *indexes,
    )


# Keyed by the STATE_TABLES name ("blacklist"); the SQL table is prefixed ("state_blacklist")
# so a business table can never collide with a core table such as "peers". A listing's record
# is kept as record_index and kept_record (node/store/listing_rows.py).
state_tables: dict[str, Table] = {
    name: _state_table(name, columns) for name, columns in STORED_STATE_COLUMNS.items()
}
