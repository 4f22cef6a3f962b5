"""The runs table: every training run registered in its workspace's SQLite database.

The run folder's status.json is the live truth while a run executes; the table is the
index that outlives the UI process: written when a run is queued, starts, improves its
best val loss and ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from ftcore.db import Database, utc_now
from ftcore.training.config import TrainConfig
from ftcore.workspace import Workspace


@dataclass(frozen=True)
class RunRecord:
    """One row of the runs table."""

    id: int
    name: str
    run_dir: str
    base_model: str
    dataset_dir: str
    method: str
    state: str
    created_at: str
    finished_at: str | None = None
    best_val_loss: float | None = None
    steps: int | None = None
    total_steps: int | None = None
    error: str | None = None
    config_json: str | None = None

    @property
    def config(self) -> dict:
        return json.loads(self.config_json) if self.config_json else {}


_COLUMNS = {item.name for item in fields(RunRecord)}


def open_registry(home: str | Path | None) -> Database:
    """The database of the workspace at `home` (empty or None: the default workspace)."""
    return Database.for_workspace(Workspace.open(home or None))


@contextmanager
def registry_at(home: str | Path | None) -> Iterator[Database]:
    """`open_registry` for one short use, closed afterwards."""
    db = open_registry(home)
    try:
        yield db
    finally:
        db.close()


def register_run(db: Database, config: TrainConfig, run_dir: Path, state: str) -> None:
    """Insert the run, or update its row when the folder is already registered (resume)."""
    values = {
        "name": config.name or run_dir.name,
        "base_model": config.base,
        "dataset_dir": str(Path(config.data).expanduser().resolve()),
        "method": config.method,
        "state": state,
        "config_json": json.dumps(config.to_dict(), ensure_ascii=False),
        "finished_at": None,
        "error": None,
    }
    key = str(run_dir.resolve())
    with db.transaction() as conn:
        row = conn.execute("SELECT id FROM runs WHERE run_dir = ?", [key]).fetchone()
        if row:
            conn["runs"].update(row[0], values)
        else:
            conn["runs"].insert({**values, "run_dir": key, "created_at": utc_now()})


def update_run(db: Database, run_dir: Path, **values) -> None:
    """Set columns of a registered run; unknown run folders are left alone."""
    unknown = set(values) - _COLUMNS
    if unknown:
        raise KeyError(f"runs has no column {sorted(unknown)}")
    with db.transaction() as conn:
        conn.execute(
            f"UPDATE runs SET {', '.join(f'{k} = ?' for k in values)} WHERE run_dir = ?",
            [*values.values(), str(run_dir.resolve())],
        )


def run_records(db: Database) -> list[RunRecord]:
    """Every registered run, newest first."""
    rows = db.db.execute("SELECT * FROM runs ORDER BY created_at DESC, id DESC")
    names = [column[0] for column in rows.description]
    return [
        RunRecord(**{k: v for k, v in zip(names, row, strict=True) if k in _COLUMNS})
        for row in rows
    ]


def run_record(db: Database, run_dir: Path) -> RunRecord | None:
    return next((r for r in run_records(db) if r.run_dir == str(run_dir.resolve())), None)
