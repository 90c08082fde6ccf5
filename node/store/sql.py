"""The store on SQLAlchemy Core: SQLite (embedded, the default) or PostgreSQL (psycopg 3).

Core, not the ORM: ``append`` sits on the catch-up hot path (a million entries at tens of
thousands per second, in batches of ~500), so it does a handful of statements per batch and
never a round trip per row: entries go in with one executemany of a prepared INSERT (SQLite)
or one COPY (PostgreSQL), folded-state rows with one bulk upsert per table.

Concurrency. The node calls the store from worker threads, never on the event loop.
* SQLite allows one writer at a time: a process-wide lock serialises our writers, and every
  write transaction starts with ``BEGIN IMMEDIATE`` so it holds the database write lock from
  its first statement (a deferred BEGIN could fail with SQLITE_BUSY on upgrade instead of
  waiting for the busy timeout). Readers use plain ``BEGIN`` and, under WAL, never block on
  the writer.
* PostgreSQL: ``append`` locks its origin's row (``SELECT ... FOR UPDATE``) before it checks
  the size, so two appends to one origin serialise and the second sees the first's size.

Durability. SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit has been written to
the WAL file (in the OS page cache) before ``append`` returns, so it survives the process being
killed (``kill -9``) at any point; only an OS crash or power loss can lose the last few commits,
and never corrupts the database. FULL would add an fsync per commit (milliseconds each on
ordinary disks) for protection against power loss that the federation already has: peers hold
copies of every log, and a node resumes from what its store holds.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import sqlalchemy.exc
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

from node.store import migrate, schema
from node.store.asset_checks import check_assets, check_categories, check_court_prefixes
from node.store.base import (
    HELD_SUBJECTS_MAX,
    REFUSAL_FOLD_MS,
    REFUSAL_RETENTION_MS,
    REFUSALS_PAGE_MAX,
    STATE_TABLES,
    AgencyRecord,
    AppendInTwoSteps,
    AssetRow,
    CasePartyRecord,
    ConflictError,
    EvidenceRecord,
    HeldPayload,
    IntegrityError,
    ListingChange,
    OfficerRecord,
    OriginState,
    PayloadPurge,
    PeerRecord,
    PreparedAppend,
    Refusal,
    RowChange,
    RowQuery,
    StoredEntry,
    StoreError,
    StoreFull,
    clip_refusal,
    refusal_day,
)
from node.store.checks import (
    KEY_COLUMN,
    check_query,
    check_range,
    check_table,
    collapse_changes,
    empty_state,
)
from node.store.layout import (
    LISTING_TABLE,
    STATE_VALUE_COLUMNS,
    STORED_STATE_COLUMNS,
    ChangesByTable,
    SqlAppendLayout,
    changes_by_table,
    prepare_sql_append,
)
from node.store.listing_rows import KEPT_RECORD, RECORD_INDEX, listing_record
from sync import tiles
from sync.merkle import Frontier

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_WAL_RETRY_S = 0.01
# Copy the WAL back into the database once it holds this many bytes (SQLite's default is
# 1,000 pages: 4 MB). A catch-up commits ~100 pages a batch and rewrites the same index and
# right-edge pages batch after batch; checkpointing every ~40 MB instead copies such a page
# once per checkpoint rather than once per 4 MB, and syncs less often. Durability is the
# same (see the module docstring); the WAL file grows to ~40 MB.
SQLITE_WAL_CHECKPOINT_BYTES = 40 * 1000 * 1000
# Page size of a new database file (SQLite's default is 4 KiB; an existing file keeps its own).
# A catch-up inserts every listing into indexes in random key order (ID, name) and rewrites
# index and right-edge pages batch after batch; with 16 KiB pages the B-trees are shallower
# and a commit writes fewer pages: about 10% less time per stored entry, measured on a 1M
# catch-up's writes.
SQLITE_PAGE_BYTES = 16384
# Page cache of each connection (SQLite's default is 2 MB: 125 pages of 16 KiB). The random
# key order of the listing indexes (ID, name, subject text) makes nearly every insert of a
# large store touch a leaf page the default cache no longer holds, read back from the OS on
# each batch, so the cost per entry grew with the store: inserting rows 350,000-400,000 of a
# table with three such indexes took 20-26% less CPU per row with 16 MB than with 2 MB.
# Pages are allocated on use: a connection that only reads a few rows stays small, and the
# pool's connections (POOL_SIZE + POOL_OVERFLOW) bound the whole at 256 MB.
SQLITE_CACHE_BYTES = 16 * 1024 * 1024
POOL_SIZE = 8  # worker threads that may read at once; writers queue on a lock or row lock
POOL_OVERFLOW = 8
# Keys per IN (...) list: far under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
CHUNK_ROWS = 500
# Rows per multi-row INSERT on SQLite (a power of two; see _sqlite_insert).
_SQLITE_ROWS_PER_STATEMENT = 256

_T = TypeVar("_T")
_WRITE_OPTION = "ccnode_write"
_MIGRATION_LOCK = threading.Lock()
_ENTRY_COLUMNS = tuple(
    schema.entries.c[name]
    for name in ("origin", "idx", "kind", "subject", "actor", "hlc", "leaf_hash", "header", "salt")
)
# The order of StoredEntry's fields: rows of these columns convert with StoredEntry(*row).
_ENTRY_COLUMNS_ALL = (*_ENTRY_COLUMNS, schema.entries.c.payload)
_ENTRY_COLUMN_LIST = ", ".join(column.name for column in _ENTRY_COLUMNS_ALL)


@dataclass(frozen=True)
class _MultiRow:
    """An INSERT of many rows per statement (SQLite): ``head``, then ``row`` once per row,
    comma-separated, then ``tail``."""

    head: str
    row: str
    tail: str = ""

    @property
    def width(self) -> int:
        return self.row.count("?")


_SQLITE_INSERT_ENTRIES = _MultiRow(
    f"INSERT INTO entries ({_ENTRY_COLUMN_LIST}) VALUES ",  # noqa: S608 (fixed names, no input)
    f"({', '.join('?' * len(_ENTRY_COLUMNS_ALL))})",
)
_PG_COPY_ENTRIES = f"COPY entries ({_ENTRY_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)"
# append's other statements on SQLite, run on the driver connection (see _lock_origin).
_ORIGIN_COLUMNS = tuple(column.name for column in schema.origins.c if column.name != "origin")
_SQLITE_CREATE_ORIGIN = (
    f"INSERT INTO origins ({', '.join(_ORIGIN_COLUMNS)}, origin) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join('?' * (len(_ORIGIN_COLUMNS) + 1))}) ON CONFLICT (origin) DO NOTHING"
)
_SQLITE_LOCKED_ORIGIN = "SELECT size, root, frozen FROM origins WHERE origin = ?"
_SQLITE_INSERT_NODES = _MultiRow(
    "INSERT INTO merkle_nodes (origin, level, idx, hash) VALUES ", "(?, ?, ?, ?)"
)
_PG_COPY_NODES = "COPY merkle_nodes (origin, level, idx, hash) FROM STDIN (FORMAT BINARY)"
_LEAF_HASH_COLUMN = 6  # position of leaf_hash in an entry row (node.store.layout)
_SQLITE_UPDATE_ORIGIN = (
    f"UPDATE origins SET {', '.join(f'{name} = ?' for name in _ORIGIN_COLUMNS)} "  # noqa: S608
    "WHERE origin = ?"
)
_SQLITE_CHECKPOINT_NOTE = "SELECT note FROM checkpoints WHERE origin = ? AND size = ?"
# The reads every asset lookup makes on both nodes (and a Sync stream at every wake-up), below
# SQLAlchemy's statement layer on SQLite: building, caching and running a Core select costs
# ten times the query itself (about 0.4 ms against 0.04 ms).
_ORIGIN_COLUMN_NAMES = tuple(column.name for column in schema.origins.columns)
_SQLITE_ORIGIN_COLUMNS = ", ".join(_ORIGIN_COLUMN_NAMES)
_SQLITE_ORIGIN_STATE = f"SELECT {_SQLITE_ORIGIN_COLUMNS} FROM origins WHERE origin = ?"  # noqa: S608
_SQLITE_ORIGIN_STATES = f"SELECT {_SQLITE_ORIGIN_COLUMNS} FROM origins ORDER BY origin"  # noqa: S608
_SQLITE_CHECKPOINT_SIZES = (
    "SELECT size FROM checkpoints WHERE origin = ? AND size > ? ORDER BY size"
)
_SQLITE_PAYLOAD_PURGES = (
    "SELECT origin, idx, purged_at_unix_ms, rule FROM payload_purges WHERE origin = ? AND idx IN "
)
_SQLITE_ASSETS_BY_OWNER = (
    "SELECT asset_id, owner_id, category, record FROM assets "
    "WHERE owner_id = ? AND category IN {} ORDER BY asset_id"
)
_SQLITE_PEERS = "SELECT node_id, address, court_prefixes FROM peers ORDER BY node_id"
_SQLITE_OFFICER = "SELECT officer_id, court, name, role FROM officers WHERE officer_id = ?"
_SQLITE_IS_CASE_PARTY = "SELECT 1 FROM case_parties WHERE case_number = ? AND party_id = ?"
_SQLITE_ENTRIES_BY_SUBJECT = f"SELECT {_ENTRY_COLUMN_LIST} FROM entries WHERE subject IN "  # noqa: S608
_SQLITE_SELECT_ENTRIES, _SQLITE_SELECT_HEADERS = (
    f"SELECT {', '.join(column.name for column in columns)} FROM entries "  # noqa: S608
    "WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx"
    for columns in (_ENTRY_COLUMNS_ALL, _ENTRY_COLUMNS)
)
# Multi-row: the rows take their seq in the order of the VALUES, as executemany would.
_SQLITE_INSERT_LISTING_CHANGES = _MultiRow(
    "INSERT INTO blacklist_changes (key, last_index) VALUES ", "(?, ?)"
)
_PG_COPY_LISTING_CHANGES = "COPY blacklist_changes (key, last_index) FROM STDIN (FORMAT BINARY)"
# pg_advisory_xact_lock key of the change feed's numbering (any constant of this program's).
_PG_FEED_LOCK = 0x63636E6F6465
_LISTING_COLUMNS = STORED_STATE_COLUMNS[LISTING_TABLE]
# A listing's record is read back from the payload of entry (origin, record_index)
# (node/store/listing_rows.py): the state table joined to that entry.
_LISTING_ROWS = schema.state_tables[LISTING_TABLE]
_RECORD_ENTRY = schema.entries.alias("record_entry")
_RECORD_ENTRY_ON = and_(
    _RECORD_ENTRY.c.origin == _LISTING_ROWS.c.origin,
    _RECORD_ENTRY.c.idx == _LISTING_ROWS.c.record_index,
)
_LISTING_JOIN = _LISTING_ROWS.outerjoin(_RECORD_ENTRY, _RECORD_ENTRY_ON)
_LISTING_ROW_COLUMNS = tuple(c for c in STATE_TABLES[LISTING_TABLE] if c != "record")
_SQLITE_INSERT_CHECKPOINT = "INSERT INTO checkpoints (origin, size, note) VALUES (?, ?, ?)"


_INTEGRITY_ERRORS = (sqlalchemy.exc.IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


class SqlStore(AppendInTwoSteps):
    """A Store on a SQLAlchemy URL; runs ``alembic upgrade head`` when it opens."""

    def __init__(
        self, url: str | URL | Path, *, on_migrated: migrate.OnApplied | None = None
    ) -> None:
        self._on_migrated = on_migrated
        self._url = _normalise_url(url)
        self._dialect = self._url.get_backend_name()
        self._engine = _create_engine(self._url)
        # SQLite has one writer at a time; serialising our own writers in Python keeps them
        # off the busy-timeout path. PostgreSQL writers serialise on row locks instead.
        self._write_lock: threading.Lock | None = (
            threading.Lock() if self._dialect == "sqlite" else None
        )
        self._pinned = threading.local()  # snapshot(): the connection reads share
        # The evidence records, read once: a Sync stream asks for them at every wake-up and
        # they change only through add_evidence (rows are never updated or deleted), which
        # counts a generation so that a read racing it does not keep what it read before.
        self._evidence_lock = threading.Lock()
        self._evidence_generation = 0
        self._evidence_held: tuple[EvidenceRecord, ...] | None = None
        dialect_module = sqlite if self._dialect == "sqlite" else postgresql
        self._upsert_insert = dialect_module.insert
        try:
            self._check_server()
            self._upgrade()
        except _CONNECT_ERRORS as exc:
            self._engine.dispose()
            raise _failed(self._url, exc, "cannot open the store at") from exc
        except BaseException:
            self._engine.dispose()
            raise

    # ---- opening

    def _check_server(self) -> None:
        if self._dialect != "postgresql":
            return
        with self._engine.connect() as conn:
            encoding = conn.exec_driver_sql("SHOW server_encoding").scalar_one()
        # "C" collation orders text by bytes; only in UTF-8 is that code-point order.
        if encoding != "UTF8":
            raise StoreError("the PostgreSQL database must use UTF8 encoding")

    def _upgrade(self) -> None:
        # Alembic's `context` and `op` are process-wide proxies, so two stores opening in two
        # threads must migrate one at a time; between processes the database serialises them
        # (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock taken in env.py).
        with _MIGRATION_LOCK, self._write() as conn:
            migrate.upgrade(conn, self._on_migrated)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction: serialised (SQLite), committed on success, rolled back on error."""
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            with self._engine.connect() as conn:
                # preserve_rowcount: SQLAlchemy only promises rowcount for UPDATE and DELETE;
                # add_cosignature and add_evidence read it after INSERT ... ON CONFLICT.
                conn.execution_options(preserve_rowcount=True, **{_WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except (sqlalchemy.exc.OperationalError, sqlite3.OperationalError, psycopg.Error) as exc:
            # The transaction rolled back: what earlier commits wrote stays whole.
            if _is_disk_full(exc):
                raise StoreFull("the database or its disk is full: free space, then retry") from exc
            raise
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        pinned: Connection | None = getattr(self._pinned, "conn", None)
        if pinned is not None:  # inside snapshot(): the block's one connection
            yield pinned
            return
        with self._engine.connect() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if getattr(self._pinned, "conn", None) is not None:
            yield  # nested: the outer block's snapshot
            return
        with self._engine.connect() as conn:
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None

    # ---- logs

    def vector(self) -> dict[str, int]:
        statement = select(schema.origins.c.origin, schema.origins.c.size).order_by(
            schema.origins.c.origin
        )
        with self._read() as conn:
            return {origin: size for origin, size in conn.execute(statement)}

    def origin_state(self, origin: str) -> OriginState | None:
        if self._dialect == "sqlite":
            with self._read() as conn:
                found = _raw(conn).execute(_SQLITE_ORIGIN_STATE, (origin,)).fetchone()
            return None if found is None else _sqlite_origin_state(found)
        statement = select(schema.origins).where(schema.origins.c.origin == origin)
        with self._read() as conn:
            row = conn.execute(statement).one_or_none()
        return None if row is None else _origin_state(row)

    def origin_states(self) -> list[OriginState]:
        if self._dialect == "sqlite":
            with self._read() as conn:
                found = _raw(conn).execute(_SQLITE_ORIGIN_STATES).fetchall()
            return [_sqlite_origin_state(row) for row in found]
        statement = select(schema.origins).order_by(schema.origins.c.origin)
        with self._read() as conn:
            return [_origin_state(row) for row in conn.execute(statement)]

    def prepare_append(
        self,
        *,
        origin: str,
        expected_size: int,
        entries: Sequence[StoredEntry],
        state: OriginState,
        changes: Sequence[RowChange] = (),
        checkpoints: Sequence[tuple[int, str]] = (),
        trusted_rows: bool = False,
    ) -> PreparedAppend:
        return prepare_sql_append(
            origin=origin,
            expected_size=expected_size,
            entries=entries,
            state=state,
            changes=changes,
            checkpoints=checkpoints,
            trusted_rows=trusted_rows,
        )

    def commit_append(self, prepared: PreparedAppend) -> None:
        try:
            with self._write() as conn:
                self._append_in(conn, prepared)
        except _INTEGRITY_ERRORS as exc:
            # Parameters are hidden; the driver's detail names at most a unique key (origin
            # and index, a subject key, a digest), never a payload or personal data.
            raise IntegrityError("append violates a database constraint") from exc

    def commit_appends(self, prepared: Sequence[PreparedAppend]) -> tuple[int, StoreError | None]:
        if len(prepared) == 1:  # no savepoint needed
            try:
                self.commit_append(prepared[0])
            except (ConflictError, IntegrityError) as exc:
                return 0, exc
            return 1, None
        written = 0
        refused: StoreError | None = None
        with self._write() as conn:
            for one in prepared:
                try:
                    with conn.begin_nested():  # a savepoint: a refused append leaves no trace
                        try:
                            self._append_in(conn, one)
                        except _INTEGRITY_ERRORS as exc:
                            raise IntegrityError("append violates a database constraint") from exc
                except (ConflictError, IntegrityError) as exc:
                    refused = exc
                    break
                written += 1
        return written, refused

    def _append_in(self, conn: Connection, prepared: PreparedAppend) -> None:
        """The statements of one prepared append, in the caller's transaction."""
        if not isinstance(prepared.layout, SqlAppendLayout):
            raise IntegrityError("prepared by another kind of store")
        origin = prepared.origin
        state = prepared.state
        checkpoints = prepared.checkpoints
        entry_rows = prepared.layout.entry_rows
        created = self._lock_origin(conn, origin, prepared.expected_size, state, bool(entry_rows))
        if entry_rows:
            self._insert_nodes(conn, origin, prepared.expected_size, entry_rows)
            self._insert_entries(conn, entry_rows)
        if checkpoints:  # intermediate checkpoints signed in this commit
            self._insert_checkpoints(conn, [(origin, size, note) for size, note in checkpoints])
        self._save_checkpoint(conn, state, created)
        if self._dialect == "sqlite":
            _raw(conn).execute(_SQLITE_UPDATE_ORIGIN, _origin_row(state))
        else:
            conn.execute(
                update(schema.origins)
                .where(schema.origins.c.origin == origin)
                .values(_origin_values(state))
            )
        self._apply_changes(conn, prepared.layout.by_table)
        if prepared.layout.listing_changes:
            self._insert_listing_changes(conn, prepared.layout.listing_changes)

    def _insert_entries(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """The hot path, below SQLAlchemy's statement layer (which would build a dict and
        run bind processors per column of every row, doubling an append's cost):
        PostgreSQL gets one COPY stream (executemany still runs a statement per row, even
        pipelined); SQLite, an in-process library, the driver's executemany."""
        if self._dialect != "postgresql":
            _sqlite_insert(_raw(conn), _SQLITE_INSERT_ENTRIES, rows)
            return
        driver_connection = conn.connection.driver_connection
        assert isinstance(driver_connection, psycopg.Connection)
        _pg_copy(driver_connection, _PG_COPY_ENTRIES, _PG_ENTRY_TYPES, rows)

    def _insert_nodes(
        self, conn: Connection, origin: str, size: int, rows: list[tuple[Any, ...]]
    ) -> None:
        """The complete subtrees the batch completes (sync.tiles): the log's frontier comes
        from its own stored nodes (O(log n) rows; the state's frontier is the caller's and
        opaque to the store), then about one hash and one small row per entry."""
        frontier_nodes = tiles.frontier_nodes(size)
        frontier = Frontier(size, _subtree_hashes(conn, origin, frontier_nodes))
        leaves = (row[_LEAF_HASH_COLUMN] for row in rows)
        nodes = tiles.completed_nodes(frontier, leaves)
        node_rows = [(origin, level, index, node) for level, index, node in nodes]
        if not node_rows:
            return
        if self._dialect != "postgresql":
            _sqlite_insert(_raw(conn), _SQLITE_INSERT_NODES, node_rows)
            return
        driver_connection = conn.connection.driver_connection
        assert isinstance(driver_connection, psycopg.Connection)
        _pg_copy(driver_connection, _PG_COPY_NODES, _PG_NODE_TYPES, node_rows)

    def _lock_origin(
        self, conn: Connection, origin: str, expected_size: int, state: OriginState, grows: bool
    ) -> bool:
        """Lock the origin's row (creating it if new) and check the caller's view of it.

        Returns whether the row was created by this transaction. Creating the row first gives
        concurrent first appends of one origin a row to queue on: the second waits for the
        first to commit, then sees its size and gets a ConflictError.
        """
        if self._dialect == "sqlite":
            # A statement per batch: below SQLAlchemy, which costs more than SQLite here.
            raw = _raw(conn)
            placeholder_row = _origin_row(empty_state(origin))
            created = raw.execute(_SQLITE_CREATE_ORIGIN, placeholder_row).rowcount == 1
            size, root, frozen = raw.execute(_SQLITE_LOCKED_ORIGIN, (origin,)).fetchone()
        else:
            placeholder = _origin_values(empty_state(origin)) | {"origin": origin}
            created = (
                conn.execute(
                    self._upsert_insert(schema.origins)
                    .values(placeholder)
                    .on_conflict_do_nothing(index_elements=["origin"])
                ).rowcount
                == 1
            )
            size, root, frozen = conn.execute(
                select(schema.origins.c.size, schema.origins.c.root, schema.origins.c.frozen)
                .where(schema.origins.c.origin == origin)
                .with_for_update()
            ).one()
        if size != expected_size:
            raise ConflictError("stored size != expected_size")
        if frozen:
            raise ConflictError("origin is frozen")
        if not created and not grows and root != state.root:
            raise IntegrityError("state.root differs from the stored root at the same size")
        return created

    def _save_checkpoint(self, conn: Connection, state: OriginState, created: bool) -> None:
        """Keep the checkpoint in history; the same (origin, size) may only repeat its note."""
        known_note = None if created else self._checkpoint_note(conn, state.origin, state.size)
        if known_note is None:
            self._insert_checkpoints(conn, [(state.origin, state.size, state.checkpoint_note)])
        elif known_note != state.checkpoint_note:
            raise IntegrityError(
                "a different checkpoint note is stored at this size "
                "(use update_checkpoint_note to add cosignatures)"
            )

    def _checkpoint_note(self, conn: Connection, origin: str, size: int) -> str | None:
        if self._dialect == "sqlite":
            found = _raw(conn).execute(_SQLITE_CHECKPOINT_NOTE, (origin, size)).fetchone()
            return None if found is None else str(found[0])
        statement = select(schema.checkpoints.c.note).where(
            schema.checkpoints.c.origin == origin, schema.checkpoints.c.size == size
        )
        return conn.execute(statement).scalar_one_or_none()

    def _insert_checkpoints(self, conn: Connection, rows: list[tuple[str, int, str]]) -> None:
        """Insert (origin, size, note) rows into the checkpoint history."""
        if self._dialect == "sqlite":
            _raw(conn).executemany(_SQLITE_INSERT_CHECKPOINT, rows)
            return
        conn.execute(
            insert(schema.checkpoints),
            [{"origin": origin, "size": size, "note": note} for origin, size, note in rows],
        )

    def _apply_changes(self, conn: Connection, by_table: ChangesByTable) -> None:
        """Per table: one DELETE per chunk of deleted keys, then all upserts in bulk.

        collapse_changes left each key once, which a bulk upsert needs (PostgreSQL refuses
        to touch a row twice in one statement), and deletes and upserts of different keys
        commute.
        """
        for name, (deletes, upserts) in by_table.items():
            table = schema.state_tables[name]
            for chunk in _chunks(deletes):
                conn.execute(delete(table).where(table.c.key.in_(chunk)))
            if not upserts:
                continue
            if self._dialect == "postgresql":
                self._pg_upsert(conn, name, upserts)
            else:
                _sqlite_insert(_raw(conn), _SQLITE_UPSERTS[name], upserts)

    def _pg_upsert(self, conn: Connection, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Upsert whole rows on PostgreSQL: COPY them into a temporary table of the same
        shape (created once per connection, emptied at commit), then one INSERT ... SELECT
        ... ON CONFLICT. COPY rows are written by psycopg's C code; the arrays an unnest()
        took were dumped element by element in Python, escaping each one (most of a
        catch-up's time in the writer thread)."""
        staging, create, copy_sql, upsert = _PG_STAGED_UPSERTS[table]
        driver_connection = conn.connection.driver_connection
        assert isinstance(driver_connection, psycopg.Connection)
        with driver_connection.cursor() as cursor:
            cursor.execute(create)
            with cursor.copy(copy_sql) as copy:
                copy.set_types(_PG_STAGED_TYPES[table])
                for row in rows:
                    copy.write_row(row)
            cursor.execute(upsert)
            cursor.execute(f"DELETE FROM {staging}")  # noqa: S608 (fixed names)

    def _insert_listing_changes(self, conn: Connection, rows: list[tuple[str, int]]) -> None:
        """Change-feed positions, numbered in commit order. SQLite has one writer at a time;
        on PostgreSQL a transaction-scoped advisory lock makes the numbering and the commit
        order the same (two transactions could else take numbers 1 and 2 and commit 2 first,
        and a reader that saw 2 would skip 1 for ever)."""
        if self._dialect != "postgresql":
            _sqlite_insert(_raw(conn), _SQLITE_INSERT_LISTING_CHANGES, rows)
            return
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_FEED_LOCK})")
        driver_connection = conn.connection.driver_connection
        assert isinstance(driver_connection, psycopg.Connection)
        _pg_copy(driver_connection, _PG_COPY_LISTING_CHANGES, _PG_LISTING_CHANGE_TYPES, rows)

    def blacklist_changes(self, after_seq: int, limit: int) -> list[ListingChange]:
        feed = schema.blacklist_changes
        rows = _LISTING_ROWS
        statement = (
            select(feed.c.seq, feed.c.key, feed.c.last_index, rows, _RECORD_ENTRY.c.payload)
            .select_from(
                # Flat, not feed ⟕ (rows ⟕ entry): SQLite would build the parenthesised join
                # for every page.
                feed.outerjoin(rows, rows.c.key == feed.c.key).outerjoin(
                    _RECORD_ENTRY, _RECORD_ENTRY_ON
                )
            )
            .where(feed.c.seq > after_seq)
            .order_by(feed.c.seq)
            .limit(max(0, limit))
        )
        out = []
        with self._read() as conn:
            for seq, key, last_index, *columns, payload in conn.execute(statement):
                row = None
                if columns[0] is not None:
                    row = _listing_row((*columns, payload))
                out.append(ListingChange(seq, key, last_index, row))
        return out

    def blacklist_change_head(self) -> int:
        statement = select(func.max(schema.blacklist_changes.c.seq))
        with self._read() as conn:
            return int(conn.execute(statement).scalar_one_or_none() or 0)

    # ---- agencies

    def put_agency(self, agency: AgencyRecord) -> None:
        values = {
            "rate_per_s": agency.rate_per_s,
            "burst": agency.burst,
            "daily_quota": agency.daily_quota,
            "added_at_unix_ms": agency.added_at_unix_ms,
            "added_by": agency.added_by,
        }
        statement = (
            self._upsert_insert(schema.agencies)
            .values(name=agency.name, **values)
            .on_conflict_do_update(index_elements=["name"], set_=values)
        )
        with self._write() as conn:
            conn.execute(statement)

    def remove_agency(self, name: str) -> bool:
        table = schema.agencies
        with self._write() as conn:
            return conn.execute(delete(table).where(table.c.name == name)).rowcount == 1

    def agencies(self) -> list[AgencyRecord]:
        table = schema.agencies
        statement = select(
            table.c.name,
            table.c.rate_per_s,
            table.c.burst,
            table.c.daily_quota,
            table.c.added_at_unix_ms,
            table.c.added_by,
        ).order_by(table.c.name)
        with self._read() as conn:
            return [AgencyRecord(*row) for row in conn.execute(statement)]

    def entries(
        self, origin: str, start: int, end: int, *, with_payload: bool = True
    ) -> list[StoredEntry]:
        check_range(start, end)
        if self._dialect == "sqlite":
            # What a peer's Subscribe streams: below SQLAlchemy's result layer on SQLite.
            sql = _SQLITE_SELECT_ENTRIES if with_payload else _SQLITE_SELECT_HEADERS
            with self._read() as conn:
                found = _raw(conn).execute(sql, (origin, start, end)).fetchall()
            if with_payload:
                return [StoredEntry(*row) for row in found]
            return [_entry((*row, None)) for row in found]
        columns = _ENTRY_COLUMNS_ALL if with_payload else _ENTRY_COLUMNS
        statement = (
            select(*columns)
            .where(
                schema.entries.c.origin == origin,
                schema.entries.c.idx >= start,
                schema.entries.c.idx < end,
            )
            .order_by(schema.entries.c.idx)
        )
        with self._read() as conn:
            rows = conn.execute(statement).all()
        if with_payload:
            return [_entry(row) for row in rows]
        return [_entry((*row, None)) for row in rows]

    def leaf_hashes(self, origin: str, start: int, end: int) -> list[bytes]:
        check_range(start, end)
        statement = (
            select(schema.entries.c.leaf_hash)
            .where(
                schema.entries.c.origin == origin,
                schema.entries.c.idx >= start,
                schema.entries.c.idx < end,
            )
            .order_by(schema.entries.c.idx)
        )
        with self._read() as conn:
            return list(conn.execute(statement).scalars())

    def subtree_hashes(self, origin: str, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        wanted = list(nodes)
        with self._read() as conn:
            return _subtree_hashes(conn, origin, wanted)

    def entries_by_subject(self, subjects: Iterable[str]) -> list[StoredEntry]:
        found: list[StoredEntry] = []
        with self._read() as conn:
            for chunk in _chunks(sorted(set(subjects))):
                if self._dialect == "sqlite":
                    sql = _SQLITE_ENTRIES_BY_SUBJECT + _placeholders(len(chunk))
                    found.extend(StoredEntry(*row) for row in _raw(conn).execute(sql, chunk))
                    continue
                statement = select(*_ENTRY_COLUMNS_ALL).where(schema.entries.c.subject.in_(chunk))
                found.extend(_entry(row) for row in conn.execute(statement))
        return sorted(found, key=lambda entry: (entry.origin, entry.index))

    def purge_payload(self, origin: str, index: int) -> bool:
        statement = (
            update(schema.entries)
            .where(
                schema.entries.c.origin == origin,
                schema.entries.c.idx == index,
                schema.entries.c.payload.is_not(None),
            )
            .values(payload=None)
        )
        with self._write() as conn:
            _keep_listing_records(conn, origin, [index])
            return conn.execute(statement).rowcount == 1

    # ---- retention

    def purge_payloads(
        self, entries: Sequence[tuple[str, int]], *, at_unix_ms: int, rule: str
    ) -> int:
        if not rule:
            raise IntegrityError("purge_payloads: a rule is required")
        by_origin: dict[str, list[int]] = {}
        for origin, index in sorted(set(entries)):
            by_origin.setdefault(origin, []).append(index)
        table = schema.entries
        purged = 0
        with self._write() as conn:  # one transaction: every payload cleared and recorded
            for origin, indexes in by_origin.items():
                for chunk in _chunks(indexes):
                    held = [
                        idx
                        for (idx,) in conn.execute(
                            select(table.c.idx).where(
                                table.c.origin == origin,
                                table.c.idx.in_(chunk),
                                table.c.payload.is_not(None),
                            )
                        )
                    ]
                    if not held:
                        continue
                    _keep_listing_records(conn, origin, held)
                    conn.execute(
                        update(table)
                        .where(table.c.origin == origin, table.c.idx.in_(held))
                        .values(payload=None)
                    )
                    conn.execute(
                        insert(schema.payload_purges),
                        [
                            {
                                "origin": origin,
                                "idx": idx,
                                "purged_at_unix_ms": at_unix_ms,
                                "rule": rule,
                            }
                            for idx in held
                        ],
                    )
                    purged += len(held)
        return purged

    def payload_purges(
        self, entries: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], PayloadPurge]:
        by_origin: dict[str, list[int]] = {}
        for origin, index in sorted(set(entries)):
            by_origin.setdefault(origin, []).append(index)
        table = schema.payload_purges
        found: dict[tuple[str, int], PayloadPurge] = {}
        with self._read() as conn:
            for origin, indexes in by_origin.items():
                for chunk in _chunks(indexes):
                    if self._dialect == "sqlite":  # every lookup result read asks
                        sql = _SQLITE_PAYLOAD_PURGES + _placeholders(len(chunk))
                        for o, idx, at_ms, rule in _raw(conn).execute(sql, (origin, *chunk)):
                            found[(o, idx)] = PayloadPurge(o, idx, at_ms, rule)
                        continue
                    statement = select(
                        table.c.origin, table.c.idx, table.c.purged_at_unix_ms, table.c.rule
                    ).where(table.c.origin == origin, table.c.idx.in_(chunk))
                    for o, idx, at_ms, rule in conn.execute(statement):
                        found[(o, idx)] = PayloadPurge(o, idx, at_ms, rule)
        return found

    def purge_counts(self) -> dict[str, int]:
        table = schema.payload_purges
        statement = select(table.c.rule, func.count()).group_by(table.c.rule).order_by(table.c.rule)
        with self._read() as conn:
            return {rule: count for rule, count in conn.execute(statement)}

    def held_payloads(self, subjects: Iterable[str]) -> list[HeldPayload]:
        wanted = sorted(set(subjects))
        if len(wanted) > HELD_SUBJECTS_MAX:
            raise IntegrityError(f"held_payloads: at most {HELD_SUBJECTS_MAX} subjects")
        table = schema.entries
        found: list[HeldPayload] = []
        with self._read() as conn:
            for chunk in _chunks(wanted):
                statement = select(
                    table.c.origin, table.c.idx, table.c.kind, table.c.subject, table.c.header
                ).where(table.c.subject.in_(chunk), table.c.payload.is_not(None))
                found.extend(
                    HeldPayload(o, idx, kind, subject, bytes(header))
                    for o, idx, kind, subject, header in conn.execute(statement)
                )
        return sorted(found, key=lambda h: (h.origin, h.index))

    def get_meta(self, key: str) -> str | None:
        table = schema.node_meta
        with self._read() as conn:
            return conn.execute(select(table.c.value).where(table.c.key == key)).scalar()

    def _meta_upsert(self, key: str, value: str) -> Any:
        return (
            self._upsert_insert(schema.node_meta)
            .values(key=key, value=value)
            .on_conflict_do_update(index_elements=["key"], set_={"value": value})
        )

    def put_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(self._meta_upsert(key, value))

    def rewrite_rows(self, changes: Sequence[RowChange], *, meta: Mapping[str, str]) -> None:
        by_table = changes_by_table(collapse_changes(changes))  # raises before writing
        with self._write() as conn:
            self._apply_changes(conn, by_table)
            for key, value in sorted(meta.items()):
                conn.execute(self._meta_upsert(key, value))

    # ---- checkpoints, cosignatures, evidence

    def checkpoint_at(self, origin: str, size: int) -> str | None:
        if self._dialect == "sqlite":
            # Once per batch a peer's Subscribe streams: below SQLAlchemy's statement layer.
            with self._read() as conn:
                found = _raw(conn).execute(_SQLITE_CHECKPOINT_NOTE, (origin, size)).fetchone()
            return None if found is None else str(found[0])
        statement = select(schema.checkpoints.c.note).where(
            schema.checkpoints.c.origin == origin, schema.checkpoints.c.size == size
        )
        with self._read() as conn:
            return conn.execute(statement).scalar_one_or_none()

    def checkpoint_sizes(self, origin: str, after: int = -1) -> list[int]:
        if self._dialect == "sqlite":
            with self._read() as conn:
                found = _raw(conn).execute(_SQLITE_CHECKPOINT_SIZES, (origin, after)).fetchall()
            return [size for (size,) in found]
        statement = (
            select(schema.checkpoints.c.size)
            .where(schema.checkpoints.c.origin == origin, schema.checkpoints.c.size > after)
            .order_by(schema.checkpoints.c.size)
        )
        with self._read() as conn:
            return list(conn.execute(statement).scalars())

    def update_checkpoint_note(self, origin: str, size: int, note: str) -> None:
        with self._write() as conn:
            # Lock the origin row first, in the same order as append, so the two cannot
            # deadlock on PostgreSQL.
            conn.execute(
                select(schema.origins.c.origin)
                .where(schema.origins.c.origin == origin)
                .with_for_update()
            )
            updated = conn.execute(
                update(schema.checkpoints)
                .where(schema.checkpoints.c.origin == origin, schema.checkpoints.c.size == size)
                .values(note=note)
            ).rowcount
            if updated != 1:
                raise IntegrityError("no checkpoint is stored for this origin and size")
            # The latest checkpoint is also the origin's current note; keep the two equal.
            conn.execute(
                update(schema.origins)
                .where(schema.origins.c.origin == origin, schema.origins.c.size == size)
                .values(checkpoint_note=note)
            )

    def add_cosignature(self, origin: str, size: int, witness: str, line: str) -> bool:
        statement = (
            self._upsert_insert(schema.cosignatures)
            .values(origin=origin, size=size, witness=witness, line=line)
            .on_conflict_do_nothing(index_elements=["origin", "size", "witness"])
        )
        with self._write() as conn:
            return conn.execute(statement).rowcount == 1

    def cosignatures(self, origin: str, size: int) -> list[tuple[str, str]]:
        statement = (
            select(schema.cosignatures.c.witness, schema.cosignatures.c.line)
            .where(schema.cosignatures.c.origin == origin, schema.cosignatures.c.size == size)
            .order_by(schema.cosignatures.c.witness)
        )
        with self._read() as conn:
            return [(witness, line) for witness, line in conn.execute(statement)]

    def add_evidence(self, evidence: EvidenceRecord) -> bool:
        statement = (
            self._upsert_insert(schema.evidence)
            .values(
                digest=_evidence_digest(evidence),
                origin=evidence.origin,
                smaller_note=evidence.smaller_note,
                larger_note=evidence.larger_note,
                prefix_root=evidence.prefix_root,
                consistency_proof=_pack(evidence.consistency_proof),
                detected_by=evidence.detected_by,
                detected_at_unix_ms=evidence.detected_at_unix_ms,
            )
            .on_conflict_do_nothing(index_elements=["digest"])
        )
        try:
            with self._write() as conn:
                return conn.execute(statement).rowcount == 1
        finally:
            with self._evidence_lock:
                self._evidence_generation += 1
                self._evidence_held = None

    def evidence(self) -> list[EvidenceRecord]:
        with self._evidence_lock:
            held, generation = self._evidence_held, self._evidence_generation
        if held is not None:
            return list(held)
        records = self._read_evidence()
        with self._evidence_lock:
            if self._evidence_generation == generation:
                self._evidence_held = tuple(records)
        return records

    def _read_evidence(self) -> list[EvidenceRecord]:
        table = schema.evidence
        statement = select(
            table.c.origin,
            table.c.smaller_note,
            table.c.larger_note,
            table.c.prefix_root,
            table.c.consistency_proof,
            table.c.detected_by,
            table.c.detected_at_unix_ms,
        ).order_by(table.c.id)
        with self._read() as conn:
            return [
                EvidenceRecord(
                    origin=row.origin,
                    smaller_note=row.smaller_note,
                    larger_note=row.larger_note,
                    prefix_root=row.prefix_root,
                    consistency_proof=_unpack(row.consistency_proof),
                    detected_by=row.detected_by,
                    detected_at_unix_ms=row.detected_at_unix_ms,
                )
                for row in conn.execute(statement)
            ]

    def freeze(self, origin: str, reason: str) -> None:
        values = _origin_values(empty_state(origin)) | {
            "origin": origin,
            "frozen": True,
            "frozen_reason": reason,
        }
        statement = (
            self._upsert_insert(schema.origins)
            .values(values)
            .on_conflict_do_update(
                index_elements=["origin"], set_={"frozen": True, "frozen_reason": reason}
            )
        )
        with self._write() as conn:
            conn.execute(statement)

    # ---- origin keys

    def put_origin_key(self, origin: str, certificate_der: bytes) -> None:
        statement = (
            self._upsert_insert(schema.origin_keys)
            .values(origin=origin, certificate_der=certificate_der)
            .on_conflict_do_update(
                index_elements=["origin"], set_={"certificate_der": certificate_der}
            )
        )
        with self._write() as conn:
            conn.execute(statement)

    def origin_keys(self) -> dict[str, bytes]:
        statement = select(schema.origin_keys).order_by(schema.origin_keys.c.origin)
        with self._read() as conn:
            return {origin: der for origin, der in conn.execute(statement)}

    # ---- registers of officers and case parties

    def put_officer(self, officer: OfficerRecord) -> None:
        values = {"court": officer.court, "name": officer.name, "role": officer.role}
        statement = (
            self._upsert_insert(schema.officers)
            .values(officer_id=officer.officer_id, **values)
            .on_conflict_do_update(index_elements=["officer_id"], set_=values)
        )
        with self._write() as conn:
            conn.execute(statement)

    def remove_officer(self, officer_id: str) -> bool:
        table = schema.officers
        with self._write() as conn:
            return conn.execute(delete(table).where(table.c.officer_id == officer_id)).rowcount == 1

    def officer(self, officer_id: str) -> OfficerRecord | None:
        if self._dialect == "sqlite":
            with self._read() as conn:
                found = _raw(conn).execute(_SQLITE_OFFICER, (officer_id,)).fetchone()
            return None if found is None else OfficerRecord(*found)
        table = schema.officers
        statement = select(table.c.officer_id, table.c.court, table.c.name, table.c.role).where(
            table.c.officer_id == officer_id
        )
        with self._read() as conn:
            row = conn.execute(statement).first()
        return None if row is None else OfficerRecord(*row)

    def officers(self) -> list[OfficerRecord]:
        table = schema.officers
        statement = select(table.c.officer_id, table.c.court, table.c.name, table.c.role).order_by(
            table.c.court, table.c.officer_id
        )
        with self._read() as conn:
            return [OfficerRecord(*row) for row in conn.execute(statement)]

    def put_case_party(self, party: CasePartyRecord) -> None:
        values = {"party_type": party.party_type, "name": party.name}
        statement = (
            self._upsert_insert(schema.case_parties)
            .values(case_number=party.case_number, party_id=party.party_id, **values)
            .on_conflict_do_update(index_elements=["case_number", "party_id"], set_=values)
        )
        with self._write() as conn:
            conn.execute(statement)

    def remove_case_party(self, case_number: str, party_id: str) -> bool:
        table = schema.case_parties
        where = (table.c.case_number == case_number) & (table.c.party_id == party_id)
        with self._write() as conn:
            return conn.execute(delete(table).where(where)).rowcount == 1

    def is_case_party(self, case_number: str, party_id: str) -> bool:
        if self._dialect == "sqlite":
            with self._read() as conn:
                found = _raw(conn).execute(_SQLITE_IS_CASE_PARTY, (case_number, party_id))
                return found.fetchone() is not None
        table = schema.case_parties
        where = (table.c.case_number == case_number) & (table.c.party_id == party_id)
        with self._read() as conn:
            return conn.execute(select(table.c.party_id).where(where)).first() is not None

    def case_parties(self, case_number: str = "") -> list[CasePartyRecord]:
        table = schema.case_parties
        statement = select(
            table.c.case_number, table.c.party_id, table.c.party_type, table.c.name
        ).order_by(table.c.case_number, table.c.party_id)
        if case_number:
            statement = statement.where(table.c.case_number == case_number)
        with self._read() as conn:
            return [CasePartyRecord(*row) for row in conn.execute(statement)]

    # ---- peers and refusals

    def put_peer(self, peer: PeerRecord) -> None:
        prefixes = _join_prefixes(peer.court_prefixes)
        statement = (
            self._upsert_insert(schema.peers)
            .values(node_id=peer.node_id, address=peer.address, court_prefixes=prefixes)
            .on_conflict_do_update(
                index_elements=["node_id"],
                set_={"address": peer.address, "court_prefixes": prefixes},
            )
        )
        with self._write() as conn:
            conn.execute(statement)

    def remove_peer(self, node_id: str) -> bool:
        with self._write() as conn:
            return (
                conn.execute(delete(schema.peers).where(schema.peers.c.node_id == node_id)).rowcount
                == 1
            )

    def peers(self) -> list[PeerRecord]:
        table = schema.peers
        statement = select(table.c.node_id, table.c.address, table.c.court_prefixes).order_by(
            table.c.node_id
        )
        with self._read() as conn:
            # The lookup responder reads the peers at every run: on the driver on SQLite.
            found = (
                _raw(conn).execute(_SQLITE_PEERS).fetchall()
                if self._dialect == "sqlite"
                else conn.execute(statement).all()
            )
        return [
            PeerRecord(node_id, address, _split_prefixes(prefixes))
            for node_id, address, prefixes in found
        ]

    def record_refusal(self, refusal: Refusal) -> None:
        refusal = clip_refusal(refusal)
        table = schema.refusals
        day = refusal_day(refusal.at_unix_ms)
        same_day = (
            (table.c.identity == refusal.identity)
            & (table.c.method == refusal.method)
            & (table.c.reason == refusal.reason)
            & (table.c.at_unix_ms >= day)
            & (table.c.at_unix_ms < day + REFUSAL_FOLD_MS)
        )
        with self._write() as conn:
            row_id = conn.execute(
                select(table.c.id).where(same_day).order_by(table.c.id.desc()).limit(1)
            ).scalar()
            if row_id is not None:
                conn.execute(
                    update(table)
                    .where(table.c.id == row_id)
                    .values(count=table.c.count + refusal.count)
                )
                return
            cutoff = refusal.at_unix_ms - REFUSAL_RETENTION_MS
            conn.execute(delete(table).where(table.c.at_unix_ms < cutoff))
            conn.execute(
                insert(table).values(
                    at_unix_ms=refusal.at_unix_ms,
                    peer=refusal.peer,
                    identity=refusal.identity,
                    method=refusal.method,
                    reason=refusal.reason,
                    count=refusal.count,
                )
            )

    def refusals(self, limit: int = 100, offset: int = 0) -> list[Refusal]:
        """Newest first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        table = schema.refusals
        statement = (
            select(
                table.c.at_unix_ms,
                table.c.peer,
                table.c.identity,
                table.c.method,
                table.c.reason,
                table.c.count,
            )
            .order_by(table.c.id.desc())
            .limit(min(limit, REFUSALS_PAGE_MAX))
            .offset(offset)
        )
        with self._read() as conn:
            return [Refusal(*row) for row in conn.execute(statement)]

    def refusal_count(self) -> int:
        table = schema.refusals
        with self._read() as conn:
            total = conn.execute(select(func.sum(table.c.count))).scalar()
            return int(total or 0)

    # ---- folded state

    def get_rows(self, table: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        check_table(table)
        sql_table = schema.state_tables[table]
        rows: dict[str, dict[str, Any]] = {}
        with self._read() as conn:
            for chunk in _chunks(sorted(set(keys))):
                if self._dialect == "sqlite" and table != LISTING_TABLE:
                    # Several times a lookup, on each node. A listing's row is rebuilt from its
                    # record's entry (_select_rows), so listings take the statement below.
                    names = _state_columns(table)
                    sql = _sqlite_rows_sql(table) + _placeholders(len(chunk))
                    for found in _raw(conn).execute(sql, chunk):
                        row = dict(zip(names, found, strict=True))
                        rows[row["key"]] = row
                    continue
                statement = _select_rows(table).where(sql_table.c.key.in_(chunk))
                rows.update((row.key, _state_row(table, row)) for row in conn.execute(statement))
        return dict(sorted(rows.items()))

    def query_rows(self, query: RowQuery) -> tuple[list[dict[str, Any]], int]:
        check_query(query)
        if (
            self._dialect == "sqlite"
            and query.table != LISTING_TABLE  # its rows are rebuilt (_select_rows)
            and not (query.among or query.prefix or query.above or query.below)
        ):
            # Columns equal to values only: what the lookup responder asks after every batch
            # that changed lookup rows, and most queries of a row by an indexed column.
            return self._sqlite_query_rows(query)
        table = schema.state_tables[query.table]
        condition = and_(
            true(),
            *(table.c[column] == value for column, value in query.equals.items()),
            *(table.c[column].in_(list(values)) for column, values in query.among.items()),
            *(_prefix_clause(table, column, prefix) for column, prefix in query.prefix.items()),
            *(table.c[column] > bound for column, bound in query.above.items()),
            *(table.c[column] < bound for column, bound in query.below.items()),
            *(() if query.after_key is None else (table.c.key > query.after_key,)),
        )
        page = (
            _select_rows(query.table)
            .where(condition)
            .order_by(table.c.key)
            .limit(query.limit)
            .offset(query.offset)
        )
        count = select(func.count()).select_from(table).where(condition)
        with self._read() as conn:
            # One transaction: on SQLite the page and the count see the same snapshot.
            total = conn.execute(count).scalar_one()
            rows = [_state_row(query.table, row) for row in conn.execute(page)]
        return rows, total

    def _sqlite_query_rows(self, query: RowQuery) -> tuple[list[dict[str, Any]], int]:
        names = _state_columns(query.table)
        # Column names are the table's (check_query); the values are bound. None is NULL,
        # which only IS NULL matches (as SQLAlchemy renders ``column == None``).
        where = ["1"]
        params: list[Any] = []
        for column, value in query.equals.items():
            if value is None:
                where.append(f"{column} IS NULL")
            else:
                where.append(f"{column} = ?")
                params.append(value)
        if query.after_key is not None:
            where.append("key > ?")
            params.append(query.after_key)
        table = schema.state_tables[query.table].name
        condition = " AND ".join(where)
        count_sql = f"SELECT count(*) FROM {table} WHERE {condition}"  # noqa: S608
        page_sql = (
            f"SELECT {', '.join(names)} FROM {table} WHERE {condition} "  # noqa: S608
            "ORDER BY key LIMIT ? OFFSET ?"
        )
        with self._read() as conn:
            raw = _raw(conn)
            # One transaction: the page and the count see the same snapshot.
            began = not raw.in_transaction
            if began:
                raw.execute("BEGIN")
            try:
                (total,) = raw.execute(count_sql, params).fetchone()
                found = raw.execute(page_sql, (*params, query.limit, query.offset)).fetchall()
            finally:
                if began:
                    raw.execute("ROLLBACK")
        return [dict(zip(names, row, strict=True)) for row in found], total

    # ---- asset registry

    def put_assets(self, assets: Sequence[AssetRow]) -> None:
        """One bulk upsert (see _ASSET_UPSERTS): an import of a million records goes in
        chunks of tens of thousands, each one statement per backend."""
        check_assets(assets)
        if not assets:
            return
        rows = [(a.asset_id, a.owner_id, a.category, a.record) for a in assets]
        try:
            with self._write() as conn:
                if self._dialect == "postgresql":
                    arrays = tuple(list(column) for column in zip(*rows, strict=True))
                    conn.exec_driver_sql(_ASSET_UPSERTS["postgresql"], arrays)
                else:
                    conn.exec_driver_sql(_ASSET_UPSERTS["sqlite"], rows)
        except (sqlalchemy.exc.IntegrityError, psycopg.IntegrityError) as exc:
            raise IntegrityError("put_assets violates a database constraint") from exc

    def assets_by_owner(self, owner_id: str, categories: Iterable[int]) -> list[AssetRow]:
        wanted = sorted(check_categories(categories))
        if not wanted:
            return []
        if self._dialect == "sqlite":  # the read of every lookup answered
            sql = _SQLITE_ASSETS_BY_OWNER.format(_placeholders(len(wanted)))
            with self._read() as conn:
                found = _raw(conn).execute(sql, (owner_id, *wanted)).fetchall()
            return [AssetRow(*row) for row in found]
        table = schema.assets
        statement = (
            select(table.c.asset_id, table.c.owner_id, table.c.category, table.c.record)
            .where(table.c.owner_id == owner_id, table.c.category.in_(wanted))
            .order_by(table.c.asset_id)
        )
        with self._read() as conn:
            return [AssetRow(*row) for row in conn.execute(statement)]

    def count_assets(self) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(schema.assets)).scalar_one()

    def close(self) -> None:
        self._engine.dispose()


# ---------------------------------------------------------------- engine


def _is_disk_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL ("database or disk is full") or PostgreSQL's disk_full, raised by
    the driver itself or wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.OperationalError):
        return "database or disk is full" in str(orig)
    return isinstance(orig, psycopg.errors.DiskFull)


def _normalise_url(url: str | URL | Path) -> URL:
    if isinstance(url, Path):
        return URL.create("sqlite+pysqlite", database=str(url))
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        # psycopg 3 is the driver we ship; a bare postgresql:// would ask for psycopg2.
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError("an in-memory SQLite database is per connection; use 'memory:'")
        return parsed
    raise StoreError(f"unsupported database backend {backend!r} (sqlite or postgresql)")


def schema_status(url: str | URL | Path) -> migrate.SchemaStatus:
    """The schema revision of the store at ``url`` against the ones this ccnode knows, read
    without upgrading anything (``ccnode db status``, ``ccnode init --db``). Connection
    failures raise ``StoreError`` in one line, without the password."""
    parsed = _normalise_url(url)
    engine = _create_engine(parsed)
    try:
        with engine.connect() as conn:
            return migrate.schema_status(conn)
    except _CONNECT_ERRORS as exc:
        raise _failed(parsed, exc, "cannot connect to") from exc
    finally:
        engine.dispose()


# What a store that cannot be reached (or opened) raises while it opens.
_CONNECT_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


def _failed(url: URL, exc: sqlalchemy.exc.DBAPIError, what: str) -> StoreError:
    """One line: what failed, where (the password hidden) and the driver's first line of why."""
    text = str(exc.orig or exc).strip()
    reason = text.splitlines()[0] if text else type(exc.orig).__name__
    return StoreError(f"{what} {url.render_as_string(hide_password=True)}: {reason}")


def _create_engine(url: URL) -> Engine:
    common: dict[str, Any] = {
        # Parameters can be personal data: keep them out of exception messages and logs.
        "hide_parameters": True,
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_OVERFLOW,
    }
    if url.get_backend_name() == "postgresql":
        # A restarted server invalidates pooled connections; test them on checkout.
        return create_engine(url, pool_pre_ping=True, **common)
    engine = create_engine(url, **common)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _upsert_sql(table: str, dialect: str) -> _MultiRow:
    """Upsert of whole rows (_state_values), below SQLAlchemy's statement layer.

    SQLite gets multi-row statements (_sqlite_insert). PostgreSQL gets ONE statement for all
    rows, from the temporary table they were copied into (``head`` alone: SqlStore._pg_upsert
    and _pg_staged_upsert): executemany would cost a statement per row even pipelined
    (~0.15 ms each), and a multi-row VALUES would be compiled anew for every batch.
    """
    names = [*STATE_VALUE_COLUMNS[table], KEY_COLUMN]
    quoted = [f'"{name}"' for name in names]
    updates = ", ".join(f"{column} = excluded.{column}" for column in quoted[:-1])
    head = f'INSERT INTO "{schema.state_tables[table].name}" ({", ".join(quoted)}) '
    tail = f' ON CONFLICT ("{KEY_COLUMN}") DO UPDATE SET {updates}'
    if dialect == "postgresql":
        staging = _pg_staging_table(table)
        select_sql = f"SELECT {', '.join(quoted)} FROM {staging}"  # noqa: S608 (fixed names)
        return _MultiRow(f"{head}{select_sql}{tail}", "")
    return _MultiRow(f"{head}VALUES ", f"({', '.join('?' * len(names))})", tail)


def _pg_staging_table(table: str) -> str:
    return f"ccnode_staged_{schema.state_tables[table].name}"


def _pg_staged_upsert(table: str) -> tuple[str, str, str, str]:
    """(temporary table, its CREATE, the COPY into it, the upsert from it) of a state table."""
    staging = _pg_staging_table(table)
    names = ", ".join(f'"{name}"' for name in [*STATE_VALUE_COLUMNS[table], KEY_COLUMN])
    create = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
        f'(LIKE "{schema.state_tables[table].name}") ON COMMIT DELETE ROWS'
    )
    copy = f"COPY {staging} ({names}) FROM STDIN (FORMAT BINARY)"
    return staging, create, copy, _PG_UPSERTS[table]


_SQLITE_UPSERTS = {table: _upsert_sql(table, "sqlite") for table in schema.state_tables}
# Whole-record upserts of the asset registry (PostgreSQL: one statement over unnest() arrays).
_ASSET_UPSERTS = {
    "sqlite": "INSERT INTO assets (asset_id, owner_id, category, record) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (asset_id) DO UPDATE SET owner_id = excluded.owner_id, "
    "category = excluded.category, record = excluded.record",
    "postgresql": "INSERT INTO assets (asset_id, owner_id, category, record) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::integer[], %s::bytea[]) "
    "ON CONFLICT (asset_id) DO UPDATE SET owner_id = excluded.owner_id, "
    "category = excluded.category, record = excluded.record",
}
_PG_UPSERTS = {table: _upsert_sql(table, "postgresql").head for table in schema.state_tables}
_PG_STAGED_UPSERTS = {table: _pg_staged_upsert(table) for table in schema.state_tables}


def _pg_types(table: Table, names: Sequence[str]) -> tuple[str, ...]:
    """The PostgreSQL type of each named column, for a binary COPY (which sends every value
    in its column's own binary form: no text to escape on our side nor to parse on the
    server's, and bytea as its raw bytes rather than hex)."""
    types = []
    for name in names:
        kind = table.c[name].type
        # BigInteger first: it is an Integer too.
        for python_type, pg_type in _PG_BINARY_TYPES:
            if isinstance(kind, python_type):
                types.append(pg_type)
                break
        else:
            raise TypeError(f"no binary COPY type for {table.name}.{name}")
    return tuple(types)


_PG_BINARY_TYPES: tuple[tuple[type, str], ...] = (
    (sqlalchemy.BigInteger, "int8"),
    (sqlalchemy.Integer, "int4"),
    (sqlalchemy.LargeBinary, "bytea"),
    (sqlalchemy.Text, "text"),
)
_PG_ENTRY_TYPES = _pg_types(schema.entries, [column.name for column in _ENTRY_COLUMNS_ALL])
_PG_NODE_TYPES = _pg_types(schema.merkle_nodes, ["origin", "level", "idx", "hash"])
_PG_LISTING_CHANGE_TYPES = _pg_types(schema.blacklist_changes, ["key", "last_index"])
_PG_STAGED_TYPES = {
    name: _pg_types(table, [*STATE_VALUE_COLUMNS[name], KEY_COLUMN])
    for name, table in schema.state_tables.items()
}


def _pg_copy(
    connection: psycopg.Connection[Any],
    statement: str,
    types: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """COPY ``rows`` in binary form (``types``: _pg_types of the statement's columns)."""
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _sqlite_on_connect(dbapi_connection: Any, _connection_record: Any) -> None:
    # Take transaction control away from the sqlite3 module (it would issue a deferred BEGIN
    # of its own); _sqlite_on_begin issues the BEGIN we want.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Before anything is written (WAL included): a no-op on an existing database.
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_BYTES}")
        _sqlite_enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")  # see the module docstring
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_BYTES // 1024}")  # KiB when < 0
        page_bytes = cursor.execute("PRAGMA page_size").fetchone()[0]
        cursor.execute(
            f"PRAGMA wal_autocheckpoint = {max(1, SQLITE_WAL_CHECKPOINT_BYTES // page_bytes)}"
        )
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the database file to WAL (a persistent setting: usually already done).

    The switch needs an exclusive lock, and SQLite reports SQLITE_BUSY at once, without the
    busy handler, when two processes open a new database together and both try it; so it
    is retried here until the busy timeout.
    """
    deadline_s = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline_s:
                raise
            time.sleep(SQLITE_WAL_RETRY_S)
    if mode != "wal":
        raise StoreError(f"SQLite refused WAL mode (journal_mode={mode}); use a local file")


def _sqlite_on_begin(conn: Connection) -> None:
    writes = conn.get_execution_options().get(_WRITE_OPTION, False)
    # On the driver's connection: a statement through SQLAlchemy's execution layer (events,
    # an execution context, a cursor result) costs more than the BEGIN, and every read runs it.
    _raw(conn).execute("BEGIN IMMEDIATE" if writes else "BEGIN")


# ---------------------------------------------------------------- helpers


def _origin_state(row: Any) -> OriginState:
    return OriginState(
        origin=row.origin,
        size=row.size,
        root=row.root,
        frontier=row.frontier,
        checkpoint_note=row.checkpoint_note,
        frozen=row.frozen,
        frozen_reason=row.frozen_reason,
    )


def _sqlite_origin_state(row: Sequence[Any]) -> OriginState:
    """An OriginState from a row of _SQLITE_ORIGIN_COLUMNS (SQLite stores the flag as 0/1)."""
    values = dict(zip(_ORIGIN_COLUMN_NAMES, row, strict=True))
    values["frozen"] = bool(values["frozen"])
    return OriginState(**values)


@functools.lru_cache(maxsize=1024)
def _placeholders(count: int) -> str:
    return f"({', '.join('?' * count)})"


@functools.lru_cache(maxsize=64)
def _state_columns(table: str) -> tuple[str, ...]:
    return tuple(column.name for column in schema.state_tables[table].columns)


@functools.lru_cache(maxsize=64)
def _sqlite_rows_sql(table: str) -> str:
    sql_table = schema.state_tables[table]
    columns = ", ".join(_state_columns(table))
    return f"SELECT {columns} FROM {sql_table.name} WHERE key IN "  # noqa: S608


def _entry(row: Any) -> StoredEntry:
    """An entry from a row of _ENTRY_COLUMNS followed by the payload (or None)."""
    return StoredEntry(*row)


def _sqlite_insert(raw: sqlite3.Connection, statement: _MultiRow, rows: Sequence[Any]) -> None:
    """Insert ``rows`` (sequences of ``statement.width`` values) with multi-row statements.

    One statement runs in one call to SQLite, which releases the GIL for all of it, and
    costs less than a step per row: executemany takes the GIL back after every row, so a
    thread verifying the next batch holds up every row of this one. Chunks are powers of
    two (at most _SQLITE_ROWS_PER_STATEMENT rows, and within SQLite's parameter limit), so
    the driver's statement cache holds the few statements every batch size needs.
    """
    limit = max(
        1,
        min(
            _SQLITE_ROWS_PER_STATEMENT,
            raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // statement.width,
        ),
    )
    start, total = 0, len(rows)
    while start < total:
        size = 1 << (min(limit, total - start).bit_length() - 1)
        params = list(chain.from_iterable(rows[start : start + size]))
        raw.execute(_multi_row_sql(statement, size), params)
        start += size


@functools.lru_cache(maxsize=256)
def _multi_row_sql(statement: _MultiRow, rows: int) -> str:
    return f"{statement.head}{', '.join([statement.row] * rows)}{statement.tail}"


def _raw(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn``, inside the same transaction."""
    driver_connection = conn.connection.driver_connection
    assert isinstance(driver_connection, sqlite3.Connection)
    return driver_connection


def _origin_row(state: OriginState) -> tuple[Any, ...]:
    """_ORIGIN_COLUMNS of ``state``, then its origin (the order of the SQLite statements)."""
    values = _origin_values(state)
    return (*(values[name] for name in _ORIGIN_COLUMNS), state.origin)


def _origin_values(state: OriginState) -> dict[str, Any]:
    return {
        "size": state.size,
        "root": state.root,
        "frontier": state.frontier,
        "checkpoint_note": state.checkpoint_note,
        "frozen": state.frozen,
        "frozen_reason": state.frozen_reason,
    }


def _subtree_hashes(conn: Connection, origin: str, wanted: list[tuple[int, int]]) -> list[bytes]:
    """Two indexed queries at most (leaves, then interior nodes) for a proof's O(log n).

    Raw SQL on the driver: the append path runs this once per batch, and building the
    statement with SQLAlchemy cost more than the whole lookup. Interior nodes are a UNION
    ALL of one primary-key lookup per level, because an OR of the levels or a row-value IN
    over (level, idx) makes SQLite scan all of the origin's nodes."""
    sqlite_dialect = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_dialect else "%s"

    def run(sql: str, params: tuple[Any, ...]) -> Iterable[Any]:
        if sqlite_dialect:  # not even exec_driver_sql's execution context: twice an append
            return _raw(conn).execute(sql, params)
        return conn.exec_driver_sql(sql, params)

    found: dict[tuple[int, int], bytes] = {}
    fetch = tiles.stored_nodes(wanted)
    leaves = [index for level, index in fetch if level == 0]
    inner = [(level, index) for level, index in fetch if level > 0]
    for chunk in _chunks(leaves):
        marks = ", ".join([mark] * len(chunk))
        sql = f"SELECT idx, leaf_hash FROM entries WHERE origin = {mark} AND idx IN ({marks})"  # noqa: S608 (placeholders only)
        for index, leaf in run(sql, (origin, *chunk)):
            found[(0, index)] = bytes(leaf)
    for node_chunk in _chunks(inner):
        by_level: dict[int, list[int]] = {}
        for level, index in node_chunk:
            by_level.setdefault(level, []).append(index)
        branches: list[str] = []
        params: list[Any] = []
        for level, indexes in by_level.items():
            marks = ", ".join([mark] * len(indexes))
            branches.append(
                "SELECT level, idx, hash FROM merkle_nodes "  # noqa: S608 (placeholders only)
                f"WHERE origin = {mark} AND level = {mark} AND idx IN ({marks})"
            )
            params.extend((origin, level, *indexes))
        for level, index, node in run(" UNION ALL ".join(branches), tuple(params)):
            found[(level, index)] = bytes(node)
    return tiles.assemble(wanted, found)


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), CHUNK_ROWS):
        yield items[start : start + CHUNK_ROWS]


def _prefix_clause(table: Table, column: str, prefix: str) -> ColumnElement[bool]:
    """``column LIKE 'prefix%'`` as a range, which both backends answer from an index.

    Text compares by code point on both backends (BINARY in SQLite, COLLATE "C" on
    PostgreSQL), so s starts with p exactly when p <= s < p' where p' is p with its last
    character incremented. SQLite's LIKE would also be case-insensitive, unlike Python.
    """
    cell = table.c[column]
    upper = _prefix_upper_bound(prefix)
    if upper is None:
        return cell >= prefix
    return and_(cell >= prefix, cell < upper)


def _prefix_upper_bound(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (None: no bound)."""
    stem = prefix.rstrip(chr(0x10FFFF))
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters of stored text
        following = 0xE000
    return stem[:-1] + chr(following)


def _join_prefixes(prefixes: Sequence[str]) -> str:
    check_court_prefixes(prefixes)
    return ",".join(prefixes)


def _split_prefixes(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def _keep_listing_records(conn: Connection, origin: str, indexes: Sequence[int]) -> None:
    """Before the payloads of ``origin``'s entries ``indexes`` are cleared: each listing row
    that reads its record from one of them keeps the record whole from then on. (Retention
    purges only delisted listings, which keep theirs anyway: node/store/listing_rows.py.)"""
    entries, rows = schema.entries, _LISTING_ROWS
    subjects = select(entries.c.subject).where(
        entries.c.origin == origin, entries.c.idx.in_(indexes)
    )
    statement = _select_rows(LISTING_TABLE).where(
        rows.c.key.in_(subjects), rows.c.origin == origin, rows.c.record_index.in_(indexes)
    )
    for stored in conn.execute(statement).all():
        row = _listing_row(stored)
        conn.execute(
            update(rows)
            .where(rows.c.key == row[KEY_COLUMN])
            .values({RECORD_INDEX: None, KEPT_RECORD: row["record"]})
        )


def _select_rows(table: str) -> Select[Any]:
    """The whole rows of a state table; a listing's with the payload of its record's entry."""
    if table != LISTING_TABLE:
        return select(schema.state_tables[table])
    return select(_LISTING_ROWS, _RECORD_ENTRY.c.payload).select_from(_LISTING_JOIN)


def _state_row(table: str, stored: Row[Any]) -> dict[str, Any]:
    if table != LISTING_TABLE:
        return dict(stored._mapping)
    return _listing_row(stored)


def _listing_row(values: Sequence[Any]) -> dict[str, Any]:
    """A listing's row as STATE_TABLES has it, from its stored columns and the payload of its
    record's entry (_select_rows' columns; node/store/listing_rows.py)."""
    *columns, payload = values
    row = dict(zip(_LISTING_COLUMNS, columns, strict=True))
    row["record"] = listing_record(row, payload)
    del row[RECORD_INDEX], row[KEPT_RECORD]
    return row


def _evidence_digest(evidence: EvidenceRecord) -> bytes:
    digest = hashlib.sha256()
    for part in (evidence.origin, evidence.smaller_note, evidence.larger_note):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return digest.digest()


def _pack(items: Sequence[bytes]) -> bytes:
    """Length-prefixed concatenation (4-byte big-endian length per item)."""
    return b"".join(len(item).to_bytes(4, "big") + item for item in items)


def _unpack(data: bytes) -> tuple[bytes, ...]:
    items: list[bytes] = []
    position = 0
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        items.append(bytes(data[position + 4 : position + 4 + length]))
        position += 4 + length
    return tuple(items)
