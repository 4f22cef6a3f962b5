"""LoRA adapters on a loaded base model: attach, switch, detach, merge and save.

One base model in memory serves several adapters; `ChatModel.using(name)` activates one
(or none, for the base model) for the duration of a generation, under a lock, because
the UI may serve two requests at once and the active adapter is state of the model.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ftcore.errors import AdapterError, did_you_mean
from ftcore.runtime.models import LoadedModel, load_model

logger = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
RUN_WEIGHTS = ("best", "last")  # a run folder's subfolders that hold weights it has published


def check_adapter_folder(path: str | Path) -> Path:
    """The adapter folder, or an AdapterError saying what is missing."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise AdapterError(f"adapter folder {folder} does not exist")
    if not (folder / ADAPTER_CONFIG).is_file():
        raise AdapterError(f"{folder} holds no {ADAPTER_CONFIG}; is it a LoRA adapter folder?")
    return folder


def adapter_base_model(path: str | Path) -> str | None:
    """The base model an adapter was trained on, as recorded in its config."""
    config = json.loads((check_adapter_folder(path) / ADAPTER_CONFIG).read_text("utf-8"))
    return config.get("base_model_name_or_path")


def find_adapters(root: str | Path) -> list[Path]:
    """Every adapter below `root` (e.g. a workspace's runs), newest first, one per run: a
    run folder holds its chosen weights at its top level, and its best/ and last/
    folders are the same run's, so they are not listed apart."""
    root = Path(root)
    if not root.is_dir():
        return []
    folders = [config.parent for config in root.rglob(ADAPTER_CONFIG)]
    runs = [
        folder
        for folder in folders
        if not (folder.name in RUN_WEIGHTS and (folder.parent / ADAPTER_CONFIG).is_file())
    ]
    return sorted(runs, key=lambda folder: folder.stat().st_mtime, reverse=True)


class ChatModel:
    """A loaded base model with named LoRA adapters, at most one active at a time."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.adapters: dict[str, Path] = {}
        self._lock = threading.Lock()

    @property
    def tokenizer(self):
        return self.loaded.tokenizer

    def attach(self, path: str | Path, name: str | None = None) -> str:
        """Load the adapter in `path` and return its name (default: its folder name, which
        is a run's name). Attaching the same folder twice returns the name it already has."""
        from peft import PeftModel

        folder = check_adapter_folder(path).resolve()
        for known_name, known_folder in self.adapters.items():
            if known_folder == folder:
                return known_name
        name = self._unused_name(name or folder.name)
        with self._lock:
            try:
                if isinstance(self.loaded.model, PeftModel):
                    self.loaded.model.load_adapter(str(folder), adapter_name=name)
                else:
                    self.loaded.model = PeftModel.from_pretrained(
                        self.loaded.model, str(folder), adapter_name=name
                    )
            except (ValueError, RuntimeError, KeyError) as exc:
                raise AdapterError(
                    f"adapter {folder} does not fit base model {self.loaded.source!r}: {exc}"
                ) from exc
            self.loaded.model.eval()
        self.adapters[name] = folder
        logger.info("attached adapter %s from %s", name, folder)
        return name

    def _unused_name(self, wanted: str) -> str:
        # peft keeps adapters in a ModuleDict, whose keys may not contain dots; anything
        # else is kept, so the name people see is the folder's (20261130-043254-lora-demo).
        stem = wanted.replace(".", "_") or "adapter"
        name, number = stem, 1
        while name in self.adapters:
            number += 1
            name = f"{stem}-{number}"
        return name

    def detach(self, name: str) -> None:
        """Remove an adapter; with none left, the plain base model is restored."""
        self._require(name)
        with self._lock:
            del self.adapters[name]
            if self.adapters:
                model = self.loaded.model
                if model.active_adapter == name:
                    model.set_adapter(next(iter(self.adapters)))
                model.delete_adapter(name)
            else:
                self.loaded.model = self.loaded.model.unload()

    def _require(self, name: str) -> None:
        if name not in self.adapters:
            raise AdapterError(f"no adapter named {name!r}.{did_you_mean(name, self.adapters)}")

    @contextmanager
    def using(self, name: str | None) -> Iterator[object]:
        """Hold the model with adapter `name` active, or with every adapter off for None."""
        if name is not None:
            self._require(name)
        with self._lock:
            model = self.loaded.model
            if name is None:
                context = model.disable_adapter() if self.adapters else nullcontext()
            else:
                model.set_adapter(name)
                context = nullcontext()
            with context:
                yield model


def merge_and_save(base: str, adapter: str | Path, out_dir: str | Path) -> Path:
    """Merge `adapter` into a fresh full-precision copy of `base` and save a standalone
    model folder (weights, config, tokenizer) that loads without peft."""
    from peft import PeftModel

    folder = check_adapter_folder(adapter)
    loaded = load_model(base, device="cpu")
    merged = PeftModel.from_pretrained(loaded.model, str(folder)).merge_and_unload()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    logger.info("merged %s into %s -> %s", folder, base, out)
    return out
