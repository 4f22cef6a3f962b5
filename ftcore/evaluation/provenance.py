"""What an evaluation was made with, and the check that a rerun resumes only the same one.

An adapter is identified by its resolved folder and the sha256 of its weights file, never
by its name: two runs whose folders share a name (ws/run1 and ws/b/run1) get the same
name, and resuming one's evaluation with the other kept run A's replies (so its BLEU,
chrF and ROUGE) beside run B's perplexity. When the adapter came from an ftstudio run,
its run's config.yaml gives the `max_length` training validation cut at, and status.json
which steps best/ and last/ hold, so the verdicts judge the curve at the evaluated step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ftcore.data.readers import file_sha256
from ftcore.errors import AdapterError, ConfigError
from ftcore.evaluation.assess import weights_step
from ftcore.files import read_json
from ftcore.training.config import load_config
from ftcore.training.runfiles import RunPaths, read_status

logger = logging.getLogger(__name__)

WEIGHTS_FILES = ("adapter_model.safetensors", "adapter_model.bin")  # peft's names
# What must match for an earlier run's predictions in the same folder to be reused.
RESUME_KEYS = ("base", "dataset_hash", "decoding", "seed", "adapters", "probe_sha256")


@dataclass(frozen=True)
class AdapterInfo:
    """One adapter as evaluation.json records it."""

    folder: str  # resolved
    weights_sha256: str  # of its weights file: what the predictions were made with
    run_dir: str | None = None  # the ftstudio run it came from (None: a foreign adapter)
    weights_step: int | None = None  # the training step these weights hold
    run_best_step: int | None = None  # the step the run's best/ holds
    run_last_step: int | None = None  # the step the run's last/ holds
    max_length: int | None = None  # tokens per conversation in the run's training

    def to_json(self) -> dict:
        return asdict(self)


def run_folder(adapter_dir: str | Path) -> Path | None:
    """The ftstudio run an adapter folder belongs to: the folder itself (a run publishes
    its weights at its top level) or, for its best/ and last/, the folder above."""
    folder = Path(adapter_dir).resolve()
    if RunPaths(folder).config.is_file():
        return folder
    above = RunPaths(folder.parent)
    if folder in (above.best, above.last) and above.config.is_file():
        return folder.parent
    return None


def adapter_info(adapter_dir: str | Path) -> AdapterInfo:
    """Identity and training facts of an adapter folder; AdapterError without weights."""
    folder = Path(adapter_dir).resolve()
    weights = next((folder / n for n in WEIGHTS_FILES if (folder / n).is_file()), None)
    if weights is None:
        raise AdapterError(f"{folder} holds no adapter weights ({' or '.join(WEIGHTS_FILES)})")
    info = AdapterInfo(str(folder), file_sha256(weights))
    run = run_folder(folder)
    if run is None:
        return info
    status = read_status(run)
    return AdapterInfo(
        info.folder,
        info.weights_sha256,
        str(run),
        weights_step(folder),
        status.best_step if status else None,
        status.step if status else None,
        load_config(RunPaths(run).config).max_length,
    )


def evaluation_max_length(option: int | None, adapters: Mapping[str, AdapterInfo]) -> int | None:
    """The length conversations are cut at: `option` when set, else the adapters' run
    max_length. One length for every model, so base and fine-tuned are scored on the same
    tokens and stay paired; when runs differ, the shortest (and a warning)."""
    if option is not None:
        return option
    lengths = {name: info.max_length for name, info in adapters.items() if info.max_length}
    if len(set(lengths.values())) > 1:
        logger.warning(
            "the adapters' runs cut at different max_length %s: using the shortest", lengths
        )
    return min(lengths.values(), default=None)


def probe_sha256(probe: str | Path | None) -> str | None:
    return file_sha256(Path(probe)) if probe else None


def _resume_view(settings: Mapping, key: str):
    """What of `key` must match: for adapters, each one's folder and weights hash only
    (the steps a run reports move on while it trains; the weights say whether they did)."""
    value = settings.get(key)
    if key != "adapters" or not isinstance(value, Mapping):
        return value
    return {
        name: {"folder": info.get("folder"), "weights_sha256": info.get("weights_sha256")}
        if isinstance(info, Mapping)
        else info
        for name, info in value.items()
    }


def check_resumable(out: Path, evaluation_json: str, settings: Mapping) -> None:
    """A rerun into a folder resumes the same evaluation only: predictions made with another
    base model, adapter, dataset, probe set or decoding would otherwise be reused and
    scored as if comparable. ConfigError naming the first setting that differs."""
    earlier = read_json(out / evaluation_json, missing_ok=True)
    if earlier is None:
        return
    for key in RESUME_KEYS:
        before, now = _resume_view(earlier, key), _resume_view(settings, key)
        if before != now:
            raise ConfigError(
                "out",
                str(out),
                f"a new folder: it holds an evaluation made with {key}={before!r}, "
                f"whose predictions would be reused for {key}={now!r}",
            )
