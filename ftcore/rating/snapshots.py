"""Consistent snapshots of the workspace database in a backup folder, and restoring from them.

A snapshot is made with SQLite's backup API (Database.backup_to) into a local temporary
file, then copied into the backup folder with the atomic writer: a bucket receives a
finished file, never a database being written. Restoring takes the newest snapshot that
opens and passes `PRAGMA quick_check` (a snapshot cut off by a crash is passed over),
replays the journal segments from one before its epoch (see ftcore.rating.backup_folder),
and only then puts the result in place of the workspace database.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ftcore.db import Database
from ftcore.errors import WorkspaceError
from ftcore.files import atomic_open
from ftcore.rating.backup_folder import BackupError, BackupFolder
from ftcore.rating.journal import Journal, read_journal
from ftcore.rating.replay import ReplayCounts, replay

logger = logging.getLogger(__name__)

DEFAULT_KEEP = 12  # an hour of snapshots at the default five minutes


def copy_database(database: Database, out: Path) -> Path:
    """A consistent copy of `database` at `out` (e.g. for an admin to download)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    return database.backup_to(out)


def take_snapshot(
    database: Database,
    folder: BackupFolder,
    journal: Journal | None = None,
    keep: int = DEFAULT_KEEP,
) -> Path:
    """Snapshot `database` into `folder` under the next epoch, switching `journal` to that
    epoch first (so every write is in the snapshot or in a segment it does not cover), then
    prune to the newest `keep` snapshots. Returns the snapshot's path."""
    folder.create()
    epoch = max(folder.newest_epoch(), journal.epoch if journal else 0) + 1
    if journal is not None:
        journal.rotate(epoch)
    local = _temporary_next_to(database.path, "snapshot")
    try:
        database.backup_to(local)
        target = folder.snapshot_path(epoch)
        with open(local, "rb") as source, atomic_open(target, "wb") as copy:
            shutil.copyfileobj(source, copy)
    except OSError as exc:
        raise BackupError(f"cannot write snapshot {folder.snapshot_path(epoch)}: {exc}") from exc
    finally:
        local.unlink(missing_ok=True)
    prune(folder, keep)
    logger.info("snapshot %s written", target)
    return target


def prune(folder: BackupFolder, keep: int) -> list[Path]:
    """Delete all but the newest `keep` snapshots and the journal segments no kept snapshot
    needs (those older than the oldest kept epoch minus one); return what was deleted."""
    if keep < 1:
        raise BackupError(f"keep={keep} is not allowed: at least one snapshot must stay")
    snapshots = folder.snapshots()
    doomed = [path for _, path in snapshots[:-keep]]
    if len(snapshots) > keep:
        oldest_needed = snapshots[-keep][0] - 1
        doomed += [path for epoch, path in folder.segments() if epoch < oldest_needed]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@dataclass
class RestoreReport:
    """What a restore used and what it replayed."""

    database: Path
    snapshot: Path | None  # None: rebuilt from the journal alone
    passed_over: list[Path] = field(default_factory=list)  # snapshots that did not open
    segments: list[Path] = field(default_factory=list)
    entries: int = 0
    torn: list[Path] = field(default_factory=list)  # segments whose last line was cut off
    counts: ReplayCounts = field(default_factory=ReplayCounts)

    def to_json(self) -> dict:
        return {
            "database": str(self.database),
            "snapshot": str(self.snapshot) if self.snapshot else None,
            "passed_over": [str(p) for p in self.passed_over],
            "segments": [p.name for p in self.segments],
            "entries": self.entries,
            "torn": [p.name for p in self.torn],
            **self.counts.to_json(),
        }


def restore_database(db_path: Path, folder: BackupFolder, *, force: bool = False) -> RestoreReport:
    """Rebuild the database at `db_path` from `folder`: the newest good snapshot plus the
    journal after it. An existing database is replaced only with `force`."""
    if db_path.exists() and not force:
        raise BackupError(f"{db_path} exists: restoring would replace it (use --force)")
    if not folder.snapshots() and not folder.segments():
        raise BackupError(f"{folder.root} holds no snapshot and no journal: nothing to restore")
    local = _temporary_next_to(db_path, "restore")
    report = RestoreReport(database=db_path, snapshot=None)
    try:
        database, epoch = _newest_good_snapshot(folder, local, report)
        try:
            read = read_journal(folder, since_epoch=max(0, epoch - 1))
            report.segments, report.torn = read.segments, read.torn
            report.entries = len(read.entries)
            report.counts = replay(database, read.entries)
        finally:
            database.close()
        _remove_database_files(db_path)  # a stale WAL would be replayed onto the new file
        os.replace(local, db_path)
    finally:
        _remove_database_files(local)
    return report


def _newest_good_snapshot(
    folder: BackupFolder, local: Path, report: RestoreReport
) -> tuple[Database, int]:
    """The newest snapshot that opens and checks out, copied to `local` and opened (and
    migrated, if it is older than this ftcore), with its epoch; an empty database and
    epoch 0 when none does."""
    for epoch, path in reversed(folder.snapshots()):
        shutil.copyfile(path, local)
        database = None
        try:
            database = Database(local)
            problem = database.query_value("PRAGMA quick_check")
        except (WorkspaceError, sqlite3.DatabaseError) as exc:
            problem = str(exc)
        if problem == "ok":
            report.snapshot = path
            return database, epoch
        if database is not None:
            database.close()
        logger.warning("snapshot %s passed over: %s", path, problem)
        report.passed_over.append(path)
        _remove_database_files(local)
    return Database(local), 0


def _remove_database_files(path: Path) -> None:
    """The file and the WAL and shared-memory files SQLite keeps next to it."""
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        Path(name).unlink(missing_ok=True)


def _temporary_next_to(path: Path, purpose: str) -> Path:
    return path.with_name(f".{path.name}.{purpose}-{secrets.token_hex(4)}.tmp")
