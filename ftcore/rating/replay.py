"""Replaying journal entries into a database: idempotent, so replaying twice stores each row once.

Rows are inserted with INSERT OR IGNORE: a row whose id (vote uuid, session id, rater id,
item or serve number, invite code) is already there, or that a UNIQUE rule already covers,
is skipped. Tables go in the order their foreign keys need (sessions before items, raters
and serves before votes), whatever order the segments were written in, so entries from
several writers need no common clock. "fill" sets a column only where it is still empty
(a serve's voted_at, a session's closed_at). A row that names something the backup no
longer holds (its session's entry was lost) is skipped and counted as an orphan, never
a reason to lose the rest.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from ftcore.db import Database
from ftcore.errors import DataError

logger = logging.getLogger(__name__)

# Parents first: a row is inserted after every row its foreign keys point at.
TABLES = (
    "rating_sessions",
    "rating_items",
    "rating_invites",
    "rating_raters",
    "rating_assignments",
    "rating_votes",
)
FILLABLE = {("rating_sessions", "closed_at"), ("rating_assignments", "voted_at")}


@dataclass
class ReplayCounts:
    """Rows inserted and rows already there, per table; columns filled; orphans skipped."""

    inserted: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)
    filled: int = 0
    orphans: list[str] = field(default_factory=list)  # FILE:LINE of each skipped row

    def to_json(self) -> dict:
        return {
            "inserted": dict(sorted(self.inserted.items())),
            "present": dict(sorted(self.present.items())),
            "filled": self.filled,
            "orphans": self.orphans,
        }


def replay(database: Database, entries: list[dict]) -> ReplayCounts:
    """Apply journal entries (as read by ftcore.rating.journal.read_journal) in one
    transaction; an entry that is not journal-shaped raises DataError naming its source."""
    counts = ReplayCounts()
    columns = {table: _columns(database, table) for table in TABLES}
    for entry in entries:
        _check(entry, columns)
    with database.transaction() as conn:
        for table in TABLES:
            for entry in entries:
                for row in entry["rows"].get(table, []):
                    _insert(conn, table, row, entry["source"], counts)
        for entry in entries:
            for table, row_id, column, value in entry["fill"]:
                cursor = conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE id = ? AND {column} IS NULL",
                    [value, row_id],
                )
                counts.filled += cursor.rowcount
    return counts


def _columns(database: Database, table: str) -> set[str]:
    return {row["name"] for row in database.query(f"PRAGMA table_info({table})")}


def _check(entry: dict, columns: dict[str, set[str]]) -> None:
    """Table and column names go into SQL: only those of the rating tables pass."""
    source = entry.get("source", "journal")
    rows, fill = entry.get("rows"), entry.get("fill")
    if not isinstance(rows, dict) or not isinstance(fill, list):
        raise DataError(f"{source}: not a journal entry (needs 'rows' and 'fill')")
    for table, table_rows in rows.items():
        if table not in columns or not isinstance(table_rows, list):
            raise DataError(f"{source}: rows of {table!r}: not a rating table's list of rows")
        for row in table_rows:
            if not isinstance(row, dict) or not row.keys() <= columns[table]:
                unknown = sorted(set(row) - columns[table]) if isinstance(row, dict) else row
                raise DataError(f"{source}: a {table} row with unknown columns {unknown}")
    for item in fill:
        if not (isinstance(item, list) and len(item) == 4 and (item[0], item[2]) in FILLABLE):
            raise DataError(f"{source}: fill {item!r} is not one of {sorted(FILLABLE)}")


def _insert(conn, table: str, row: dict, source: str, counts: ReplayCounts) -> None:
    names = ", ".join(row)
    marks = ", ".join("?" * len(row))
    try:
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})", list(row.values())
        )
    except sqlite3.IntegrityError as error:  # a foreign key: OR IGNORE does not cover those
        logger.warning("%s: a %s row skipped: %s", source, table, error)
        counts.orphans.append(source)
        return
    if cursor.rowcount:
        counts.inserted[table] += 1
    else:
        counts.present[table] += 1
