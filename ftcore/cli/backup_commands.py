"""`ftcore backup` and `ftcore restore`: a snapshot now, or the database rebuilt from backups.

What the app does on a Space by itself (ftcore.rating.durability), by hand: `backup` takes
a consistent snapshot of the workspace database into the folder (default:
$FTSTUDIO_BACKUP_DIR); `restore` rebuilds the database from the newest snapshot there plus
the journal after it, and refuses to replace an existing database without --force (stop
the app on that workspace first).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ftcore.cli.train_commands import HOME_HELP, workspace_database
from ftcore.rating.backup_folder import (
    BACKUP_DIR_VARIABLE,
    BackupError,
    BackupFolder,
    backup_dir_from_env,
)
from ftcore.rating.snapshots import DEFAULT_KEEP, restore_database, take_snapshot
from ftcore.workspace import Workspace

FOLDER_HELP = f"backup folder (default: ${BACKUP_DIR_VARIABLE})"


def _folder(given: str | None) -> BackupFolder:
    root = Path(given) if given else backup_dir_from_env()
    if root is None:
        raise BackupError(f"no backup folder: pass one or set {BACKUP_DIR_VARIABLE}")
    return BackupFolder(root)


def run_backup(args: argparse.Namespace) -> int:
    folder = _folder(args.to)
    db_path = Workspace.open(args.home or None).db_path
    if not db_path.exists():
        raise BackupError(f"{db_path} does not exist: there is nothing to back up")
    with workspace_database(args.home) as database:
        snapshot = take_snapshot(database, folder, keep=args.keep)
    print(f"snapshot {snapshot} ({snapshot.stat().st_size} bytes)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    folder = _folder(getattr(args, "from"))
    db_path = Workspace.open(args.home or None).db_path
    report = restore_database(db_path, folder, force=args.force)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0
    source = report.snapshot.name if report.snapshot else "no snapshot (the journal alone)"
    inserted = ", ".join(f"{n} {t}" for t, n in report.counts.inserted.items()) or "nothing new"
    print(f"restored {db_path} from {source} + {report.entries} journal entries: {inserted}")
    for path in report.torn:
        print(f"warning: {path.name} ended in a line cut off mid-write; it was left out")
    for path in report.passed_over:
        print(f"warning: snapshot {path.name} did not open and was passed over")
    if report.counts.orphans:
        print(f"warning: {len(report.counts.orphans)} journal rows named missing rows, skipped")
    return 0


def add_backup_commands(commands) -> None:
    backup = commands.add_parser("backup", help="snapshot the workspace database into a folder")
    backup.add_argument("--to", help=FOLDER_HELP)
    backup.add_argument("--home", help=HOME_HELP)
    backup.add_argument(
        "--keep", type=int, default=DEFAULT_KEEP, help="snapshots to keep (default: %(default)s)"
    )
    backup.set_defaults(run=run_backup)

    restore = commands.add_parser(
        "restore", help="rebuild the workspace database from a backup folder"
    )
    restore.add_argument("--from", help=FOLDER_HELP)
    restore.add_argument("--home", help=HOME_HELP)
    restore.add_argument("--force", action="store_true", help="replace an existing database")
    restore.add_argument("--json", action="store_true", help="print what was restored as JSON")
    restore.set_defaults(run=run_restore)
