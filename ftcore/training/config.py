"""The settings of a training run: a validated dataclass, its YAML file and its command line.

`config.yaml` in a run folder is `TrainConfig.to_dict()` as YAML and holds everything
needed to reproduce the run. The defaults are the starter preset (see presets.py). Every
check raises ConfigError naming the field, the value and what is allowed, before any
model is loaded.
"""

from __future__ import annotations

import dataclasses
import shlex
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml

from ftcore.errors import ConfigError, did_you_mean

METHODS = ("lora", "qlora", "full")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("cosine", "linear", "constant")
DEVICES = ("auto", "cpu", "cuda")  # under `accelerate launch`, cuda is each process's GPU


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the starter preset: LoRA r8/alpha 16, 3 epochs,
    warmup then cosine decay, max length 2048."""

    base: str = "demo"  # 'demo', a model folder or a Hub id
    data: str = ""  # dataset version folder holding train.jsonl (and val.jsonl); required
    out: str = ""  # run folder; empty: a new folder under the workspace's runs/
    name: str = ""  # display name; empty: the run folder's name
    method: str = "lora"  # one of METHODS
    lora_rank: int = 8  # LoRA rank r: capacity of the adapter
    lora_alpha: int = 16  # LoRA scale numerator; the update is scaled by alpha / r
    lora_dropout: float = 0.05  # dropout on the LoRA input, a mild regulariser
    target_modules: list[str] | None = None  # None: the architecture's default (modeling.py)
    epochs: int = 3  # passes over the training split (ignored when max_steps > 0)
    max_steps: int = 0  # >0: train exactly this many optimizer steps, cycling epochs
    learning_rate: float = 2e-4  # peak learning rate, reached after warmup
    lr_scheduler: str = "cosine"  # decay after warmup, one of SCHEDULERS
    warmup_ratio: float = 0.03  # share of the steps spent ramping the LR up linearly
    weight_decay: float = 0.0  # AdamW decoupled weight decay on matrices
    max_grad_norm: float = 1.0  # gradient clipping threshold; 0 disables clipping
    batch_size: int = 4  # conversations per micro-batch (per GPU)
    grad_accum: int = 1  # micro-batches per optimizer step
    max_length: int = 2048  # tokens per conversation; longer ones are cut at the end
    gradient_checkpointing: bool = False  # recompute activations: less memory, ~30% slower
    precision: str = "auto"  # one of PRECISIONS; auto: bf16 (or fp16) on GPU, fp32 on CPU
    group_by_length: bool = False  # batch similar lengths together: less padding
    packing: bool = False  # concatenate conversations into max_length rows (no padding)
    seed: int = 42  # fixes LoRA init, data order and dropout
    eval_every: int = 50  # validate every N optimizer steps; 0: at the end of each epoch
    eval_batch_size: int = 8  # conversations per validation batch (does not change results)
    early_stopping_patience: int = 0  # stop after N validations without improvement; 0: off
    early_stopping_min_delta: float = 0.0  # a smaller val-loss drop does not count
    save_every: int = 50  # checkpoint every N optimizer steps; 0: only on stop
    log_every: int = 1  # write a progress line every N optimizer steps
    device: str = "auto"  # one of DEVICES; auto: cuda when there is a GPU
    home: str = ""  # workspace whose database registers the run; empty: the default

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(TrainConfig)
        for item in dataclasses.fields(self):
            _check_type(item.name, getattr(self, item.name), hints[item.name])
        _check_values(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.grad_accum


FIELD_NAMES = tuple(item.name for item in dataclasses.fields(TrainConfig))


def _check_type(name: str, value: object, hint: object) -> None:
    if hint is bool:
        ok, expected = isinstance(value, bool), "true or false"
    elif hint is int:
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif hint is float:
        ok, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif hint is str:
        ok, expected = isinstance(value, str), "text"
    else:  # list[str] | None, the only other shape
        ok = value is None or (
            isinstance(value, list) and all(isinstance(v, str) and v for v in value) and value
        )
        expected = "a non-empty list of module names, or null for the default"
    if not ok:
        raise ConfigError(name, value, expected)


def _at_least(config: TrainConfig, name: str, low: float, high: float | None = None) -> None:
    value = getattr(config, name)
    if value < low or (high is not None and value > high):
        allowed = f"a value in {low}..{high}" if high is not None else f"a value of at least {low}"
        raise ConfigError(name, value, allowed)


def _one_of(config: TrainConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(
            name, value, f"one of {', '.join(choices)}.{did_you_mean(value, choices)}"
        )


def _check_values(config: TrainConfig) -> None:
    _one_of(config, "method", METHODS)
    _one_of(config, "precision", PRECISIONS)
    _one_of(config, "lr_scheduler", SCHEDULERS)
    for name, low, high in (
        ("lora_rank", 1, 1024),
        ("lora_alpha", 1, 4096),
        ("epochs", 1, 1000),
        ("max_steps", 0, None),
        ("batch_size", 1, 4096),
        ("grad_accum", 1, 4096),
        ("max_length", 16, 1_048_576),
        ("seed", 0, 2**32 - 1),
        ("eval_every", 0, None),
        ("eval_batch_size", 1, 4096),
        ("early_stopping_patience", 0, None),
        ("save_every", 0, None),
        ("log_every", 1, None),
        ("weight_decay", 0.0, 1.0),
        ("max_grad_norm", 0.0, None),
        ("early_stopping_min_delta", 0.0, None),
    ):
        _at_least(config, name, low, high)
    if not 0.0 <= config.lora_dropout < 1.0:
        raise ConfigError("lora_dropout", config.lora_dropout, "a number in [0, 1)")
    if not 0.0 < config.learning_rate <= 1.0:
        raise ConfigError("learning_rate", config.learning_rate, "a number in (0, 1]")
    if not 0.0 <= config.warmup_ratio < 1.0:
        raise ConfigError("warmup_ratio", config.warmup_ratio, "a number in [0, 1)")
    if config.packing and config.group_by_length:
        raise ConfigError("group_by_length", True, "false when packing is on (rows are all full)")
    _one_of(config, "device", DEVICES)


def config_from_dict(values: dict) -> TrainConfig:
    """A TrainConfig from a mapping, refusing unknown keys with a did-you-mean."""
    for key in values:
        if key not in FIELD_NAMES:
            allowed = f"a known setting.{did_you_mean(str(key), FIELD_NAMES)}"
            raise ConfigError(str(key), values[key], allowed)
    return TrainConfig(**values)


def load_config(path: str | Path, **overrides) -> TrainConfig:
    """Read a YAML config file; `overrides` (None values skipped) replace its settings."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text("utf-8")) or {}
    except OSError as exc:
        raise ConfigError("config", str(path), f"a readable YAML file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError("config", str(path), f"valid YAML ({exc})") from exc
    if not isinstance(values, dict):
        raise ConfigError("config", str(path), "a YAML mapping of setting: value")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(values)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(config.to_yaml(), "utf-8")
    return path


# The `ftcore train` flags, by the field each one sets.
CLI_FLAGS = {
    "base": "--base",
    "data": "--data",
    "out": "--out",
    "method": "--method",
    "epochs": "--epochs",
    "max_steps": "--max-steps",
    "learning_rate": "--lr",
    "lora_rank": "--rank",
    "batch_size": "--batch-size",
    "seed": "--seed",
}


def command_line(config: TrainConfig, config_path: str | Path | None = None) -> str:
    """The `ftcore train` command that runs `config`: flags alone when they can say
    everything, otherwise `--config` with the YAML file (written by the caller)."""
    defaults = TrainConfig()
    changed = [f for f in FIELD_NAMES if getattr(config, f) != getattr(defaults, f)]
    if all(f in CLI_FLAGS for f in changed):
        parts = ["ftcore", "train"]
        for field in dict.fromkeys(("base", "data", "out", *changed)):
            if getattr(config, field) != "":
                parts += [CLI_FLAGS[field], str(getattr(config, field))]
        return shlex.join(parts)
    path = config_path or (Path(config.out) / "config.yaml" if config.out else "config.yaml")
    return shlex.join(["ftcore", "train", "--config", str(path)])
