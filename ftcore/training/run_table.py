"""The runs table: every training run of a workspace, recorded from its run folder's files.

A training process writes only its run folder (config.yaml, status.json, progress.jsonl,
checkpoints) and never opens the database. The process that owns the workspace's
`Database` (the app, or the CLI) records runs here: `register_run` when a run is queued
(or a foreground run starts), `sync_run` each time it looks at the run's status. So
status.json is the live truth while the run executes, and the table is the index that
outlives every process; the database's writers are the processes that hold it, never a
job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from ftcore.db import Database, utc_now
from ftcore.errors import RunError
from ftcore.training.config import load_config
from ftcore.training.runfiles import RunPaths, RunStatus, read_status


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
    dataset_hash: str | None = None  # the dataset version's manifest content_hash

    @property
    def config(self) -> dict:
        return json.loads(self.config_json) if self.config_json else {}


_COLUMNS = [item.name for item in fields(RunRecord)]


def _status_columns(status: RunStatus) -> dict:
    """The columns that follow status.json."""
    return {
        "state": status.state,
        "steps": status.step,
        "total_steps": status.total_steps,
        "best_val_loss": status.best_val_loss,
        "error": status.error,
        "finished_at": status.finished_at,
        "dataset_hash": status.dataset_hash,
    }


def register_run(database: Database, run_dir: str | Path) -> None:
    """Record the run in `run_dir` from its config.yaml and status.json: a new row, or
    the row of that folder updated (a resumed run keeps its id and created_at)."""
    paths = RunPaths(Path(run_dir).resolve())
    status = read_status(paths.root)
    if status is None or not paths.config.is_file():
        raise RunError(f"{paths.root} holds no training run to record")
    config = load_config(paths.config)
    values = {
        "name": config.name or paths.root.name,
        "base_model": config.base,
        "dataset_dir": config.data,
        "method": config.method,
        "config_json": json.dumps(config.to_dict(), ensure_ascii=False),
        **_status_columns(status),
    }
    key = str(paths.root)
    with database.transaction() as conn:
        row = conn.execute("SELECT id FROM runs WHERE run_dir = ?", [key]).fetchone()
        if row:
            conn["runs"].update(row[0], values)
        else:
            conn["runs"].insert({**values, "run_dir": key, "created_at": utc_now()})


def sync_run(database: Database, status: RunStatus) -> None:
    """Bring a registered run's row in line with its status. A folder that is not
    registered here (another workspace's run) is left alone; an unchanged row is not
    written, so watching a run costs a read, not a write."""
    key = str(Path(status.run_dir).resolve())
    values = _status_columns(status)
    rows = database.query(f"SELECT {', '.join(values)} FROM runs WHERE run_dir = ?", [key])
    if not rows or rows[0] == values:
        return
    with database.transaction() as conn:
        conn.execute(
            f"UPDATE runs SET {', '.join(f'{k} = ?' for k in values)} WHERE run_dir = ?",
            [*values.values(), key],
        )


def run_records(database: Database) -> list[RunRecord]:
    """Every registered run, newest first."""
    rows = database.query(
        f"SELECT {', '.join(_COLUMNS)} FROM runs ORDER BY created_at DESC, id DESC"
    )
    return [RunRecord(**row) for row in rows]


def run_record(database: Database, run_dir: str | Path) -> RunRecord | None:
    """The row of the run in `run_dir`, or None when it is not registered."""
    rows = database.query(
        f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_dir = ?", [str(Path(run_dir).resolve())]
    )
    return RunRecord(**rows[0]) if rows else None
