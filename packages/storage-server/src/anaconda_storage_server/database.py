"""The metadata store: one SQLite database in WAL mode, its schema and its transactions.

Durability choices:

- `journal_mode=WAL`: readers never block the writer nor each other, so many concurrent
  downloads never wait on an upload's commit.
- `synchronous=FULL`: every commit fsyncs the WAL before it returns, so a `201` that the
  client has seen survives a power cut, not only a crash of the process. `NORMAL` would
  keep the database consistent too, but could lose the last acknowledged commits on power
  loss; the data blobs are fsynced before their commit anyway, so FULL costs one more fsync
  per change and keeps "acknowledged means stored" true.
- One `BEGIN IMMEDIATE` transaction per change: it takes the write lock up front (no
  deadlock-prone lock upgrade), and `busy_timeout` queues concurrent writers, in this
  process or another (the `users add` command runs while the server serves).

Connections are per thread (SQLite connections must not be shared between threads); the
server runs every transaction in a worker thread (see `app.py`). Instants are integer
microseconds since the epoch, strictly increasing across all changes (`Transaction.now_us`),
so "at or before an instant" is exact and never ambiguous between two changes.

The database file is created 0600 before SQLite opens it: SQLite gives its WAL and
shared-memory files the mode of the database file, so all three stay private
(`data_dir.py`). A full disk fails the change as `507 insufficient_storage` and rolls it
back, whether SQLite reports it inside the transaction or at its commit.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from anaconda_storage_server.data_dir import touch_file
from anaconda_storage_server.errors import storing

# 2: `blob_checksums` and `upload_parts.crc32c`, the transfer checksum (issue 15); a data
# directory of schema 1 is migrated when opened (`_migrate`), its blobs' checksums computed
# at start-up (`checksums.backfill`).
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'org')),
    created_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, org_id);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    hidden INTEGER NOT NULL DEFAULT 0,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE TABLE IF NOT EXISTS grants (
    project_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('r', 'w')),
    PRIMARY KEY (project_id, principal_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS grants_by_principal ON grants (principal_id, project_id);
CREATE TABLE IF NOT EXISTS revisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    path TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    sha256 TEXT,
    description TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS revisions_by_path ON revisions (project_id, path, seq);
CREATE INDEX IF NOT EXISTS revisions_by_sha256 ON revisions (sha256);
CREATE TABLE IF NOT EXISTS live (
    project_id TEXT NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (project_id, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS checkpoints_by_project ON checkpoints (project_id, created_us);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    path TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    touched_us INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    if_match TEXT,
    if_none_match INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS uploads_by_project ON uploads (project_id, created_us);
CREATE TABLE IF NOT EXISTS upload_parts (
    upload_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (upload_id, number)
) WITHOUT ROWID;
-- History you can act on (issue 13): where a restored or moved revision came from, the
-- project-wide order of changes (log, diff) and the deleted projects kept for a while.
CREATE TABLE IF NOT EXISTS revision_origins (
    seq INTEGER PRIMARY KEY,
    action TEXT NOT NULL CHECK (action IN ('restored', 'moved')),
    source_path TEXT,
    source_revision TEXT,
    source_checkpoint TEXT,
    source_us INTEGER
);
CREATE INDEX IF NOT EXISTS revisions_by_time ON revisions (project_id, created_us, seq);
CREATE TABLE IF NOT EXISTS trash (
    project_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    project TEXT NOT NULL,
    deleted_us INTEGER NOT NULL,
    deleted_by TEXT NOT NULL,
    purge_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trash_by_owner ON trash (owner_id, name, deleted_us);
CREATE INDEX IF NOT EXISTS trash_by_expiry ON trash (purge_us);
-- The CRC32C of each blob's content (checksums.py), by the blob's sha256. A row is a
-- function of the content alone, so one left after its blob was collected stays true.
CREATE TABLE IF NOT EXISTS blob_checksums (
    sha256 TEXT PRIMARY KEY,
    crc32c INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    last_us INTEGER NOT NULL
);
INSERT OR IGNORE INTO clock (id, last_us) VALUES (0, 0);
"""

BUSY_TIMEOUT_MS = 60_000


