"""The adapter lists of the Chat and Evaluate tabs: one entry per run, by the run's name."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ftcore.training.runfiles import RunStatus, write_status
from ftcore.ui.choices import NO_ADAPTER, adapter_choices, run_adapter_choices
from ftcore.workspace import Workspace


def adapter_folder(folder: Path) -> Path:
    """A folder that lists as an adapter (its weights do not matter here)."""
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text('{"base_model_name_or_path": "demo"}')
    return folder


def test_each_run_is_one_choice_named_by_the_run_and_the_weights_it_holds(tmp_path):
    workspace = Workspace.open(tmp_path / "home")
    context = SimpleNamespace(workspace=workspace)
    validated = adapter_folder(workspace.runs / "20261130-043254-lora-demo")
    for kept in ("best", "last"):
        adapter_folder(validated / kept)
    write_status(
        validated,
        RunStatus(str(validated), "completed", step=40, best_val_loss=6.3512, best_step=30),
    )
    unvalidated = adapter_folder(workspace.runs / "no-val")
    adapter_folder(unvalidated / "last")
    write_status(unvalidated, RunStatus(str(unvalidated), "stopped", step=12))
    copied = adapter_folder(workspace.runs / "demo-run" / "adapter")

    choices = dict(run_adapter_choices(context))
    assert choices == {
        "20261130-043254-lora-demo · best (val loss 6.3512 at step 30)": str(validated),
        "no-val · last step (12)": str(unvalidated),
        "demo-run/adapter": str(copied),
    }
    assert adapter_choices(context)[0] == (NO_ADAPTER, NO_ADAPTER)
    assert len(adapter_choices(context)) == 4
