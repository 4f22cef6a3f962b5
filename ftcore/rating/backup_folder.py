"""The backup folder's layout: numbered snapshots, journal segments and a few kept files.

`FTSTUDIO_BACKUP_DIR` names a folder that outlives the container (on a Space, the mount
path of a Storage Bucket). Bucket mounts are eventually consistent, lock nothing across
nodes and upload a file when it is closed, so nothing there is ever a live database:

    snapshots/snapshot-000007.db     a consistent copy of the workspace database
    journal/000007-<writer>.jsonl    rating writes made after snapshot 7 (one file per
                                     process, so two processes never append to one file)
    files/browser_state.secret       small workspace files a restart needs back

A snapshot's number is an epoch: writers switch to journal segment N just before snapshot
N is taken, so snapshot N plus the segments numbered N and above hold every write. Restores
also read segment N - 1 (idempotent replay makes that free), which covers a second process
that was still writing to the previous segment while the snapshot was taken.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ftcore.errors import WorkspaceError
from ftcore.files import atomic_open

logger = logging.getLogger(__name__)

BACKUP_DIR_VARIABLE = "FTSTUDIO_BACKUP_DIR"
SNAPSHOT_PATTERN = re.compile(r"snapshot-(\d{6,})\.db")
SEGMENT_PATTERN = re.compile(r"(\d{6,})-[A-Za-z0-9]+\.jsonl")


class BackupError(WorkspaceError):
    """A backup or restore cannot go ahead; the message names the folder or file."""


def backup_dir_from_env() -> Path | None:
    """The folder `FTSTUDIO_BACKUP_DIR` names, or None when it is unset or empty."""
    value = os.environ.get(BACKUP_DIR_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class BackupFolder:
    """Paths inside one backup folder, and what is stored there now."""

    root: Path

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def journal_dir(self) -> Path:
        return self.root / "journal"

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    def create(self) -> BackupFolder:
        try:
            for folder in (self.snapshots_dir, self.journal_dir, self.files_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"cannot create backup folder {self.root}: {exc}") from exc
        return self

    def snapshot_path(self, epoch: int) -> Path:
        return self.snapshots_dir / f"snapshot-{epoch:06d}.db"

    def segment_path(self, epoch: int, writer: str) -> Path:
        return self.journal_dir / f"{epoch:06d}-{writer}.jsonl"

    def snapshots(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every snapshot, oldest first."""
        return _numbered(self.snapshots_dir, SNAPSHOT_PATTERN)

    def segments(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every journal segment, oldest epoch first."""
        return _numbered(self.journal_dir, SEGMENT_PATTERN)

    def newest_epoch(self) -> int:
        """The newest snapshot's epoch; 0 when there is none yet."""
        snapshots = self.snapshots()
        return snapshots[-1][0] if snapshots else 0

    def keep_file(self, source: Path) -> None:
        """Copy a small workspace file here, unless the same bytes are already kept."""
        kept = self.files_dir / source.name
        if not source.is_file() or (kept.is_file() and kept.read_bytes() == source.read_bytes()):
            return
        with atomic_open(kept, "wb") as file:
            file.write(source.read_bytes())

    def bring_back_file(self, target: Path) -> bool:
        """Copy the kept file named like `target` to it when `target` is missing."""
        kept = self.files_dir / target.name
        if target.exists() or not kept.is_file():
            return False
        shutil.copyfile(kept, target)
        return True


def _numbered(folder: Path, pattern: re.Pattern) -> list[tuple[int, Path]]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = [(int(match[1]), folder / name) for name in names if (match := pattern.fullmatch(name))]
    return sorted(found)
