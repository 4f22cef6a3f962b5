"""Durability on a Space: restore the workspace at start, journal rating writes, snapshot often.

`start_durability(workspace)` does nothing unless `FTSTUDIO_BACKUP_DIR` is set. When it is:
a missing workspace database is restored from the backup folder (newest snapshot plus the
journal after it), the kept files come back (the browser secret: without it, browsers
could no longer read the rater tokens they hold), every rating write of this workspace is
journaled, and a snapshot is taken at once, every `FTSTUDIO_SNAPSHOT_MINUTES` (default 5)
if the database changed, and at exit (atexit, and SIGTERM, which a Space sends before it
stops the container). `FTSTUDIO_SNAPSHOT_KEEP` (default 12) snapshots are kept. The folder
must exist: a bucket that failed to mount stops the app instead of letting it back up to
the container's disk.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ftcore.db import Database
from ftcore.errors import ConfigError, WorkspaceError
from ftcore.rating.backup_folder import (
    BACKUP_DIR_VARIABLE,
    BackupError,
    BackupFolder,
    backup_dir_from_env,
)
from ftcore.rating.journal import Journal, attach, detach
from ftcore.rating.snapshots import DEFAULT_KEEP, RestoreReport, restore_database, take_snapshot
from ftcore.workspace import Workspace

logger = logging.getLogger(__name__)

DEFAULT_MINUTES = 5.0


def _env_number(name: str, default: float, kind: type) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise ConfigError(name, raw, f"a positive {kind.__name__}")
    return value


class Durability:
    """The backup of one workspace while an app runs on it; `stop()` takes a last snapshot."""

    def __init__(
        self,
        workspace: Workspace,
        folder: BackupFolder,
        *,
        minutes: float = DEFAULT_MINUTES,
        keep: int = DEFAULT_KEEP,
        kept_files: Sequence[str] = (),
    ):
        self.workspace, self.folder = workspace, folder
        self.minutes, self.keep = minutes, keep
        self.kept_files = [workspace.root / name for name in kept_files]
        self.restored: RestoreReport | None = None
        self.database: Database | None = None
        self.journal: Journal | None = None
        self._stopping = threading.Event()
        self._snapshot_lock = threading.Lock()
        self._snapshotted: tuple = ()
        self._thread = threading.Thread(target=self._every_few_minutes, daemon=True)

    def start(self) -> Durability:
        self.folder.create()
        for path in self.kept_files:
            if self.folder.bring_back_file(path):
                logger.info("%s brought back from %s", path.name, self.folder.files_dir)
        db_path = self.workspace.db_path
        if not db_path.exists() and (self.folder.snapshots() or self.folder.segments()):
            self.restored = restore_database(db_path, self.folder)
            logger.info("workspace database restored: %s", self.restored.to_json())
        self.database = Database.for_workspace(self.workspace)
        self.journal = Journal(
            self.folder, self.folder.newest_epoch(), before_first_append=self._keep_files
        )
        attach(db_path, self.journal)
        self.snapshot()
        self._thread.start()
        atexit.register(self.stop)
        _stop_cleanly_on_sigterm()
        return self

    def snapshot(self) -> Path:
        """Take a snapshot now (and copy the kept files); returns its path."""
        with self._snapshot_lock:
            self._keep_files()
            # Read before the copy: a write during it changes the files again, so the
            # next tick takes it.
            self._snapshotted = self._fingerprint()
            return take_snapshot(self.database, self.folder, self.journal, self.keep)

    def snapshot_if_changed(self) -> Path | None:
        """A snapshot when the database changed since the last one: an idle app does not
        upload the same file to the bucket every few minutes."""
        return self.snapshot() if self._fingerprint() != self._snapshotted else None

    def _fingerprint(self) -> tuple:
        """Size and modification time of the database file and its WAL: any commit
        changes one of them."""
        paths = (self.workspace.db_path, Path(f"{self.workspace.db_path}-wal"))
        return tuple(
            (p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else None for p in paths
        )

    def _keep_files(self) -> None:
        for path in self.kept_files:
            self.folder.keep_file(path)

    def _every_few_minutes(self) -> None:
        while not self._stopping.wait(self.minutes * 60):
            try:
                self.snapshot_if_changed()
            except (WorkspaceError, OSError, sqlite3.Error) as exc:
                # The journal still holds every write; the next tick tries again.
                logger.error("periodic snapshot failed: %s", exc)

    def stop(self) -> None:
        """Stop the timer, take the last snapshot, stop journaling. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        atexit.unregister(self.stop)
        if self._thread.is_alive():
            self._thread.join()
        try:
            logger.info("final snapshot %s", self.snapshot())
        finally:
            detach(self.workspace.db_path)
            self.database.close()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # Gradio's launch() closes its server on it; atexit runs next


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM's default ends Python without running atexit: turn it into an interrupt."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_interrupt)


def start_durability(workspace: Workspace, kept_files: Sequence[str] = ()) -> Durability | None:
    """Back `workspace` up to `FTSTUDIO_BACKUP_DIR` while this process runs (None when the
    variable is unset). Call it before anything opens the workspace database."""
    root = backup_dir_from_env()
    if root is None:
        return None
    if not root.is_dir():  # never back up to a folder that vanishes with the container
        raise BackupError(
            f"{BACKUP_DIR_VARIABLE}={root} is not a folder: is the bucket mounted at that path?"
        )
    durability = Durability(
        workspace,
        BackupFolder(root),
        minutes=_env_number("FTSTUDIO_SNAPSHOT_MINUTES", DEFAULT_MINUTES, float),
        keep=int(_env_number("FTSTUDIO_SNAPSHOT_KEEP", DEFAULT_KEEP, int)),
        kept_files=kept_files,
    )
    return durability.start()
