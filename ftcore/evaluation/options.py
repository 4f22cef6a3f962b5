"""The settings of an evaluation, their defaults and help: one place for CLI, UI and library.

`ftcore eval` takes its flag defaults and help from here and the Evaluate tab its widget
values and hints, so the same inputs give the same numbers in both. `EvalOptions(...)`
validates a combination and raises ConfigError naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ftcore.errors import ConfigError

EVAL_SPLITS = ("train", "val", "test")


def _option(default, help: str):  # noqa: A002 - the word every config library uses
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class EvalOptions:
    """How an evaluation samples, generates, cuts and resamples; the defaults are DEFAULTS."""

    splits: tuple[str, ...] = _option(
        ("train", "val"),
        "train is a seeded sample as large as val; test is sealed: list it only for the "
        "final report",
    )
    limit: int | None = _option(
        50,
        "Examples per split: a seeded sample stratified by the dataset's label (0 or none: "
        "every example)",
    )
    max_new_tokens: int = _option(128, "Longest generated reply, in tokens")
    batch_size: int = _option(8, "Prompts generated together; changes speed, not the replies")
    seed: int = _option(0, "Seeds the samples and every bootstrap and verdict interval")
    bootstrap: int = _option(1000, "Resamples behind each confidence interval (0: none)")
    max_length: int | None = _option(
        None,
        "Cut conversations at this many tokens before perplexity, as training validation "
        "does (none: the adapters' run max_length, no cut for a base model alone)",
    )

    def __post_init__(self) -> None:
        splits = tuple(dict.fromkeys(self.splits))
        if not splits or set(splits) - set(EVAL_SPLITS):
            raise ConfigError("splits", list(self.splits), f"one or more of {EVAL_SPLITS}")
        object.__setattr__(self, "splits", splits)
        for name in ("limit", "max_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(name, value, "a positive number of tokens or examples, or none")
        if not 1 <= self.max_new_tokens <= 32_768:
            raise ConfigError("max_new_tokens", self.max_new_tokens, "an integer in 1..32768")
        if self.batch_size < 1:
            raise ConfigError("batch_size", self.batch_size, "an integer of at least 1")
        if self.bootstrap < 0:
            raise ConfigError("bootstrap", self.bootstrap, "a number of resamples, 0 for none")

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "splits": list(self.splits)}


DEFAULTS = EvalOptions()


def option_help(name: str) -> str:
    """The help text of one EvalOptions field, for a CLI flag or a UI hint."""
    return next(f.metadata["help"] for f in dataclasses.fields(EvalOptions) if f.name == name)
