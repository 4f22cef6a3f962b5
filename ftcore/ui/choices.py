"""Widget choices that several tabs offer: base models, adapters, dataset versions.

Tabs never import each other; what two tabs both show comes from here, so the Train,
Evaluate and Chat tabs list the same models and versions in the same words.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ftcore.data.versions import list_versions
from ftcore.runtime.adapters import find_adapters
from ftcore.training.runfiles import read_status

BASE_CHOICES = ["demo", "Qwen/Qwen2.5-0.5B-Instruct"]
NO_ADAPTER = "(none: base model only)"
NO_DATASET = "Pick a dataset version (prepare one in the Data tab)."


def adapter_label(folder: Path, runs: Path) -> str:
    """An adapter as people know it: its run's name (its folder below `runs`), and for a
    run, which of its weights the folder holds: the best validation's, or the last step's."""
    name = folder.relative_to(runs).as_posix() if folder.is_relative_to(runs) else str(folder)
    status = read_status(folder)
    if status is None:  # an adapter copied in, not a run of this workspace
        return name
    if status.best_val_loss is not None:
        return f"{name} · best (val loss {status.best_val_loss:.4f} at step {status.best_step})"
    return f"{name} · last step ({status.step})"


def run_adapter_choices(context) -> list[tuple[str, str]]:
    """(label, folder) of each run's adapter in the workspace, newest first, one per run."""
    runs = context.workspace.runs.resolve()
    return [
        (adapter_label(folder.resolve(), runs), str(folder))
        for folder in find_adapters(context.workspace.runs)
    ]


def adapter_choices(context) -> list[tuple[str, str]]:
    """The Chat tab's choices: the base model alone, then each run's adapter."""
    return [(NO_ADAPTER, NO_ADAPTER), *run_adapter_choices(context)]


def chosen_adapter(adapter: str | None) -> str | None:
    return None if adapter in (None, "", NO_ADAPTER) else adapter


def require_dataset(data: str | None) -> str:
    """The chosen dataset version folder, or the same plain request in every tab."""
    if not data:
        raise gr.Error(NO_DATASET)
    return data


def dataset_choices(context) -> list[tuple[str, str]]:
    """(label, folder) of each registered dataset version, newest first."""
    return [
        (
            f"{v['name']} v{v['version']} · {v['counts'].get('train')} train / "
            f"{v['counts'].get('val')} val",
            v["path"],
        )
        for v in list_versions(context.db)
    ]
