"""Widget choices that several tabs offer: base models, adapters, dataset versions.

Tabs never import each other; what two tabs both show comes from here, so the Train,
Evaluate and Chat tabs list the same models and versions in the same words.
"""

from __future__ import annotations

import gradio as gr

from ftcore.data.versions import list_versions
from ftcore.runtime.adapters import find_adapters

BASE_CHOICES = ["demo", "Qwen/Qwen2.5-0.5B-Instruct"]
NO_ADAPTER = "(none: base model only)"
NO_DATASET = "Pick a dataset version (prepare one in the Data tab)."


def adapter_choices(context) -> list[str]:
    return [NO_ADAPTER, *(str(path) for path in find_adapters(context.workspace.runs))]


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
