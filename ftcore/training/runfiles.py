"""The files of a run folder that every process reads: status, progress log, stop request, log.

The training process is the only writer of status.json and progress.jsonl; the UI and
CLI only read them (and write the stop request), so a page reload or a second terminal
sees the same run. status.json is replaced atomically; progress.jsonl is appended line by
line, and a reader skips a half-written last line (both through ftcore.files).

The training process never opens the workspace database: the process that owns it
records the run from these files (run_table.py).
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ftcore.files import append_jsonl, read_json, read_jsonl, write_json, write_jsonl

STATES = ("queued", "running", "stopping", "completed", "stopped", "early_stopped", "failed")
ACTIVE_STATES = ("queued", "running", "stopping")


@dataclass(frozen=True)
class RunPaths:
    """Where each file of a run lives."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def progress(self) -> Path:
        return self.root / "progress.jsonl"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    @property
    def stop_request(self) -> Path:
        return self.root / "STOP"

    @property
    def pid_file(self) -> Path:
        return self.root / "job.pid"  # written by the process that spawned the job

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def best(self) -> Path:
        return self.root / "best"

    @property
    def last(self) -> Path:
        return self.root / "last"


@dataclass(frozen=True)
class RunStatus:
    """What status.json says about a run."""

    run_dir: str
    state: str  # one of STATES
    pid: int | None = None  # the training process, while it runs
    pid_start: int | None = None  # its start time (see process_start), against pid reuse
    step: int = 0  # optimizer steps done
    total_steps: int = 0
    best_val_loss: float | None = None
    best_step: int | None = None
    eta_s: float | None = None  # seconds left, from the recent step rate
    error: str | None = None  # why the run failed
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    dataset_hash: str | None = None  # content hash of the dataset version it trains on

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def fraction_done(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


def read_status(run_dir: str | Path) -> RunStatus | None:
    """The run's status, or None when the folder holds no run."""
    values = read_json(RunPaths(Path(run_dir)).status, missing_ok=True)
    if values is None:
        return None
    known = {item.name for item in fields(RunStatus)}
    return RunStatus(**{k: v for k, v in values.items() if k in known})


def write_status(run_dir: str | Path, status: RunStatus) -> None:
    """Replace status.json atomically: a reader sees the old or the new file, never half."""
    write_json(RunPaths(Path(run_dir)).status, asdict(status), indent=1)


class ProgressLog:
    """Appends one JSON object per line to progress.jsonl, flushed at once."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, kind: str, **values) -> dict:
        row = {"kind": kind, **values}
        append_jsonl(self.path, [row])
        return row

    def truncate_after(self, step: int) -> None:
        """Drop rows past `step`: a resumed run redoes those steps and logs them again."""
        rows = [row for row in read_progress(self.path.parent) if row.get("step", 0) <= step]
        write_jsonl(self.path, rows)


def read_progress(run_dir: str | Path) -> list[dict]:
    """Every row of progress.jsonl, in order ([] before the first). A half-written last
    line (the writer was killed mid-line, or is writing it now) is skipped."""
    path = RunPaths(Path(run_dir)).progress
    return read_jsonl(path, tolerate_partial_tail=True, missing_ok=True)


def log_tail(run_dir: str | Path, lines: int = 40) -> str:
    """The last `lines` lines of train.log (stdout and stderr of the job)."""
    path = RunPaths(Path(run_dir)).log
    try:
        with path.open(encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines))
    except FileNotFoundError:
        return ""


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None where
    there is no /proc. Together with the pid it names one process, even after the
    number is reused."""
    try:
        fields_after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields_after_name[19])  # field 22 of stat; the name ends field 2


def pid_alive(pid: int, started: int | None = None) -> bool:
    """Whether process `pid` runs: not gone, not a zombie, and, when `started` is known,
    the same process rather than a new one that reused the number."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # without /proc (macOS), kill() said enough
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        return False
    return started is None or process_start(pid) == started