def wall_us() -> int:
    """The wall clock in integer microseconds since the epoch."""
    return time.time_ns() // 1000


class Transaction:
    """One write transaction: its connection, its instant and work to do after commit."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._now_us: int | None = None
        self._after_commit: list[Callable[[], object]] = []

    def execute(self, sql: str, parameters: tuple[object, ...] = ()) -> sqlite3.Cursor:
        return self.connection.execute(sql, parameters)

    @property
    def now_us(self) -> int:
        """The instant of this change: the wall clock, but strictly after every earlier one."""
        if self._now_us is None:
            self.connection.execute(
                "UPDATE clock SET last_us = max(last_us + 1, ?) WHERE id = 0", (wall_us(),)
            )
            self._now_us = int(
                self.connection.execute("SELECT last_us FROM clock WHERE id = 0").fetchone()[0]
            )
        return self._now_us

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run `action` once the transaction is committed (e.g. unlink files it released)."""
        self._after_commit.append(action)

    @contextmanager
    def change(self) -> Iterator[Transaction]:
        """One change among several in this transaction (a group commit, `group_commit.py`).

        The change has its own instant and runs in a savepoint: if the block raises, the
        change alone is undone (its after-commit actions dropped) and the exception passes.
        """
        change = Transaction(self.connection)
        self.connection.execute("SAVEPOINT change")
        try:
            yield change
        except BaseException:
            if self.connection.in_transaction:  # SQLite may have ended it already
                self.connection.execute("ROLLBACK TO change")
                self.connection.execute("RELEASE change")
            raise
        self.connection.execute("RELEASE change")
        self._after_commit.extend(change._after_commit)


def _migrate(transaction: Transaction) -> None:
    """Bring the tables of an older schema up to this one (after `SCHEMA` ran).

    Each step checks what is there rather than trusting the version number, so it is
    idempotent: a fresh database, which `SCHEMA` made whole, goes through it unchanged.
    """
    # Schema 2: the parts of upload sessions carry their CRC32C; NULL for a part saved by
    # an older server (completion computes it from the part's file).
    part_columns = {row[1] for row in transaction.execute("PRAGMA table_info(upload_parts)")}
    if "crc32c" not in part_columns:
        transaction.execute("ALTER TABLE upload_parts ADD COLUMN crc32c INTEGER")


class Database:
    """The SQLite database of a data directory, with one connection per thread.

    Args:
        path: The database file; created with its schema if absent.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # Every connection, by the thread that opened it: closed by `close()`, or once its
        # thread has ended. A connection left to the garbage collector is a
        # ResourceWarning on Python 3.13.
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()
        touch_file(path)
        try:
            with self.write() as transaction:
                version = transaction.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"{path} was written by a newer server "
                        f"(schema {version} > {SCHEMA_VERSION})"
                    )
                # One statement at a time: executescript() would commit the transaction.
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        transaction.execute(statement)
                _migrate(transaction)
                transaction.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=60
            )
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            self._local.connection = connection
            with self._connections_lock:
                # Worker threads come and go: close what the ended ones opened
                # (connections are made with check_same_thread=False for this).
                for thread in [t for t in self._connections if not t.is_alive()]:
                    self._connections.pop(thread).close()
                self._connections[threading.current_thread()] = connection
        return connection

    def close(self) -> None:
        """Close every connection; a thread using the database again opens a new one."""
        with self._connections_lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
        self._local = threading.local()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent snapshot."""
        connection = self.connection()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """A write transaction (`BEGIN IMMEDIATE`): committed on success, else rolled back.

        Writers of this process queue on a lock first: SQLite's own busy handler polls with
        sleeps of up to 100 ms, which would turn a burst of concurrent uploads into seconds
        of waiting; it is left for writers in other processes (the `users add` command).
        """
        connection = self.connection()
        with self._write_lock, storing("the change"):
            connection.execute("BEGIN IMMEDIATE")
            transaction = Transaction(connection)
            try:
                yield transaction
                connection.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (a full disk) may leave the transaction open: end it, or
                # this thread's connection could never begin another one.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        for action in transaction._after_commit:
            action()
