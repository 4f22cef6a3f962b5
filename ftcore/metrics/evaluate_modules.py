"""Hugging Face `evaluate` metric modules as extra metrics: loaded without a download.

`--metric evaluate:NAME_OR_PATH` names one module:

- a local module: a script `x.py`, or a folder `x/` holding `x.py` (what `evaluate.load`
  accepts as a local path);
- a Hub module (`rouge`, `owner/name`) only when it is already in the Hugging Face
  modules cache. `evaluate.load("rouge")` would fetch the script from the Hub (and
  offline raises a misleading FileNotFoundError, PITFALLS.md), so a cached script is
  found here and handed to `evaluate.load` as a local path. Nothing is ever downloaded.

Such a module is a black box: `compute(predictions, references)` returns a dict, and each
number in it becomes one score, named `evaluate:LABEL` (the key equals the module's label)
or `evaluate:LABEL/KEY`. There are no per-example statistics to pool, so a bootstrap
resample is scored by calling `compute` again on the resampled examples; that costs one
call per resample, hence at most EVALUATE_RESAMPLES of them. The resamples are the same
index draws (ftcore.stats.bootstrap.resample_indices) as for the built-in metrics.
"""

from __future__ import annotations

import hashlib
import logging
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ftcore.errors import ConfigError
from ftcore.metrics.registry import EVALUATE_PREFIX
from ftcore.stats.bootstrap import resample_indices

logger = logging.getLogger(__name__)

EVALUATE_RESAMPLES = 200  # each resample is a full compute() call
MODULE_TYPES = ("metric", "comparison", "measurement")  # how the Hub cache names folders


@dataclass(frozen=True)
class EvaluateMetric:
    """A loaded `evaluate` module and what its scores are computed with."""

    spec: str  # as asked for: "evaluate:NAME_OR_PATH"
    label: str  # the module's name: its script's file name without ".py"
    module: Any  # evaluate.EvaluationModule
    signature: str  # 'evaluate-module:LABEL|script-sha256:…|evaluate:0.4.6'

    def score_name(self, key: str) -> str:
        return f"{EVALUATE_PREFIX}{self.label}" + ("" if key == self.label else f"/{key}")

    def compute(self, predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        """Score name → value for every number the module returns."""
        result = self.module.compute(predictions=list(predictions), references=list(references))
        scores = {
            self.score_name(key): float(value)
            for key, value in result.items()
            if isinstance(value, numbers.Real) and not isinstance(value, bool)
        }
        if not scores:
            raise ConfigError("metrics", self.spec, "an evaluate module that returns a number")
        return scores

    def resampled(
        self,
        predictions_by_side: Sequence[Sequence[str]],
        references: Sequence[str],
        n_resamples: int,
        seed: int,
    ) -> list[dict[str, np.ndarray]]:
        """For each side (one model, or a model and its baseline on the same examples),
        score name → its value on each resample; every side sees the same resamples."""
        refs = np.asarray(references, dtype=object)
        sides = [np.asarray(predictions, dtype=object) for predictions in predictions_by_side]
        values: list[dict[str, list[float]]] = [{} for _ in sides]
        for chunk in resample_indices(len(refs), n_resamples, seed):
            for indices in chunk:
                for side, collected in zip(sides, values, strict=True):
                    scores = self.compute(side[indices].tolist(), refs[indices].tolist())
                    for name, value in scores.items():
                        collected.setdefault(name, []).append(value)
        return [{name: np.asarray(v) for name, v in side.items()} for side in values]


def _local_script(path: Path) -> Path:
    script = path if path.is_file() else path / f"{path.name}.py"
    if script.suffix != ".py" or not script.is_file():
        raise ConfigError(
            "metrics", str(path), f"an evaluate module script, or a folder holding {script.name}"
        )
    return script


def _cached_hub_script(name: str) -> Path:
    """The newest cached script of a Hub module, as evaluate's own offline fallback finds
    it; ConfigError naming the cache when it is not there."""
    from evaluate import config

    root = Path(config.HF_MODULES_CACHE) / config.MODULE_NAME_FOR_DYNAMIC_MODULES / "metrics"
    if "/" in name:
        folders = [name.replace("/", "--")]
    else:
        folders = [f"evaluate-{kind}--{name}" for kind in MODULE_TYPES]
    stem = name.split("/")[-1]
    scripts = [script for folder in folders for script in (root / folder).glob(f"*/{stem}.py")]
    if not scripts:
        offline = " (HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise ConfigError(
            "metrics",
            f"{EVALUATE_PREFIX}{name}",
            f"a local evaluate module (a .py script or a folder holding one), or a Hub module "
            f"already in the cache at {root}; ftcore never downloads metric code{offline}",
        )
    return max(scripts, key=lambda script: script.stat().st_mtime)


def _looks_like_path(target: str) -> bool:
    return target.startswith((".", "/", "~")) or target.endswith(".py") or target.count("/") > 1


def load_evaluate_metric(spec: str, seed: int = 0) -> EvaluateMetric:
    """Load `evaluate:NAME_OR_PATH` (see the module docstring) without touching the
    network; `seed` is the module's own numpy seed for compute(). Raises ConfigError
    for a module that cannot be found or imported."""
    target = spec.removeprefix(EVALUATE_PREFIX).strip()
    path = Path(target).expanduser()
    if path.exists():
        script = _local_script(path)
    elif _looks_like_path(target):
        raise ConfigError("metrics", spec, f"an existing module script or folder ({path})")
    else:
        script = _cached_hub_script(target)
    import evaluate  # imports torch and transformers: only when a module is asked for

    try:
        module = evaluate.load(str(script), keep_in_memory=True, seed=seed)
    except ImportError as error:
        raise ConfigError(
            "metrics", spec, f"a module whose imports are installed ({error})"
        ) from None
    digest = hashlib.sha256(script.read_bytes()).hexdigest()[:16]
    signature = (
        f"evaluate-module:{script.stem}|script-sha256:{digest}|evaluate:{evaluate.__version__}"
    )
    logger.info("loaded evaluate module %s from %s", script.stem, script)
    return EvaluateMetric(spec, script.stem, module, signature)
