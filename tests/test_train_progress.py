"""What `ftcore train` shows while it trains: a bar on a terminal, plain lines in a log."""

import io
import json

import pytest
from test_training_data import write_dataset

from ftcore.cli import main
from ftcore.cli.train_progress import (
    ProgressDisplay,
    TrainingSnapshot,
    describe,
    read_snapshot,
)
from ftcore.progress import format_duration
from ftcore.training.runfiles import ProgressLog, RunPaths, RunStatus, read_progress, write_status


@pytest.mark.parametrize(
    "seconds, shown", [(None, "-"), (0.4, "0:00"), (65, "1:05"), (3723.2, "1:02:03")]
)
def test_format_duration(seconds, shown):
    assert format_duration(seconds) == shown


@pytest.mark.parametrize(
    "snapshot, text",
    [
        (TrainingSnapshot(0, 120), "0/120 (0%)  ETA -"),
        (TrainingSnapshot(0, 120, val_loss=7.75, validations=1), "0/120 (0%)  val 7.7500  ETA -"),
        (
            TrainingSnapshot(40, 120, 2.34561, 2.1, 2.05, 80.4, 2),
            "40/120 (33%)  loss 2.3456  val 2.1000 (best 2.0500)  ETA 1:20",
        ),
        (TrainingSnapshot(120, 120, 1.5, 2.0, 2.0, None, 3),
         "120/120 (100%)  loss 1.5000  val 2.0000"),
    ],
)  # fmt: skip
def test_describe_leaves_out_what_is_not_known(snapshot, text):
    assert describe(snapshot) == text


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_lines_on_news_only():
    stream, clock = io.StringIO(), Clock()
    display = ProgressDisplay(stream, terminal=False, every_s=30, clock=clock)
    display.show(None)  # no status.json yet
    display.show(TrainingSnapshot(0, 0))  # total not known yet
    display.show(TrainingSnapshot(0, 10))  # first: shown
    clock.now = 10
    display.show(TrainingSnapshot(1, 10, 3.0, eta_s=90))  # 10 s later: not yet
    clock.now = 31
    display.show(TrainingSnapshot(2, 10, 2.5, eta_s=80))  # 31 s after the last line
    clock.now = 32
    display.show(TrainingSnapshot(2, 10, 2.5, 2.6, 2.6, 80, validations=1))  # validated
    display.show(TrainingSnapshot(2, 10, 2.5, 2.6, 2.6, 80, validations=1))  # the same
    clock.now = 40
    display.show(TrainingSnapshot(10, 10, 2.0, 2.6, 2.6, None, 1))  # under 30 s: no line
    display.show(TrainingSnapshot(10, 10, 2.0, 2.4, 2.4, None, 2), final=True)
    display.close()  # nothing to end in plain mode
    assert stream.getvalue().splitlines() == [
        "step 0/10 (0%)  ETA -",
        "step 2/10 (20%)  loss 2.5000  ETA 1:20",
        "step 2/10 (20%)  loss 2.5000  val 2.6000  ETA 1:20",
        "step 10/10 (100%)  loss 2.0000  val 2.4000",
    ]


def test_terminal_bar_redraws_one_line_in_place(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    stream = io.StringIO()
    display = ProgressDisplay(stream, terminal=True)
    display.show(TrainingSnapshot(1, 4, 3.0, eta_s=30))
    display.show(TrainingSnapshot(4, 4, 2.0))
    display.close()
    first = "[#####...............] 1/4 (25%)  loss 3.0000  ETA 0:30"
    last = "[####################] 4/4 (100%)  loss 2.0000"
    # The shorter last line is padded with spaces over what is left of the longer one.
    assert stream.getvalue() == f"\r{first}\r{last}{' ' * (len(first) - len(last))}\n"


def test_terminal_bar_fits_a_narrow_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    stream = io.StringIO()
    display = ProgressDisplay(stream, terminal=True)
    display.show(TrainingSnapshot(1, 4, 3.0, eta_s=30))
    assert stream.getvalue() == "\r[#####...............] 1/4 (2"  # 29 columns: never wraps


def test_snapshot_reads_the_files_the_train_tab_reads(tmp_path):
    assert read_snapshot(tmp_path) is None
    write_status(tmp_path, RunStatus(str(tmp_path), "running", step=6, total_steps=8,
                                     best_val_loss=2.2, eta_s=12.0))  # fmt: skip
    log = ProgressLog(RunPaths(tmp_path).progress)
    log.write("val", step=0, val_loss=2.5, baseline=True)
    log.write("train", step=5, train_loss=2.9)
    log.write("val", step=5, val_loss=2.2)
    log.write("train", step=6, train_loss=2.7)
    assert read_snapshot(tmp_path) == TrainingSnapshot(6, 8, 2.7, 2.2, 2.2, 12.0, 2)


def test_cli_train_shows_progress_lines_when_not_on_a_terminal(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", 16, 8)
    home = tmp_path / "home"
    args = ["train", "--data", str(data), "--home", str(home), "--device", "cpu"]
    args += ["--max-steps", "2", "--batch-size", "8", "--max-length", "64", "--eval-every", "1"]
    assert main(args) == 0
    captured = capsys.readouterr()
    run_dir = json.loads(captured.out)["run_dir"]
    rows = read_progress(run_dir)
    train_loss = [r["train_loss"] for r in rows if r["kind"] == "train"][-1]
    val = [r["val_loss"] for r in rows if r["kind"] == "val"]
    best = f" (best {min(val):.4f})" if min(val) != val[-1] else ""  # val rose at the end
    lines = [line for line in captured.err.splitlines() if line.startswith("step ")]
    assert lines[-1] == f"step 2/2 (100%)  loss {train_loss:.4f}  val {val[-1]:.4f}{best}"
    # --quiet: the summary alone; and the run is found by its name (issue 13).
    name = run_dir.rsplit("/", 1)[-1]
    assert main(["runs", "status", name, "--home", str(home)]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "completed"
    quiet = ["--out", str(tmp_path / "quiet"), "--quiet"]
    assert main([*args, *quiet]) == 0
    assert not [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "stream, shown",
    [
        (Terminal(), "\r[##########..........] 3/6 (50%)  loss 2.0000  ETA 0:09\n"),
        (io.StringIO(), "step 3/6 (50%)  loss 2.0000  ETA 0:09\n"),
    ],
)
def test_training_progress_picks_bar_or_lines_by_isatty(tmp_path, monkeypatch, stream, shown):
    from ftcore.cli.train_progress import training_progress

    monkeypatch.setenv("COLUMNS", "200")
    with training_progress(tmp_path, stream, poll_s=0.01):
        # The row first: nothing shows before status.json exists, so one look sees both.
        ProgressLog(RunPaths(tmp_path).progress).write("train", step=3, train_loss=2.0)
        write_status(tmp_path, RunStatus(str(tmp_path), "running", step=3, total_steps=6,
                                         eta_s=9.0))  # fmt: skip
    assert stream.getvalue() == shown
