"""The Train tab's equivalent command and config.yaml reproduce the run the tab would start."""

import os
import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ftcore.cli import main
from ftcore.db import Database
from ftcore.training.config import config_from_dict, load_config
from ftcore.training.execute import finalize_config
from ftcore.training.jobs import list_runs
from ftcore.workspace import Workspace

# Widget values as the browser sends them (gr.Number gives floats), every group of
# settings away from its defaults, and a tiny run.
WIDGETS = {
    "base": "demo",
    "method": "lora",
    "epochs": 1.0,
    "max_steps": 2.0,
    "learning_rate": 1e-3,
    "batch_size": 4.0,
    "grad_accum": 2.0,
    "max_length": 96.0,
    "lora_rank": 4.0,
    "lora_alpha": 8.0,
    "lora_dropout": 0.0,
    "eval_every": 1.0,
    "early_stopping_patience": 0.0,
    "early_stopping_min_delta": 0.0,
    "save_every": 0.0,
    "gradient_checkpointing": False,
    "precision": "fp32",
    "group_by_length": True,
    "packing": False,
    "seed": 5.0,
    "name": "from-the-tab",
}


@pytest.fixture
def tab_context(tmp_path):
    workspace = Workspace.open(tmp_path / "home")
    database = Database.for_workspace(workspace)
    yield SimpleNamespace(workspace=workspace, db=database)
    database.close()


def test_equivalent_command_reproduces_the_run_the_tab_would_start(
    prepared_greetings, tab_context, capsys, recwarn
):
    from ftcore.ui.train_tab import CONFIG_FIELDS, TrainHandlers, config_from_widgets

    widgets = {**WIDGETS, "data": str(prepared_greetings.path)}
    assert set(widgets) == set(CONFIG_FIELDS)
    values = [widgets[name] for name in CONFIG_FIELDS]
    config_yaml, command = TrainHandlers(tab_context).show_config(*values)
    tab_config = config_from_widgets(tab_context, values)
    assert config_from_dict(yaml.safe_load(config_yaml)) == tab_config
    assert "--config" not in command and "--group-by-length" in command

    argv = shlex.split(command)
    assert argv[:2] == ["ftcore", "train"]
    assert main(argv[1:]) == 0  # the command as a user would paste it into a terminal
    capsys.readouterr()

    run_dir = tab_context.workspace.runs / "from-the-tab"
    # What start_run would have written for the tab's settings, field for field.
    assert load_config(run_dir / "config.yaml") == finalize_config(tab_config)
    [record] = list_runs(tab_context.db)  # recorded by the CLI process in the same workspace
    assert (record.run_dir, record.state, record.steps) == (str(run_dir.resolve()), "completed", 2)
    assert record.dataset_hash == prepared_greetings.content_hash
    # peft's use of a deprecated transformers property no longer reaches the run's log.
    assert not [w for w in recwarn if "is_gradient_checkpointing" in str(w.message)]


@pytest.mark.parametrize("data", [None, ""])
def test_start_without_a_dataset_asks_for_one_as_the_evaluate_tab_does(tab_context, data):
    import gradio as gr

    from ftcore.ui.train_tab import CONFIG_FIELDS, TrainHandlers

    values = [{**WIDGETS, "data": data}[name] for name in CONFIG_FIELDS]
    with pytest.raises(gr.Error, match=r"Pick a dataset version \(prepare one in the Data tab\)"):
        TrainHandlers(tab_context).start(*values)


def registered_run(context, data: Path, name: str) -> Path:
    """A run folder as start_run leaves it (config.yaml, a queued status, a row in the
    workspace's runs table), with no process behind it."""
    from ftcore.training import run_table
    from ftcore.training.config import TrainConfig, save_config
    from ftcore.training.runfiles import RunStatus, write_status

    home = str(context.workspace.root)
    config = finalize_config(TrainConfig(data=str(data), name=name, home=home))
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True)
    save_config(config, run_dir / "config.yaml")
    write_status(run_dir, RunStatus(str(run_dir), "queued"))
    run_table.register_run(context.db, run_dir)
    return run_dir


def test_the_run_list_shows_the_live_state_of_a_run(prepared_greetings, tab_context):
    """The run dropdown said "queued" for as long as the page was open: its labels now
    follow the run's state as the tab polls it."""
    import gradio as gr

    from ftcore.training.runfiles import RunStatus, process_start, write_status
    from ftcore.ui.train_tab import TrainHandlers

    handlers = TrainHandlers(tab_context)
    run_dir = registered_run(tab_context, prepared_greetings.path, "watched")

    def labels(outputs) -> list[str]:
        return [label for label, _ in outputs[-1].choices]

    polled = handlers.refresh(str(run_dir), None)
    assert labels(polled) == ["watched · queued · lora"]
    alive = {"pid": os.getpid(), "pid_start": process_start(os.getpid())}  # a live process
    write_status(run_dir, RunStatus(str(run_dir), "running", step=3, total_steps=9, **alive))
    polled = handlers.refresh(str(run_dir), polled[4])
    assert labels(polled) == ["watched · running · lora"]
    write_status(run_dir, RunStatus(str(run_dir), "running", step=4, total_steps=9, **alive))
    polled = handlers.refresh(str(run_dir), polled[4])
    assert isinstance(polled[-1], type(gr.skip()))  # a new step alone leaves the list be
    write_status(run_dir, RunStatus(str(run_dir), "completed", step=9, total_steps=9))
    polled = handlers.refresh(str(run_dir), polled[4])
    assert labels(polled) == ["watched · completed · lora"]
    assert polled[0].startswith("**completed** · step 9/9")
