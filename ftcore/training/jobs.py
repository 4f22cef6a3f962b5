"""Training jobs in their own process: start, stop, resume, watch and list runs.

The UI calls these and stays responsive: a job is `python -m ftcore -v train --job
--config RUN_DIR/config.yaml` in a new session (so it outlives a UI restart), with stdout
and stderr in RUN_DIR/train.log. Everything about a job is in its run folder, so a page
reload reattaches by reading it: `run_status`, `read_progress` and `log_tail`. A job
whose process has died without recording an end is marked failed the first time anyone
looks; one that died after Stop was pressed is marked stopped (it resumes from its last
checkpoint).

One writer per workspace database: `--job` makes the job write its run folder only. The
caller, which holds the workspace's `Database`, registers the run when it queues it and
brings its row up to date from status.json whenever it looks (`run_status` with a
database, `list_runs`). `train_in_foreground` runs training in the calling process and
records it the same way (the CLI's `ftcore train`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ftcore.db import Database, utc_now
from ftcore.errors import RunError, did_you_mean
from ftcore.training import run_table
from ftcore.training.config import TrainConfig, load_config
from ftcore.training.execute import preflight, prepare_run_folder, train
from ftcore.training.loop import RunResult
from ftcore.training.run_table import RunRecord
from ftcore.training.runfiles import (
    ACTIVE_STATES,
    RunPaths,
    RunStatus,
    pid_alive,
    read_status,
    write_status,
)
from ftcore.workspace import Workspace

logger = logging.getLogger(__name__)

STOP_GRACE_S = 60.0  # a clean stop waits for the current step (and a running validation)
_CHILDREN: dict[int, subprocess.Popen] = {}  # jobs this process started, reaped when polled


@dataclass(frozen=True)
class RunHandle:
    """A started job: its run folder and process id."""

    run_dir: Path
    pid: int
    config: TrainConfig

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.run_dir)


def _spawn(paths: RunPaths, resume: bool) -> int:
    # --job: the job writes its run folder only; this process records it in the database.
    command = [sys.executable, "-m", "ftcore", "-v", "train", "--job"]
    command += ["--config", str(paths.config)]
    if resume:
        command.append("--resume")
    with paths.log.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        try:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in, or the end of, the UI leaves the job be
                cwd=Path.cwd(),
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # log lines appear as they come
            )
        except OSError as exc:
            error = f"cannot start the training process: {exc}"
            write_status(paths.root, RunStatus(str(paths.root), "failed", error=error))
            raise RunError(error) from exc
    _CHILDREN[process.pid] = process
    paths.pid_file.write_text(str(process.pid), "utf-8")
    return process.pid


def _queue(database: Database, paths: RunPaths, status: RunStatus) -> None:
    # A Stop or a process id from an earlier attempt must not be taken for this one's.
    paths.stop_request.unlink(missing_ok=True)
    paths.pid_file.unlink(missing_ok=True)
    write_status(paths.root, status)
    run_table.register_run(database, paths.root)


def start_run(database: Database, config: TrainConfig) -> RunHandle:
    """Check the settings and dataset, create the run folder, register the run in
    `database` and start the job. Bad settings or an empty or altered dataset version
    raise here, before any process starts."""
    config, splits = preflight(config)
    paths = RunPaths(Path(config.out))
    prepare_run_folder(paths, config, resume=False, dataset_hash=splits.content_hash)
    queued = RunStatus(
        str(paths.root), "queued", updated_at=utc_now(), dataset_hash=splits.content_hash
    )
    _queue(database, paths, queued)
    pid = _spawn(paths, resume=False)
    logger.info("started run %s (pid %d)", paths.root, pid)
    return RunHandle(paths.root, pid, config)


def resume_run(database: Database, run_dir: str | Path) -> RunHandle:
    """Continue a stopped or failed run from its last checkpoint, in a new job. A run
    whose dataset version has changed since it began is refused."""
    paths = RunPaths(Path(run_dir).resolve())
    status = run_status(paths.root, database)
    if status.active:
        raise RunError(f"run {paths.root} is still {status.state}")
    config, splits = preflight(load_config(paths.config))
    prepare_run_folder(paths, config, resume=True, dataset_hash=splits.content_hash)
    queued = RunStatus(
        **{**status.__dict__, "state": "queued", "pid": None, "pid_start": None, "eta_s": None,
           "error": None, "finished_at": None, "updated_at": utc_now()}
    )  # fmt: skip
    _queue(database, paths, queued)
    return RunHandle(paths.root, _spawn(paths, resume=True), config)


def train_in_foreground(
    database: Database, config: TrainConfig, *, resume: bool = False
) -> RunResult:
    """Train in this process (the CLI's `ftcore train`), recording the run in `database`
    from its folder: registered once the folder holds config.yaml and status.json, and
    brought up to date from status.json when training ends, however it ends."""
    started: list[Path] = []

    def register(run_dir: Path) -> None:
        run_table.register_run(database, run_dir)
        started.append(run_dir)

    try:
        return train(config, resume=resume, on_start=register)
    finally:
        for run_dir in started:
            run_table.sync_run(database, read_status(run_dir))


def find_run(run: str | Path, home: str | Path | None = None) -> Path:
    """The run folder `run` names: a folder holding a run, or the name of a run in the
    workspace at `home` (default: FTSTUDIO_HOME or ./workspace), as `ftcore runs list`
    and the Train tab show it."""
    folder = Path(run).expanduser()
    if RunPaths(folder).config.is_file():
        return folder.resolve()
    runs = Workspace.open(home or None).runs
    if RunPaths(runs / str(run)).config.is_file():
        return (runs / str(run)).resolve()
    names = [p.name for p in runs.iterdir() if RunPaths(p).config.is_file()]
    raise RunError(
        f"{run!r} is neither a run folder nor a run in {runs}.{did_you_mean(str(run), names)}"
    )


def run_workspace(run_dir: str | Path) -> str:
    """The workspace folder whose database lists the run in `run_dir` (its config's home)."""
    paths = RunPaths(Path(run_dir).resolve())
    if not paths.config.is_file():
        raise RunError(f"{paths.root} holds no training run")
    return load_config(paths.config).home


def _job_pid(paths: RunPaths, status: RunStatus) -> int | None:
    if status.pid is not None:
        return status.pid
    try:  # queued: the job has not written its own pid yet
        return int(paths.pid_file.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int | None, started: int | None) -> bool:
    if pid is None:
        return False
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None  # also reaps it, so it is not a zombie
    return pid_alive(pid, started)


def run_status(run_dir: str | Path, database: Database | None = None) -> RunStatus:
    """The run's status; a run whose process has died is marked failed (or stopped, when
    Stop was pressed), so no run is left 'running'. With the workspace's `database`, the
    run's row is brought in line with it."""
    status = _live_status(RunPaths(Path(run_dir).resolve()))
    if database is not None:
        run_table.sync_run(database, status)
    return status


def _live_status(paths: RunPaths) -> RunStatus:
    status = read_status(paths.root)
    if status is None:
        raise RunError(f"{paths.root} holds no training run")
    if not status.active:
        return status
    pid = _job_pid(paths, status)
    if _alive(pid, status.pid_start):
        return RunStatus(**{**status.__dict__, "state": "stopping"}) if (
            paths.stop_request.exists() and status.state == "running"
        ) else status  # fmt: skip
    if status.state == "queued" and pid is None:
        return status  # start_run is between writing the status and spawning
    ended = read_status(paths.root)  # the job writes its end state just before it exits
    if ended is not None and not ended.active:
        return ended
    stopped = paths.stop_request.exists()
    error = (
        None if stopped else f"the training process (pid {pid}) ended unexpectedly; see {paths.log}"
    )
    final = RunStatus(
        **{**status.__dict__, "state": "stopped" if stopped else "failed", "pid": None,
           "error": error, "eta_s": None, "finished_at": utc_now(), "updated_at": utc_now()}
    )  # fmt: skip
    write_status(paths.root, final)
    return final


def stop_run(
    run_dir: str | Path,
    *,
    grace_s: float = STOP_GRACE_S,
    wait: bool = False,
    database: Database | None = None,
) -> RunStatus:
    """Ask the job to stop after its current step (it checkpoints, saves last/ and ends
    'stopped'). If it has not ended after `grace_s` it gets SIGTERM (the same clean stop,
    from a signal), and SIGKILL after another `grace_s`; the last checkpoint is kept.
    With `wait`, return once it has ended; otherwise at once. With `database`, the run's
    row follows (see run_status)."""
    paths = RunPaths(Path(run_dir).resolve())
    status = run_status(paths.root, database)
    if not status.active:
        return status
    paths.stop_request.write_text(utc_now(), "utf-8")
    pid = _job_pid(paths, status)
    escalate = threading.Thread(
        target=_escalate, args=(paths, pid, status.pid_start, grace_s), daemon=True
    )
    escalate.start()
    if wait:
        escalate.join()
    return run_status(paths.root, database)


def _escalate(paths: RunPaths, pid: int | None, started: int | None, grace_s: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not _alive(pid, started):
                return
            time.sleep(0.2)
        if pid is None:
            return
        logger.warning(
            "run %s did not stop within %.0f s: sending %s", paths.root, grace_s, sig.name
        )
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return


def wait_for_run(
    run_dir: str | Path, *, timeout_s: float = 600.0, poll_s: float = 0.2
) -> RunStatus:
    """Block until the run has ended and, for a job started here, its process has exited
    (the job writes its end state just before it prints its summary and exits)."""
    paths = RunPaths(Path(run_dir).resolve())
    deadline = time.monotonic() + timeout_s
    while (status := run_status(paths.root)).active or _own_job_running(paths):
        if time.monotonic() > deadline:
            raise RunError(f"run {paths.root} still {status.state} after {timeout_s:.0f} s")
        time.sleep(poll_s)
    return status


def _own_job_running(paths: RunPaths) -> bool:
    try:
        child = _CHILDREN.get(int(paths.pid_file.read_text("utf-8")))
    except (FileNotFoundError, ValueError):
        return False
    return child is not None and child.poll() is None


def list_runs(database: Database) -> list[RunRecord]:
    """Every run registered in the workspace, newest first; the rows of runs that were
    still active are first brought up to date from their folders (dead jobs: failed)."""
    records = run_table.run_records(database)
    active = [
        r
        for r in records
        if r.state in ACTIVE_STATES and RunPaths(Path(r.run_dir)).status.is_file()
    ]
    for record in active:
        run_status(record.run_dir, database)
    return run_table.run_records(database) if active else records
