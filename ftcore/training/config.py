"""The settings of a training run, each described once: a dataclass whose fields carry their
help, CLI flag, choices and allowed range.

Everything that describes a setting is generated from `field(metadata=...)` (as trl and
peft do): the Train tab's help texts, the `ftcore train` flags, the comments of config.yaml
and the equivalent command line. `config.yaml` in a run folder is the run's settings as
YAML and holds everything needed to reproduce it. The defaults are the starter preset
(see presets.py). Every check raises ConfigError naming the field, the value and what is
allowed, before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import shlex
import textwrap
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ftcore.errors import ConfigError, did_you_mean
from ftcore.files import write_text

METHODS = ("lora", "qlora", "full")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("cosine", "linear", "constant")
DEVICES = ("auto", "cpu", "cuda")  # under `accelerate launch`, cuda is each process's GPU
ALWAYS_IN_COMMAND = ("base", "data")  # shown even at their defaults: what is trained on what


def setting(default, help: str, *, flag: str | None = None, **limits) -> typing.Any:
    """A TrainConfig field. `flag` defaults to --field-name; `limits` are any of choices,
    min and max (inclusive), above and below (exclusive)."""
    unknown = set(limits) - {"choices", "min", "max", "above", "below"}
    if unknown:
        raise TypeError(f"setting() got unknown limits {sorted(unknown)}")
    return field(default=default, metadata={"help": help, "flag": flag, **limits})


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the starter preset: LoRA r8/alpha 16, 3 epochs,
    warmup then cosine decay, max length 2048."""

    base: str = setting(
        "demo",
        "The model to fine-tune: 'demo', a local folder or a Hub id. Pick an instruct model "
        "with a chat template; a bigger one learns more but needs more memory.",
    )
    data: str = setting(
        "",
        "The dataset version folder to train on (required). Its val split drives validation "
        "and early stopping; its sealed test split is never read during training.",
    )
    out: str = setting(
        "",
        "The run folder for checkpoints, logs and the adapter. Empty: a new folder named "
        "after the run under the workspace's runs/.",
    )
    name: str = setting(
        "",
        "A display name for the run, also the name of its folder when no output folder is "
        "given. Empty: the date and time, the method and the base model.",
    )
    method: str = setting(
        "lora",
        "lora trains small low-rank matrices next to frozen weights (the usual choice). "
        "qlora does the same on a 4-bit base, for when LoRA does not fit in memory. full "
        "trains every weight: only for small models, and use a learning rate around 1e-5.",
        choices=METHODS,
    )
    lora_rank: int = setting(
        8,
        "Capacity of the adapter (LoRA r). 8 suits style and format; raise it (16-64) to teach "
        "new knowledge or when train loss stops falling early.",
        flag="--rank",
        min=1,
        max=1024,
    )
    lora_alpha: int = setting(
        16,
        "Scales the adapter's update by alpha/rank. Keep it about twice the rank; change the "
        "learning rate rather than alpha to train faster or slower.",
        min=1,
        max=4096,
    )
    lora_dropout: float = setting(
        0.05,
        "Randomly drops adapter inputs while training. Raise to 0.1 when val loss rises while "
        "train loss falls (overfitting); 0 for very large datasets.",
        min=0.0,
        below=1.0,
    )
    target_modules: list[str] | None = setting(
        None,
        "Which layers get adapters. The default (empty) covers attention and MLP projections; "
        "attention only (q_proj v_proj) halves adapter size but learns less.",
    )
    epochs: int = setting(
        3,
        "Passes over the training split. Lower it when val loss turns up before the end; "
        "raise it for small datasets whose val loss still falls. Ignored when max_steps > 0.",
        min=1,
        max=1000,
    )
    max_steps: int = setting(
        0,
        "Train exactly this many optimizer steps instead of whole epochs, cycling through "
        "the data; handy for quick trials. 0 uses epochs.",
        min=0,
    )
    learning_rate: float = setting(
        2e-4,
        "Peak step size, reached after warmup. 2e-4 for LoRA, 1e-4 if loss spikes or goes "
        "NaN, about 1e-5 for full fine-tuning.",
        flag="--lr",
        above=0.0,
        max=1.0,
    )
    lr_scheduler: str = setting(
        "cosine",
        "How the learning rate falls after warmup: cosine (smooth, the default), linear, or "
        "constant for very short runs.",
        choices=SCHEDULERS,
    )
    warmup_ratio: float = setting(
        0.03,
        "Share of steps spent raising the learning rate linearly from 0. Raise to 0.1 if the "
        "first steps make loss jump.",
        min=0.0,
        below=1.0,
    )
    weight_decay: float = setting(
        0.0,
        "AdamW's decoupled weight decay on matrices: pulls weights towards zero. Usually 0 "
        "for LoRA; 0.01-0.1 for full fine-tuning on small data.",
        min=0.0,
        max=1.0,
    )
    max_grad_norm: float = setting(
        1.0,
        "Clips large gradients so one odd batch cannot wreck training (0: no clipping). "
        "Lower it if the grad-norm chart shows spikes with loss jumps.",
        min=0.0,
    )
    batch_size: int = setting(
        4,
        "Conversations per micro-batch on each GPU. Larger is faster per example but needs "
        "more memory; lower it (and raise grad_accum) when memory runs out.",
        min=1,
        max=4096,
    )
    grad_accum: int = setting(
        1,
        "Adds up gradients over this many micro-batches before a step: batch_size x "
        "grad_accum is the effective batch at the memory cost of batch_size.",
        min=1,
        max=4096,
    )
    max_length: int = setting(
        2048,
        "Tokens per conversation; longer ones are cut at the end. Set it just above your "
        "longest conversations: memory grows with it.",
        min=16,
        max=1_048_576,
    )
    gradient_checkpointing: bool = setting(
        False,
        "Recomputes activations in the backward pass: much less memory for long sequences, "
        "about 30% slower. Turn on when memory runs out.",
    )
    precision: str = setting(
        "auto",
        "auto uses bf16 on GPUs that support it, fp16 on older ones, fp32 on CPU. Choose "
        "fp32 only to debug numerical problems.",
        choices=PRECISIONS,
    )
    group_by_length: bool = setting(
        False,
        "Batches conversations of similar length: less padding, faster training. The loss "
        "curve gets a little noisier. Not with packing.",
    )
    packing: bool = setting(
        False,
        "Concatenates short conversations into full max_length rows (each still only sees "
        "itself): fastest for many short examples.",
    )
    seed: int = setting(
        42,
        "Fixes adapter initialisation, data order and dropout, so a rerun gives the same "
        "result. Change it to check that a result is not luck.",
        min=0,
        max=2**32 - 1,
    )
    eval_every: int = setting(
        50,
        "Validate every N optimizer steps (0: once per epoch). More often gives a finer val "
        "curve and earlier stopping, at the cost of time.",
        min=0,
    )
    eval_batch_size: int = setting(
        8,
        "Conversations per validation batch; only speed and memory change, never the val loss.",
        min=1,
        max=4096,
    )
    early_stopping_patience: int = setting(
        0,
        "Stop after this many validations without a new best val loss (0: off). 2-3 is "
        "typical; the best adapter is kept either way.",
        min=0,
    )
    early_stopping_min_delta: float = setting(
        0.0,
        "A val-loss drop smaller than this does not count as an improvement. 0.001-0.01 "
        "avoids training on for noise.",
        min=0.0,
    )
    save_every: int = setting(
        50,
        "Write a resumable checkpoint every N optimizer steps (0: only on Stop). Lower it "
        "for long runs on machines that may be interrupted.",
        min=0,
    )
    log_every: int = setting(
        1,
        "Write a line of the progress log (loss, learning rate, speed) every N optimizer steps.",
        min=1,
    )
    device: str = setting(
        "auto",
        "auto picks the GPU when there is one (cuda), else the CPU. cpu works for the demo "
        "model and tests.",
        choices=DEVICES,
    )
    home: str = setting(
        "",
        "The workspace folder whose database lists the run. Empty: $FTSTUDIO_HOME or ./workspace.",
    )

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(TrainConfig)
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            _check_type(item.name, value, hints[item.name])
            _check_limits(item.name, value, item.metadata)
        if self.packing and self.group_by_length:
            raise ConfigError(
                "group_by_length", True, "false when packing is on (rows are all full)"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        """config.yaml: every setting, each after its help as a comment."""
        parts = []
        for name, value in self.to_dict().items():
            wrapped = textwrap.wrap(
                setting_help(name), 86, break_on_hyphens=False, break_long_words=False
            )
            parts.append("".join(f"# {line}\n" for line in wrapped))
            parts.append(yaml.safe_dump({name: value}, sort_keys=False, allow_unicode=True))
        return "".join(parts)

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.grad_accum


SETTINGS = {item.name: item for item in dataclasses.fields(TrainConfig)}
FIELD_NAMES = tuple(SETTINGS)
FIELD_TYPES = typing.get_type_hints(TrainConfig)


def setting_help(name: str) -> str:
    """The help text of a setting, as the Train tab and `ftcore train --help` show it."""
    return SETTINGS[name].metadata["help"]


def setting_flag(name: str) -> str:
    """The `ftcore train` flag that sets `name`."""
    return SETTINGS[name].metadata["flag"] or "--" + name.replace("_", "-")


def setting_choices(name: str) -> tuple[str, ...] | None:
    return SETTINGS[name].metadata.get("choices")


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


def _number(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _allowed_range(limits: typing.Mapping) -> str:
    low, high = limits.get("min"), limits.get("max")
    if "above" in limits or "below" in limits:
        left = f"({_number(limits['above'])}" if "above" in limits else f"[{_number(low)}"
        right = f"{_number(limits['below'])})" if "below" in limits else f"{_number(high)}]"
        return f"a number in {left}, {right}"
    if high is not None:
        return f"a value in {low}..{high}"
    return f"a value of at least {low}"


def _check_limits(name: str, value, limits: typing.Mapping) -> None:
    choices = limits.get("choices")
    if choices and value not in choices:
        raise ConfigError(
            name, value, f"one of {', '.join(choices)}.{did_you_mean(value, choices)}"
        )
    if not any(key in limits for key in ("min", "max", "above", "below")):
        return
    inside = (
        ("min" not in limits or value >= limits["min"])
        and ("max" not in limits or value <= limits["max"])
        and ("above" not in limits or value > limits["above"])
        and ("below" not in limits or value < limits["below"])
    )
    if not inside:
        raise ConfigError(name, value, _allowed_range(limits))


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
        # PyYAML's own message spans several lines; its problem and position fit on one.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError("config", str(path), f"valid YAML ({problem}{where})") from exc
    if not isinstance(values, dict):
        raise ConfigError("config", str(path), "a YAML mapping of setting: value")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(values)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    return write_text(path, config.to_yaml())


def command_line(config: TrainConfig) -> str:
    """The `ftcore train` command that reproduces `config` with no config file: base and
    data, then a flag for every setting that differs from the preset `ftcore train` picks
    for that base (presets.default_preset), in field order."""
    from ftcore.training.presets import PRESETS, default_preset

    defaults = PRESETS[default_preset(config.base)]
    parts = ["ftcore", "train"]
    for name, item in SETTINGS.items():
        value = getattr(config, name)
        if value == defaults.get(name, item.default) and name not in ALWAYS_IN_COMMAND:
            continue
        flag = setting_flag(name)
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, list):
            parts += [flag, *value]
        elif value != "":
            parts += [flag, repr(value) if isinstance(value, float) else str(value)]
    return shlex.join(parts)
