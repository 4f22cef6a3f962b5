"""Rating sessions carried to a Space: written as journal entries, imported by replay at start.

A bundle file is exactly the "session_created" entry the rating journal writes (the
session row, its items and its invites), so a Space imports it with the journal's own
idempotent replay: a restart, or a restore that already holds the session, stores nothing
twice. Raters, serves and votes are never bundled: a bundle sets a session up, and the
rater tokens that the votes hang on are secrets of the workspace they were made in.

Item ids travel with the items (the journal needs them for votes cast on the Space), so a
bundle whose item ids are taken by another session of the target database is refused,
naming the file, rather than imported with items silently missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ftcore.db import Database
from ftcore.errors import DataError, SessionNotFoundError
from ftcore.files import read_json, write_json
from ftcore.rating.replay import ReplayCounts, replay
from ftcore.workspace import Workspace

logger = logging.getLogger(__name__)
BUNDLE_KIND = "session_created"
# (table, the column that names the session): what a session is made of.
SESSION_TABLES = (
    ("rating_sessions", "id"),
    ("rating_items", "session_id"),
    ("rating_invites", "session_id"),
)


def session_entry(database: Database, session_id: str) -> dict:
    """The journal entry that recreates session `session_id` (setup only, no votes)."""
    rows = {
        table: database.query(
            f"SELECT * FROM {table} WHERE {column} = ? ORDER BY rowid", [session_id]
        )
        for table, column in SESSION_TABLES
    }
    if not rows["rating_sessions"]:
        raise SessionNotFoundError(f"no rating session has the id {session_id!r}")
    return {"kind": BUNDLE_KIND, "rows": rows, "fill": []}


def write_bundles(database: Database, session_ids: list[str], folder: Path) -> list[Path]:
    """One `<session id>.json` per session in `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_json(folder / f"{session_id}.json", session_entry(database, session_id))
        for session_id in session_ids
    ]


def read_bundle(path: Path) -> dict:
    """A bundle file as a replayable entry; anything else raises DataError naming it."""
    entry = read_json(path)
    if not isinstance(entry, dict) or entry.get("kind") != BUNDLE_KIND:
        raise DataError(f"{path}: not a session bundle (its kind is not {BUNDLE_KIND!r})")
    sessions = (entry.get("rows") or {}).get("rating_sessions")
    if not isinstance(sessions, list) or len(sessions) != 1:
        raise DataError(f"{path}: a session bundle holds exactly one rating_sessions row")
    return {**entry, "source": path.name}


def _check_item_ids(database: Database, entry: dict) -> None:
    session_id = entry["rows"]["rating_sessions"][0].get("id")
    ids = [item.get("id") for item in entry["rows"].get("rating_items", [])]
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    taken = database.query(
        f"SELECT id FROM rating_items WHERE id IN ({marks}) AND session_id != ?",
        [*ids, session_id],
    )
    if taken:
        raise DataError(
            f"{entry['source']}: item ids {[row['id'] for row in taken][:5]} already belong "
            "to another session of this workspace: import it into a fresh workspace"
        )


def import_bundles(database: Database, folder: Path) -> ReplayCounts:
    """Import every bundle in `folder` (none, if the folder is missing); idempotent."""
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    entries = [read_bundle(path) for path in paths]
    for entry in entries:
        _check_item_ids(database, entry)
    counts = replay(database, entries) if entries else ReplayCounts()
    if entries:
        logger.info(
            "session bundles in %s: %s new rows, %s already there",
            folder,
            sum(counts.inserted.values()),
            sum(counts.present.values()),
        )
    return counts


def load_bundled_sessions(workspace: Workspace, folder: Path) -> ReplayCounts:
    """`import_bundles` into `workspace`'s database: what app.py runs at start, after a
    restore from the backup folder (a restored session is then already there)."""
    database = Database.for_workspace(workspace)
    try:
        return import_bundles(database, folder)
    finally:
        database.close()
