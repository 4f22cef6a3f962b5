"""Training jobs in their own process (start, stop, kill -9, resume) and the CLI entry points.

The process that holds the workspace database records runs; a job writes only its folder.
"""

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from test_training_data import write_dataset

from ftcore.cli import main
from ftcore.db import Database
from ftcore.errors import EmptyDatasetError
from ftcore.training.config import TrainConfig, load_config, save_config
from ftcore.training.jobs import (
    list_runs,
    resume_run,
    run_status,
    start_run,
    stop_run,
    wait_for_run,
)
from ftcore.training.run_table import register_run, run_record
from ftcore.training.runfiles import RunStatus, log_tail, read_progress, read_status, write_status
from ftcore.workspace import Workspace


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "greetings-v1", 48, 16)


@pytest.fixture
def open_database():
    """Opens workspace databases as the app does (one per call) and closes them after."""
    opened = []

    def open_at(home) -> Database:
        opened.append(Database.for_workspace(Workspace.open(home)))
        return opened[-1]

    yield open_at
    for database in opened:
        database.close()


def job_config(dataset, out, **changes) -> TrainConfig:
    settings = dict(
        data=str(dataset),
        out=str(out),
        home=str(out.parent / "home"),
        device="cpu",
        max_length=128,
        batch_size=8,
        learning_rate=2e-3,
        max_steps=16,
        save_every=3,
        eval_every=8,
    )
    return TrainConfig(**{**settings, **changes})


