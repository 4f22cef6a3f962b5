"""The rating journal: every rating write appended to the backup folder before the call returns.

A session created, invites added, a rater joined, a vote cast, a session closed: each is
one JSON line holding the rows it wrote, appended to this process's journal segment with
a flush, an fsync and a close before the library call returns (a bucket mount uploads a
file when it is closed). An entry is {"kind", "at", "rows": {table: [row, …]}, "fill":
[[table, id, column, value], …]}: replay inserts the rows unless their ids are there and
fills the named columns where still empty (ftcore.rating.replay), so it is idempotent.

Entries are written after the write committed, read back from the database: an entry
never names a row that was rolled back. If the folder cannot be written, the error is
logged and the call still succeeds (the vote is stored locally); the next snapshot then
carries it.

Which database is journaled: the one `attach` names (the app does this at start, see
ftcore.rating.durability), or, when `FTSTUDIO_BACKUP_DIR` is set, the default workspace's
(so `ftcore rate create` on that workspace is journaled too).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ftcore.db import Database, utc_now
from ftcore.files import append_jsonl, numbered_jsonl
from ftcore.rating.backup_folder import BackupFolder, backup_dir_from_env
from ftcore.workspace import Workspace, default_home

logger = logging.getLogger(__name__)


class Journal:
    """Appends entries to this process's segment of a backup folder, one writer at a time."""

    def __init__(
        self,
        folder: BackupFolder,
        epoch: int,
        *,
        before_first_append: Callable[[], None] | None = None,
    ):
        self.folder = folder
        self.writer = secrets.token_hex(4)  # a file of its own: appends never interleave
        self._epoch = epoch
        self._before_first_append = before_first_append
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        return self._epoch

    def rotate(self, epoch: int) -> None:
        """Write to segment `epoch` from now on (called just before snapshot `epoch`)."""
        with self._lock:
            self._epoch = epoch

    def append(self, entry: dict) -> Path:
        """Append one entry; it is on disk and its file closed when this returns."""
        with self._lock:
            if self._before_first_append is not None:
                hook, self._before_first_append = self._before_first_append, None
                hook()
            path = self.folder.segment_path(self._epoch, self.writer)
            append_jsonl(path, [entry], fsync=True)
        return path


@dataclass
class JournalRead:
    """The entries of the segments read, and which segments ended in a torn line."""

    entries: list[dict] = field(default_factory=list)
    segments: list[Path] = field(default_factory=list)
    torn: list[Path] = field(default_factory=list)


def read_journal(folder: BackupFolder, since_epoch: int = 0) -> JournalRead:
    """Every entry of the segments numbered `since_epoch` and above, each with its
    "source" (FILE:LINE). A last line without its newline (a crash mid-append) is left out
    and its segment listed in `torn`; a bad line elsewhere raises DataError naming it."""
    read = JournalRead()
    for epoch, path in folder.segments():
        if epoch < since_epoch:
            continue
        read.segments.append(path)
        rows = numbered_jsonl(path, tolerate_partial_tail=True, row_name="journal entry")
        read.entries += [{**row, "source": f"{path.name}:{line}"} for line, row in rows]
        if _ends_torn(path):
            logger.warning("%s: its last line was cut off mid-write and is left out", path)
            read.torn.append(path)
    return read


def _ends_torn(path: Path) -> bool:
    with open(path, "rb") as file:
        end = file.seek(0, os.SEEK_END)
        if end == 0:
            return False
        file.seek(end - 1)
        return file.read(1) != b"\n"


# --- which database is journaled ---------------------------------------------------------

_journals: dict[Path, Journal] = {}
_journals_lock = threading.Lock()


def attach(db_path: str | Path, journal: Journal) -> None:
    """Journal every rating write to the database file at `db_path`, from any connection."""
    with _journals_lock:
        _journals[Path(db_path).resolve()] = journal


def detach(db_path: str | Path) -> None:
    with _journals_lock:
        _journals.pop(Path(db_path).resolve(), None)


def journal_for(database: Database) -> Journal | None:
    """The journal of `database`'s file, or None when its writes are not journaled."""
    key = Path(database.path).resolve()
    with _journals_lock:
        journal = _journals.get(key)
        root = backup_dir_from_env()
        if journal is None and root and key == Workspace(default_home()).db_path.resolve():
            folder = BackupFolder(root).create()
            journal = _journals[key] = Journal(folder, folder.newest_epoch())
        return journal


# --- what each rating write journals ------------------------------------------------------


def _append(journal: Journal, kind: str, rows: dict[str, list[dict]], fill: Iterable = ()) -> None:
    entry = {"kind": kind, "at": utc_now(), "rows": rows, "fill": [list(f) for f in fill]}
    try:
        journal.append(entry)
    except OSError as exc:
        logger.error(
            "cannot journal %s to %s (%s): it is stored locally and the next snapshot "
            "will carry it",
            kind,
            journal.folder.journal_dir,
            exc,
        )


def _rows(database: Database, table: str, column: str, values: Iterable) -> list[dict]:
    values = list(values)
    marks = ", ".join("?" * len(values))
    sql = f"SELECT * FROM {table} WHERE {column} IN ({marks}) ORDER BY rowid"
    return database.query(sql, values) if values else []


def journal_session_created(database: Database, session_id: str) -> None:
    """A new session with its items (ids included: votes name them) and invites."""
    if (journal := journal_for(database)) is None:
        return
    rows = {
        table: _rows(database, table, column, [session_id])
        for table, column in (
            ("rating_sessions", "id"),
            ("rating_items", "session_id"),
            ("rating_invites", "session_id"),
        )
    }
    _append(journal, "session_created", rows)


def journal_invites_added(database: Database, codes: list[str]) -> None:
    _journal_rows(database, "invites_added", "rating_invites", "code", codes)


def journal_rater_joined(database: Database, rater_id: str) -> None:
    _journal_rows(database, "rater_joined", "rating_raters", "id", [rater_id])


def _journal_rows(database: Database, kind: str, table: str, column: str, values: list) -> None:
    if (journal := journal_for(database)) is not None:
        _append(journal, kind, {table: _rows(database, table, column, values)})


def journal_vote(database: Database, vote_id: str) -> None:
    """A vote with the serve it answers: the serve may be newer than the last snapshot."""
    if (journal := journal_for(database)) is None:
        return
    votes = _rows(database, "rating_votes", "id", [vote_id])
    assignments = _rows(database, "rating_assignments", "id", [v["assignment_id"] for v in votes])
    fill = [("rating_assignments", a["id"], "voted_at", a["voted_at"]) for a in assignments]
    _append(journal, "vote", {"rating_assignments": assignments, "rating_votes": votes}, fill)


def journal_session_closed(database: Database, session_id: str) -> None:
    if (journal := journal_for(database)) is None:
        return
    closed_at = database.query_value(
        "SELECT closed_at FROM rating_sessions WHERE id = ?", [session_id]
    )
    _append(
        journal, "session_closed", {}, [("rating_sessions", session_id, "closed_at", closed_at)]
    )
