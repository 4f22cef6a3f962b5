"""Widget choices that several tabs offer: base models, adapters, dataset versions.

Tabs never import each other; what two tabs both show comes from here, so the Train,
Evaluate and Chat tabs list the same models and versions in the same words.
"""

from __future__ import annotations

from ftcore.data.versions import list_versions
from ftcore.runtime.adapters import find_adapters

BASE_CHOICES = ["demo", "Qwen/Qwen2.5-0.5B-Instruct"]
NO_ADAPTER = "(none: base model only)"


def adapter_choices(context) -> list[str]:
    return [NO_ADAPTER, *(str(path) for path in find_adapters(context.workspace.runs))]


def chosen_adapter(adapter: str | None) -> str | None:
    return None if adapter in (None, "", NO_ADAPTER) else adapter


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
