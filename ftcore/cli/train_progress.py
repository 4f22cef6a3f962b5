"""What `ftcore train` shows while it trains: a progress bar on a terminal, plain lines in a log.

Training runs in the main thread (it owns the Ctrl-C handlers); a thread follows the run
folder's status.json and progress.jsonl, the files the Train tab reads, so the terminal
shows the same numbers. On a terminal one line is redrawn in place (steps, train loss,
val loss, ETA). Anywhere else (a CI log, `| tee`) a plain line is printed when the total
is first known, on every validation, when the run ends, and otherwise at most every
`PLAIN_EVERY_S` seconds: a log shows progress without a line per step.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ftcore.progress import format_duration
from ftcore.training.runfiles import read_progress, read_status

POLL_S = 0.5
PLAIN_EVERY_S = 30.0
BAR_CELLS = 20


@dataclass(frozen=True)
class TrainingSnapshot:
    """Where a run stands, from its status.json and progress.jsonl."""

    step: int = 0
    total_steps: int = 0
    train_loss: float | None = None  # the latest logged window's mean
    val_loss: float | None = None  # the latest validation
    best_val_loss: float | None = None
    eta_s: float | None = None
    validations: int = 0  # how many validations have been recorded

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def read_snapshot(run_dir: Path) -> TrainingSnapshot | None:
    """The run's snapshot, or None before its status.json exists."""
    status = read_status(run_dir)
    if status is None:
        return None
    rows = read_progress(run_dir)
    train = [row for row in rows if row.get("kind") == "train"]
    val = [row for row in rows if row.get("kind") == "val"]
    return TrainingSnapshot(
        step=status.step,
        total_steps=status.total_steps,
        train_loss=train[-1]["train_loss"] if train else None,
        val_loss=val[-1]["val_loss"] if val else None,
        best_val_loss=status.best_val_loss,
        eta_s=status.eta_s,
        validations=len(val),
    )


def describe(snapshot: TrainingSnapshot) -> str:
    """'40/120 (33%)  loss 2.3456  val 2.1000 (best 2.0500)  ETA 1:20', leaving out
    what is not known yet."""
    parts = [f"{snapshot.step}/{snapshot.total_steps} ({snapshot.fraction:.0%})"]
    if snapshot.train_loss is not None:
        parts.append(f"loss {snapshot.train_loss:.4f}")
    if snapshot.val_loss is not None:
        best = snapshot.best_val_loss
        shown = f" (best {best:.4f})" if best is not None and best != snapshot.val_loss else ""
        parts.append(f"val {snapshot.val_loss:.4f}{shown}")
    if snapshot.step < snapshot.total_steps:
        parts.append(f"ETA {format_duration(snapshot.eta_s)}")
    return "  ".join(parts)


class ProgressDisplay:
    """Shows snapshots on `stream`: a bar redrawn in place when `terminal`, otherwise
    plain lines, each printed only when it says something new (see the module doc)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool,
        every_s: float = PLAIN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream, self.terminal, self.every_s, self.clock = stream, terminal, every_s, clock
        self.shown: TrainingSnapshot | None = None
        self.shown_at = 0.0
        self.drawn = 0  # characters of the bar now on screen

    def show(self, snapshot: TrainingSnapshot | None, *, final: bool = False) -> None:
        """Show `snapshot` if it is news; `final`: the run has ended, so any change is."""
        if snapshot is None or not snapshot.total_steps or snapshot == self.shown:
            return
        if self.terminal:
            self._draw(snapshot)
        elif final or self._worth_a_line(snapshot):
            self.stream.write(f"step {describe(snapshot)}\n")
            self.shown_at = self.clock()
        else:
            return
        self.stream.flush()
        self.shown = snapshot

    def close(self) -> None:
        """End the bar's line, so what is printed next starts on its own."""
        if self.terminal and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = 0

    def _worth_a_line(self, snapshot: TrainingSnapshot) -> bool:
        last = self.shown
        if last is None or snapshot.validations > last.validations:
            return True
        return snapshot.step != last.step and self.clock() - self.shown_at >= self.every_s

    def _draw(self, snapshot: TrainingSnapshot) -> None:
        filled = round(BAR_CELLS * snapshot.fraction)
        line = f"[{'#' * filled}{'.' * (BAR_CELLS - filled)}] {describe(snapshot)}"
        line = line[: shutil.get_terminal_size().columns - 1]  # a wrapped line never redraws
        self.stream.write("\r" + line + " " * max(0, self.drawn - len(line)))
        self.drawn = len(line)


@contextmanager
def training_progress(
    run_dir: str | Path, stream: TextIO, *, poll_s: float = POLL_S
) -> Iterator[ProgressDisplay]:
    """Follow the run in `run_dir` on `stream` while the body trains; a last look once it
    ends, however it ends, shows the final step."""
    display = ProgressDisplay(stream, terminal=stream.isatty())
    stop = threading.Event()

    def follow() -> None:
        while not stop.wait(poll_s):
            display.show(read_snapshot(Path(run_dir)))

    watcher = threading.Thread(target=follow, name="ftcore-train-progress", daemon=True)
    watcher.start()
    try:
        yield display
    finally:
        stop.set()
        watcher.join()
        display.show(read_snapshot(Path(run_dir)), final=True)
        display.close()
