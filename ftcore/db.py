"""The workspace's SQLite database: one connection, one writer at a time, numbered migrations.

Local disks get WAL with a busy timeout, so the UI, a training process and the CLI can
read while one of them writes. A Space's bucket-mounted /data has no file locking, where
WAL can corrupt the file, so there the rollback journal is used instead.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from ftcore.errors import WorkspaceError
from ftcore.migrations import MIGRATIONS
from ftcore.workspace import Workspace

BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    """A sortable UTC timestamp, the format of every *_at column."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Database:
    """The one connection to a workspace database; writes go through `transaction()`."""

    def __init__(self, path: str | Path, *, journal_mode: str = "wal"):
        self.path = Path(path)
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute(f"PRAGMA journal_mode = {journal_mode}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot open database {self.path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        # Gradio runs handlers on a thread pool; the lock keeps one writer at a time.
        self._lock = threading.RLock()
        self.migrate()

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> Database:
        journal_mode = "delete" if workspace.on_network_storage else "wal"
        return cls(workspace.db_path, journal_mode=journal_mode)

    @property
    def journal_mode(self) -> str:
        return self.db.execute("PRAGMA journal_mode").fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Hold the writer lock and commit on success, roll back on error (schema
        changes included: sqlite3's implicit transactions would auto-commit DDL)."""
        with self._lock, self.db.atomic():
            yield self.db

    def schema_version(self) -> int:
        if not self.db["schema_version"].exists():
            return 0
        row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return row[0] or 0

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

    def close(self) -> None:
        self.db.conn.close()
