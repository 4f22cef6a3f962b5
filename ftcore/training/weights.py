"""What a run leaves behind for users: its weights folder, and merge-and-export.

A LoRA or QLoRA run folder is itself an adapter folder (adapter_model.safetensors +
adapter_config.json at the top level, the best validation checkpoint, or the last one
without validation), loadable by plain `PeftModel.from_pretrained`. best/ and last/ hold
both versions. A full fine-tuning run holds model folders instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ftcore.errors import RunError
from ftcore.training.config import load_config
from ftcore.training.runfiles import RunPaths

WHICH = ("published", "best", "last")


def run_weights(run_dir: str | Path, which: str = "published") -> Path:
    """The folder with the run's weights: the top level (published), best/ or last/."""
    paths = RunPaths(Path(run_dir))
    folder = {"published": paths.root, "best": paths.best, "last": paths.last}.get(which)
    if folder is None:
        raise RunError(f"which={which!r}: expected one of {', '.join(WHICH)}")
    if not any((folder / name).is_file() for name in ("adapter_config.json", "config.json")):
        raise RunError(f"run {paths.root} has no {which} weights yet (is it still running?)")
    return folder


def export_merged(run_dir: str | Path, out_dir: str | Path, which: str = "published") -> Path:
    """A standalone model folder (weights, config, tokenizer) that loads without peft:
    the adapter merged into a full-precision copy of the base model, or for a full
    fine-tuning run, a copy of its model folder."""
    from ftcore.runtime.adapters import merge_and_save

    paths = RunPaths(Path(run_dir))
    config = load_config(paths.config)
    if config.method != "full":
        return merge_and_save(config.base, run_weights(run_dir, which), out_dir)
    # The top level of a full run also holds its logs; best/ and last/ are clean models.
    if which == "published":
        which = "best" if paths.best.is_dir() else "last"
    shutil.copytree(run_weights(run_dir, which), out_dir, dirs_exist_ok=True)
    return Path(out_dir)
