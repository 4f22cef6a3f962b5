"""Run one training job in this process, from checks to end state: `train(config)`.

`ftcore train` calls this; so does `accelerate launch -m ftcore train --config FILE`
(one process per GPU, data-parallel: only the main process writes the run folder), and
tests call it in-process. Whatever happens, the run ends in a final state: completed,
early_stopped, stopped (resumable) or failed (with the error), never left "running".
It writes only the run folder, never the workspace database: whoever holds the database
records the run from those files (run_table.py, jobs.py).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ftcore.db import utc_now
from ftcore.errors import ConfigError, GpuOutOfMemoryError, RunError
from ftcore.runtime.library_notices import quiet_library_notices
from ftcore.training.batches import DatasetSplits, load_dataset_folder
from ftcore.training.config import TrainConfig, load_config, save_config
from ftcore.training.loop import RunResult, Trainer, stop_checker
from ftcore.training.modeling import resolve_precision
from ftcore.training.runfiles import (
    ProgressLog,
    RunPaths,
    RunStatus,
    pid_alive,
    process_start,
    read_status,
    write_status,
)
from ftcore.training.steps import drive
from ftcore.workspace import Workspace, default_home

logger = logging.getLogger(__name__)

FINISHED = ("completed", "early_stopped")


def default_run_name(config: TrainConfig) -> str:
    model = Path(config.base.rstrip("/")).name or "model"
    return f"{datetime.now():%Y%m%d-%H%M%S}-{config.method}-{model}"


def finalize_config(config: TrainConfig) -> TrainConfig:
    """The config as config.yaml records it: absolute data, run and workspace paths (the
    job may run with another working directory) and a name."""
    if not config.data.strip():
        raise ConfigError("data", config.data, "a dataset version folder (train.jsonl, val.jsonl)")
    home = Path(config.home).expanduser() if config.home else default_home()
    out = Path(config.out).expanduser() if config.out else None
    if out is None:  # the folder is made only once every check has passed
        out = Workspace(home).runs / (config.name or default_run_name(config))
    return config.replace(
        data=str(Path(config.data).expanduser().resolve()),
        out=str(out.resolve()),
        home=str(home.resolve()),
        name=config.name or out.name,
    )


def preflight(config: TrainConfig) -> tuple[TrainConfig, DatasetSplits]:
    """Every check that needs no model: settings, paths, and a non-empty dataset version
    whose files match its manifest. Returns the finalized config and the splits."""
    config = finalize_config(config)
    splits = load_dataset_folder(config.data)
    if config.early_stopping_patience and not splits.val:
        allowed = f"0: {config.data} has no val.jsonl rows to stop on"
        raise ConfigError("early_stopping_patience", config.early_stopping_patience, allowed)
    return config, splits


def is_main_launch_process() -> bool:
    """False in the extra processes of `accelerate launch` (RANK > 0): those leave the
    run folder, and the database, to process 0."""
    return os.environ.get("RANK", "0") == "0"


def oom_advice(config: TrainConfig, step: int) -> str:
    """What to change after running out of GPU memory, most effective first."""
    advice = []
    if config.batch_size > 1:
        half = math.ceil(config.batch_size / 2)
        advice.append(
            f"batch_size={half} with grad_accum={config.grad_accum * 2} (same effective batch)"
        )
    if not config.gradient_checkpointing:
        advice.append("gradient_checkpointing=true")
    if config.method != "qlora":
        advice.append("method=qlora")
    advice.append(f"max_length={max(16, config.max_length // 2)} if your conversations allow it")
    return (
        f"the GPU ran out of memory at step {step} (method={config.method}, batch_size="
        f"{config.batch_size}, max_length={config.max_length}); start a new run with "
        + ", or ".join(advice[:3])
    )


def _check_resumable(
    paths: RunPaths, config: TrainConfig, status: RunStatus | None, dataset_hash: str
) -> None:
    if status is None or not paths.config.is_file():
        raise RunError(f"{paths.root} holds no run to resume")
    saved = load_config(paths.config)
    for name, value in config.to_dict().items():
        if getattr(saved, name) != value:
            kept = getattr(saved, name)
            raise ConfigError(
                name, value, f"{kept!r}: a resumed run keeps the settings it began with"
            )
    if status.state in FINISHED:
        raise RunError(f"run {paths.root} already ended ({status.state}) at step {status.step}")
    if status.dataset_hash not in (None, dataset_hash):
        raise ConfigError(
            "data",
            config.data,
            f"the dataset version the run began with (content hash {status.dataset_hash[:12]}, "
            f"now {dataset_hash[:12]}): prepare a new version and start a new run",
        )
    if (
        status.active
        and status.pid not in (None, os.getpid())
        and pid_alive(status.pid, status.pid_start)
    ):
        raise RunError(f"run {paths.root} is still running (pid {status.pid})")


def prepare_run_folder(
    paths: RunPaths, config: TrainConfig, *, resume: bool, dataset_hash: str
) -> None:
    """Refuse to overwrite another run (or to resume a missing one, or one whose dataset
    version has changed since); write config.yaml."""
    status = read_status(paths.root)
    if resume:
        _check_resumable(paths, config, status, dataset_hash)
    elif (status is not None and status.state != "queued") or paths.checkpoints.exists():
        state = status.state if status else "has checkpoints"
        raise RunError(
            f"{paths.root} already holds a run ({state}); resume it or choose another output folder"
        )
    paths.root.mkdir(parents=True, exist_ok=True)
    save_config(config, paths.config)


class RunTracker:
    """Keeps status.json and progress.jsonl in step with the loop. On processes other
    than the main one every method does nothing."""

    def __init__(self, paths: RunPaths, config: TrainConfig, *, enabled: bool):
        self.paths, self.config, self.enabled = paths, config, enabled
        self.progress = ProgressLog(paths.progress)
        self.status: RunStatus | None = None

    def begin(self, dataset_hash: str) -> None:
        if not self.enabled:
            return
        previous = read_status(self.paths.root)
        self.status = RunStatus(
            run_dir=str(self.paths.root),
            state="running",
            pid=os.getpid(),
            pid_start=process_start(os.getpid()),
            started_at=(previous.started_at if previous and previous.started_at else utc_now()),
            updated_at=utc_now(),
            dataset_hash=dataset_hash,
        )
        write_status(self.paths.root, self.status)

    def row(self, kind: str, **values) -> None:
        if self.enabled:
            self.progress.write(kind, **values)

    def event(self, name: str, **values) -> None:
        self.row("event", event=name, **{k: v for k, v in values.items() if v is not None})

    def update(self, **values) -> None:
        if self.enabled and self.status is not None:
            self.status = RunStatus(**{**self.status.__dict__, **values, "updated_at": utc_now()})
            write_status(self.paths.root, self.status)

    def end(self, state: str, *, error: str | None = None) -> None:
        """Record the final state; a run is never left 'running'."""
        if not self.enabled:
            return
        status = (
            self.status or read_status(self.paths.root) or RunStatus(str(self.paths.root), state)
        )
        self.status = RunStatus(
            **{**status.__dict__, "state": state, "pid": None, "pid_start": None, "eta_s": None,
               "error": error, "finished_at": utc_now(), "updated_at": utc_now()}
        )  # fmt: skip
        write_status(self.paths.root, self.status)
        self.event(state, step=self.status.step, error=error)


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """SIGTERM and Ctrl-C ask for a clean stop (checkpoint, then exit); a second Ctrl-C
    interrupts at once. Only the main thread can set signal handlers."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_signal(signum, frame):
        if flag.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        logger.warning("signal %d: stopping after the current step", signum)
        flag.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _accelerator(config: TrainConfig):
    import torch
    from accelerate import Accelerator

    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda", "auto or cpu on a machine without a CUDA GPU")
    precision = resolve_precision(config, torch.device(device))
    mixed = {"bf16": "bf16", "fp16": "fp16", "fp32": "no"}[precision]
    return Accelerator(cpu=device == "cpu", mixed_precision=mixed), precision


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    should_stop: Callable[[int], bool] | None = None,
    on_start: Callable[[Path], None] | None = None,
) -> RunResult:
    """Run (or, with `resume`, continue from its last checkpoint) a training run here.

    `should_stop(steps_done)` lets a caller stop the run cleanly, as the Stop button does
    through the run folder's STOP file. `on_start(run_dir)` is called (on the main
    process) once the folder holds config.yaml and a running status.json.
    """
    import torch

    quiet_library_notices()
    config, splits = preflight(config)
    accelerator, precision = _accelerator(config)
    paths = RunPaths(Path(config.out))
    if accelerator.is_main_process:
        prepare_run_folder(paths, config, resume=resume, dataset_hash=splits.content_hash)
        paths.stop_request.unlink(missing_ok=True)  # a Stop pressed before is answered
    accelerator.wait_for_everyone()
    tracker = RunTracker(paths, config, enabled=accelerator.is_main_process)
    tracker.begin(splits.content_hash)
    try:
        if on_start and accelerator.is_main_process:
            on_start(paths.root)
        with stop_signals() as flag:
            trainer = Trainer(config, splits, paths, accelerator, tracker, precision)
            result = drive(trainer, resume=resume, stop=stop_checker(paths, flag, should_stop))
    except torch.cuda.OutOfMemoryError as exc:
        error = GpuOutOfMemoryError(
            oom_advice(config, tracker.status.step if tracker.status else 0)
        )
        tracker.end("failed", error=str(error))
        raise error from exc
    except BaseException as exc:
        # Not handled here, only recorded: the run must not stay "running". The error
        # (FtcoreError or a bug) goes on to the CLI's single error handler.
        tracker.end("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    tracker.end(result.state)
    if result.state in FINISHED and accelerator.is_main_process:
        shutil.rmtree(paths.checkpoints, ignore_errors=True)  # only a stopped run resumes
    return result
