"""The workspace's SQLite database: the one way in, one writer at a time, numbered migrations.

Every read and every write goes through a `Database`: reads with `query()`, writes inside
`transaction()`. Both take the same lock, so a reader on another thread never sees rows of
a transaction that has not committed yet (with one connection shared across threads,
SQLite itself would show them: a dirty read). Nothing outside this module touches the
connection.

Several processes may open one workspace (the app, a second app, the CLI): WAL, a busy
timeout and `BEGIN IMMEDIATE` for writes make them wait for each other instead of failing
or corrupting the file. The live database always sits on a local disk; on a Space, a
bucket receives a journal and snapshots instead (network mounts have no file locking).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from ftcore.errors import WorkspaceError
from ftcore.migrations import MIGRATIONS
from ftcore.workspace import Workspace

BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    """A sortable UTC timestamp, the format of every *_at column."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Database:
    """One connection to a workspace database, shared by a process's threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = wal")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot open database {self.path}: {exc}") from exc
        self._db = sqlite_utils.Database(conn)
        # Gradio runs handlers on a thread pool; readers and writers share this lock.
        self._lock = threading.RLock()
        if self.schema_version() < len(MIGRATIONS):  # an up-to-date file is not touched
            self.migrate()

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> Database:
        return cls(workspace.db_path)

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[dict]:
        """Rows of a read-only statement as dicts, under the writer lock: never a row of a
        transaction another thread has not committed."""
        with self._lock:
            cursor = self._db.execute(sql, params)
            columns = [column[0] for column in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def query_value(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Hold the lock and commit on success, roll back on error (schema changes
        included). The outermost transaction begins IMMEDIATE, taking SQLite's write lock
        up front: a deferred one that reads first and then writes could fail with
        "database is locked" at once instead of waiting for another process."""
        with self._lock:
            if self._db.conn.in_transaction:  # nested: a savepoint inside the outer one
                with self._db.atomic():
                    yield self._db
                return
            self._db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.conn.rollback()
                raise
            self._db.conn.execute("COMMIT")

    def table_exists(self, name: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.query_value(sql, [name]) is not None

    @property
    def journal_mode(self) -> str:
        return self.query_value("PRAGMA journal_mode")

    def schema_version(self) -> int:
        if not self.table_exists("schema_version"):
            return 0
        return self.query_value("SELECT MAX(version) FROM schema_version") or 0

    def migrate(self) -> int:
        """Apply every migration newer than the database; return the resulting version."""
        with self.transaction() as db:
            db["schema_version"].create(
                {"version": int, "description": str, "applied_at": str},
                pk="version",
                if_not_exists=True,
            )
        current = self.schema_version()
        for version, migration in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            with self.transaction() as db:
                migration(db)
                db["schema_version"].insert(
                    {"version": version, "description": migration.__doc__, "applied_at": utc_now()}
                )
        return self.schema_version()

    def backup_to(self, path: str | Path) -> Path:
        """Write a consistent copy of the whole database to `path` (a new file) with
        SQLite's backup API: committed rows only, whatever other threads are writing."""
        path = Path(path)
        try:
            target = sqlite3.connect(path)
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot create database copy {path}: {exc}") from exc
        try:
            with self._lock:
                self._db.conn.backup(target)
        finally:
            target.close()
        return path

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()