def wait_for_step(run_dir, step: int, timeout_s: float = 120.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = [r["step"] for r in read_progress(run_dir) if r["kind"] == "train"]
        if done and done[-1] >= step:
            return done[-1]
        assert run_status(run_dir).active, log_tail(run_dir)
        time.sleep(0.05)
    raise AssertionError(f"no step {step} after {timeout_s} s:\n{log_tail(run_dir)}")


def train_steps(run_dir) -> list[int]:
    return [r["step"] for r in read_progress(run_dir) if r["kind"] == "train"]


def test_killed_job_is_marked_failed_and_resumes_to_the_same_step_count(
    dataset, tmp_path, open_database
):
    config = job_config(dataset, tmp_path / "killed")
    db = open_database(config.home)
    handle = start_run(db, config)
    assert run_record(db, handle.run_dir).state == "queued"  # registered before it runs
    assert run_status(handle.run_dir).state in ("queued", "running")
    wait_for_step(handle.run_dir, 5)
    os.kill(handle.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (status := run_status(handle.run_dir, db)).active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status.state == "failed" and "ended unexpectedly" in status.error
    assert run_record(db, handle.run_dir).state == "failed"

    resume_run(db, handle.run_dir)
    assert run_record(db, handle.run_dir).state == "queued"
    final = wait_for_run(handle.run_dir, timeout_s=180)
    assert (final.state, final.step, final.total_steps) == ("completed", 16, 16)
    assert train_steps(handle.run_dir) == list(range(1, 17))  # redone steps logged once
    events = [r["event"] for r in read_progress(handle.run_dir) if r["kind"] == "event"]
    assert events.count("resumed") == 1 and events[-1] == "completed"
    run_status(handle.run_dir, db)  # the app looks at the run: its row follows status.json
    assert run_record(db, handle.run_dir).state == "completed"
    assert [r.id for r in list_runs(db)] == [run_record(db, handle.run_dir).id]  # one row


def test_the_job_writes_its_run_folder_and_never_the_database(dataset, tmp_path, open_database):
    # The run's config names a workspace nobody opens; the caller records it in another.
    config = job_config(
        dataset, tmp_path / "run", home=str(tmp_path / "unopened"), max_steps=4, eval_every=2
    )
    db = open_database(tmp_path / "caller")
    handle = start_run(db, config)
    status = wait_for_run(handle.run_dir, timeout_s=180)
    assert status.state == "completed"
    assert "--job" in log_tail(handle.run_dir)  # the command line the job was started with
    assert not (tmp_path / "unopened").exists()  # no database, not even the folder
    assert run_record(db, handle.run_dir).state == "queued"  # until the caller looks
    [record] = list_runs(db)
    assert (record.state, record.steps, record.total_steps) == ("completed", 4, 4)
    assert record.best_val_loss == pytest.approx(status.best_val_loss)
    assert record.finished_at == status.finished_at
    assert record.dataset_hash == status.dataset_hash == read_manifest_hash(dataset)


def read_manifest_hash(folder) -> str:
    return json.loads((folder / "manifest.json").read_text("utf-8"))["content_hash"]


def test_two_apps_on_one_workspace_record_a_run_without_conflict(dataset, tmp_path, open_database):
    config = job_config(dataset, tmp_path / "shared", max_steps=4, eval_every=2)
    first, second = open_database(config.home), open_database(config.home)
    handle = start_run(first, config)
    errors = []

    def watch(db):  # as each app's Train tab polls the run
        try:
            while run_status(handle.run_dir, db).active:
                list_runs(db)
                time.sleep(0.01)
        except Exception as exc:  # collected here, asserted in the test's thread
            errors.append(exc)

    watchers = [threading.Thread(target=watch, args=(db,)) for db in (first, second)]
    for thread in watchers:
        thread.start()
    for thread in watchers:
        thread.join(timeout=180)
    assert errors == []
    final = read_status(handle.run_dir)
    for db in (first, second):
        [record] = list_runs(db)
        assert (record.state, record.steps) == ("completed", final.step) == ("completed", 4)
        assert db.query("PRAGMA integrity_check") == [{"integrity_check": "ok"}]


def test_stop_ends_cleanly_with_a_checkpoint_and_resume_finishes(dataset, tmp_path, open_database):
    config = job_config(dataset, tmp_path / "stopped")
    db = open_database(config.home)
    handle = start_run(db, config)
    wait_for_step(handle.run_dir, 2)
    status = stop_run(handle.run_dir, wait=True)
    assert status.state == "stopped" and status.error is None
    assert 2 <= status.step < 16
    assert (handle.run_dir / f"checkpoints/step-{status.step:06d}").is_dir()
    assert (handle.run_dir / "last/adapter_model.safetensors").is_file()
    assert (handle.run_dir / "adapter_model.safetensors").is_file()  # usable after Stop
    assert "stopping after the current step" not in log_tail(handle.run_dir)  # no signal needed

    resume_run(db, handle.run_dir)
    final = wait_for_run(handle.run_dir, timeout_s=180)
    assert (final.state, final.step) == ("completed", 16)
    assert train_steps(handle.run_dir) == list(range(1, 17))


def test_empty_dataset_is_refused_before_a_process_starts(dataset, tmp_path, open_database):
    from test_training_data import seal_version

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "train.jsonl").write_text("", "utf-8")
    seal_version(empty)
    config = job_config(empty, tmp_path / "never")
    db = open_database(config.home)
    with pytest.raises(EmptyDatasetError, match="no conversations to train on"):
        start_run(db, config)
    assert not (tmp_path / "never").exists()
    assert list_runs(db) == []


def test_a_job_that_fails_records_why(dataset, tmp_path, open_database):
    config = job_config(dataset, tmp_path / "bad-model", base=str(tmp_path / "nope"))
    db = open_database(config.home)
    handle = start_run(db, config)
    status = wait_for_run(handle.run_dir, timeout_s=120)
    assert status.state == "failed"
    assert "does not exist" in status.error
    assert "ftcore train: error: model folder" in log_tail(handle.run_dir)
    [record] = list_runs(db)
    assert (record.state, record.error) == ("failed", status.error)


def test_a_running_status_whose_process_is_gone_becomes_failed(dataset, tmp_path):
    finished = subprocess.run(["true"], check=True)
    dead_pid = os.getpid() + 1_000_000 if finished.returncode else 2**22 + 1
    run_dir = tmp_path / "orphan"
    run_dir.mkdir()
    config = job_config(dataset, run_dir)
    save_config(config, run_dir / "config.yaml")
    write_status(run_dir, RunStatus(str(run_dir), "running", pid=dead_pid, step=4))
    status = run_status(run_dir)
    assert (status.state, status.step, status.pid) == ("failed", 4, None)
    assert run_status(run_dir).state == "failed"  # and it stays so


def test_cli_train_runs_and_lists(dataset, tmp_path, capsys, open_database):
    out, home = tmp_path / "cli-run", tmp_path / "home"
    args = ["train", "--data", str(dataset), "--out", str(out), "--home", str(home)]
    assert main([*args, "--max-steps", "2", "--batch-size", "8", "--seed", "3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["state"], summary["steps"], summary["run_dir"]) == ("completed", 2, str(out))
    assert (out / "adapter_config.json").is_file()
    assert main(["runs", "list", "--home", str(home)]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("completed") and str(out) in listing
    assert [r.run_dir for r in list_runs(open_database(home))] == [str(out)]


def test_cli_train_on_a_prepared_version_records_its_hash(
    prepared_greetings, tmp_path, capsys, open_database
):
    out, home = tmp_path / "hashed", tmp_path / "home"
    args = ["train", "--data", str(prepared_greetings.path), "--out", str(out)]
    assert main([*args, "--home", str(home), "--max-steps", "1", "--max-length", "96"]) == 0
    capsys.readouterr()
    record = run_record(open_database(home), out)
    assert (record.state, record.steps) == ("completed", 1)
    assert record.dataset_hash == prepared_greetings.content_hash
    assert record.dataset_dir == str(prepared_greetings.path.resolve())
    assert load_config(out / "config.yaml") == TrainConfig(**json.loads(record.config_json))


def test_cli_runs_status_records_what_it_sees(dataset, tmp_path, capsys, open_database):
    run_dir = tmp_path / "seen"
    run_dir.mkdir()
    config = job_config(dataset, run_dir)
    save_config(config, run_dir / "config.yaml")
    write_status(run_dir, RunStatus(str(run_dir), "queued"))
    db = open_database(config.home)
    register_run(db, run_dir)
    write_status(run_dir, RunStatus(str(run_dir), "stopped", step=7, total_steps=16))
    assert main(["runs", "status", str(run_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "stopped"
    assert (run_record(db, run_dir).state, run_record(db, run_dir).steps) == ("stopped", 7)


def test_cli_runs_commands_take_a_run_name_in_the_workspace(dataset, tmp_path, capsys):
    home = tmp_path / "home"
    run_dir = Workspace.open(home).runs / "greetings-lora"
    run_dir.mkdir()
    save_config(job_config(dataset, run_dir), run_dir / "config.yaml")
    write_status(run_dir, RunStatus(str(run_dir), "stopped", step=3, total_steps=8))
    assert main(["runs", "status", "greetings-lora", "--home", str(home)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["state"], status["step"]) == ("stopped", 3)
    assert main(["runs", "status", "greetings-lorra", "--home", str(home)]) == 1
    assert capsys.readouterr().err.endswith("Did you mean 'greetings-lora'?\n")


def test_cli_config_file_with_overriding_flags(dataset, tmp_path, capsys):
    path = save_config(job_config(dataset, tmp_path / "from-file"), tmp_path / "run.yaml")
    assert main(["train", "--config", str(path), "--method", "lorra"]) == 1
    assert capsys.readouterr().err == (
        "ftcore train: error: method='lorra' is not allowed: expected one of lora, qlora, "
        "full. Did you mean 'lora'?\n"
    )
    assert main(["train", "--config", str(path), "--data", str(tmp_path / "gone")]) == 1
    assert "gone does not exist" in capsys.readouterr().err


def test_cli_memory_estimate(capsys):
    assert main(["memory", "--base", "demo", "--batch-size", "4", "--max-length", "2048"]) == 0
    assert capsys.readouterr().out.startswith("peak GPU memory: ~")
